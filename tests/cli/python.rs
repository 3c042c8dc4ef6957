//! The encoded file and the match set in the analysts' tools: tests/python/check_encoded.py and
//! check_matchset.py open them in pyarrow, pandas, polars and DuckDB and read the `padan.*`
//! metadata where each tool's users look: `pq.read_table(f).schema.metadata`, pandas
//! `read_parquet(f).attrs`, polars `read_parquet_metadata`, DuckDB `parquet_kv_metadata`.
//!
//! The interpreter is `$PADAN_PYTHON` (set by .ci/run to its venv), else `python3`. Without an
//! interpreter that has pyarrow, pandas, polars and duckdb the test passes with a notice written
//! straight to the terminal's standard error (not through `eprintln!`, which the test harness
//! captures and hides for a passing test), so `cargo test` shows it — except in CI (`CI` set),
//! where it fails.

use std::path::Path;
use std::process::Command;

use super::harness::{parquet_rows, repo, Dir};

fn python() -> Option<String> {
    let py = std::env::var("PADAN_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = Command::new(&py)
        .args(["-c", "import pyarrow, pandas, polars, duckdb"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(py);
    }
    let msg = format!(
        "python check skipped: `{py}` cannot import pyarrow, pandas, polars and duckdb \
         (set PADAN_PYTHON to an interpreter that can, e.g. .venv-ci/bin/python after .ci/run)"
    );
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{msg}; CI is set, so this check must run");
    }
    // Straight to the process's standard error: the harness captures only the print macros.
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "\nNOTICE: {msg}");
    None
}

fn check(py: &str, file: &Path, agency: &str) {
    let rows = parquet_rows(file).to_string();
    let script = repo().join("tests/python/check_encoded.py");
    let out = Command::new(py)
        .arg(&script)
        .arg(file)
        .arg(&rows)
        .arg(agency)
        .output()
        .expect("running check_encoded.py");
    assert!(
        out.status.success(),
        "check_encoded.py failed on {}:\n{}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn encoded_files_open_in_pyarrow_polars_and_duckdb() {
    let Some(py) = python() else { return };
    let d = Dir::new();
    d.encode_synth("polri", "polri.padan.parquet", &[]).ok();
    check(&py, &d.path("polri.padan.parquet"), "polri");
    d.encode_synth(
        "kemensos",
        "kemensos.padan.parquet",
        &["--pseudonymize-ids", "--lookup", "lookup.csv"],
    )
    .ok();
    check(&py, &d.path("kemensos.padan.parquet"), "kemensos");
    // An empty encoded file (header-only extract) is still a valid file for them.
    d.encode(
        &super::harness::fixture("malformed/header-only.csv"),
        "empty.padan.parquet",
        &[
            "--agency",
            "empty",
            "--id-column",
            "id",
            "--column",
            "name=nama",
        ],
    )
    .ok();
    check(&py, &d.path("empty.padan.parquet"), "empty");

    // The script does fail: a wrong row count is caught.
    let out = Command::new(&py)
        .arg(repo().join("tests/python/check_encoded.py"))
        .arg(d.path("polri.padan.parquet"))
        .arg("1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a wrong row count fails the script"
    );
}

#[test]
fn match_sets_open_in_pandas_polars_and_duckdb_with_the_documented_types() {
    let Some(py) = python() else { return };
    let d = Dir::new();
    let mut args = vec![
        "link".to_string(),
        "--out".into(),
        d.path("ms").display().to_string(),
    ];
    // kemlu pseudonymized with decoys, to check its `padan reveal` output too.
    for p in d.encode_pseudonymized_kemlu_polri_bp2mi() {
        args.push(p.display().to_string());
    }
    // The match set continues a previous one (linked with a strict match threshold), so it has
    // changes.parquet, with merges, for the check too.
    let strict = d.write(
        "strict.toml",
        "[thresholds]\nmatch_probability = 0.999999\n",
    );
    let mut prev = args.clone();
    prev[2] = d.path("prev").display().to_string();
    prev.extend(["--config".to_string(), strict.display().to_string()]);
    d.padan(&prev).ok();
    args.extend([
        "--previous".to_string(),
        d.path("prev").display().to_string(),
    ]);
    d.padan(&args).ok();
    assert!(d.path("ms").join("changes.parquet").exists());
    d.padan([
        "reveal",
        d.path("ms").to_str().unwrap(),
        "--agency",
        "kemlu",
        "--lookup",
        d.path("kemlu.lookup.csv").to_str().unwrap(),
        "--out",
        d.path("revealed.parquet").to_str().unwrap(),
    ])
    .ok();
    let out = Command::new(&py)
        .arg(repo().join("tests/python/check_matchset.py"))
        .arg(d.path("ms"))
        .arg(d.path("revealed.parquet"))
        .arg(super::harness::synth_extract("kemlu"))
        .arg("no_kasus")
        .output()
        .expect("running check_matchset.py");
    assert!(
        out.status.success(),
        "check_matchset.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn review_files_and_label_columns_open_in_pandas_polars_and_duckdb() {
    let Some(py) = python() else { return };
    let d = Dir::new();
    let mut args = vec![
        "link".to_string(),
        "--write-candidates".into(),
        "--out".into(),
        d.path("ms").display().to_string(),
    ];
    for a in ["kemlu", "polri", "bp2mi"] {
        let out = format!("{a}.padan.parquet");
        d.encode_synth(a, &out, &[]).ok();
        args.push(d.path(&out).display().to_string());
    }
    d.padan(&args).ok();
    d.padan([
        "review",
        "export",
        d.path("ms").to_str().unwrap(),
        "--out",
        d.path("rv").to_str().unwrap(),
        "--sample",
        "120",
    ])
    .ok();
    let run = |rd: &str| {
        Command::new(&py)
            .arg(repo().join("tests/python/check_review.py"))
            .arg(d.path("ms"))
            .arg(d.path(rd))
            .output()
            .expect("running check_review.py")
    };
    let out = run("rv");
    assert!(
        out.status.success(),
        "check_review.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The script does fail: pairs.parquet passed off as a review file.
    std::fs::create_dir_all(d.path("bad")).unwrap();
    let csv = std::fs::read_to_string(d.path("rv/review.csv")).unwrap();
    std::fs::write(d.path("bad/review.csv"), &csv).unwrap();
    std::fs::copy(d.path("ms/pairs.parquet"), d.path("bad/review.parquet")).unwrap();
    assert_eq!(
        run("bad").status.code(),
        Some(1),
        "a pairs file is no review file"
    );
}
