//! `padan attack` on the synthetic fixture: the attacks work on an unhardened encoding and fail
//! on the default (hardened) schema; the threshold turns the report into a self-test; the output
//! carries counts only.

use super::harness::{synth_columns, synth_extract, test_key, Dir};
use super::plaintext::{plain_values, Searcher};

/// bp2mi is the largest fixture agency (764 rows): enough records for pattern mining.
const AGENCY: &str = "bp2mi";

fn attack(d: &Dir, encoded: &str, extra: &[&str]) -> super::harness::Run {
    let mut args: Vec<String> = vec![
        "attack".into(),
        "--key".into(),
        test_key().display().to_string(),
        "--columns".into(),
        synth_columns(AGENCY).display().to_string(),
        "--encoded".into(),
        d.path(encoded).display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(synth_extract(AGENCY).display().to_string());
    d.padan(&args)
}

fn share(v: &serde_json::Value, which: &str, attack: &str) -> f64 {
    v[which][attack].as_f64().unwrap() / v[which]["records"].as_f64().unwrap()
}

/// The default schema with the name field's hardening removed.
fn unhardened_schema(d: &Dir) -> std::path::PathBuf {
    let text = padan::schema::DEFAULT_SCHEMA_TOML;
    // The table itself, not its mention in the header comment.
    let start = text
        .find("\n[fields.hardening]")
        .expect("the default hardens a field")
        + 1;
    let end = start + text[start..].find("\n\n").unwrap();
    d.write("plain.toml", format!("{}{}", &text[..start], &text[end..]))
}

#[test]
fn default_schema_holds_the_attacks_under_one_percent_while_unhardened_falls() {
    let d = Dir::new();
    d.encode_synth(AGENCY, "default.padan.parquet", &[]).ok();
    let run = attack(&d, "default.padan.parquet", &["--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["hardened"], true);
    assert!(v["as_encoded"]["records"].as_u64().unwrap() > 700);
    let hardened = share(&v, "as_encoded", "any");
    let plain = share(&v, "unhardened", "any");
    assert!(
        hardened < 0.01,
        "default schema: {hardened} re-identified: {v}"
    );
    // The attack must be real: on the same records encoded without hardening it works.
    assert!(plain > 0.5, "unhardened: only {plain} re-identified: {v}");
    assert!(share(&v, "unhardened", "pattern") > 0.5, "{v}");

    // A file encoded without hardening: the as-encoded figure equals the unhardened one, and
    // the threshold fails the run with exit code 6.
    let schema = unhardened_schema(&d);
    d.encode_synth(
        AGENCY,
        "plain.padan.parquet",
        &["--schema", schema.to_str().unwrap()],
    )
    .ok();
    let run = attack(&d, "plain.padan.parquet", &["--json"]).ok();
    let p: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(p["hardened"], false);
    assert_eq!(p["as_encoded"], p["unhardened"]);
    assert_eq!(
        p["unhardened"], v["unhardened"],
        "same records, same key: same result"
    );
    let run = attack(&d, "plain.padan.parquet", &["--max-reidentified", "0.01"]).fails(6);
    assert!(run.stderr.contains("re-identified"), "{}", run.stderr);
    attack(&d, "default.padan.parquet", &["--max-reidentified", "0.01"]).ok();

    // Counts only: no name, no other value of the extract in the output.
    let table = attack(&d, "plain.padan.parquet", &[]).ok();
    assert!(table.stdout.contains("q-gram pattern mining"));
    let plain = plain_values(AGENCY);
    let s = Searcher::new(plain.needles.keys().map(String::as_str));
    for out in [&table.stdout, &table.stderr, &run.stdout, &run.stderr] {
        let hits = s.hits(out.as_bytes());
        assert!(
            hits.is_empty(),
            "attack output holds values of the extract: {hits:?}"
        );
    }
}

#[test]
fn attack_refuses_a_file_encoded_with_another_key() {
    let d = Dir::new();
    d.encode_synth(AGENCY, "e.padan.parquet", &[]).ok();
    let other = d.write("other.key", format!("{}\n", "ab".repeat(32)));
    let run = d
        .padan([
            "attack",
            "--key",
            other.to_str().unwrap(),
            "--columns",
            synth_columns(AGENCY).to_str().unwrap(),
            "--encoded",
            d.path("e.padan.parquet").to_str().unwrap(),
            synth_extract(AGENCY).to_str().unwrap(),
        ])
        .fails(4);
    assert!(run.stderr.contains("key"), "{}", run.stderr);
}
