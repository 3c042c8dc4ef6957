//! Output writers: one per agency (CSV in the agency's dialect, or Parquet), streamed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::agency::Agency;
use crate::error::{Error, Result};

/// Where an agency's rows go.
pub(crate) enum Sink {
    /// A CSV file in the agency's dialect.
    Csv {
        writer: csv::Writer<BufWriter<File>>,
        windows_1252: bool,
        path: PathBuf,
    },
    /// A Parquet file with one string column per header column.
    Parquet {
        writer: Box<ArrowWriter<File>>,
        schema: Arc<Schema>,
        path: PathBuf,
    },
}

fn create(path: &Path) -> Result<File> {
    File::create(path).map_err(|e| Error::io("creating", path, e))
}

impl Sink {
    /// Opens a CSV sink and writes the header.
    pub(crate) fn csv(path: &Path, agency: &Agency) -> Result<Sink> {
        let file = create(path)?;
        let writer = csv::WriterBuilder::new()
            .delimiter(agency.delimiter)
            .terminator(if agency.windows_1252 {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .from_writer(BufWriter::with_capacity(1 << 16, file));
        let mut sink = Sink::Csv {
            writer,
            windows_1252: agency.windows_1252,
            path: path.to_path_buf(),
        };
        sink.write_row(&agency.header())?;
        Ok(sink)
    }

    /// Opens a plain UTF-8 comma-separated CSV sink (the truth file) and writes the header.
    pub(crate) fn plain_csv(path: &Path, header: &[&str]) -> Result<Sink> {
        let file = create(path)?;
        let writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(BufWriter::with_capacity(1 << 16, file));
        let mut sink = Sink::Csv {
            writer,
            windows_1252: false,
            path: path.to_path_buf(),
        };
        sink.write_row(header)?;
        Ok(sink)
    }

    /// Opens a Parquet sink (zstd, string columns named as the agency's header).
    pub(crate) fn parquet(path: &Path, agency: &Agency) -> Result<Sink> {
        let file = create(path)?;
        let fields: Vec<Field> = agency
            .header()
            .into_iter()
            .map(|h| Field::new(h, DataType::Utf8, false))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| Error::format("writing", path, e))?;
        Ok(Sink::Parquet {
            writer: Box::new(writer),
            schema,
            path: path.to_path_buf(),
        })
    }

    /// Writes one row (CSV only; Parquet takes whole chunks).
    pub(crate) fn write_row<S: AsRef<str>>(&mut self, row: &[S]) -> Result<()> {
        match self {
            Sink::Csv {
                writer,
                windows_1252,
                path,
            } => {
                let res = if *windows_1252 {
                    let mut fields = Vec::with_capacity(row.len());
                    for f in row {
                        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(f.as_ref());
                        if unmappable {
                            return Err(Error::Internal(format!(
                                "a generated value for {} is not representable in Windows-1252",
                                path.display()
                            )));
                        }
                        fields.push(bytes);
                    }
                    writer.write_record(fields.iter().map(|b| b.as_ref()))
                } else {
                    writer.write_record(row.iter().map(|f| f.as_ref().as_bytes()))
                };
                res.map_err(|e| Error::io("writing", path, std::io::Error::other(e)))
            }
            Sink::Parquet { .. } => Err(Error::Internal("row write on a Parquet sink".into())),
        }
    }

    /// Writes a chunk of rows (each row holds every column, in header order).
    pub(crate) fn write_chunk(&mut self, rows: &[Vec<String>]) -> Result<()> {
        match self {
            Sink::Csv { .. } => {
                for r in rows {
                    self.write_row(r)?;
                }
                Ok(())
            }
            Sink::Parquet {
                writer,
                schema,
                path,
            } => {
                if rows.is_empty() {
                    return Ok(());
                }
                let columns: Vec<ArrayRef> = (0..schema.fields().len())
                    .map(|c| {
                        Arc::new(StringArray::from_iter_values(
                            rows.iter().map(|r| r[c].as_str()),
                        )) as ArrayRef
                    })
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
    pub(crate) fn finish(self) -> Result<()> {
        match self {
            Sink::Csv { writer, path, .. } => {
                let buf = writer
                    .into_inner()
                    .map_err(|e| Error::io("writing", &path, std::io::Error::other(e.to_string())))?;
                let file = buf
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
