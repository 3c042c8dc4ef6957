//! Spreadsheet extracts (.xlsx, .xls, .ods) through calamine: one sheet, its first row (after
//! `--skip-rows`) the header.
//!
//! Cells become the text a data officer would see, with the same normalization as a CSV cell:
//! text as is, whole numbers as digits, dates as ISO dates, booleans as `TRUE`/`FALSE`, error
//! cells (`#N/A`) as empty. A number of 15 or more digits cannot be exact in a spreadsheet (it
//! keeps 15 significant digits), so it is written in scientific notation, as the spreadsheet
//! shows it: a NIK stored as a number is then counted as `nik_spreadsheet_number`, not read
//! with a wrong last digit.

use std::path::Path;

use calamine::{Data, Range, Reader};

use super::source::{Bytes, Kind, ReadSeek};
use super::{Projection, RawRow, ReadOptions};
use crate::error::{Error, Result};
use crate::schema::{ColumnMap, Schema};

/// A spreadsheet extract, read whole (a sheet holds at most about a million rows).
pub struct SheetReader {
    rows: std::vec::IntoIter<RawRow>,
    total: u64,
    done: u64,
    sheet: String,
    kind: &'static str,
}

/// Largest number a spreadsheet stores exactly with all its digits (15 significant digits).
const EXACT_DIGITS: f64 = 1e15;

impl SheetReader {
    pub(crate) fn open(
        path: &Path,
        bytes: &Bytes,
        kind: Kind,
        schema: &Schema,
        map: &ColumnMap,
        opts: &ReadOptions,
    ) -> Result<SheetReader> {
        let r = bytes.reader(path)?;
        let kind_name = match kind {
            Kind::Xlsx => "xlsx",
            Kind::Xls => "xls",
            Kind::Ods => "ods",
            _ => return Err(Error::Internal("not a spreadsheet".into())),
        };
        let (sheet, range) = match kind {
            Kind::Xlsx => load::<calamine::Xlsx<_>>(path, r, opts, kind_name)?,
            Kind::Xls => load::<calamine::Xls<_>>(path, r, opts, kind_name)?,
            _ => load::<calamine::Ods<_>>(path, r, opts, kind_name)?,
        };
        let start_row = range.start().map(|s| s.0 as u64).unwrap_or(0);
        // `--skip-rows N` puts the header on sheet row N + 1, as the spreadsheet numbers rows
        // (the range starts at the first used row).
        let skip = opts.skip_rows.saturating_sub(start_row as usize);
        let mut rows_iter = range.rows().enumerate().skip(skip);
        let Some((hi, header_cells)) = rows_iter.next() else {
            return Err(Error::input_file(
                path,
                format!("sheet '{sheet}' is empty: an extract needs a header row and data rows"),
            ));
        };
        let header: Vec<String> = header_cells
            .iter()
            .map(|c| cell_text(c).unwrap_or_default().trim().to_string())
            .collect();
        // Sheet rows are numbered from 1, as the spreadsheet shows them.
        let header_line = start_row + hi as u64 + 1;
        let projection = Projection::resolve(path, header_line, &header, schema, map)?;
        let mut out = Vec::with_capacity(range.height());
        for (i, cells) in rows_iter {
            let text: Vec<Option<String>> = cells.iter().map(cell_text).collect();
            if text
                .iter()
                .all(|t| t.as_deref().is_none_or(|s| s.trim().is_empty()))
            {
                continue;
            }
            let line = start_row + i as u64 + 1;
            out.push(projection.row(line, |c| text.get(c).and_then(|t| t.as_deref())));
        }
        Ok(SheetReader {
            total: out.len() as u64,
            rows: out.into_iter(),
            done: 0,
            sheet,
            kind: kind_name,
        })
    }

    /// The next batch of at most `max` rows.
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<RawRow>> {
        let b: Vec<RawRow> = self.rows.by_ref().take(max).collect();
        self.done += b.len() as u64;
        Ok(b)
    }

    /// Rows handed out and total rows.
    pub fn progress(&self) -> (u64, u64) {
        (self.done, self.total)
    }

    /// Format and sheet.
    pub fn describe(&self) -> String {
        format!("{}, sheet '{}'", self.kind, self.sheet)
    }
}

/// Opens the workbook and reads the chosen sheet: (its name, its cells).
fn load<W: Reader<Box<dyn ReadSeek>>>(
    path: &Path,
    r: Box<dyn ReadSeek>,
    opts: &ReadOptions,
    kind: &'static str,
) -> Result<(String, Range<Data>)> {
    // calamine's messages are not shown: they may quote the file's content.
    let mut wb = W::new(r).map_err(|_| {
        Error::input_file(
            path,
            format!("looks like an {kind} workbook but cannot be read (damaged, encrypted or password-protected?): open it in a spreadsheet and save it again, or export the sheet as CSV"),
        )
    })?;
    let names = wb.sheet_names();
    let sheet = match &opts.sheet {
        Some(s) => if let Ok(n) = s.parse::<usize>() {
            names.get(n.wrapping_sub(1)).cloned()
        } else {
            names.iter().find(|x| x.as_str() == s).cloned()
        }
        .ok_or_else(|| {
            Error::input_file(
                path,
                format!(
                    "no sheet '{s}' in the workbook; its sheets: {}",
                    list(&names)
                ),
            )
        })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Error::input_file(path, "the workbook has no sheet"))?,
    };
    let range = wb.worksheet_range(&sheet).map_err(|_| {
        Error::input_file(
            path,
            format!("sheet '{sheet}' cannot be read: open the workbook in a spreadsheet and save it again, or export the sheet as CSV"),
        )
    })?;
    Ok((sheet, range))
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{} '{n}'", i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text of a cell (`None` when empty or an error value).
pub(crate) fn cell_text(c: &Data) -> Option<String> {
    match c {
        Data::Empty | Data::Error(_) => None,
        Data::String(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(number_text(*f, EXACT_DIGITS)),
        Data::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.to_string()),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, m, dd, ..) = d.to_ymd_hms_milli();
            Some(format!("{y:04}-{m:02}-{dd:02}"))
        }
        Data::DateTime(d) => Some(number_text(d.as_f64(), EXACT_DIGITS)),
        Data::DateTimeIso(s) => Some(s.get(..10).unwrap_or(s).to_string()),
        Data::DurationIso(s) => Some(s.clone()),
    }
}

/// A number as text: whole numbers below `exact` as digits (`3201014703900001`, `42`); others in
/// Rust's shortest form (`1.5`), and whole numbers from `exact` up in scientific notation
/// (`3.2010147039e15`), since their last digits may be lost.
pub(crate) fn number_text(f: f64, exact: f64) -> String {
    if !f.is_finite() {
        String::new()
    } else if f.fract() == 0.0 && f.abs() < exact {
        format!("{}", f as i64)
    } else if f.fract() == 0.0 {
        format!("{f:e}")
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_spreadsheet_shows_them() {
        assert_eq!(number_text(42.0, EXACT_DIGITS), "42");
        assert_eq!(number_text(1.5, EXACT_DIGITS), "1.5");
        assert_eq!(number_text(-7.0, EXACT_DIGITS), "-7");
        assert_eq!(
            number_text(320101470390000.0, EXACT_DIGITS),
            "320101470390000"
        );
        assert_eq!(
            number_text(3201014703900000.0, EXACT_DIGITS),
            "3.2010147039e15"
        );
        assert_eq!(number_text(f64::NAN, EXACT_DIGITS), "");
        assert_eq!(cell_text(&Data::Error(calamine::CellErrorType::NA)), None);
        assert_eq!(cell_text(&Data::Bool(true)).as_deref(), Some("TRUE"));
    }
}
