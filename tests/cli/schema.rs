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
    // Salt slots: the two slots (no salt part in both), and every filter field keyed by them.
    for slot in [
        "slot dmy          salt: dob.dm + dob.year",
        "slot name_place   salt: name.phonetic + birthplace",
    ] {
        assert!(c.stdout.contains(slot), "{slot} in {}", c.stdout);
    }
    assert_eq!(c.stdout.matches("  slot ").count(), 2, "{}", c.stdout);
    assert!(
        c.stdout.contains(
            "hardened: permute, slots=dmy,name_place, 320 hashes per value, blip ε=3 (p=0.047)"
        ),
        "{}",
        c.stdout
    );
    // The birthplace's length is hidden too.
    assert!(
        c.stdout
            .contains("hardened: permute, slots=dmy, 180 hashes per value → 512 bits stored"),
        "{}",
        c.stdout
    );
    assert!(
        c.stdout.contains("sex          sex       not encoded"),
        "{}",
        c.stdout
    );
    let fp = |s: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix("fingerprint: "))
            .map(str::to_string)
            .expect("a fingerprint line")
    };
    let check = |file: &std::path::Path| {
        d.padan(["schema".as_ref(), "check".as_ref(), file.as_os_str()])
            .ok()
            .stdout
    };
    // The previous default (`padan schema v3`) is the committed hardened KAT schema: same
    // fingerprint, and it still reads the year salt.
    let v3 = d.padan(["schema", "v3"]).ok();
    let v3_file = d.write("v3.toml", &v3.stdout);
    let v3_check = check(&v3_file);
    assert!(
        v3_check.contains("hardened: salt=year(dob), permute, blip ε=3 (p=0.047)"),
        "{v3_check}"
    );
    assert_eq!(
        fp(&v3_check),
        fp(&check(&fixture("kat/schema-hardened.toml")))
    );
    assert_ne!(fp(&v3_check), fp(&c.stdout));
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
    check_broken("bits = 256", "bits = 100", "record_filter");
    check_broken("\"dob.year\"]", "\"dob.hour\"]", "slots[0] ('dmy').salt");
    check_broken(
        "slots = [\"dmy\", \"name_place\"",
        "slots = [\"dmy\", \"nope\"",
        "slots[1]",
    );
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
