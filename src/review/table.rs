//! Reading a review or decisions file: CSV (as a spreadsheet saves it: a BOM, `,` `;` or tab) or
//! Parquet (as padan, pandas, polars or DuckDB write it), told apart by content. Only the named
//! columns are kept, as text. Errors name the file, the row and the column, never a cell.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::Array;
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::error::{Error, Result};
use crate::io::location;

/// The kept columns of a table, as text (`None` for an empty or null cell).
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The columns asked for, in the order asked; `false` where the file lacks one.
    pub present: Vec<bool>,
    /// Per row: its 1-based line (CSV, the header is line 1) or row (Parquet), and its cells.
    pub rows: Vec<(u64, Vec<Option<String>>)>,
}

impl Table {
    /// Whether column `i` (of those asked for) is in the file.
    pub fn has(&self, i: usize) -> bool {
        self.present[i]
    }
}

/// Reads the columns `wanted` of `path` (a column the file lacks reads as absent; header names
/// compare trimmed and case-insensitively).
pub fn read(path: &Path, wanted: &[&str]) -> Result<Table> {
    let mut head = [0u8; 4];
    let is_parquet = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
        f.read(&mut head)
            .map_err(|e| Error::io("reading", path, e))?
            == 4
            && &head == b"PAR1"
    };
    if is_parquet {
        read_parquet(path, wanted)
    } else {
        read_csv(path, wanted)
    }
}

fn find(header: &[String], name: &str) -> Option<usize> {
    header
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
}

fn read_csv(path: &Path, wanted: &[&str]) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("reading", path, e))?;
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first.iter().filter(|&&b| b == c).count();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&c| (count(c), c == b','))
        .unwrap_or(b',');
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| {
            Error::input(
                location(path, Some(1), None),
                format!(
                    "cannot read the header ({})",
                    if e.is_io_error() {
                        "I/O error"
                    } else {
                        "not UTF-8?"
                    }
                ),
            )
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let idx: Vec<Option<usize>> = wanted.iter().map(|w| find(&header, w)).collect();
    let mut table = Table {
        present: idx.iter().map(Option::is_some).collect(),
        rows: Vec::new(),
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            Error::input(
                location(path, e.position().map(|p| p.line()), None),
                "not valid CSV (bad quoting or not UTF-8)",
            )
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cells = idx
            .iter()
            .map(|i| {
                i.and_then(|i| rec.get(i))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
            })
            .collect();
        table.rows.push((line, cells));
    }
    Ok(table)
}

fn read_parquet(path: &Path, wanted: &[&str]) -> Result<Table> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::format("reading (not a Parquet file, or truncated)", path, e))?;
    let schema = builder.schema().clone();
    let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let idx: Vec<Option<usize>> = wanted.iter().map(|w| find(&header, w)).collect();
    let mut roots: Vec<usize> = idx.iter().flatten().copied().collect();
    roots.sort_unstable();
    roots.dedup();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.clone());
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| Error::format("reading", path, e))?;
    let mut table = Table {
        present: idx.iter().map(Option::is_some).collect(),
        rows: Vec::new(),
    };
    let mut row = 1u64;
    for batch in reader {
        let batch = batch.map_err(|e| Error::format("reading (corrupt or truncated?)", path, e))?;
        let cols: Vec<Option<Vec<Option<String>>>> = idx
            .iter()
            .map(|i| {
                i.map(|i| {
                    let name = &header[i];
                    let col = batch.column(batch.schema().index_of(name).map_err(|_| {
                        Error::Internal(format!("projected column {name} missing"))
                    })?);
                    texts(col.as_ref()).ok_or_else(|| {
                        Error::input(
                            location(path, None, Some(name)),
                            format!(
                                "column has type {}, expected text or a number",
                                col.data_type()
                            ),
                        )
                    })
                })
                .transpose()
            })
            .collect::<Result<_>>()?;
        for r in 0..batch.num_rows() {
            let cells = cols
                .iter()
                .map(|c| c.as_ref().and_then(|c| c[r].clone()))
                .collect();
            table.rows.push((row + r as u64, cells));
        }
        row += batch.num_rows() as u64;
    }
    Ok(table)
}

/// A column as text, or `None` for a type a review file never holds.
pub(crate) fn texts(a: &dyn Array) -> Option<Vec<Option<String>>> {
    let n = a.len();
    let get = |f: &dyn Fn(usize) -> String| -> Vec<Option<String>> {
        (0..n)
            .map(|i| {
                a.is_valid(i)
                    .then(|| f(i))
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            })
            .collect()
    };
    Some(match a.data_type() {
        DataType::Utf8 => get(&|i| a.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => get(&|i| a.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => get(&|i| a.as_string_view().value(i).to_string()),
        DataType::Int64 => get(&|i| a.as_primitive::<Int64Type>().value(i).to_string()),
        DataType::Int32 => get(&|i| a.as_primitive::<Int32Type>().value(i).to_string()),
        DataType::Float64 => get(&|i| a.as_primitive::<Float64Type>().value(i).to_string()),
        DataType::Float32 => get(&|i| a.as_primitive::<Float32Type>().value(i).to_string()),
        DataType::Boolean => get(&|i| a.as_boolean().value(i).to_string()),
        DataType::Null => vec![None; n],
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let values = texts(d.values().as_ref())?;
            let keys = d.normalized_keys();
            (0..n)
                .map(|i| {
                    if a.is_valid(i) {
                        values.get(keys[i]).cloned().flatten()
                    } else {
                        None
                    }
                })
                .collect()
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_from_a_spreadsheet_reads_with_its_bom_and_semicolons() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(
            &p,
            "\u{feff}Pair_ID;decision;note\npr-1;match;\n\n;;\npr-2; non-match ;x\n",
        )
        .unwrap();
        let t = read(&p, &["pair_id", "decision", "reviewer"]).unwrap();
        assert_eq!(t.present, [true, true, false]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].0, 2);
        assert_eq!(t.rows[1].0, 5);
        assert_eq!(t.rows[1].1[1].as_deref(), Some("non-match"));
        assert_eq!(t.rows[0].1[2], None);
    }
}
