//! `padan schema default` and `padan schema check`.

use super::harness::{fixture, Dir};

#[test]
fn the_default_schema_passes_check_and_has_the_victim_fields() {
    let d = Dir::new();
    let r = d.padan(["schema", "default"]).ok();
    d.write("schema.toml", &r.stdout);
    let c = d.padan(["schema", "check", "schema.toml"]).ok();
    for field in ["name", "passport", "dob", "sex", "birthplace", "nik"] {
        assert!(
            c.stdout.lines().any(|l| l.trim_start().starts_with(field)),
            "field {field} in {c:#?}"
        );
    }
    assert!(
        c.stdout
            .contains("hardened: salt=year(dob), permute, blip ε=3 (p=0.047)"),
        "{}",
        c.stdout
    );
    // The committed hardened KAT schema is the default schema: same fingerprint.
    let k = d
        .padan([
            "schema".as_ref(),
            "check".as_ref(),
            fixture("kat/schema-hardened.toml").as_os_str(),
        ])
        .ok();
    let fp = |s: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix("fingerprint: "))
            .map(str::to_string)
            .expect("a fingerprint line")
    };
    assert_eq!(fp(&c.stdout), fp(&k.stdout));
}

/// Breaks one line of the default schema and checks that the error names the key at fault.
fn check_broken(from: &str, to: &str, key: &str) {
    let d = Dir::new();
    let text = d.padan(["schema", "default"]).ok().stdout;
    assert!(text.contains(from), "the default schema has {from:?}");
    d.write("bad.toml", text.replacen(from, to, 1));
    let r = d.padan(["schema", "check", "bad.toml"]).fails(2);
    assert!(
        r.stderr.contains(key),
        "the error names `{key}` after replacing {from:?} by {to:?}: {r:#?}"
    );
}

#[test]
fn schema_check_errors_name_the_key() {
    check_broken("bits = 512", "bits = 500", "bits");
    check_broken("hashes = 20", "hashes = 99", "hashes");
    check_broken("q = 2", "q = 0", "q");
    check_broken("version = 1", "version = 99", "version");
    check_broken("bits = 1024", "bits = 100", "record_filter");
    check_broken("name = \"birthplace\"", "name = \"passport\"", "passport");
}

#[test]
fn schema_check_on_a_file_that_is_not_toml_is_a_clear_error() {
    let d = Dir::new();
    d.write("bad.toml", "[[fields]\nname = ");
    d.padan(["schema", "check", "bad.toml"]).fails(2);
    let r = d.padan(["schema", "check", "missing.toml"]);
    assert_ne!(r.code, 0);
}
