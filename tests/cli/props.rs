//! Property tests through the CLI: whatever the extract holds, every row read ends up encoded or
//! rejected (read = encoded + rejected; one `row_rejected` line per rejected row), padan exits 0
//! (or refuses a binary file with exit 3, an extract whose every row is rejected with exit 7) and
//! never panics.

use proptest::prelude::*;

use super::harness::{check_counts, plain_flags, read_rejects, record_ids, rejects_of, Dir, Run};

/// The counts of a run that wrote an encoded file; `None` when it refused, as it must, with
/// nothing that looks like an encoded file left: a file of binary data (exit 3), or too many
/// rows rejected (exit 7, the rejects file written).
fn counts_or_refusal(d: &Dir, run: Run) -> Option<(u64, u64, u64)> {
    let out = d.path("out.padan.parquet");
    match run.code {
        0 => Some(check_counts(&out)),
        3 => {
            assert!(run.stderr.contains("looks like a binary file"), "{run:#?}");
            assert!(!out.exists());
            None
        }
        7 => {
            assert!(!out.exists());
            let rej = read_rejects(&rejects_of(&out));
            assert!(rej.iter().any(|l| l.outcome == "row_rejected"), "{run:#?}");
            None
        }
        _ => panic!("unexpected exit: {run:#?}"),
    }
}

const HEADER: &str = "id,nama,tgl_lahir,jk,nik\n";

fn flags() -> Vec<&'static str> {
    plain_flags("prop", true)
}

/// One cell without quotes, delimiters or line breaks, so that each line is one CSV record:
/// plausible values, near misses and garbage bytes (invalid UTF-8, NUL, control characters).
fn cell() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"".to_vec()),
        Just(b"Siti Nurhaliza binti Abdullah".to_vec()),
        Just("Hj. Sr\u{ed} Wahyuni, S.Pd.".as_bytes().to_vec()),
        Just(b"Moch. Djoko".to_vec()),
        Just(b"17 Agustus 1985".to_vec()),
        Just(b"31/02/1980".to_vec()),
        Just(b"00/00/0000".to_vec()),
        Just(b"32874".to_vec()),
        Just(b"P".to_vec()),
        Just(b"Laki-laki".to_vec()),
        Just(b"5204015708850001".to_vec()),
        Just(b"9999999999999999".to_vec()),
        "[A-Za-z .']{0,30}".prop_map(String::into_bytes),
        "[0-9/.-]{0,16}".prop_map(String::into_bytes),
        "\\PC{0,12}".prop_map(|s: String| s
            .replace([',', '"', '\n', '\r', ';', '\t'], "")
            .into_bytes()),
        prop::collection::vec(
            any::<u8>().prop_filter("no structure bytes", |b| {
                !matches!(b, b',' | b'"' | b'\n' | b'\r' | b';' | b'\t')
            }),
            0..20
        ),
    ]
}

/// A line: an id from a small pool (duplicates happen), then 0..=6 more cells (5 = well formed).
fn line() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            4 => (0u8..40).prop_map(|i| format!("ID{i}").into_bytes()),
            1 => cell(),
        ],
        prop_oneof![8 => Just(4usize), 2 => 0usize..=6],
        prop::collection::vec(cell(), 6),
    )
        .prop_map(|(id, n, cells)| {
            let mut l = id;
            for c in cells.into_iter().take(n) {
                l.push(b',');
                l.extend(c);
            }
            if l.iter().all(u8::is_ascii_whitespace) {
                // A blank line is no record at all; keep one record per line.
                l.push(b',');
            }
            l
        })
}

fn encodings() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("auto"), Just("utf-8"), Just("windows-1252")]
}

fn run_encode(d: &Dir, bytes: &[u8], encoding: &str, extra: &[&str]) -> super::harness::Run {
    let input = d.write("extract.csv", bytes);
    let mut args = flags();
    // Random rows are mostly bad: no reject-rate limit (every row rejected still exits 7).
    args.extend_from_slice(&["--encoding", encoding, "--max-reject-rate", "1"]);
    args.extend_from_slice(extra);
    d.encode(&input, "out.padan.parquet", &args)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        // A failure prints its minimal input; turn it into a test in regression.rs.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_row_is_encoded_or_rejected(
        lines in prop::collection::vec(line(), 0..40),
        encoding in encodings(),
        bom in any::<bool>(),
        crlf in any::<bool>(),
        batch_rows in prop_oneof![Just(16_384usize), 1usize..8],
    ) {
        let mut bytes = Vec::new();
        if bom {
            bytes.extend_from_slice(b"\xef\xbb\xbf");
        }
        bytes.extend_from_slice(HEADER.as_bytes());
        for l in &lines {
            bytes.extend_from_slice(l);
            bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        let d = Dir::new();
        let br = batch_rows.to_string();
        let run = run_encode(&d, &bytes, encoding, &["--batch-rows", &br]);
        let out = d.path("out.padan.parquet");
        let Some((read, encoded, rejected)) = counts_or_refusal(&d, run) else {
            return Ok(());
        };
        prop_assert_eq!(read, lines.len() as u64, "one record per line");
        prop_assert_eq!(read, encoded + rejected);
        // Every line is accounted for exactly once: encoded ids and rejected lines are disjoint
        // and cover the input.
        let rejected_lines: std::collections::BTreeSet<u64> = read_rejects(&rejects_of(&out))
            .into_iter()
            .filter(|l| l.outcome == "row_rejected")
            .map(|l| l.line)
            .collect();
        prop_assert!(rejected_lines.iter().all(|&l| (2..2 + read).contains(&l)));
        let ids = record_ids(&out);
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        prop_assert_eq!(unique.len(), ids.len(), "encoded ids are unique");
    }

    #[test]
    fn garbage_after_a_valid_header_never_breaks_the_bookkeeping(
        body in prop::collection::vec(
            prop_oneof![
                3 => any::<u8>(),
                1 => prop::sample::select(vec![b',', b'"', b'\n', b'\r', b';', b'\t', b' ']),
            ],
            0..600,
        ),
        encoding in encodings(),
    ) {
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let d = Dir::new();
        let run = run_encode(&d, &bytes, encoding, &[]);
        if let Some((read, encoded, rejected)) = counts_or_refusal(&d, run) {
            prop_assert_eq!(read, encoded + rejected);
        }
    }
}
