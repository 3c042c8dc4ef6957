//! Output writers: one per agency (CSV in the agency's dialect, or Parquet), streamed.
//!
//! CSV is written by hand (RFC 4180 quoting: a field is quoted when it holds the delimiter, a
//! quote or a line break) because the generic writer cost a third of the run time.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use super::agency::Agency;
use crate::error::{Error, Result};

/// Where an agency's rows go.
pub(crate) enum Sink {
    /// A CSV file in the agency's dialect.
    Csv {
        out: BufWriter<File>,
        delimiter: u8,
        crlf: bool,
        windows_1252: bool,
        path: PathBuf,
    },
    /// A Parquet file with one string column per header column, written a chunk at a time.
    Parquet {
        writer: Box<ArrowWriter<File>>,
        schema: Arc<Schema>,
        builders: Vec<StringBuilder>,
        path: PathBuf,
    },
}

fn create(path: &Path) -> Result<File> {
    File::create(path).map_err(|e| Error::io("creating", path, e))
}

fn put_field(out: &mut BufWriter<File>, f: &[u8], delimiter: u8) -> std::io::Result<()> {
    if f.iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r')
    {
        out.write_all(b"\"")?;
        for part in f.split_inclusive(|&b| b == b'"') {
            out.write_all(part)?;
            if part.last() == Some(&b'"') {
                out.write_all(b"\"")?;
            }
        }
        out.write_all(b"\"")
    } else {
        out.write_all(f)
    }
}

impl Sink {
    /// Opens a CSV sink in the agency's dialect and writes the header.
    pub(crate) fn csv(path: &Path, agency: &Agency) -> Result<Sink> {
        let mut sink = Sink::Csv {
            out: BufWriter::with_capacity(1 << 16, create(path)?),
            delimiter: agency.delimiter,
            crlf: agency.windows_1252,
            windows_1252: agency.windows_1252,
            path: path.to_path_buf(),
        };
        sink.write_row(&agency.header())?;
        Ok(sink)
    }

    /// Opens a plain UTF-8 comma-separated CSV sink (the truth file) and writes the header.
    pub(crate) fn plain_csv(path: &Path, header: &[&str]) -> Result<Sink> {
        let mut sink = Sink::Csv {
            out: BufWriter::with_capacity(1 << 16, create(path)?),
            delimiter: b',',
            crlf: false,
            windows_1252: false,
            path: path.to_path_buf(),
        };
        sink.write_row(header)?;
        Ok(sink)
    }

    /// Opens a Parquet sink (zstd, string columns named as the agency's header).
    pub(crate) fn parquet(path: &Path, agency: &Agency) -> Result<Sink> {
        let file = create(path)?;
        let header = agency.header();
        let fields: Vec<Field> = header
            .iter()
            .map(|h| Field::new(*h, DataType::Utf8, false))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        // Bounded memory: the writer buffers a row group before writing it.
        let props = crate::io::writer_properties(128 * 1024).build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| Error::format("writing", path, e))?;
        Ok(Sink::Parquet {
            writer: Box::new(writer),
            schema,
            builders: header.iter().map(|_| StringBuilder::new()).collect(),
            path: path.to_path_buf(),
        })
    }

    /// Writes one row (every column, in header order). Parquet rows are buffered until
    /// [`Sink::end_chunk`].
    pub(crate) fn write_row(&mut self, row: &[&str]) -> Result<()> {
        self.write_row_with(row, usize::MAX, "")
    }

    /// Writes one row whose column `at` is replaced by `value` (the record id, assigned late).
    pub(crate) fn write_row_with(&mut self, row: &[&str], at: usize, value: &str) -> Result<()> {
        match self {
            Sink::Csv {
                out,
                delimiter,
                crlf,
                windows_1252,
                path,
            } => {
                let res = (|| {
                    for (i, f) in row.iter().enumerate() {
                        let f = if i == at { value } else { f };
                        if i > 0 {
                            out.write_all(&[*delimiter])?;
                        }
                        if *windows_1252 && !f.is_ascii() {
                            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(f);
                            if unmappable {
                                return Err(std::io::Error::other(
                                    "a generated value is not representable in Windows-1252",
                                ));
                            }
                            put_field(out, &bytes, *delimiter)?;
                        } else {
                            put_field(out, f.as_bytes(), *delimiter)?;
                        }
                    }
                    out.write_all(if *crlf { b"\r\n" } else { b"\n" })
                })();
                res.map_err(|e| Error::io("writing", path, e))
            }
            Sink::Parquet { builders, path, .. } => {
                if row.len() != builders.len() {
                    return Err(Error::Internal(format!(
                        "row of {} columns for {}",
                        row.len(),
                        path.display()
                    )));
                }
                for (i, (b, f)) in builders.iter_mut().zip(row).enumerate() {
                    b.append_value(if i == at { value } else { f });
                }
                Ok(())
            }
        }
    }

    /// Ends a chunk of rows: Parquet writes them as one batch; CSV has nothing to do.
    pub(crate) fn end_chunk(&mut self) -> Result<()> {
        match self {
            Sink::Csv { .. } => Ok(()),
            Sink::Parquet {
                writer,
                schema,
                builders,
                path,
            } => {
                if builders.first().is_none_or(|b| b.is_empty()) {
                    return Ok(());
                }
                let columns: Vec<ArrayRef> = builders
                    .iter_mut()
                    .map(|b| Arc::new(b.finish()) as ArrayRef)
                    .collect();
                let batch = RecordBatch::try_new(schema.clone(), columns)
                    .map_err(|e| Error::format("writing", path, e))?;
                writer
                    .write(&batch)
                    .map_err(|e| Error::format("writing", path, e))
            }
        }
    }

    /// Flushes and closes the file.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.end_chunk()?;
        match self {
            Sink::Csv { out, path, .. } => {
                let file = out
                    .into_inner()
                    .map_err(|e| Error::io("writing", &path, e.into_error()))?;
                file.sync_all().map_err(|e| Error::io("writing", &path, e))
            }
            Sink::Parquet { writer, path, .. } => {
                let file = writer
                    .into_inner()
                    .map_err(|e| Error::format("writing", &path, e))?;
                file.sync_all().map_err(|e| Error::io("writing", &path, e))
            }
        }
    }
}

/// Writes a small text file in one go.
pub(crate) fn write_text(path: &Path, text: &str) -> Result<()> {
    let mut f = create(path)?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io("writing", path, e))
}
