//! Parquet extracts. String columns are read as they are; other columns are turned into the text
//! a CSV export would hold, so they go through the same normalization: integers (any width) as
//! digits (an integer NIK → its 16 digits), whole floats as digits while exact (below 2^53 for
//! float64: pandas writes an integer column with gaps as float64), larger ones in scientific
//! notation (counted as spreadsheet damage for a NIK), decimals in plain notation, date32/date64
//! and timestamps (any unit; with a fixed-offset time zone, local) as ISO dates, booleans as
//! `TRUE`/`FALSE`, dictionary-encoded columns through their values.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{ArrowError, DataType, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::sheet_reader::number_text;
use super::source::Bytes;
use super::{Projection, RawRow};
use crate::error::{Error, Result};
use crate::schema::{ColumnMap, Schema};

/// Arrow record batches, from a Parquet file or handed over in memory.
type Batches = Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send>;

/// A streaming Parquet extract reader (also reads Arrow record batches handed over in memory:
/// [`ParquetReader::from_batches`]).
pub struct ParquetReader {
    path: PathBuf,
    reader: Batches,
    projection: Projection,
    total_rows: u64,
    rows_done: u64,
    pending: Vec<RawRow>,
}

impl ParquetReader {
    /// Opens a Parquet extract and resolves the column map against its schema.
    pub(crate) fn open(
        path: &Path,
        bytes: &Bytes,
        schema: &Schema,
        map: &ColumnMap,
    ) -> Result<ParquetReader> {
        // The library's messages name structures, not values; still, only our own words are shown.
        let bad = |_| {
            Error::input_file(
                path,
                "looks like a Parquet file but cannot be read (damaged or truncated?)",
            )
        };
        let builder = match bytes {
            Bytes::File(p) => {
                let file = File::open(p).map_err(|e| Error::io("opening extract", path, e))?;
                ParquetRecordBatchReaderBuilder::try_new(file)
                    .map(Builder::File)
                    .map_err(bad)?
            }
            Bytes::Memory(b) => ParquetRecordBatchReaderBuilder::try_new(b.clone())
                .map(Builder::Memory)
                .map_err(bad)?,
        };
        let (total_rows, arrow_schema) = match &builder {
            Builder::File(b) => (b.metadata().file_metadata().num_rows(), b.schema().clone()),
            Builder::Memory(b) => (b.metadata().file_metadata().num_rows(), b.schema().clone()),
        };
        let projection = resolve(path, &arrow_schema, schema, map)?;
        let reader: ParquetRecordBatchReader = match builder {
            Builder::File(b) => b.with_batch_size(8192).build(),
            Builder::Memory(b) => b.with_batch_size(8192).build(),
        }
        .map_err(bad)?;
        Ok(ParquetReader {
            path: path.to_path_buf(),
            reader: Box::new(reader),
            projection,
            total_rows: total_rows.max(0) as u64,
            rows_done: 0,
            pending: Vec::new(),
        })
    }

    /// Reads Arrow record batches handed over in memory (the Python package's tables and data
    /// frames), with the same column map resolution and the same text for non-text columns as a
    /// Parquet extract. `name` stands for the file in messages; `total_rows` is for progress.
    pub fn from_batches(
        name: &Path,
        arrow_schema: SchemaRef,
        batches: impl Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send + 'static,
        total_rows: u64,
        schema: &Schema,
        map: &ColumnMap,
    ) -> Result<ParquetReader> {
        let projection = resolve(name, &arrow_schema, schema, map)?;
        Ok(ParquetReader {
            path: name.to_path_buf(),
            reader: Box::new(batches),
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
                    let batch = batch.map_err(|_| {
                        Error::input(
                            crate::error::Location {
                                file: Some(self.path.clone()),
                                line: Some(self.rows_done + 1),
                                column: None,
                            },
                            "a batch of rows cannot be read (damaged Parquet file, or a failing Arrow stream)",
                        )
                    })?;
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

/// Resolves the column map against an Arrow schema, and checks the types of the columns used.
fn resolve(
    path: &Path,
    arrow_schema: &SchemaRef,
    schema: &Schema,
    map: &ColumnMap,
) -> Result<Projection> {
    let header: Vec<String> = arrow_schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let projection = Projection::resolve(path, 0, &header, schema, map)?;
    for idx in std::iter::once(projection.id).chain(projection.fields.iter().flatten().copied()) {
        let dt = arrow_schema.field(idx).data_type();
        if !supported(dt) {
            return Err(Error::input_file(
                path,
                format!(
                    "column '{}' has type {dt}; padan reads text, integer, float, decimal, boolean, date and timestamp columns (also dictionary-encoded)",
                    header[idx]
                ),
            ));
        }
    }
    Ok(projection)
}

enum Builder {
    File(ParquetRecordBatchReaderBuilder<File>),
    Memory(ParquetRecordBatchReaderBuilder<bytes::Bytes>),
}

fn supported(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(_, v) => supported(v),
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Boolean
        | DataType::Date32
        | DataType::Date64
        | DataType::Timestamp(..)
        | DataType::Null => true,
        _ => false,
    }
}

fn prim<T: ArrowPrimitiveType>(
    a: &dyn Array,
    f: impl Fn(T::Native) -> Option<String>,
) -> Vec<Option<String>> {
    let s = a.as_primitive::<T>();
    (0..a.len())
        .map(|i| if a.is_null(i) { None } else { f(s.value(i)) })
        .collect()
}

fn iso_date(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn epoch() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

/// A timestamp as the ISO date it falls on (local to a fixed-offset zone such as `+07:00`).
fn timestamp_date(v: i64, unit: TimeUnit, tz: Option<&str>) -> Option<String> {
    let (secs, nanos) = match unit {
        TimeUnit::Second => (v, 0),
        TimeUnit::Millisecond => (v.div_euclid(1000), v.rem_euclid(1000) * 1_000_000),
        TimeUnit::Microsecond => (v.div_euclid(1_000_000), v.rem_euclid(1_000_000) * 1000),
        TimeUnit::Nanosecond => (v.div_euclid(1_000_000_000), v.rem_euclid(1_000_000_000)),
    };
    let t = chrono::DateTime::from_timestamp(secs, nanos as u32)?.naive_utc();
    let offset = tz.and_then(fixed_offset_secs).unwrap_or(0);
    Some(iso_date(
        (t + chrono::TimeDelta::seconds(offset as i64)).date(),
    ))
}

/// `+07:00`, `-0530`, `+07` → seconds east of UTC; named zones → `None` (read as UTC).
fn fixed_offset_secs(tz: &str) -> Option<i32> {
    let (sign, rest) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    Some(sign * (h * 3600 + m * 60))
}

/// A decimal's text: the integer digits when it is whole, else plain notation.
fn decimal_text(v: i128, scale: i8) -> String {
    if scale <= 0 {
        return (v * 10i128.pow((-scale) as u32)).to_string();
    }
    let p = 10i128.pow(scale as u32);
    let (int, frac) = (v / p, (v % p).abs());
    if frac == 0 {
        int.to_string()
    } else {
        let sign = if v < 0 && int == 0 { "-" } else { "" };
        let f = format!("{frac:0width$}", width = scale as usize);
        format!("{sign}{int}.{}", f.trim_end_matches('0'))
    }
}

/// Float64 whole numbers are exact below 2^53, float32 below 2^24.
const EXACT_F64: f64 = 9_007_199_254_740_992.0;
const EXACT_F32: f64 = 16_777_216.0;

pub(crate) fn to_strings(a: &dyn Array) -> Vec<Option<String>> {
    let n = a.len();
    let s = |v: &dyn std::fmt::Display| Some(v.to_string());
    match a.data_type() {
        DataType::Utf8 => a
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(String::from))
            .collect(),
        DataType::LargeUtf8 => a
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(String::from))
            .collect(),
        DataType::Utf8View => a
            .as_string_view()
            .iter()
            .map(|v| v.map(String::from))
            .collect(),
        DataType::Int8 => prim::<Int8Type>(a, |v| s(&v)),
        DataType::Int16 => prim::<Int16Type>(a, |v| s(&v)),
        DataType::Int32 => prim::<Int32Type>(a, |v| s(&v)),
        DataType::Int64 => prim::<Int64Type>(a, |v| s(&v)),
        DataType::UInt8 => prim::<UInt8Type>(a, |v| s(&v)),
        DataType::UInt16 => prim::<UInt16Type>(a, |v| s(&v)),
        DataType::UInt32 => prim::<UInt32Type>(a, |v| s(&v)),
        DataType::UInt64 => prim::<UInt64Type>(a, |v| s(&v)),
        DataType::Float16 => prim::<Float16Type>(a, |v| Some(number_text(v.to_f64(), 2048.0))),
        DataType::Float32 => prim::<Float32Type>(a, |v| Some(number_text(v as f64, EXACT_F32))),
        DataType::Float64 => prim::<Float64Type>(a, |v| Some(number_text(v, EXACT_F64))),
        DataType::Decimal128(_, scale) => {
            let scale = *scale;
            prim::<Decimal128Type>(a, |v| Some(decimal_text(v, scale)))
        }
        DataType::Boolean => a
            .as_boolean()
            .iter()
            .map(|v| v.map(|b| if b { "TRUE" } else { "FALSE" }.to_string()))
            .collect(),
        DataType::Date32 => prim::<Date32Type>(a, |d| {
            epoch()
                .checked_add_signed(chrono::TimeDelta::days(d as i64))
                .map(iso_date)
        }),
        DataType::Date64 => {
            prim::<Date64Type>(a, |ms| timestamp_date(ms, TimeUnit::Millisecond, None))
        }
        DataType::Timestamp(unit, tz) => {
            let (unit, tz) = (*unit, tz.clone());
            let tz = tz.as_deref();
            match unit {
                TimeUnit::Second => prim::<TimestampSecondType>(a, |v| timestamp_date(v, unit, tz)),
                TimeUnit::Millisecond => {
                    prim::<TimestampMillisecondType>(a, |v| timestamp_date(v, unit, tz))
                }
                TimeUnit::Microsecond => {
                    prim::<TimestampMicrosecondType>(a, |v| timestamp_date(v, unit, tz))
                }
                TimeUnit::Nanosecond => {
                    prim::<TimestampNanosecondType>(a, |v| timestamp_date(v, unit, tz))
                }
            }
        }
        DataType::Dictionary(..) => {
            let d = a.as_any_dictionary();
            let values = to_strings(d.values().as_ref());
            let keys = d.normalized_keys();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        None
                    } else {
                        values.get(keys[i]).cloned().flatten()
                    }
                })
                .collect()
        }
        _ => vec![None; n],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{
        DictionaryArray, Float64Array, Int64Array, LargeStringArray, TimestampNanosecondArray,
    };
    use std::sync::Arc;

    #[test]
    fn casts_columns_to_the_text_a_csv_would_hold() {
        let f = Float64Array::from(vec![
            Some(3201014703900001.0),
            None,
            Some(9.1e15),
            Some(1.5),
        ]);
        assert_eq!(
            to_strings(&f),
            [
                Some("3201014703900001".to_string()),
                None,
                Some("9.1e15".to_string()),
                Some("1.5".to_string())
            ]
        );
        let i = Int64Array::from(vec![3201014703900001]);
        assert_eq!(to_strings(&i), [Some("3201014703900001".to_string())]);
        // 1990-03-07 12:00 at +07:00 is still the 7th; 23:30 UTC on the 6th is the 7th there.
        let t =
            TimestampNanosecondArray::from(vec![636_768_000_000_000_000 + 43_200 * 1_000_000_000]);
        assert_eq!(to_strings(&t), [Some("1990-03-07".to_string())]);
        let t =
            TimestampNanosecondArray::from(vec![636_768_000_000_000_000 - 1_800 * 1_000_000_000])
                .with_timezone("+07:00");
        assert_eq!(to_strings(&t), [Some("1990-03-07".to_string())]);
        let d: DictionaryArray<Int32Type> = vec![Some("P"), None, Some("L"), Some("P")]
            .into_iter()
            .collect();
        assert_eq!(
            to_strings(&d),
            [
                Some("P".to_string()),
                None,
                Some("L".to_string()),
                Some("P".to_string())
            ]
        );
        let l = LargeStringArray::from(vec![Some("x"), None]);
        assert_eq!(to_strings(&l), [Some("x".to_string()), None]);
        let _ = Arc::new(l);
    }

    #[test]
    fn batches_in_memory_are_read_like_a_parquet_file_and_a_failing_stream_is_an_error() {
        use arrow_array::{Int64Array, StringArray};
        use arrow_schema::{Field, Schema as ArrowSchema};
        let arrow_schema = Arc::new(ArrowSchema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("nama", DataType::Utf8, true),
            Field::new("nik", DataType::Int64, true),
        ]));
        let batch = |ids: Vec<&str>| {
            let n = ids.len();
            RecordBatch::try_new(
                arrow_schema.clone(),
                vec![
                    Arc::new(StringArray::from(ids)),
                    Arc::new(StringArray::from(vec![Some("SITI"); n])),
                    Arc::new(Int64Array::from(vec![3201014703900001; n])),
                ],
            )
            .unwrap()
        };
        let schema = Schema::default_victims();
        let map = ColumnMap::from_flags(
            "id",
            &["name=nama".to_string(), "nik=nik".to_string()],
            Default::default(),
        )
        .unwrap();
        let name = Path::new("<table>");
        let batches = vec![Ok(batch(vec!["a", "b"])), Ok(batch(vec!["c"]))];
        let mut r = ParquetReader::from_batches(
            name,
            arrow_schema.clone(),
            batches.into_iter(),
            3,
            &schema,
            &map,
        )
        .unwrap();
        let rows = r.next_batch(10).unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(rows[0]
            .cells
            .iter()
            .any(|c| c.as_deref() == Some("3201014703900001")));
        assert_eq!(r.progress(), (3, 3));
        assert!(r.next_batch(10).unwrap().is_empty());

        let failing = vec![
            Ok(batch(vec!["a"])),
            Err(ArrowError::ComputeError("SENTINEL-VALUE".into())),
        ];
        let mut r =
            ParquetReader::from_batches(name, arrow_schema, failing.into_iter(), 0, &schema, &map)
                .unwrap();
        let e = r.next_batch(10).unwrap_err().to_string();
        assert!(e.contains("<table>") && !e.contains("SENTINEL"), "{e}");
    }

    #[test]
    fn decimals_and_offsets() {
        assert_eq!(decimal_text(320101470390000100, 2), "3201014703900001");
        assert_eq!(decimal_text(-5, 1), "-0.5");
        assert_eq!(decimal_text(125, 2), "1.25");
        assert_eq!(decimal_text(7, -2), "700");
        assert_eq!(fixed_offset_secs("+07:00"), Some(25200));
        assert_eq!(fixed_offset_secs("-0530"), Some(-19800));
        assert_eq!(fixed_offset_secs("Asia/Jakarta"), None);
    }
}
