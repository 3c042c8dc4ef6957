//! One test per bug found, named after it.

use super::harness::{check_counts, rejected_rows, rejects_of, Dir};

/// Bug: in a CSV with bare `\r` line ends (Excel for Mac's "CSV"), every row was reported at
/// line 1 in the rejects file (the csv crate counts `\n` only), so an officer could not find the
/// rejected rows and two rejected rows shared a line number. Found by the property test
/// `garbage_after_a_valid_header_never_breaks_the_bookkeeping`.
#[test]
fn bare_cr_line_ends_give_distinct_increasing_line_numbers() {
    let d = Dir::new();
    let input = d.write(
        "mac.csv",
        "id,nama,tgl_lahir\r1,,1990\r2,Siti,1991\r3,,1992\r",
    );
    d.encode(
        &input,
        "mac.padan.parquet",
        &[
            "--agency",
            "t",
            "--id-column",
            "id",
            "--column",
            "name=nama",
            "--column",
            "dob=tgl_lahir",
            "--max-reject-rate",
            "1",
        ],
    )
    .ok();
    let out = d.path("mac.padan.parquet");
    assert_eq!(check_counts(&out), (3, 1, 2));
    let lines: Vec<(u64, String)> = rejected_rows(&rejects_of(&out))
        .into_iter()
        .map(|l| (l.line, l.record_id))
        .collect();
    assert_eq!(lines, [(2, "1".to_string()), (4, "3".to_string())]);
}

/// Bug (fixed): Parquet extracts written by pyarrow, pandas or Spark with their default
/// compression (snappy) — or gzip — could not be read ("Disabled feature at compile time: snap"),
/// because the `parquet` dependency was built with the `zstd` feature only.
#[test]
fn parquet_extracts_with_snappy_or_gzip_compression_are_read() {
    let d = Dir::new();
    for name in ["pyarrow-snappy.parquet", "pyarrow-gzip.parquet"] {
        let out = format!("{name}.padan.parquet");
        d.encode(
            &super::harness::fixture(&format!("malformed/{name}")),
            &out,
            &super::harness::plain_flags("t", false),
        )
        .ok();
        assert_eq!(check_counts(&d.path(&out)), (2, 2, 0), "{name}");
    }
}
