//! Delimited text extracts: comma, semicolon or tab; a header row; UTF-8 with or without BOM, or
//! Windows-1252 as spreadsheet tools export it.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::{Projection, RawRow, ReadProblem};
use crate::error::{Error, Location, Result};
use crate::schema::{ColumnMap, Schema};

/// The text encoding of a CSV extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// UTF-8 where a cell is valid UTF-8, else Windows-1252 (the default).
    #[default]
    Auto,
    /// Strict UTF-8: a cell that is not valid UTF-8 makes its row a reject.
    Utf8,
    /// Windows-1252 (Excel's "CSV" on Windows).
    Windows1252,
}

impl std::str::FromStr for TextEncoding {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "auto" => Ok(TextEncoding::Auto),
            "utf-8" | "utf8" => Ok(TextEncoding::Utf8),
            "windows-1252" | "cp1252" | "latin1" | "latin-1" | "iso-8859-1" => {
                Ok(TextEncoding::Windows1252)
            }
            _ => Err("encoding must be auto, utf-8 or windows-1252".into()),
        }
    }
}

/// A streaming CSV extract reader.
pub struct CsvReader {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    projection: Projection,
    encoding: TextEncoding,
    delimiter: u8,
    saw_cp1252: bool,
    total_bytes: u64,
    record: csv::ByteRecord,
    done: bool,
    /// Line of the last record (the header is line 1).
    last_line: u64,
}

/// Chooses the delimiter from the header line: the most frequent of `,` `;` tab outside quotes.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = &head[..line_end];
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    for &b in line {
        match b {
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => counts[0] += 1,
            b';' if !in_quotes => counts[1] += 1,
            b'\t' if !in_quotes => counts[2] += 1,
            _ => {}
        }
    }
    let cands = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    cands[best]
}

impl CsvReader {
    /// Opens a CSV extract and resolves the column map against its header.
    pub fn open(
        path: &Path,
        schema: &Schema,
        map: &ColumnMap,
        encoding: TextEncoding,
    ) -> Result<CsvReader> {
        let mut file = File::open(path).map_err(|e| Error::io("opening extract", path, e))?;
        let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut head = vec![0u8; 64 * 1024];
        let mut n = 0;
        loop {
            let k = file
                .read(&mut head[n..])
                .map_err(|e| Error::io("reading extract", path, e))?;
            if k == 0 {
                break;
            }
            n += k;
            if n == head.len() {
                break;
            }
        }
        head.truncate(n);
        let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::input_file(
                path,
                "the file is empty: an extract needs a header row and data rows",
            ));
        }
        let delimiter = sniff_delimiter(body);
        let file = File::open(path).map_err(|e| Error::io("opening extract", path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::None)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let header_rec = reader
            .byte_headers()
            .map_err(|e| csv_error(path, &e))?
            .clone();
        let mut header = Vec::with_capacity(header_rec.len());
        let mut saw_cp1252 = false;
        for (i, h) in header_rec.iter().enumerate() {
            let h = if i == 0 {
                h.strip_prefix(b"\xef\xbb\xbf").unwrap_or(h)
            } else {
                h
            };
            let text = match decode(h, encoding) {
                Some((t, cp)) => {
                    saw_cp1252 |= cp;
                    t.trim().to_string()
                }
                None => {
                    return Err(Error::input(
                        Location {
                            file: Some(path.to_path_buf()),
                            line: Some(1),
                            column: Some(format!("#{}", i + 1)),
                        },
                        "the header is not valid UTF-8 (try --encoding windows-1252)",
                    ))
                }
            };
            header.push(text);
        }
        let projection = Projection::resolve(path, &header, schema, map)?;
        Ok(CsvReader {
            path: path.to_path_buf(),
            reader,
            projection,
            encoding,
            delimiter,
            saw_cp1252,
            total_bytes,
            record: csv::ByteRecord::new(),
            done: false,
            last_line: 1,
        })
    }

    /// The next batch of at most `max` rows.
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<RawRow>> {
        let mut out = Vec::with_capacity(max.min(1 << 16));
        let width = self.projection.names.len();
        while !self.done && out.len() < max {
            let more = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| csv_error(&self.path, &e))?;
            if !more {
                self.done = true;
                break;
            }
            // The csv crate counts `\n` only: in a file with bare `\r` line ends (Excel for Mac)
            // every record would be on line 1. Each record starts on a later line than the last.
            let line = self
                .record
                .position()
                .map(|p| p.line())
                .unwrap_or(0)
                .max(self.last_line + 1);
            self.last_line = line;
            // A completely blank line is not a record.
            if self.record.len() == 1 && self.record[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if self.record.len() != width {
                // The id cell of a ragged row may hold another column's value: leave it empty.
                out.push(RawRow {
                    line,
                    id: String::new(),
                    cells: vec![None; self.projection.fields.len()],
                    problem: Some((ReadProblem::RaggedRow, "*".to_string())),
                });
                continue;
            }
            let mut cells: Vec<Option<Cow<'_, str>>> = Vec::with_capacity(width);
            let mut bad_col = None;
            for (i, b) in self.record.iter().enumerate() {
                match decode(b, self.encoding) {
                    Some((t, cp)) => {
                        self.saw_cp1252 |= cp;
                        cells.push(Some(t));
                    }
                    None => {
                        bad_col.get_or_insert(i);
                        cells.push(None);
                    }
                }
            }
            let mut row = self
                .projection
                .row(line, |i| cells.get(i).and_then(|c| c.as_deref()));
            if let Some(i) = bad_col {
                row.problem = Some((ReadProblem::InvalidText, self.projection.names[i].clone()));
            }
            out.push(row);
        }
        Ok(out)
    }

    /// Bytes consumed and total bytes.
    pub fn progress(&self) -> (u64, u64) {
        (self.reader.position().byte(), self.total_bytes)
    }

    /// Detected dialect and encoding.
    pub fn describe(&self) -> String {
        let delim = match self.delimiter {
            b',' => "comma",
            b';' => "semicolon",
            _ => "tab",
        };
        let enc = match (self.encoding, self.saw_cp1252) {
            (TextEncoding::Windows1252, _) => "windows-1252",
            (TextEncoding::Auto, true) => "windows-1252 (detected)",
            _ => "utf-8",
        };
        format!("csv, {delim}-separated, {enc}")
    }
}

/// Decodes one cell. Returns the text and whether Windows-1252 was used; `None` when strict
/// UTF-8 was asked for and the bytes are not UTF-8.
fn decode(bytes: &[u8], enc: TextEncoding) -> Option<(Cow<'_, str>, bool)> {
    match enc {
        TextEncoding::Windows1252 => {
            let (t, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            Some((t, false))
        }
        TextEncoding::Utf8 => std::str::from_utf8(bytes)
            .ok()
            .map(|s| (Cow::Borrowed(s), false)),
        TextEncoding::Auto => match std::str::from_utf8(bytes) {
            Ok(s) => Some((Cow::Borrowed(s), false)),
            Err(_) => {
                let (t, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
                Some((t, true))
            }
        },
    }
}

/// A csv error without any cell content.
fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    let msg = match e.kind() {
        csv::ErrorKind::Io(err) => format!("read error: {err}"),
        csv::ErrorKind::Utf8 { .. } => "text is not valid UTF-8".to_string(),
        csv::ErrorKind::UnequalLengths { .. } => "a row has the wrong number of fields".into(),
        _ => "malformed CSV".to_string(),
    };
    Error::input(
        Location {
            file: Some(path.to_path_buf()),
            line,
            column: None,
        },
        msg,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_delimiters_outside_quotes() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1;2"), b',');
        assert_eq!(sniff_delimiter(b"a;b;\"c,d,e\"\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter(b"single"), b',');
    }

    #[test]
    fn decodes_cp1252_in_auto_mode_and_refuses_it_in_strict_mode() {
        let bytes = b"Andr\xe9s";
        let (t, cp) = decode(bytes, TextEncoding::Auto).unwrap();
        assert_eq!(t, "Andrés");
        assert!(cp);
        assert!(decode(bytes, TextEncoding::Utf8).is_none());
        let (t, cp) = decode("Andrés".as_bytes(), TextEncoding::Auto).unwrap();
        assert_eq!(t, "Andrés");
        assert!(!cp);
    }
}
