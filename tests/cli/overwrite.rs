//! One overwrite rule for every command that writes a file: an output that already exists is
//! refused with exit code 2 (naming the file and `--force`) and left as it was; with `--force` it
//! is replaced. A match-set directory counts as existing when it holds any file.

use super::harness::{synth_columns, synth_extract, test_key, Dir};

fn s(p: std::path::PathBuf) -> String {
    p.display().to_string()
}

/// Runs `args` twice more after a first success: refused without --force (the file untouched),
/// then accepted with it.
fn refused_then_forced(d: &Dir, args: &[String], out: &str) {
    let before = std::fs::read(d.path(out)).ok();
    let r = d.padan(args).fails(2);
    assert!(
        r.stderr.contains("--force") && r.stderr.contains(out),
        "the refusal names the file and --force: {r:#?}"
    );
    if let Some(b) = before {
        assert_eq!(
            std::fs::read(d.path(out)).unwrap(),
            b,
            "{out} left as it was"
        );
    }
    let mut forced = args.to_vec();
    forced.push("--force".into());
    d.padan(&forced).ok();
}

#[test]
fn every_writer_refuses_an_existing_output_unless_forced() {
    let d = Dir::new();
    let key = s(test_key());
    // keygen
    let keygen: Vec<String> = ["keygen", "--out", "a.key"].map(String::from).to_vec();
    d.padan(&keygen).ok();
    let old = std::fs::read_to_string(d.path("a.key")).unwrap();
    refused_then_forced(&d, &keygen, "a.key");
    assert_ne!(
        std::fs::read_to_string(d.path("a.key")).unwrap(),
        old,
        "--force made a new key"
    );

    // encode: the encoded file, and on its own the rejects file and the lookup
    let encode = |agency: &str, extra: &[&str]| -> Vec<String> {
        let mut a = vec![
            "encode".to_string(),
            "--key".into(),
            key.clone(),
            "--columns".into(),
            s(synth_columns(agency)),
            "--input".into(),
            s(synth_extract(agency)),
            "--out".into(),
            format!("{agency}.padan.parquet"),
            "-q".into(),
        ];
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    let kemlu = encode("kemlu", &[]);
    d.padan(&kemlu).ok();
    refused_then_forced(&d, &kemlu, "kemlu.padan.parquet");
    std::fs::remove_file(d.path("kemlu.padan.parquet")).unwrap();
    refused_then_forced(&d, &kemlu, "kemlu.padan.parquet.rejects.csv");
    let kpppa = encode(
        "kpppa",
        &["--pseudonymize-ids", "--lookup", "kpppa.lookup.csv"],
    );
    d.padan(&kpppa).ok();
    std::fs::remove_file(d.path("kpppa.padan.parquet")).unwrap();
    std::fs::remove_file(d.path("kpppa.padan.parquet.rejects.csv")).unwrap();
    refused_then_forced(&d, &kpppa, "kpppa.lookup.csv");

    // link: a directory that holds files
    let link: Vec<String> = [
        "link",
        "-q",
        "--out",
        "ms",
        "kemlu.padan.parquet",
        "kpppa.padan.parquet",
    ]
    .map(String::from)
    .to_vec();
    std::fs::create_dir(d.path("ms")).unwrap();
    d.padan(&link).ok(); // an empty directory is fine
    refused_then_forced(&d, &link, "ms");

    // report, reveal
    let report: Vec<String> = ["report", "ms", "--out", "r.html"]
        .map(String::from)
        .to_vec();
    d.padan(&report).ok();
    refused_then_forced(&d, &report, "r.html");
    let reveal: Vec<String> = [
        "reveal",
        "ms",
        "-q",
        "--agency",
        "kpppa",
        "--lookup",
        "kpppa.lookup.csv",
    ]
    .map(String::from)
    .to_vec();
    d.padan(&reveal).ok();
    refused_then_forced(&d, &reveal, "ms/revealed-kpppa.parquet");

    // import clkhash
    d.write(
        "c.b64",
        format!("{}=\n{}A=\n", "A".repeat(43), "B".repeat(42)),
    );
    let import: Vec<String> = [
        "import",
        "clkhash",
        "--agency",
        "x",
        "--input",
        "c.b64",
        "--out",
        "x.padan.parquet",
    ]
    .map(String::from)
    .to_vec();
    d.padan(&import).ok();
    refused_then_forced(&d, &import, "x.padan.parquet");

    // synth: a directory that holds files
    let synth: Vec<String> = ["synth", "--out", "syn", "--people", "20", "--agencies", "2"]
        .map(String::from)
        .to_vec();
    d.padan(&synth).ok();
    let r = d.padan(&synth).fails(2);
    assert!(r.stderr.contains("--force"), "{r:#?}");
}
