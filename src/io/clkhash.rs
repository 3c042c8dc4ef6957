//! Importing clkhash CLKs (one base64 filter per line) into a padan encoded file.
//!
//! clkhash (the Python encoder of the anonlink stack) writes one cryptographic long-term key
//! (CLK) per record: a record-level Bloom filter, base64-encoded. `padan import clkhash` turns a
//! file of them into an encoded file whose `record_filter` column holds the CLKs, so padan's Dice
//! kernel (and `padan bench dice --input-a/--input-b`) can run on them, and an existing clkhash
//! deployment can move to padan without re-encoding.
//!
//! The encoded layout needs a schema with at least one field, so the imported file's schema is
//! [`import_schema`]: one `text` field `clk` (64-bit filter, null on every row) and a
//! `record_filter` of the CLK's length. Bytes are stored as clkhash wrote them; clkhash numbers
//! bits most-significant-first within a byte and padan least-significant-first, which permutes
//! bit positions the same way in every filter and so changes no Dice coefficient.
//! See docs/file-formats.md, "Imported clkhash CLKs".

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use base64::Engine;

use super::encoded::{ColumnBuf, EncodedMeta, EncodedWriter, Layout, ENCODING_VERSION};
use crate::error::{Error, Result};
use crate::schema::{FieldKind, FieldOptions, FieldSpec, RecordFilterSpec, Schema, SCHEMA_VERSION};

/// The key fingerprint of imported files: clkhash's secret never reaches padan.
pub const IMPORT_KEY_FINGERPRINT: &str = "clkhash-import";

/// The name of the (always null) placeholder field of an imported file's schema.
pub const IMPORT_FIELD: &str = "clk";

/// The schema of an imported file with CLKs of `bits` bits (a power of two, 256..=8192).
pub fn import_schema(bits: usize) -> Result<Schema> {
    let schema = Schema {
        version: SCHEMA_VERSION,
        name: "clkhash-import".into(),
        record_filter: RecordFilterSpec { bits },
        fields: vec![FieldSpec {
            name: IMPORT_FIELD.into(),
            kind: FieldKind::Text,
            q: 2,
            bits: 64,
            hashes: 1,
            exact_token: false,
            record_hashes: 1,
            required: false,
            options: FieldOptions::default(),
            hardening: Default::default(),
        }],
        slots: Vec::new(),
    };
    schema.validate("the clkhash import schema")?;
    Ok(schema)
}

/// Decodes a CLK file: one base64 filter per line (blank lines skipped), all of one length.
/// Returns the filters' bytes.
pub fn read_clks(path: &Path) -> Result<Vec<Vec<u8>>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut out: Vec<Vec<u8>> = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io("reading", path, e))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bytes = engine.decode(line).map_err(|e| {
            // Not `{e}`: base64's message quotes the offending character.
            let what = match e {
                base64::DecodeError::InvalidByte(at, _)
                | base64::DecodeError::InvalidLastSymbol(at, _) => {
                    format!("a character that is not base64 at offset {at}")
                }
                base64::DecodeError::InvalidLength(_) => "a wrong length".to_string(),
                base64::DecodeError::InvalidPadding => "wrong padding".to_string(),
            };
            Error::input_file(path, format!("line {}: not base64 ({what})", n + 1))
        })?;
        if let Some(first) = out.first() {
            if first.len() != bytes.len() {
                return Err(Error::input_file(
                    path,
                    format!(
                        "line {}: a CLK of {} bytes after CLKs of {} bytes",
                        n + 1,
                        bytes.len(),
                        first.len()
                    ),
                ));
            }
        }
        out.push(bytes);
    }
    if out.is_empty() {
        return Err(Error::input_file(path, "holds no CLKs"));
    }
    let bits = out[0].len() * 8;
    if !bits.is_power_of_two() || !(256..=8192).contains(&bits) {
        return Err(Error::input_file(
            path,
            format!("CLKs of {bits} bits: padan takes a power of two from 256 to 8192"),
        ));
    }
    Ok(out)
}

/// Reads record ids: one per line, or the first column of a CSV whose header is skipped when its
/// first line is `record_id` or `id` (any further columns are ignored).
pub fn read_ids(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
    let mut ids: Vec<String> = text
        .lines()
        .map(|l| l.split(',').next().unwrap_or("").trim().to_string())
        .collect();
    while ids.last().is_some_and(|s| s.is_empty()) {
        ids.pop();
    }
    if ids
        .first()
        .is_some_and(|h| matches!(h.as_str(), "record_id" | "id" | "rec_id"))
    {
        ids.remove(0);
    }
    Ok(ids)
}

/// What [`import_clkhash`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// CLKs written.
    pub records: usize,
    /// Their length in bits.
    pub bits: usize,
}

/// Writes `clks` (with `ids`, or line numbers from 0) as an encoded file of `agency`.
pub fn write_import(
    out: &Path,
    agency: &str,
    clks: &[Vec<u8>],
    ids: Option<Vec<String>>,
) -> Result<ImportSummary> {
    crate::agency::AgencyName::new(agency, "--agency")?;
    let bits = clks.first().map_or(1024, |c| c.len() * 8);
    let schema = import_schema(bits)?;
    let ids = match ids {
        Some(ids) => {
            if ids.len() != clks.len() {
                return Err(Error::config(
                    "--ids",
                    format!("{} ids for {} CLKs", ids.len(), clks.len()),
                ));
            }
            ids
        }
        None => (0..clks.len()).map(|i| i.to_string()).collect(),
    };
    let layout = Layout::for_schema(&schema);
    let mut cols: Vec<ColumnBuf> = layout
        .columns
        .iter()
        .map(|c| ColumnBuf::new(c.width))
        .collect();
    let (field_col, rec_col) = (0, layout.columns.len() - 1);
    for clk in clks {
        cols[field_col].push_null();
        cols[rec_col].push(clk);
    }
    let mut writer = EncodedWriter::create(out, &layout)?;
    writer.write(&ids, &cols)?;
    let meta = EncodedMeta {
        padan_version: crate::VERSION.to_string(),
        encoding_version: ENCODING_VERSION,
        schema_fingerprint: schema.fingerprint(),
        key_fingerprint: IMPORT_KEY_FINGERPRINT.into(),
        agency: agency.to_string(),
        rows_read: clks.len() as u64,
        rows_encoded: clks.len() as u64,
        rows_rejected: 0,
        rejects_by_reason: BTreeMap::new(),
        dropped_by_reason: BTreeMap::new(),
        flags_by_reason: BTreeMap::new(),
        pseudonymized_ids: false,
        schema_json: schema.canonical_json(),
    };
    writer.finish(&meta)?;
    Ok(ImportSummary {
        records: clks.len(),
        bits,
    })
}

/// Reads a CLK file (and optionally an ids file) and writes the encoded file.
pub fn import_clkhash(
    input: &Path,
    ids: Option<&Path>,
    agency: &str,
    out: &Path,
) -> Result<ImportSummary> {
    let clks = read_clks(input)?;
    let ids = ids.map(read_ids).transpose()?;
    write_import(out, agency, &clks, ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::encoded::{ColumnRole, EncodedFile};
    use base64::Engine;

    #[test]
    fn imported_clks_round_trip_as_record_filters() {
        let dir = tempfile::tempdir().unwrap();
        let engine = base64::engine::general_purpose::STANDARD;
        let clks: Vec<Vec<u8>> = (0..3u8)
            .map(|k| {
                (0..128u8)
                    .map(|b| b.wrapping_mul(31).wrapping_add(k))
                    .collect()
            })
            .collect();
        let text: String = clks
            .iter()
            .map(|c| format!("{}\n", engine.encode(c)))
            .collect();
        let input = dir.path().join("clks.b64");
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join("x.padan.parquet");
        let s = import_clkhash(&input, None, "legacy", &out).unwrap();
        assert_eq!(
            s,
            ImportSummary {
                records: 3,
                bits: 1024
            }
        );

        let f = EncodedFile::read(&out).unwrap();
        assert_eq!(f.meta.agency, "legacy");
        assert_eq!(f.meta.key_fingerprint, IMPORT_KEY_FINGERPRINT);
        assert_eq!(f.ids, ["0", "1", "2"]);
        let rf = f.column(ColumnRole::RecordFilter).unwrap();
        for (i, c) in clks.iter().enumerate() {
            assert_eq!(rf.get(i).unwrap(), &c[..]);
        }
        let ff = f.column(ColumnRole::FieldFilter(0)).unwrap();
        assert!((0..3).all(|i| ff.get(i).is_none()));

        // Explicit ids (with a header), and refusals.
        let ids = dir.path().join("ids.csv");
        std::fs::write(&ids, "record_id\na\nb\nc\n").unwrap();
        let out2 = dir.path().join("y.padan.parquet");
        import_clkhash(&input, Some(&ids), "legacy", &out2).unwrap();
        assert_eq!(EncodedFile::read(&out2).unwrap().ids, ["a", "b", "c"]);
        std::fs::write(&ids, "a\nb\n").unwrap();
        assert!(import_clkhash(&input, Some(&ids), "legacy", &out2).is_err());
        std::fs::write(&input, "not base64!\n").unwrap();
        assert!(import_clkhash(&input, None, "legacy", &out2).is_err());
        std::fs::write(&input, format!("{}\n", engine.encode([1u8; 100]))).unwrap();
        assert!(import_clkhash(&input, None, "legacy", &out2).is_err());
    }
}
