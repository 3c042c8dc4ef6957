//! No identity in any output: every command is fed malformed inputs whose every cell is a unique
//! sentinel string, and no sentinel may appear on standard output, standard error or in any file
//! it writes (except the agency-side rejects and lookup, which name record ids by design).

use std::path::{Path, PathBuf};

use super::harness::{fixture, synth_columns, synth_extract, test_key, Dir, Run, PLAIN_COLUMNS};

/// Every sentinel starts with this (checked case-insensitively).
const MARK: &str = "zqxv";

/// The `i`-th sentinel.
fn s(i: usize) -> String {
    format!("ZQXV{i:05}K")
}

/// Sentinel rows: `rows` × `cols` unique cells, row-major from `start`.
fn grid(start: usize, rows: usize, cols: usize) -> Vec<Vec<String>> {
    (0..rows)
        .map(|r| (0..cols).map(|c| s(start + r * cols + c)).collect())
        .collect()
}

fn csv_text(header: Option<&[&str]>, rows: &[Vec<String>], sep: &str) -> String {
    let mut t = String::new();
    if let Some(h) = header {
        t.push_str(&h.join(sep));
        t.push('\n');
    }
    for r in rows {
        t.push_str(&r.join(sep));
        t.push('\n');
    }
    t
}

/// Record ids are not identities (messages name rows by line and id): where a row can be
/// encoded, its id is a plain one, and every other cell a sentinel.
fn with_plain_ids(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            r[0] = format!("R{i}");
            r
        })
        .collect()
}

const HEADER: [&str; 4] = ["id", "nama", "tgl_lahir", "jk"];

/// The malformed inputs, written under `in/` of `d`: (name, path).
fn inputs(d: &Dir) -> Vec<(&'static str, PathBuf)> {
    std::fs::create_dir_all(d.path("in")).unwrap();
    let w = |name: &str, bytes: Vec<u8>| d.write(&format!("in/{name}"), bytes);
    let rows = grid(0, 6, 4);
    let json = format!(
        "[{}]",
        rows.iter()
            .map(|r| format!(
                "{{\"{}\": \"{}\", \"nama\": \"{}\", \"tgl_lahir\": \"{}\", \"{}\": \"x\"}}",
                r[0],
                r[1],
                r[2],
                r[3],
                s(900)
            ))
            .collect::<Vec<_>>()
            .join(",\n")
    );
    let ndjson = rows
        .iter()
        .map(|r| {
            format!(
                "{{\"id\":\"{}\",\"nama\":\"{}\",\"x\":\"{}\"}}\n",
                r[0], r[1], r[2]
            )
        })
        .collect::<String>();
    let mut junk = Vec::new();
    for (i, r) in grid(100, 8, 2).iter().enumerate() {
        junk.extend_from_slice(&[0u8, 0xff, 0x13, i as u8, b',']);
        junk.extend_from_slice(r.join(",").as_bytes());
        junk.extend_from_slice(b"\x00\x01\n");
    }
    // A zip archive that is no workbook, its member stored uncompressed: the sentinels are in the
    // raw bytes.
    let zip = stored_zip(
        "notes.txt",
        csv_text(None, &grid(200, 4, 4), ",").as_bytes(),
    );
    let mut utf16 = vec![0xff, 0xfe];
    for u in csv_text(None, &grid(300, 4, 4), "\t").encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let mut v = vec![
        ("json", w("extract.json.csv", json.into_bytes())),
        ("ndjson", w("extract.ndjson", ndjson.into_bytes())),
        (
            "headerless",
            w(
                "headerless.csv",
                csv_text(None, &grid(400, 6, 4), ",").into_bytes(),
            ),
        ),
        (
            "headerless-pipe",
            w(
                "headerless.txt",
                csv_text(None, &grid(450, 6, 5), "|").into_bytes(),
            ),
        ),
        (
            "sep-line-headerless",
            w(
                "sep.csv",
                format!("sep=;\n{}", csv_text(None, &grid(500, 4, 4), ";")).into_bytes(),
            ),
        ),
        ("junk", w("junk.csv", junk)),
        ("zip", w("archive.xlsx", zip)),
        ("utf16-headerless", w("utf16.csv", utf16)),
        (
            "wrong-columns",
            w(
                "wrong.csv",
                csv_text(Some(&["no", "name", "born", "sex"]), &grid(600, 5, 4), ",").into_bytes(),
            ),
        ),
        (
            "all-cells-bad",
            w(
                "bad-cells.csv",
                csv_text(Some(&HEADER), &with_plain_ids(grid(700, 5, 4)), ",").into_bytes(),
            ),
        ),
        (
            "ragged",
            w(
                "ragged.csv",
                format!(
                    "{}\n{}\n{}\n{},\"{}\n",
                    HEADER.join(","),
                    grid(800, 1, 6)[0].join(","),
                    grid(810, 1, 2)[0].join(","),
                    s(820),
                    s(821)
                )
                .into_bytes(),
            ),
        ),
        (
            "title-rows",
            w(
                "title.csv",
                format!(
                    "{}\n{}",
                    s(850),
                    csv_text(Some(&HEADER), &with_plain_ids(grid(860, 3, 4)), ",")
                )
                .into_bytes(),
            ),
        ),
    ];
    // TOML-like lines: handed over as a column map, schema or link config, the parser's
    // message must not quote them.
    v.push((
        "toml-like",
        w(
            "keys.txt",
            format!(
                "{} = {}\n{} = \"{}\"\nagency = \"{}\"\ndate_order = \"{}\"\n[{}]\n{} = 1\n",
                s(1100),
                s(1101),
                s(1102),
                s(1103),
                s(1104),
                s(1105),
                s(1106),
                s(1107)
            )
            .into_bytes(),
        ),
    ));
    for (k, line) in [
        format!("{} = \"{}\"\n", s(1110), s(1111)),
        format!(
            "agency = \"x\"\nid_column = \"y\"\ndate_order = \"{}\"\n",
            s(1112)
        ),
        format!(
            "version = 1\nname = \"{}\"\n[fields.{}]\nkind = \"{}\"\n",
            s(1113),
            s(1114),
            s(1115)
        ),
        format!("[blocking]\n{} = \"{}\"\n", s(1116), s(1117)),
    ]
    .into_iter()
    .enumerate()
    {
        v.push(("toml-like", w(&format!("keys{k}.toml"), line.into_bytes())));
    }
    v.push((
        "gzip-headerless",
        w(
            "headerless.csv.gz",
            gzip(csv_text(None, &grid(1000, 4, 4), ",").as_bytes()),
        ),
    ));
    // A workbook whose every cell is a sentinel (scripts/make_format_fixtures.py).
    v.push(("sentinel-xlsx", fixture("formats/sentinel.xlsx")));
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A zip archive of one stored (uncompressed) member.
fn stored_zip(name: &str, data: &[u8]) -> Vec<u8> {
    let crc = crc32(data);
    let mut local = Vec::new();
    local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    local.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    local.extend_from_slice(&crc.to_le_bytes());
    local.extend_from_slice(&(data.len() as u32).to_le_bytes());
    local.extend_from_slice(&(data.len() as u32).to_le_bytes());
    local.extend_from_slice(&(name.len() as u16).to_le_bytes());
    local.extend_from_slice(&0u16.to_le_bytes());
    local.extend_from_slice(name.as_bytes());
    local.extend_from_slice(data);
    let mut central = Vec::new();
    central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    central.extend_from_slice(&crc.to_le_bytes());
    central.extend_from_slice(&(data.len() as u32).to_le_bytes());
    central.extend_from_slice(&(data.len() as u32).to_le_bytes());
    central.extend_from_slice(&(name.len() as u16).to_le_bytes());
    central.extend_from_slice(&[0; 12]);
    central.extend_from_slice(&0u32.to_le_bytes());
    central.extend_from_slice(name.as_bytes());
    let mut out = local;
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Asserts that no sentinel is in the run's output nor in any file under `d` outside `in/`,
/// except the files named in `agency_side` (rejects, lookups). Parquet files are read back
/// (their pages may be compressed) and every string value and metadata value is checked.
fn leaks(d: &Dir, run: &Run, what: &str, agency_side: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        if text.to_lowercase().contains(MARK) {
            found.push(format!("{what}: a sentinel on {stream}: {run:#?}"));
        }
    }
    let mut stack = vec![d.path("")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p == d.path("in") || agency_side.iter().any(|a| name.ends_with(a)) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            if String::from_utf8_lossy(&bytes)
                .to_lowercase()
                .contains(MARK)
            {
                found.push(format!("{what}: a sentinel in {} ({run:#?})", p.display()));
            }
            if bytes.starts_with(b"PAR1")
                && parquet_text(&p)
                    .iter()
                    .any(|v| v.to_lowercase().contains(MARK))
            {
                found.push(format!(
                    "{what}: a sentinel in the values of {} ({run:#?})",
                    p.display()
                ));
            }
        }
    }
    found
}

fn check(found: Vec<String>) {
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// Every string value and metadata value of a Parquet file.
fn parquet_text(p: &Path) -> Vec<String> {
    use arrow_array::cast::AsArray;
    use arrow_schema::DataType;
    let mut out: Vec<String> = super::harness::kv_metadata(p).into_values().collect();
    for (_, arrays) in super::harness::read_columns(p) {
        for a in arrays {
            match a.data_type() {
                DataType::Utf8 => {
                    out.extend(a.as_string::<i32>().iter().flatten().map(String::from))
                }
                DataType::LargeUtf8 => {
                    out.extend(a.as_string::<i64>().iter().flatten().map(String::from))
                }
                _ => {}
            }
        }
    }
    out
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn encode_args(input: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = args(&[
        "encode",
        "--key",
        &test_key().display().to_string(),
        "--agency",
        "test",
        "--input",
        &input.display().to_string(),
        "--out",
        "out.padan.parquet",
    ]);
    a.extend(args(extra));
    a
}

fn flags() -> Vec<&'static str> {
    PLAIN_COLUMNS.to_vec()
}

#[test]
fn encode_never_echoes_a_cell() {
    let d = Dir::new();
    let mut found = Vec::new();
    for (what, input) in inputs(&d) {
        for extra in [
            flags(),
            [&flags()[..], &["--skip-rows", "1"]].concat(),
            [&flags()[..], &["--json", "--max-reject-rate", "1"]].concat(),
        ] {
            let r = d.padan(encode_args(&input, &extra));
            found.extend(leaks(&d, &r, what, &[".rejects.csv"]));
        }
        // The extract handed over as a column map or a schema: the TOML error quotes no line.
        let r = d.padan(encode_args(
            &fixture("malformed/comma.csv"),
            &["--columns", &input.display().to_string()],
        ));
        found.extend(leaks(&d, &r, what, &[".rejects.csv"]));
        let r = d.padan(args(&["schema", "check", &input.display().to_string()]));
        found.extend(leaks(&d, &r, what, &[".rejects.csv"]));
        let mut a = encode_args(&fixture("malformed/comma.csv"), &flags());
        a.extend(args(&["--schema", &input.display().to_string()]));
        let r = d.padan(a);
        found.extend(leaks(&d, &r, what, &[".rejects.csv"]));
    }
    // Standard input.
    let json = std::fs::read(d.path("in/extract.json.csv")).unwrap();
    let r = d.padan_stdin(encode_args(Path::new("-"), &flags()), &json);
    assert_ne!(r.code, 0);
    found.extend(leaks(&d, &r, "stdin", &[".rejects.csv"]));
    check(found);
}

/// A small real match set (kemlu pseudonymized, polri) in `d/ms`.
fn match_set(d: &Dir) {
    for (agency, extra) in [
        (
            "kemlu",
            vec!["--pseudonymize-ids", "--lookup", "kemlu.lookup.csv"],
        ),
        ("polri", vec![]),
    ] {
        d.encode_synth(agency, &format!("{agency}.padan.parquet"), &extra)
            .ok();
    }
    d.padan([
        "link",
        "--quiet",
        "--write-candidates",
        "--out",
        "ms",
        "kemlu.padan.parquet",
        "polri.padan.parquet",
    ])
    .ok();
}

const AGENCY_SIDE: [&str; 2] = [".rejects.csv", ".lookup.csv"];

#[test]
fn link_evaluate_report_reveal_and_import_never_echo_a_cell() {
    let d = Dir::new();
    let ins = inputs(&d);
    let mut found = Vec::new();
    match_set(&d);
    // Truth files with sentinels in every cell (and in the right columns too).
    let mut truths = ins.clone();
    truths.push((
        "truth-right-columns",
        d.write(
            "in/truth.csv",
            csv_text(
                Some(&["agency", "record_id", "person_id"]),
                &grid(2000, 5, 3),
                ",",
            ),
        ),
    ));
    truths.push((
        "lookup-right-columns",
        d.write(
            "in/lookup.csv",
            csv_text(Some(&["record_id", "pseudonym"]), &grid(2100, 5, 2), ","),
        ),
    ));
    truths.push((
        "lookup-with-decoy-column",
        d.write(
            "in/lookup3.csv",
            csv_text(
                Some(&["record_id", "pseudonym", "decoy"]),
                &grid(2200, 5, 3),
                ",",
            ),
        ),
    ));
    for (what, input) in &truths {
        let i = input.display().to_string();
        let runs = [
            d.padan(args(&[
                "link",
                "--quiet",
                "--out",
                "ms2",
                "kemlu.padan.parquet",
                &i,
            ])),
            d.padan(args(&[
                "link",
                "--quiet",
                "--config",
                &i,
                "--out",
                "ms3",
                "kemlu.padan.parquet",
                "polri.padan.parquet",
            ])),
            d.padan(args(&["evaluate", "ms", "--truth", &i])),
            d.padan(args(&[
                "evaluate",
                "ms",
                "--truth",
                &fixture("synth/truth.csv").display().to_string(),
                "--lookup",
                &format!("kemlu={i}"),
            ])),
            d.padan(args(&["report", "ms", "--out", "r.html", "--truth", &i])),
            d.padan(args(&[
                "reveal",
                "ms",
                "--agency",
                "kemlu",
                "--lookup",
                &i,
                "--out",
                "rv.parquet",
            ])),
            d.padan(args(&[
                "import",
                "clkhash",
                "--agency",
                "x",
                "--input",
                &i,
                "--out",
                "imp.parquet",
            ])),
            d.padan(args(&[
                "import",
                "clkhash",
                "--agency",
                "x",
                "--input",
                &fixture("clkhash/a.b64").display().to_string(),
                "--ids",
                &i,
                "--out",
                "imp2.parquet",
            ])),
        ];
        for r in runs {
            found.extend(leaks(&d, &r, what, &AGENCY_SIDE));
        }
    }
    check(found);
}

#[test]
fn attack_never_echoes_a_cell() {
    let d = Dir::new();
    let ins = inputs(&d);
    let mut found = Vec::new();
    d.encode_synth("kemlu", "kemlu.padan.parquet", &[]).ok();
    let base = |extract: &Path, columns: &Path| {
        args(&[
            "attack",
            "--key",
            &test_key().display().to_string(),
            "--columns",
            &columns.display().to_string(),
            "--encoded",
            "kemlu.padan.parquet",
            "--max-records",
            "50",
            &extract.display().to_string(),
        ])
    };
    for (what, input) in &ins {
        let mut runs = vec![
            d.padan(base(input, &synth_columns("kemlu"))),
            d.padan(base(&synth_extract("kemlu"), input)),
        ];
        let mut a = base(&synth_extract("kemlu"), &synth_columns("kemlu"));
        a.extend(args(&["--names", &input.display().to_string()]));
        let names = d.padan(a);
        // A name list is a list of names: it may be read, but never printed.
        found.extend(leaks(&d, &names, what, &AGENCY_SIDE));
        runs.push(d.padan(args(&[
            "attack",
            "--key",
            &test_key().display().to_string(),
            "--columns",
            &synth_columns("kemlu").display().to_string(),
            "--encoded",
            &input.display().to_string(),
            &synth_extract("kemlu").display().to_string(),
        ])));
        for r in runs {
            found.extend(leaks(&d, &r, what, &AGENCY_SIDE));
        }
    }
    check(found);
}
