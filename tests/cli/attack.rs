//! `padan attack` on the synthetic fixture (all 7 files pooled): the self-test is not blind — it
//! recovers most names from an unhardened encoding, sex, birthplaces and the year structure from
//! the default one —
//! the threshold turns the report into a gate (exit 6), and the output carries counts only.

use super::harness::{fixture, synth_columns, synth_extract, Dir, AGENCIES};
use super::plaintext::{plain_values, Searcher};

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

/// Encodes every fixture agency into `sub/` of the test directory.
fn encode_all(d: &Dir, sub: &str, extra: &[&str]) -> String {
    std::fs::create_dir_all(d.path(sub)).unwrap();
    for a in AGENCIES {
        d.encode_synth(a, &format!("{sub}/{a}.padan.parquet"), extra)
            .ok();
    }
    d.path(sub).display().to_string()
}

fn attack_dir(d: &Dir, dir: &str, extra: &[&str]) -> super::harness::Run {
    let synth = fixture("synth").display().to_string();
    let mut args = vec!["attack", "--synth-dir", &synth, "--encoded-dir", dir];
    args.extend_from_slice(extra);
    d.padan(args)
}

fn row<'a>(v: &'a serde_json::Value, field: &str) -> &'a serde_json::Value {
    v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == field)
        .unwrap_or_else(|| panic!("no row {field}: {v}"))
}

fn share(v: &serde_json::Value, field: &str) -> f64 {
    let r = row(v, field);
    r["recovered"].as_f64().unwrap() / r["records"].as_f64().unwrap()
}

fn baseline(v: &serde_json::Value, field: &str) -> f64 {
    let r = row(v, field);
    r["baseline"].as_f64().unwrap() / r["records"].as_f64().unwrap()
}

#[test]
fn the_self_test_sees_through_an_unhardened_encoding_and_the_year_structure_of_the_default() {
    let d = Dir::new();
    let plain_schema = unhardened_schema(&d);
    let plain = encode_all(&d, "plain", &["--schema", plain_schema.to_str().unwrap()]);
    let default = encode_all(&d, "default", &[]);

    // Unhardened: one salt group of 1,444 records; the names fall, and the gate
    // fails the run with exit code 6 (the report is printed first).
    let gate = attack_dir(&d, &plain, &["--json", "--max-reidentified", "0.01"]).fails(6);
    assert!(gate.stderr.contains("full names"), "{}", gate.stderr);
    let p: serde_json::Value = serde_json::from_str(&gate.stdout).unwrap();
    assert_eq!(p["files"], 7);
    assert_eq!(p["records"], 1444);
    assert_eq!(p["scored"], 1444, "every record found in its extract");
    assert_eq!(p["salt_groups"], 1);
    // Not blind: profile matching, trilateration and word decoding recover a clear majority of
    // the unhardened names (80.8 % when measured), and label the birthplace filters.
    let full = share(&p, "name (full)");
    assert!(full > 0.6, "unhardened names: only {full} recovered: {p}");
    assert!(share(&p, "birthplace") > 0.8, "{p}");
    assert!(full > 20.0 * baseline(&p, "name (full)"), "{p}");
    assert!(share(&p, "name (first word)") >= full, "{p}");
    let r = row(&p, "name (full)");
    let confident = r["confident_recovered"].as_f64().unwrap() / r["confident"].as_f64().unwrap();
    assert!(
        confident > full,
        "the confident half must be surer: {confident} vs {full}"
    );

    // Default (the version 3 design): the date filter splits the records into year groups (about one per
    // birth year of the range) and the sex token's classes give sex away; at this size the salt
    // groups are too small for the names (the 10,000-person figures are in docs/privacy.md).
    let run = attack_dir(&d, &default, &["--json", "--max-reidentified", "0.5"]).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    // The default schema encodes the bytes of version 3 under the current version number.
    assert_eq!(v["encoding_version"], padan::io::encoded::ENCODING_VERSION);
    let groups = v["year_groups"].as_u64().unwrap();
    assert!((38..=60).contains(&groups), "{groups} year groups: {v}");
    assert_eq!(
        v["salt_groups"].as_u64().unwrap(),
        groups + 1,
        "+ the empty salt"
    );
    assert!(share(&v, "sex") > 0.99, "{v}");
    assert!(share(&v, "sex") > baseline(&v, "sex") + 0.2, "{v}");
    // The birthplace filter is neither salted nor noised: its distinct filters are labelled.
    assert!(share(&v, "birthplace") > 0.8, "{v}");
    assert!(
        share(&v, "birthplace") > baseline(&v, "birthplace") + 0.5,
        "{v}"
    );

    // Counts only: no name, no other value of the extracts in any output.
    for a in AGENCIES {
        let values = plain_values(a);
        let s = Searcher::new(values.needles.keys().map(String::as_str));
        for out in [&run.stdout, &run.stderr, &gate.stdout, &gate.stderr] {
            let hits = s.hits(out.as_bytes());
            assert!(
                hits.is_empty(),
                "attack output holds values of {a}: {hits:?}"
            );
        }
    }
}

#[test]
fn single_files_pool_as_triples_and_mismatched_triples_are_refused() {
    let d = Dir::new();
    d.encode_synth("kemlu", "kemlu.padan.parquet", &[]).ok();
    d.encode_synth("polri", "polri.padan.parquet", &[]).ok();
    let cols = |a: &str| synth_columns(a).display().to_string();
    let ex = |a: &str| synth_extract(a).display().to_string();
    let e = |a: &str| d.path(&format!("{a}.padan.parquet")).display().to_string();
    // `padan attack [FLAGS] --encoded E --columns C ... EXTRACT ...` for the agencies `files`,
    // with the extracts of the agencies `extracts`.
    let attack = |flags: &[&str], files: &[&str], extracts: &[&str]| {
        let mut args: Vec<String> = vec!["attack".into()];
        args.extend(flags.iter().map(|f| f.to_string()));
        for a in files {
            args.extend(["--encoded".into(), e(a), "--columns".into(), cols(a)]);
        }
        args.extend(extracts.iter().map(|a| ex(a)));
        d.padan(args)
    };
    let run = attack(&["--json"], &["kemlu", "polri"], &["kemlu", "polri"]).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["files"], 2);
    let table = attack(&[], &["kemlu"], &["kemlu"]).ok();
    assert!(table.stdout.contains("confident half"), "{}", table.stdout);
    assert!(table.stdout.contains("name (full)"), "{}", table.stdout);
    assert_eq!(v["records"], 146 + 136);
    assert_eq!(v["scored"], v["records"]);
    // One extract short.
    let bad = attack(&[], &["kemlu", "polri"], &["kemlu"]).fails(2);
    assert!(bad.stderr.contains("extract"), "{}", bad.stderr);
    // Files of another key cannot be pooled with these.
    let other = d.write("other.key", format!("{}\n", "ab".repeat(32)));
    d.padan([
        "encode",
        "--key",
        other.to_str().unwrap(),
        "--columns",
        &cols("kpppa"),
        "--input",
        &ex("kpppa"),
        "--out",
        &e("kpppa"),
        "--quiet",
    ])
    .ok();
    let mixed = attack(&[], &["kemlu", "kpppa"], &["kemlu", "kpppa"]).fails(4);
    assert!(mixed.stderr.contains("key"), "{}", mixed.stderr);
}
