//! Reading agency extracts (CSV or Parquet) into batches of raw rows.
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

pub use csv_reader::{CsvReader, TextEncoding};
pub use parquet_reader::ParquetReader;

use std::path::Path;

use crate::error::{Error, Result};
use crate::schema::{ColumnMap, Schema};

/// Rows per batch handed to the encoder.
pub const DEFAULT_BATCH_ROWS: usize = 16_384;

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
    /// Resolves the column map against the header; a missing column is an error naming it and
    /// listing the columns present.
    pub(crate) fn resolve(
        path: &Path,
        header: &[String],
        schema: &Schema,
        map: &ColumnMap,
    ) -> Result<Projection> {
        let find = |col: &str| -> Result<usize> {
            header
                .iter()
                .position(|h| h == col)
                .or_else(|| {
                    header
                        .iter()
                        .position(|h| h.trim().eq_ignore_ascii_case(col.trim()))
                })
                .ok_or_else(|| {
                    Error::input_file(
                        path,
                        format!(
                            "the column map names column '{col}', which is not in the file; columns present: {}",
                            header
                                .iter()
                                .map(|h| format!("'{h}'"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })
        };
        let id = find(&map.id_column)?;
        let mut fields = Vec::with_capacity(schema.fields.len());
        for f in &schema.fields {
            let mut idx = Vec::new();
            if let Some(src) = map.columns.get(&f.name) {
                for c in src.columns() {
                    idx.push(find(c)?);
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

/// An open extract of either format.
pub enum Extract {
    /// A delimited text file.
    Csv(CsvReader),
    /// A Parquet file.
    Parquet(ParquetReader),
}

impl Extract {
    /// Opens an extract, choosing the format by extension (`.parquet`/`.pq` → Parquet, else CSV).
    pub fn open(
        path: &Path,
        schema: &Schema,
        map: &ColumnMap,
        encoding: TextEncoding,
    ) -> Result<Extract> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ext == "parquet" || ext == "pq" {
            Ok(Extract::Parquet(ParquetReader::open(path, schema, map)?))
        } else {
            Ok(Extract::Csv(CsvReader::open(path, schema, map, encoding)?))
        }
    }

    /// The next batch of at most `max` rows; empty when the file is done.
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<RawRow>> {
        match self {
            Extract::Csv(r) => r.next_batch(max),
            Extract::Parquet(r) => r.next_batch(max),
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
        }
    }

    /// A short description of what was detected (delimiter, encoding), for the summary.
    pub fn describe(&self) -> String {
        match self {
            Extract::Csv(r) => r.describe(),
            Extract::Parquet(_) => "parquet".to_string(),
        }
    }
}
