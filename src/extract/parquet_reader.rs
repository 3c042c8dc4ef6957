//! Parquet extracts: string columns (integer and date columns are turned into text too).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::{Projection, RawRow};
use crate::error::{Error, Result};
use crate::schema::{ColumnMap, Schema};

/// A streaming Parquet extract reader.
pub struct ParquetReader {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    projection: Projection,
    total_rows: u64,
    rows_done: u64,
    pending: Vec<RawRow>,
}

impl ParquetReader {
    /// Opens a Parquet extract and resolves the column map against its schema.
    pub fn open(path: &Path, schema: &Schema, map: &ColumnMap) -> Result<ParquetReader> {
        let file = File::open(path).map_err(|e| Error::io("opening extract", path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| Error::format("reading Parquet extract", path, e))?;
        let total_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let arrow_schema = builder.schema().clone();
        let header: Vec<String> = arrow_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let projection = Projection::resolve(path, &header, schema, map)?;
        for idx in std::iter::once(projection.id).chain(projection.fields.iter().flatten().copied())
        {
            let dt = arrow_schema.field(idx).data_type();
            if !supported(dt) {
                return Err(Error::input_file(
                    path,
                    format!(
                        "column '{}' has type {dt}; padan reads string, integer and date columns",
                        header[idx]
                    ),
                ));
            }
        }
        let reader = builder
            .with_batch_size(8192)
            .build()
            .map_err(|e| Error::format("reading Parquet extract", path, e))?;
        Ok(ParquetReader {
            path: path.to_path_buf(),
            reader,
            projection,
            total_rows,
            rows_done: 0,
            pending: Vec::new(),
        })
    }

    /// The next batch of at most `max` rows.
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<RawRow>> {
        while self.pending.len() < max {
            match self.reader.next() {
                None => break,
                Some(batch) => {
                    let batch = batch
                        .map_err(|e| Error::format("reading Parquet extract", &self.path, e))?;
                    self.convert(&batch);
                }
            }
        }
        let n = self.pending.len().min(max);
        Ok(self.pending.drain(..n).collect())
    }

    fn convert(&mut self, batch: &RecordBatch) {
        let cols: Vec<Option<Vec<Option<String>>>> = (0..batch.num_columns())
            .map(|i| {
                let used = i == self.projection.id
                    || self.projection.fields.iter().any(|f| f.contains(&i));
                used.then(|| to_strings(batch.column(i).as_ref()))
            })
            .collect();
        for r in 0..batch.num_rows() {
            self.rows_done += 1;
            let line = self.rows_done;
            let row = self.projection.row(line, |i| {
                cols.get(i)
                    .and_then(|c| c.as_ref())
                    .and_then(|c| c[r].as_deref())
            });
            self.pending.push(row);
        }
    }

    /// Rows consumed and total rows.
    pub fn progress(&self) -> (u64, u64) {
        (self.rows_done, self.total_rows)
    }
}

fn supported(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Int32
            | DataType::Int64
            | DataType::Date32
            | DataType::Null
    )
}

fn to_strings(a: &dyn Array) -> Vec<Option<String>> {
    let n = a.len();
    let get = |i: usize, f: &dyn Fn(usize) -> String| -> Option<String> {
        if a.is_null(i) {
            None
        } else {
            Some(f(i))
        }
    };
    match a.data_type() {
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            (0..n)
                .map(|i| get(i, &|i| s.value(i).to_string()))
                .collect()
        }
        DataType::LargeUtf8 => {
            let s = a.as_string::<i64>();
            (0..n)
                .map(|i| get(i, &|i| s.value(i).to_string()))
                .collect()
        }
        DataType::Utf8View => {
            let s = a.as_string_view();
            (0..n)
                .map(|i| get(i, &|i| s.value(i).to_string()))
                .collect()
        }
        DataType::Int32 => {
            let s = a.as_primitive::<Int32Type>();
            (0..n)
                .map(|i| get(i, &|i| s.value(i).to_string()))
                .collect()
        }
        DataType::Int64 => {
            let s = a.as_primitive::<Int64Type>();
            (0..n)
                .map(|i| get(i, &|i| s.value(i).to_string()))
                .collect()
        }
        DataType::Date32 => {
            let s = a.as_primitive::<Date32Type>();
            (0..n)
                .map(|i| {
                    get(i, &|i| {
                        let days = s.value(i);
                        chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                            .and_then(|d| {
                                d.checked_add_signed(chrono::TimeDelta::days(days as i64))
                            })
                            .map(|d| d.format("%Y-%m-%d").to_string())
                            .unwrap_or_default()
                    })
                })
                .collect()
        }
        _ => vec![None; n],
    }
}
