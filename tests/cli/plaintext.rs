//! No plaintext: no name, passport, date or NIK of an extract appears in its encoded file.
//!
//! For every synthetic extract: encode, then search every identifier cell (as written, upper and
//! lower case; cells of at least 4 characters, and name words of at least 6) in
//! - every value of every column read back through arrow (decompressed), `record_id` excepted
//!   (it legitimately holds the agency's ids),
//! - every decompressed data page of those columns (values plus levels, as the Parquet crate
//!   hands them over),
//! - the file's key–value metadata and `created_by`, and
//! - the raw bytes of the file.
//!
//! With `--pseudonymize-ids` the original record ids are searched too, `record_id` included.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::Array;
use arrow_schema::DataType;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::harness::{read_columns, synth_columns, synth_extract, Dir, AGENCIES};

/// The cells of an extract that hold identifiers, and its record ids.
pub(super) struct Plain {
    pub(super) needles: BTreeMap<String, String>, // needle → where it came from (for messages)
    pub(super) ids: Vec<String>,
}

fn decode_extract(path: &Path) -> (String, u8) {
    let bytes = std::fs::read(path).unwrap();
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t.trim_start_matches('\u{feff}').to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned(),
    };
    let header = text.lines().next().unwrap_or("");
    let delim = [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|d| header.matches(*d as char).count())
        .unwrap();
    (text, delim)
}

pub(super) fn plain_values(agency: &str) -> Plain {
    let map: toml::Value =
        toml::from_str(&std::fs::read_to_string(synth_columns(agency)).unwrap()).unwrap();
    let id_col = map["id_column"].as_str().unwrap().to_string();
    let mut field_cols: Vec<(String, Vec<String>)> = Vec::new();
    for field in ["name", "passport", "dob", "nik"] {
        let cols = match map["columns"].get(field) {
            None => continue,
            Some(toml::Value::String(s)) => vec![s.clone()],
            Some(toml::Value::Array(a)) => {
                a.iter().map(|v| v.as_str().unwrap().to_string()).collect()
            }
            Some(other) => panic!("{agency}: column map entry {field} = {other}"),
        };
        field_cols.push((field.to_string(), cols));
    }
    let (text, delim) = decode_extract(&synth_extract(agency));
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let idx = |c: &str| {
        header
            .iter()
            .position(|h| h == c)
            .unwrap_or_else(|| panic!("{agency}: column {c} in {header:?}"))
    };
    let id_i = idx(&id_col);
    let mut needles = BTreeMap::new();
    let mut ids = Vec::new();
    let mut add = |s: &str, min_chars: usize, origin: String| {
        let s = s.trim();
        if s.chars().count() < min_chars {
            return;
        }
        for v in [s.to_string(), s.to_uppercase(), s.to_lowercase()] {
            needles.entry(v).or_insert_with(|| origin.clone());
        }
    };
    for (n, rec) in r.records().enumerate() {
        let rec = rec.unwrap();
        ids.push(rec.get(id_i).unwrap_or("").trim().to_string());
        for (field, cols) in &field_cols {
            let cells: Vec<&str> = cols.iter().map(|c| rec.get(idx(c)).unwrap_or("")).collect();
            let origin = format!("{agency} row {} {field}", n + 2);
            for c in &cells {
                add(c, 4, origin.clone());
                if field == "name" {
                    for w in c.split(|ch: char| !ch.is_alphanumeric()) {
                        add(w, 6, origin.clone());
                    }
                }
            }
            if cells.len() > 1 {
                add(&cells.join(" "), 4, origin.clone());
            }
        }
    }
    assert!(needles.len() > 100, "{agency}: identifiers to search for");
    Plain { needles, ids }
}

/// Finds needles in haystacks in one pass per haystack (indexed by their first 4 bytes).
pub(super) struct Searcher<'a> {
    by_prefix: HashMap<[u8; 4], Vec<&'a str>>,
}

impl<'a> Searcher<'a> {
    pub(super) fn new(needles: impl Iterator<Item = &'a str>) -> Searcher<'a> {
        let mut by_prefix: HashMap<[u8; 4], Vec<&str>> = HashMap::new();
        for n in needles {
            let b = n.as_bytes();
            assert!(b.len() >= 4, "needles have at least 4 bytes");
            by_prefix
                .entry([b[0], b[1], b[2], b[3]])
                .or_default()
                .push(n);
        }
        Searcher { by_prefix }
    }

    /// (needle, byte offset) of every hit.
    pub(super) fn hits(&self, hay: &[u8]) -> Vec<(&'a str, usize)> {
        let mut out = Vec::new();
        if hay.len() < 4 {
            return out;
        }
        for i in 0..=hay.len() - 4 {
            if let Some(ns) = self
                .by_prefix
                .get(&[hay[i], hay[i + 1], hay[i + 2], hay[i + 3]])
            {
                for n in ns {
                    if hay[i..].starts_with(n.as_bytes()) {
                        out.push((*n, i));
                    }
                }
            }
        }
        out
    }
}

/// Everything a reader of the encoded file can see, as named haystacks.
fn haystacks(path: &Path, include_record_id: bool) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // 1. Values through arrow.
    for (name, arrays) in read_columns(path) {
        if name == "record_id" && !include_record_id {
            continue;
        }
        let mut bytes = Vec::new();
        for a in arrays {
            match a.data_type() {
                DataType::FixedSizeBinary(_) => {
                    bytes.extend_from_slice(a.as_fixed_size_binary().value_data())
                }
                DataType::Utf8 => {
                    for v in a.as_string::<i32>().iter().flatten() {
                        bytes.extend_from_slice(v.as_bytes());
                        bytes.push(0);
                    }
                }
                other => panic!("unexpected column type {other} in an encoded file"),
            }
        }
        assert!(!bytes.is_empty() || name != "record_filter");
        out.push((format!("values of column {name}"), bytes));
    }
    // 2. Decompressed pages.
    let reader = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
    let meta = reader.metadata();
    let fm = meta.file_metadata();
    let names: Vec<String> = fm
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    for rg in 0..meta.num_row_groups() {
        let row_group = reader.get_row_group(rg).unwrap();
        for (ci, name) in names.iter().enumerate() {
            if name == "record_id" && !include_record_id {
                continue;
            }
            let mut bytes = Vec::new();
            for page in row_group.get_column_page_reader(ci).unwrap() {
                bytes.extend_from_slice(&page.unwrap().buffer()[..]);
            }
            out.push((format!("decompressed pages of column {name}"), bytes));
        }
    }
    // 3. Metadata strings.
    let mut m = Vec::new();
    for kv in fm.key_value_metadata().into_iter().flatten() {
        m.extend_from_slice(kv.key.as_bytes());
        m.push(0);
        m.extend_from_slice(kv.value.as_deref().unwrap_or("").as_bytes());
        m.push(0);
    }
    m.extend_from_slice(fm.created_by().unwrap_or("").as_bytes());
    out.push(("key-value metadata".to_string(), m));
    // 4. Raw bytes.
    out.push(("raw file bytes".to_string(), std::fs::read(path).unwrap()));
    out
}

fn assert_no_hits(path: &Path, searcher: &Searcher, origins: &BTreeMap<String, String>, ids: bool) {
    let mut problems = Vec::new();
    for (where_, hay) in haystacks(path, ids) {
        for (needle, at) in searcher.hits(&hay) {
            // Pseudonyms are `ps-` + 24 lowercase hex digits: a short all-hex needle ("1979",
            // "dede") occurs in them by chance; a 10-digit one about once in 10^8 files.
            let hex_chance = needle.len() < 10
                && needle
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if where_.contains("record_id") && hex_chance {
                continue;
            }
            problems.push(format!(
                "{:?} ({}) found in {where_} at byte {at}",
                needle, origins[needle]
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "plaintext in {}:\n  {}\n(a 4-byte hit inside a filter column can be chance, about 1 in 4000 \
         per needle per MB; longer hits are leaks)",
        path.display(),
        problems.join("\n  ")
    );
}

#[test]
fn no_identifier_of_any_synthetic_extract_is_in_its_encoded_file() {
    let d = Dir::new();
    let mut searched = 0;
    for agency in AGENCIES {
        let plain = plain_values(agency);
        let out = format!("{agency}.padan.parquet");
        d.encode_synth(agency, &out, &[]).ok();
        let searcher = Searcher::new(plain.needles.keys().map(String::as_str));
        // The searcher itself finds what is there: the ids are in the record_id column.
        let with_ids = haystacks(&d.path(&out), true);
        let id_searcher = Searcher::new(
            plain
                .ids
                .iter()
                .map(String::as_str)
                .filter(|s| s.len() >= 4),
        );
        assert!(
            with_ids
                .iter()
                .any(|(_, h)| !id_searcher.hits(h).is_empty()),
            "{agency}: the search finds the record ids in record_id"
        );
        assert_no_hits(&d.path(&out), &searcher, &plain.needles, false);
        searched += plain.needles.len();
    }
    assert!(searched > 5000, "searched {searched} strings");
}

#[test]
fn with_pseudonymized_ids_no_original_id_is_in_the_encoded_file_either() {
    let d = Dir::new();
    for agency in AGENCIES {
        let plain = plain_values(agency);
        let mut needles = plain.needles.clone();
        let mut seen = HashSet::new();
        for id in plain.ids.iter().filter(|i| i.chars().count() >= 4) {
            if seen.insert(id) {
                for v in [id.clone(), id.to_uppercase(), id.to_lowercase()] {
                    needles
                        .entry(v)
                        .or_insert_with(|| format!("{agency} record id"));
                }
            }
        }
        let out = format!("{agency}.padan.parquet");
        let lookup = format!("{agency}.lookup.csv");
        d.encode_synth(
            agency,
            &out,
            &["--pseudonymize-ids", "--lookup", lookup.as_str()],
        )
        .ok();
        let searcher = Searcher::new(needles.keys().map(String::as_str));
        assert_no_hits(&d.path(&out), &searcher, &needles, true);
        // The lookup, which stays at the agency, holds them: one line per encoded record.
        let l = std::fs::read_to_string(d.path(&lookup)).unwrap();
        assert_eq!(
            l.lines().count() as u64 - 1,
            super::harness::parquet_rows(&d.path(&out))
        );
    }
}
