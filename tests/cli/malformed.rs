//! Malformed extracts (fixtures/malformed/) and bad key files: a clear error with a documented
//! exit code, or counted rejects — never a panic (the harness checks every run for "panicked").

use super::harness::{
    check_counts, fixture, kv_metadata, plain_flags, read_columns, read_rejects, record_ids,
    rejected_rows, rejects_of, test_key, write_parquet_extract, Dir, Run,
};

fn flags() -> Vec<&'static str> {
    plain_flags("test", false)
}

fn malformed(name: &str) -> std::path::PathBuf {
    fixture(&format!("malformed/{name}"))
}

fn encode(d: &Dir, input: &std::path::Path, out: &str, extra: &[&str]) -> Run {
    // These files are mostly bad rows on purpose: no reject-rate limit.
    let mut args = flags();
    args.extend_from_slice(&["--max-reject-rate", "1"]);
    args.extend_from_slice(extra);
    d.encode(input, out, &args)
}

/// Files in the directory (sorted), to check that a failed run leaves nothing behind.
fn files(d: &Dir) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn ragged_rows_are_counted_rejects() {
    let d = Dir::new();
    encode(&d, &malformed("ragged.csv"), "r.padan.parquet", &[]).ok();
    let out = d.path("r.padan.parquet");
    assert_eq!(check_counts(&out), (5, 2, 3));
    let rej = rejected_rows(&rejects_of(&out));
    assert!(rej.iter().all(|l| l.reason == "ragged_row"), "{rej:?}");
    assert_eq!(
        rej.iter().map(|l| l.line).collect::<Vec<_>>(),
        [3, 4, 6],
        "lines of the ragged rows (header = line 1)"
    );
    assert_eq!(record_ids(&out), ["R1", "R4"]);
    assert_eq!(
        kv_metadata(&out)["padan.rejects_by_reason"],
        r#"{"ragged_row":3}"#
    );
}

#[test]
fn invalid_utf8_is_rejected_in_strict_mode_and_read_as_windows_1252_in_auto_mode() {
    let d = Dir::new();
    let input = malformed("windows-1252.csv");
    encode(&d, &input, "strict.padan.parquet", &["--encoding", "utf-8"]).ok();
    let strict = d.path("strict.padan.parquet");
    assert_eq!(check_counts(&strict), (3, 1, 2));
    let rej = rejected_rows(&rejects_of(&strict));
    assert!(
        rej.iter().all(|l| l.reason == "invalid_text_encoding"),
        "{rej:?}"
    );
    assert_eq!(record_ids(&strict), ["U2"]);

    // auto (the default): decoded as Windows-1252, so it encodes exactly like the same text
    // saved as UTF-8.
    let r = d
        .padan({
            let mut a = vec![
                "encode".to_string(),
                "--key".into(),
                test_key().display().to_string(),
                "--input".into(),
                input.display().to_string(),
                "--out".into(),
                "auto.padan.parquet".into(),
            ];
            a.extend(flags().iter().map(|s| s.to_string()));
            a
        })
        .ok();
    assert!(
        r.stdout.contains("windows-1252"),
        "the summary says so: {r:#?}"
    );
    encode(
        &d,
        &malformed("windows-1252.as-utf8.csv"),
        "utf8.padan.parquet",
        &[],
    )
    .ok();
    assert_eq!(check_counts(&d.path("auto.padan.parquet")), (3, 3, 0));
    assert!(
        read_columns(&d.path("auto.padan.parquet")) == read_columns(&d.path("utf8.padan.parquet")),
        "Windows-1252 decoded to the same text as its UTF-8 twin"
    );
}

#[test]
fn an_empty_file_is_a_clear_error_with_exit_code_3() {
    let d = Dir::new();
    let r = encode(&d, &malformed("empty.csv"), "e.padan.parquet", &[]).fails(3);
    assert!(
        r.stderr.contains("empty.csv") && r.stderr.contains("empty"),
        "{r:#?}"
    );
    assert!(files(&d).is_empty(), "nothing written: {:?}", files(&d));
    // A file holding only a BOM or blank lines is empty too.
    let bom = d.write("bom-only.csv", b"\xef\xbb\xbf");
    encode(&d, &bom, "b.padan.parquet", &[]).fails(3);
    let blank = d.write("blank.csv", b"\n\r\n");
    encode(&d, &blank, "b.padan.parquet", &[]).fails(3);
}

#[test]
fn a_missing_mapped_column_is_named_with_the_columns_present() {
    let d = Dir::new();
    let r = d
        .encode(
            &malformed("ragged.csv"),
            "m.padan.parquet",
            &[
                "--agency",
                "test",
                "--id-column",
                "id",
                "--column",
                "name=nama_lengkap",
            ],
        )
        .fails(3);
    assert!(
        r.stderr.contains("'nama_lengkap'"),
        "names the column: {r:#?}"
    );
    for c in ["'id'", "'nama'", "'tgl_lahir'", "'jk'"] {
        assert!(r.stderr.contains(c), "lists column {c}: {r:#?}");
    }
    assert!(files(&d).is_empty(), "nothing written: {:?}", files(&d));
    // A missing id column too.
    let r = d
        .encode(
            &malformed("ragged.csv"),
            "m.padan.parquet",
            &[
                "--agency",
                "test",
                "--id-column",
                "no_kasus",
                "--column",
                "name=nama",
            ],
        )
        .fails(3);
    assert!(r.stderr.contains("'no_kasus'"), "{r:#?}");
}

#[test]
fn malformed_key_files_are_clear_errors_that_echo_no_key_material() {
    let d = Dir::new();
    let secret = "secretsecretsecretsecretsecretsecretsecretsecretsecretsecretsecr";
    let cases: Vec<(std::path::PathBuf, Option<&str>)> = vec![
        (malformed("short.key"), Some("0123abcd")),
        (malformed("not-hex.key"), Some(secret)),
        (
            d.write("binary.key", [0xffu8, 0xfe, 0x00, 0x80, 0x81]),
            None,
        ),
        (
            d.write("long.key", format!("{}00\n", "ab".repeat(32)).as_bytes()),
            Some("abababab"),
        ),
        (d.write("empty.key", ""), None),
        // A schema handed over by mistake.
        (fixture("kat/schema.toml"), Some("record_filter")),
    ];
    for (key, material) in cases {
        let r = d.padan(["fingerprint".as_ref(), key.as_os_str()]).fails(3);
        assert!(r.stderr.contains("not a padan key file"), "{r:#?}");
        let enc = d
            .padan({
                let mut a = vec![
                    "encode".to_string(),
                    "--key".into(),
                    key.display().to_string(),
                    "--input".into(),
                    malformed("comma.csv").display().to_string(),
                    "--out".into(),
                    "k.padan.parquet".into(),
                ];
                a.extend(flags().iter().map(|s| s.to_string()));
                a
            })
            .fails(3);
        if let Some(m) = material {
            for out in [&r.stderr, &r.stdout, &enc.stderr, &enc.stdout] {
                // No 8 consecutive characters of the file's content.
                for w in m.as_bytes().windows(8) {
                    let w = std::str::from_utf8(w).unwrap();
                    assert!(!out.contains(w), "key material {w:?} echoed: {out}");
                }
            }
        }
        assert!(!d.path("k.padan.parquet").exists());
    }
    // A key file that is not there: an I/O error (exit 5) naming it.
    let r = d.padan(["fingerprint", "nowhere.key"]).fails(5);
    assert!(r.stderr.contains("nowhere.key"), "{r:#?}");
}

#[test]
fn duplicate_record_ids_keep_the_first_and_reject_the_others() {
    let d = Dir::new();
    encode(&d, &malformed("duplicate-ids.csv"), "d.padan.parquet", &[]).ok();
    let out = d.path("d.padan.parquet");
    assert_eq!(check_counts(&out), (4, 2, 2));
    assert_eq!(record_ids(&out), ["D1", "D2"]);
    let rej = rejected_rows(&rejects_of(&out));
    assert_eq!(
        rej.iter()
            .map(|l| (l.line, l.record_id.as_str(), l.reason.as_str()))
            .collect::<Vec<_>>(),
        // " D2 " is D2 once trimmed.
        [
            (3, "D1", "duplicate_record_id"),
            (5, "D2", "duplicate_record_id")
        ]
    );
}

#[test]
fn a_header_only_file_gives_a_valid_empty_encoded_file() {
    let d = Dir::new();
    encode(&d, &malformed("header-only.csv"), "h.padan.parquet", &[]).ok();
    let out = d.path("h.padan.parquet");
    assert_eq!(check_counts(&out), (0, 0, 0));
    let f = padan::io::encoded::EncodedFile::read(&out).expect("a valid encoded file");
    assert!(f.is_empty());
    assert_eq!(kv_metadata(&out)["padan.agency"], "test");
    assert!(read_rejects(&rejects_of(&out)).is_empty());
}

#[test]
fn comma_semicolon_tab_and_bom_crlf_files_encode_alike() {
    let d = Dir::new();
    let mut outputs = Vec::new();
    for name in ["comma.csv", "semicolon.csv", "tab.tsv", "bom-crlf.csv"] {
        let out = format!("{name}.padan.parquet");
        encode(&d, &malformed(name), &out, &[]).ok();
        assert_eq!(check_counts(&d.path(&out)), (2, 2, 0), "{name}");
        outputs.push((name, std::fs::read(d.path(&out)).unwrap()));
    }
    for (name, bytes) in &outputs[1..] {
        assert!(
            *bytes == outputs[0].1,
            "{name} encodes exactly like comma.csv (same records, other delimiter / BOM / line ends)"
        );
    }
}

#[test]
fn quotes_multiline_cells_and_gaps_are_read_or_rejected_by_line() {
    let d = Dir::new();
    encode(
        &d,
        &malformed("quotes-and-gaps.csv"),
        "q.padan.parquet",
        &[],
    )
    .ok();
    let out = d.path("q.padan.parquet");
    // Q1 (a name over two lines) is kept; Q2 has no name; line 5 has no id; Q4's unterminated
    // quote swallows the rest of the file into one ragged row.
    assert_eq!(check_counts(&out), (4, 1, 3));
    assert_eq!(record_ids(&out), ["Q1"]);
    let rej: Vec<(u64, String)> = rejected_rows(&rejects_of(&out))
        .into_iter()
        .map(|l| (l.line, l.reason))
        .collect();
    assert_eq!(
        rej,
        [
            (4, "required_field_missing".to_string()),
            (5, "missing_record_id".to_string()),
            (6, "ragged_row".to_string())
        ]
    );
}

#[test]
fn a_parquet_extract_encodes_like_the_same_csv() {
    let d = Dir::new();
    let pq = d.path("extract.parquet");
    write_parquet_extract(
        &pq,
        &[
            ("id", vec![Some("S1"), Some("S2"), None, Some("S4")]),
            (
                "nama",
                vec![
                    Some("Siti Aminah, S.Pd."),
                    Some("Budi Santoso"),
                    Some("Ani"),
                    None,
                ],
            ),
            (
                "tgl_lahir",
                vec![
                    Some("01/02/1990"),
                    Some("03-04-1985"),
                    Some("1990"),
                    Some("1990"),
                ],
            ),
            ("jk", vec![Some("P"), Some("L"), None, Some("P")]),
            ("unused", vec![None, None, None, None]),
        ],
    );
    encode(&d, &pq, "pq.padan.parquet", &[]).ok();
    let out = d.path("pq.padan.parquet");
    assert_eq!(check_counts(&out), (4, 2, 2));
    let rej: Vec<(u64, String)> = rejected_rows(&rejects_of(&out))
        .into_iter()
        .map(|l| (l.line, l.reason))
        .collect();
    assert_eq!(
        rej,
        [
            (3, "missing_record_id".to_string()),
            (4, "required_field_missing".to_string())
        ],
        "Parquet rows are numbered from 1"
    );
    encode(&d, &malformed("comma.csv"), "csv.padan.parquet", &[]).ok();
    assert!(
        read_columns(&out) == read_columns(&d.path("csv.padan.parquet")),
        "the Parquet extract encodes like comma.csv"
    );
    // A Parquet extract without a mapped column: the same clear error as for CSV.
    let r = d
        .encode(
            &pq,
            "x.padan.parquet",
            &[
                "--agency",
                "t",
                "--id-column",
                "id",
                "--column",
                "name=nama_lengkap",
            ],
        )
        .fails(3);
    assert!(
        r.stderr.contains("'nama_lengkap'") && r.stderr.contains("'unused'"),
        "{r:#?}"
    );
    // A file named .parquet that is not Parquet.
    let fake = d.write("fake.parquet", "id,nama\n1,Siti\n");
    let r = encode(&d, &fake, "f.padan.parquet", &[]);
    assert!(r.code == 3 || r.code == 5, "{r:#?}");
    assert!(r.stderr.contains("fake.parquet"), "{r:#?}");
}

#[test]
fn usage_errors_exit_with_code_2() {
    let d = Dir::new();
    let input = malformed("comma.csv");
    // No column mapping at all.
    let r = d
        .encode(&input, "u.padan.parquet", &["--agency", "t"])
        .fails(2);
    assert!(r.stderr.contains("--columns"), "{r:#?}");
    // No agency.
    d.encode(
        &input,
        "u.padan.parquet",
        &["--id-column", "id", "--column", "name=nama"],
    )
    .fails(2);
    // A field the schema does not have.
    let r = d
        .encode(
            &input,
            "u.padan.parquet",
            &[
                "--agency",
                "t",
                "--id-column",
                "id",
                "--column",
                "nama=nama",
            ],
        )
        .fails(2);
    assert!(r.stderr.contains("nama"), "{r:#?}");
    // Clap's own usage errors also exit with 2.
    let r = d.padan(["encode", "--no-such-flag"]);
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(files(&d).is_empty(), "nothing written: {:?}", files(&d));
}
