//! Reading agency extracts (delimited text, spreadsheets or Parquet) into batches of raw rows.
//!
//! The format is told by content, never by the file name ([`source`]): delimited text (any
//! delimiter, UTF-8 / UTF-16 / Windows-1252, plain or gzip), Excel `.xlsx` / `.xls`,
//! OpenDocument `.ods`, Parquet; from a file or standard input (`-`). Anything else is refused
//! with one line saying what it looks like.
//!
//! A reader applies the agency's [`ColumnMap`]: each [`RawRow`] carries the record id and, per
//! schema field, the text of the column(s) feeding it (several columns joined with a space), or
//! `None` when the agency has no column for the field or the cell is empty. Rows that cannot be
//! read (ragged rows, undecodable text, a missing id) come out as [`RawRow::problem`] so that the
//! encoder can send them to the rejects file: no row is dropped silently.
//!
//! Readers stream: memory is bounded by the batch size, not by the file size.

mod csv_reader;
mod parquet_reader;
mod sheet_reader;
pub mod source;

pub use csv_reader::{parse_delimiter, CsvReader, TextEncoding};
pub use parquet_reader::ParquetReader;
pub use sheet_reader::SheetReader;

use source::{Bytes, Kind};

use std::path::Path;

use crate::error::{Error, Result};
use crate::schema::{ColumnMap, Schema};

/// Rows per batch handed to the encoder.
pub const DEFAULT_BATCH_ROWS: usize = 16_384;

/// How to read an extract beyond what its content tells.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Text encoding of a delimited text extract (UTF-16 is told by its BOM).
    pub encoding: TextEncoding,
    /// The delimiter of a text extract (default: Excel's `sep=` line, else sniffed).
    pub delimiter: Option<u8>,
    /// Rows above the header to skip (title rows), in a text or spreadsheet extract.
    pub skip_rows: usize,
    /// The sheet of a workbook, by name or 1-based position (default: the first).
    pub sheet: Option<String>,
}

/// Why a row could not be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReadProblem {
    /// The row has a different number of fields than the header.
    RaggedRow,
    /// A cell is not valid text in the declared encoding.
    InvalidText,
    /// The record id cell is empty.
    MissingId,
    /// The record id was already used by an earlier row of the extract.
    DuplicateId,
}

impl ReadProblem {
    /// Stable snake_case code (rejects file, metadata).
    pub fn code(self) -> &'static str {
        match self {
            ReadProblem::RaggedRow => "ragged_row",
            ReadProblem::InvalidText => "invalid_text_encoding",
            ReadProblem::MissingId => "missing_record_id",
            ReadProblem::DuplicateId => "duplicate_record_id",
        }
    }
}

/// One row of an extract, mapped onto the schema's fields.
#[derive(Debug, Clone, Default)]
pub struct RawRow {
    /// 1-based line in a CSV file (the header is line 1) or 1-based row in a Parquet file.
    pub line: u64,
    /// The agency's record id (may be empty when `problem` is `MissingId`).
    pub id: String,
    /// Per schema field (in schema order): the cell text, or `None` when absent or empty.
    pub cells: Vec<Option<String>>,
    /// A problem that makes the row unreadable, with the column it concerns.
    pub problem: Option<(ReadProblem, String)>,
}

/// How the extract's columns feed the schema: resolved once from the header.
#[derive(Debug, Clone)]
pub(crate) struct Projection {
    /// Index of the id column.
    pub id: usize,
    /// Per schema field: the indices of the columns feeding it (empty = not mapped).
    pub fields: Vec<Vec<usize>>,
    /// Column names (for problem reports).
    pub names: Vec<String>,
}

impl Projection {
    /// Resolves the column map against the header (on `header_line`; 0 when not a line, as in
    /// Parquet). A missing column is an error naming it; the columns present are listed only
    /// when the header is one (some mapped column is in it), and only names that look like column
    /// names: a first line of data never reaches a message.
    pub(crate) fn resolve(
        path: &Path,
        header_line: u64,
        header: &[String],
        schema: &Schema,
        map: &ColumnMap,
    ) -> Result<Projection> {
        let find = |col: &str| -> Option<usize> {
            header.iter().position(|h| h == col).or_else(|| {
                header
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(col.trim()))
            })
        };
        let mut wanted: Vec<&str> = vec![map.id_column.as_str()];
        for f in &schema.fields {
            if let Some(src) = map.columns.get(&f.name) {
                wanted.extend(src.columns().iter().copied());
            }
        }
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|c| find(c).is_none())
            .collect();
        if !missing.is_empty() {
            let names = |v: &[&str]| {
                v.iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let at = if header_line > 0 {
                format!("line {header_line}")
            } else {
                "the file's columns".to_string()
            };
            let msg = if missing.len() == wanted.len() {
                format!(
                    "none of the mapped columns ({}) is in the header ({at}, {} columns): is the first row a header? A file without a header row needs one added; title rows above the header are skipped with --skip-rows N",
                    names(&wanted),
                    header.len()
                )
            } else {
                format!(
                    "the column map names column{} {}, which {} not in the file; columns present: {}",
                    if missing.len() > 1 { "s" } else { "" },
                    names(&missing),
                    if missing.len() > 1 { "are" } else { "is" },
                    header
                        .iter()
                        .enumerate()
                        .map(|(i, h)| if looks_like_column_name(h) {
                            format!("'{h}'")
                        } else {
                            format!("#{} (name not shown)", i + 1)
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(Error::input_file(path, msg));
        }
        let get = |c: &str| find(c).expect("checked above");
        let id = get(&map.id_column);
        let mut fields = Vec::with_capacity(schema.fields.len());
        for f in &schema.fields {
            let mut idx = Vec::new();
            if let Some(src) = map.columns.get(&f.name) {
                for c in src.columns() {
                    idx.push(get(c));
                }
            }
            fields.push(idx);
        }
        Ok(Projection {
            id,
            fields,
            names: header.to_vec(),
        })
    }

    /// Builds a row from decoded cells (`cell(i)` gives column i's text, trimmed).
    pub(crate) fn row<'a>(&self, line: u64, cell: impl Fn(usize) -> Option<&'a str>) -> RawRow {
        let id = cell(self.id).map(str::trim).unwrap_or("").to_string();
        let mut cells = Vec::with_capacity(self.fields.len());
        for cols in &self.fields {
            let v = match cols.len() {
                0 => None,
                1 => cell(cols[0])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                _ => {
                    let parts: Vec<&str> = cols
                        .iter()
                        .filter_map(|&c| cell(c).map(str::trim))
                        .filter(|s| !s.is_empty())
                        .collect();
                    (!parts.is_empty()).then(|| parts.join(" "))
                }
            };
            cells.push(v);
        }
        let problem = id
            .is_empty()
            .then(|| (ReadProblem::MissingId, self.names[self.id].clone()));
        RawRow {
            line,
            id,
            cells,
            problem,
        }
    }
}

/// Whether a header cell may be shown in a message: a short name without control characters,
/// long digit runs, `@` or date-like shapes. Anything else may be a cell of a first row of data.
fn looks_like_column_name(h: &str) -> bool {
    let digits = h.chars().filter(char::is_ascii_digit).count();
    !h.is_empty()
        && h.chars().count() <= 40
        && digits <= 4
        && !h.chars().any(|c| c.is_control() || c == '@')
        && !(digits >= 2 && h.contains(['/', '-', '.']) && h.chars().any(|c| c.is_ascii_digit()))
}

/// An open extract of any format.
pub enum Extract {
    /// A delimited text file.
    Csv(CsvReader),
    /// A Parquet file.
    Parquet(ParquetReader),
    /// A spreadsheet (.xlsx, .xls, .ods).
    Sheet(SheetReader),
}

impl Extract {
    /// Opens an extract with the default [`ReadOptions`] and the given text encoding.
    pub fn open(
        path: &Path,
        schema: &Schema,
        map: &ColumnMap,
        encoding: TextEncoding,
    ) -> Result<Extract> {
        Extract::open_with(
            path,
            schema,
            map,
            &ReadOptions {
                encoding,
                ..ReadOptions::default()
            },
        )
    }

    /// Opens an extract (a file, or standard input for `-`), telling its format by content.
    pub fn open_with(
        path: &Path,
        schema: &Schema,
        map: &ColumnMap,
        opts: &ReadOptions,
    ) -> Result<Extract> {
        let (bytes, name) = Bytes::open(path)?;
        let kind = bytes.kind(&name)?;
        Ok(match kind {
            Kind::Text { gzip, utf16 } => Extract::Csv(CsvReader::open(
                &name,
                &bytes,
                (gzip, utf16),
                schema,
                map,
                opts,
            )?),
            Kind::Parquet => Extract::Parquet(ParquetReader::open(&name, &bytes, schema, map)?),
            Kind::Xlsx | Kind::Xls | Kind::Ods => {
                Extract::Sheet(SheetReader::open(&name, &bytes, kind, schema, map, opts)?)
            }
        })
    }

    /// The next batch of at most `max` rows; empty when the file is done.
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<RawRow>> {
        match self {
            Extract::Csv(r) => r.next_batch(max),
            Extract::Parquet(r) => r.next_batch(max),
            Extract::Sheet(r) => r.next_batch(max),
        }
    }

    /// All the (remaining) rows, read in batches of [`DEFAULT_BATCH_ROWS`]: for tools that need
    /// the whole extract in memory (the command itself streams).
    pub fn read_all(&mut self) -> Result<Vec<RawRow>> {
        let mut rows = Vec::new();
        loop {
            let b = self.next_batch(DEFAULT_BATCH_ROWS)?;
            if b.is_empty() {
                return Ok(rows);
            }
            rows.extend(b);
        }
    }

    /// Bytes (CSV) or rows (Parquet) consumed so far, and the total, for progress bars.
    pub fn progress(&self) -> (u64, u64) {
        match self {
            Extract::Csv(r) => r.progress(),
            Extract::Parquet(r) => r.progress(),
            Extract::Sheet(r) => r.progress(),
        }
    }

    /// A short description of what was detected (delimiter, encoding), for the summary.
    pub fn describe(&self) -> String {
        match self {
            Extract::Csv(r) => r.describe(),
            Extract::Parquet(_) => "parquet".to_string(),
            Extract::Sheet(r) => r.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_header_like_names_are_shown() {
        for ok in [
            "id",
            "nama_lengkap",
            "Tgl Lahir",
            "NIK",
            "kolom_2024",
            "No. Paspor",
        ] {
            assert!(looks_like_column_name(ok), "{ok}");
        }
        for data in [
            "3201014703900001",
            "07/03/1990",
            "1990-03-07",
            "siti@example.org",
            "",
            "a\u{0}b",
            "Nama yang sangat panjang sekali untuk sebuah kolom",
        ] {
            assert!(!looks_like_column_name(data), "{data}");
        }
    }

    #[test]
    fn a_first_row_of_data_is_never_listed() {
        let schema = Schema::default_victims();
        let map = ColumnMap::from_flags(
            "id",
            &["name=nama".to_string(), "dob=tgl".to_string()],
            Default::default(),
        )
        .unwrap();
        let data: Vec<String> = ["A1", "Siti Aminah", "07/03/1990"]
            .map(String::from)
            .to_vec();
        let e = Projection::resolve(Path::new("x.csv"), 1, &data, &schema, &map)
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("Siti") && !e.contains("1990") && e.contains("header"),
            "{e}"
        );
        let partial: Vec<String> = ["id", "nama", "07/03/1990"].map(String::from).to_vec();
        let e = Projection::resolve(Path::new("x.csv"), 1, &partial, &schema, &map)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'tgl'") && e.contains("'nama'") && e.contains("#3") && !e.contains("1990"),
            "{e}"
        );
    }
}
