//! Delimited text extracts: comma, semicolon, tab, pipe or any `--delimiter`; Excel's `sep=` first
//! line; title rows above the header (`--skip-rows`); a header row; UTF-8 with or without BOM,
//! Windows-1252 as spreadsheet tools export it, or UTF-16 with BOM ("Unicode text"); plain or
//! gzip-compressed.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::source::{Bytes, Counting, Utf16ToUtf8};
use super::{Projection, RawRow, ReadOptions, ReadProblem};
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
    reader: csv::Reader<BufReader<Box<dyn Read + Send>>>,
    projection: Projection,
    encoding: TextEncoding,
    delimiter: u8,
    saw_cp1252: bool,
    total_bytes: u64,
    consumed: Arc<AtomicU64>,
    record: csv::ByteRecord,
    done: bool,
    /// Line of the last record (the header is line 1 + `offset`).
    last_line: u64,
    /// Lines before the header (Excel's `sep=` line, title rows).
    offset: u64,
    /// How the bytes were decoded and what was skipped, for [`CsvReader::describe`].
    notes: Vec<String>,
}

/// Chooses the delimiter from the header line: the most frequent of `,` `;` tab `|` outside
/// quotes.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = &head[..line_end];
    let cands = [b',', b';', b'\t', b'|'];
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    for &b in line {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            if let Some(i) = cands.iter().position(|&c| c == b) {
                counts[i] += 1;
            }
        }
    }
    let mut best = 0;
    for i in 1..cands.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    cands[best]
}

/// Excel's `sep=X` first line (optionally quoted, after a BOM): the delimiter it names.
fn sep_line(line: &[u8]) -> Option<u8> {
    let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    let t: Vec<u8> = line
        .iter()
        .copied()
        .filter(|&b| b != b'"' && b != b'\r' && b != b'\n')
        .collect();
    match t.as_slice() {
        [s, e, p, b'=', d] if [s, e, p].map(|c| c.to_ascii_lowercase()) == [b's', b'e', b'p'] => {
            Some(*d)
        }
        _ => None,
    }
}

/// The name of a delimiter, for the summary.
pub(crate) fn delimiter_name(d: u8) -> String {
    match d {
        b',' => "comma".into(),
        b';' => "semicolon".into(),
        b'\t' => "tab".into(),
        b'|' => "pipe".into(),
        b' ' => "space".into(),
        _ => format!("'{}'", d as char),
    }
}

/// Parses `--delimiter`: one ASCII character, or a name (comma, semicolon, tab, pipe, space).
pub fn parse_delimiter(s: &str) -> std::result::Result<u8, String> {
    let d = match s.to_ascii_lowercase().as_str() {
        "comma" => b',',
        "semicolon" => b';',
        "tab" | "\\t" => b'\t',
        "pipe" => b'|',
        "space" => b' ',
        _ if s.len() == 1 && s.as_bytes()[0].is_ascii() && s != "\"" && s != "\n" && s != "\r" => s.as_bytes()[0],
        _ => {
            return Err(
                "the delimiter is one ASCII character (not a quote or line end) or comma, semicolon, tab, pipe, space"
                    .into(),
            )
        }
    };
    Ok(d)
}

impl CsvReader {
    /// Opens a CSV extract and resolves the column map against its header.
    pub(crate) fn open(
        path: &Path,
        bytes: &Bytes,
        kind: (bool, Option<&'static encoding_rs::Encoding>),
        schema: &Schema,
        map: &ColumnMap,
        opts: &ReadOptions,
    ) -> Result<CsvReader> {
        let total_bytes = bytes.len(path)?;
        let (raw, consumed) = Counting::new(bytes.reader(path)?);
        let (gzip, utf16) = kind;
        let mut notes = Vec::new();
        let mut src: Box<dyn Read + Send> = Box::new(raw);
        if gzip {
            src = Box::new(flate2::read::MultiGzDecoder::new(src));
            notes.push("gzip".to_string());
        }
        if let Some(enc) = utf16 {
            src = Box::new(Utf16ToUtf8::new(src, enc));
            notes.push(enc.name().to_ascii_lowercase());
        }
        let mut buf = BufReader::with_capacity(1 << 20, src);
        let read_err = |e| Error::io("reading extract", path, e);
        let mut offset = 0u64;
        let mut delimiter = opts.delimiter;
        let mut line = Vec::new();
        // Excel's `sep=` line comes first.
        {
            let head = buf.fill_buf().map_err(read_err)?;
            let end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
            if let Some(d) = sep_line(&head[..end]) {
                buf.read_until(b'\n', &mut line).map_err(read_err)?;
                offset += 1;
                delimiter = delimiter.or(Some(d));
                notes.push("sep= line".to_string());
            }
        }
        for _ in 0..opts.skip_rows {
            line.clear();
            if buf.read_until(b'\n', &mut line).map_err(read_err)? == 0 {
                break;
            }
            offset += 1;
        }
        if opts.skip_rows > 0 {
            notes.push(format!(
                "{} row(s) skipped above the header",
                opts.skip_rows
            ));
        }
        let head = buf.fill_buf().map_err(read_err)?;
        let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::input_file(
                path,
                "the file is empty: an extract needs a header row and data rows",
            ));
        }
        let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(body));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::None)
            .from_reader(buf);
        let header_rec = reader
            .byte_headers()
            .map_err(|e| csv_error(path, &e, offset))?
            .clone();
        let mut header = Vec::with_capacity(header_rec.len());
        let mut saw_cp1252 = false;
        for (i, h) in header_rec.iter().enumerate() {
            let h = if i == 0 {
                h.strip_prefix(b"\xef\xbb\xbf").unwrap_or(h)
            } else {
                h
            };
            let text = match decode(h, opts.encoding) {
                Some((t, cp)) => {
                    saw_cp1252 |= cp;
                    t.trim().to_string()
                }
                None => {
                    return Err(Error::input(
                        Location {
                            file: Some(path.to_path_buf()),
                            line: Some(offset + 1),
                            column: Some(format!("#{}", i + 1)),
                        },
                        "the header is not valid UTF-8 (try --encoding windows-1252)",
                    ))
                }
            };
            header.push(text);
        }
        let projection = Projection::resolve(path, offset + 1, &header, schema, map)?;
        Ok(CsvReader {
            path: path.to_path_buf(),
            reader,
            projection,
            encoding: opts.encoding,
            delimiter,
            saw_cp1252,
            total_bytes,
            consumed,
            record: csv::ByteRecord::new(),
            done: false,
            last_line: offset + 1,
            offset,
            notes,
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
                .map_err(|e| csv_error(&self.path, &e, self.offset))?;
            if !more {
                self.done = true;
                break;
            }
            // The csv crate counts `\n` only: in a file with bare `\r` line ends (Excel for Mac)
            // every record would be on line 1. Each record starts on a later line than the last.
            let line = self
                .record
                .position()
                .map(|p| p.line() + self.offset)
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
        (
            self.consumed.load(Ordering::Relaxed).min(self.total_bytes),
            self.total_bytes,
        )
    }

    /// Detected dialect and encoding.
    pub fn describe(&self) -> String {
        let delim = delimiter_name(self.delimiter);
        let enc = match (self.encoding, self.saw_cp1252) {
            (TextEncoding::Windows1252, _) => "windows-1252",
            (TextEncoding::Auto, true) => "windows-1252 (detected)",
            _ => "utf-8",
        };
        let enc = match self.notes.iter().find(|n| n.starts_with("utf-16")) {
            Some(u) => u.as_str(),
            None => enc,
        };
        let mut s = format!("csv, {delim}-separated, {enc}");
        for n in self.notes.iter().filter(|n| !n.starts_with("utf-16")) {
            s.push_str(", ");
            s.push_str(n);
        }
        s
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
fn csv_error(path: &Path, e: &csv::Error, offset: u64) -> Error {
    let line = e.position().map(|p| p.line() + offset);
    let msg = match e.kind() {
        csv::ErrorKind::Io(err) => format!("read error ({:?})", err.kind()),
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
        assert_eq!(sniff_delimiter(b"a|b|c,d"), b'|');
    }

    #[test]
    fn reads_excel_sep_lines_and_delimiter_names() {
        assert_eq!(sep_line(b"sep=;\r\n"), Some(b';'));
        assert_eq!(sep_line(b"\xef\xbb\xbf\"SEP=|\""), Some(b'|'));
        assert_eq!(sep_line(b"sep,id"), None);
        assert_eq!(sep_line(b"separator=,"), None);
        assert_eq!(parse_delimiter("pipe"), Ok(b'|'));
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter("#"), Ok(b'#'));
        assert!(parse_delimiter("\"").is_err());
        assert!(parse_delimiter("ab").is_err());
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
