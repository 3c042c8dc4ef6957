//! The match-set readers: column checks, string and number columns of any accepted layout,
//! and one streaming `scan_*` per file.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::error::{Error, Location, Result};

use super::*;

/// The column types a reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Utf8 (also LargeUtf8, Utf8View and dictionary-encoded strings, as other tools write them).
    Str,
    /// Int64 (also Int32).
    Int,
    /// Float64 (also Float32).
    Float,
}

impl Kind {
    fn accepts(self, t: &DataType) -> bool {
        match self {
            Kind::Str => match t {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
                DataType::Dictionary(_, v) => matches!(**v, DataType::Utf8 | DataType::LargeUtf8),
                _ => false,
            },
            Kind::Int => matches!(t, DataType::Int64 | DataType::Int32),
            Kind::Float => matches!(t, DataType::Float64 | DataType::Float32),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Str => "Utf8",
            Kind::Int => "Int64",
            Kind::Float => "Float64",
        }
    }
}

pub(super) fn column_error(
    path: &Path,
    column: &str,
    line: Option<u64>,
    message: impl Into<String>,
) -> Error {
    Error::input(
        Location {
            file: Some(path.to_path_buf()),
            line,
            column: Some(column.to_string()),
        },
        message,
    )
}

/// Checks that every `(name, kind)` column of `columns` is in `schema` with an accepted type;
/// returns their root indices.
fn check_columns(
    path: &Path,
    what: &str,
    schema: &arrow_schema::Schema,
    columns: &[(&str, Kind)],
) -> Result<Vec<usize>> {
    let mut roots = Vec::with_capacity(columns.len());
    for &(name, kind) in columns {
        let Ok(i) = schema.index_of(name) else {
            return Err(column_error(
                path,
                name,
                None,
                format!(
                    "missing column (the {what} file of a match set must have it; see docs/file-formats.md)"
                ),
            ));
        };
        let t = schema.field(i).data_type();
        if !kind.accepts(t) {
            return Err(column_error(
                path,
                name,
                None,
                format!("column has type {t}, expected {}", kind.expected()),
            ));
        }
        roots.push(i);
    }
    Ok(roots)
}

/// Rows per batch of the match-set readers.
const BATCH_ROWS: usize = 65_536;

/// Opens `path`, checks that every `(name, kind)` column is present with an accepted type, and
/// calls `f` for every batch (projected on those columns) with the 1-based row of its first row.
pub(super) fn scan_batches(
    path: &Path,
    what: &str,
    columns: &[(&str, Kind)],
    mut f: impl FnMut(&RecordBatch, u64) -> Result<()>,
) -> Result<u64> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::format("reading (not a Parquet file, or truncated)", path, e))?;
    let roots = check_columns(path, what, builder.schema(), columns)?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| Error::format("reading", path, e))?;
    let mut row = 1u64;
    for batch in reader {
        let batch = batch.map_err(|e| Error::format("reading (corrupt or truncated?)", path, e))?;
        f(&batch, row)?;
        row += batch.num_rows() as u64;
    }
    Ok(row - 1)
}

/// [`scan_batches`] with the row groups decoded in parallel: `f` maps every batch (with the
/// 1-based row of its first row) to a value, and the values come back in file order whatever
/// the thread count. On errors, the one of the earliest row group is returned.
pub(super) fn map_batches_par<T: Send>(
    path: &Path,
    what: &str,
    columns: &[(&str, Kind)],
    f: impl Fn(&RecordBatch, u64) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
    use rayon::prelude::*;
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::default())
        .map_err(|e| Error::format("reading (not a Parquet file, or truncated)", path, e))?;
    let roots = check_columns(path, what, meta.schema(), columns)?;
    let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
    let mut starts = Vec::new();
    let mut row = 1u64;
    for rg in meta.metadata().row_groups() {
        starts.push(row);
        row += rg.num_rows().max(0) as u64;
    }
    let parts: Vec<Result<Vec<T>>> = starts
        .par_iter()
        .enumerate()
        .map(|(rg, &start)| {
            // A file of its own: clones of one handle would share the read position.
            let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
                .with_row_groups(vec![rg])
                .with_projection(mask.clone())
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| Error::format("reading", path, e))?;
            let mut out = Vec::new();
            let mut row = start;
            for batch in reader {
                let batch =
                    batch.map_err(|e| Error::format("reading (corrupt or truncated?)", path, e))?;
                out.push(f(&batch, row)?);
                row += batch.num_rows() as u64;
            }
            Ok(out)
        })
        .collect();
    let mut out = Vec::new();
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// A string column of any accepted physical type.
pub(super) enum StrCol<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    Dict {
        keys: Vec<usize>,
        values: Box<StrCol<'a>>,
        nulls: Option<&'a arrow_buffer::NullBuffer>,
    },
}

impl<'a> StrCol<'a> {
    fn new(a: &'a ArrayRef) -> Option<StrCol<'a>> {
        Self::from_dyn(a.as_ref())
    }

    fn from_dyn(a: &'a dyn Array) -> Option<StrCol<'a>> {
        if let Some(s) = a.as_string_opt::<i32>() {
            Some(StrCol::Utf8(s))
        } else if let Some(s) = a.as_string_opt::<i64>() {
            Some(StrCol::Large(s))
        } else if let Some(s) = a.as_string_view_opt() {
            Some(StrCol::View(s))
        } else if let Some(d) = a.as_any_dictionary_opt() {
            Some(StrCol::Dict {
                keys: d.normalized_keys(),
                values: Box::new(Self::from_dyn(d.values().as_ref())?),
                nulls: d.keys().nulls(),
            })
        } else {
            None
        }
    }

    pub(super) fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            StrCol::Utf8(s) => s.is_valid(i).then(|| s.value(i)),
            StrCol::Large(s) => s.is_valid(i).then(|| s.value(i)),
            StrCol::View(s) => s.is_valid(i).then(|| s.value(i)),
            StrCol::Dict {
                keys,
                values,
                nulls,
            } => {
                if nulls.is_some_and(|n| n.is_null(i)) {
                    None
                } else {
                    values.get(keys[i])
                }
            }
        }
    }
}

/// A numeric column of any accepted physical type.
pub(super) enum NumCol<'a> {
    I64(&'a arrow_array::Int64Array),
    I32(&'a arrow_array::Int32Array),
    F64(&'a arrow_array::Float64Array),
    F32(&'a arrow_array::Float32Array),
}

impl<'a> NumCol<'a> {
    fn new(a: &'a ArrayRef) -> Option<NumCol<'a>> {
        if let Some(x) = a.as_primitive_opt::<Int64Type>() {
            Some(NumCol::I64(x))
        } else if let Some(x) = a.as_primitive_opt::<Int32Type>() {
            Some(NumCol::I32(x))
        } else if let Some(x) = a.as_primitive_opt::<Float64Type>() {
            Some(NumCol::F64(x))
        } else {
            a.as_primitive_opt::<Float32Type>().map(NumCol::F32)
        }
    }

    fn get_i64(&self, i: usize) -> Option<i64> {
        match self {
            NumCol::I64(x) => x.is_valid(i).then(|| x.value(i)),
            NumCol::I32(x) => x.is_valid(i).then(|| i64::from(x.value(i))),
            _ => None,
        }
    }

    fn get_f64(&self, i: usize) -> Option<f64> {
        match self {
            NumCol::F64(x) => x.is_valid(i).then(|| x.value(i)),
            NumCol::F32(x) => x.is_valid(i).then(|| f64::from(x.value(i))),
            _ => None,
        }
    }
}

/// Column access for one batch, with errors naming the file, the row and the column.
pub(super) struct Batch<'a> {
    pub(super) path: &'a Path,
    pub(super) batch: &'a RecordBatch,
    pub(super) first_row: u64,
}

impl<'a> Batch<'a> {
    fn column(&self, name: &str) -> Result<&'a ArrayRef> {
        let i = self.batch.schema_ref().index_of(name).map_err(|_| {
            Error::Internal(format!("projected column {name} missing from the batch"))
        })?;
        Ok(self.batch.column(i))
    }

    pub(super) fn strs(&self, name: &str) -> Result<StrCol<'a>> {
        StrCol::new(self.column(name)?)
            .ok_or_else(|| column_error(self.path, name, None, "column is not a string column"))
    }

    pub(super) fn nums(&self, name: &str) -> Result<NumCol<'a>> {
        NumCol::new(self.column(name)?)
            .ok_or_else(|| column_error(self.path, name, None, "column is not a numeric column"))
    }

    fn null(&self, name: &str, i: usize) -> Error {
        column_error(
            self.path,
            name,
            Some(self.first_row + i as u64),
            "null value in a column that must always have one",
        )
    }

    pub(super) fn str_at(&self, col: &StrCol<'a>, name: &str, i: usize) -> Result<&'a str> {
        col.get(i).ok_or_else(|| self.null(name, i))
    }

    pub(super) fn i64_at(&self, col: &NumCol<'a>, name: &str, i: usize) -> Result<i64> {
        col.get_i64(i).ok_or_else(|| self.null(name, i))
    }

    pub(super) fn f64_at(&self, col: &NumCol<'a>, name: &str, i: usize) -> Result<f64> {
        col.get_f64(i).ok_or_else(|| self.null(name, i))
    }
}

const CLUSTER_COLUMNS: [(&str, Kind); 5] = [
    ("cluster_id", Kind::Int),
    ("agency", Kind::Str),
    ("record_id", Kind::Str),
    ("cluster_size", Kind::Int),
    ("agency_count", Kind::Int),
];

const PAIR_COLUMNS: [(&str, Kind); 7] = [
    ("left_agency", Kind::Str),
    ("left_id", Kind::Str),
    ("right_agency", Kind::Str),
    ("right_id", Kind::Str),
    ("match_weight", Kind::Float),
    ("match_probability", Kind::Float),
    ("decision", Kind::Str),
];

const CANDIDATE_COLUMNS: [(&str, Kind); 5] = [
    ("left_agency", Kind::Str),
    ("left_id", Kind::Str),
    ("right_agency", Kind::Str),
    ("right_id", Kind::Str),
    ("match_weight", Kind::Float),
];

/// Streams `clusters.parquet`: calls `f` once per row, in file order. Returns the number of rows.
pub fn scan_clusters(path: &Path, mut f: impl FnMut(ClusterRef<'_>) -> Result<()>) -> Result<u64> {
    scan_batches(path, "clusters", &CLUSTER_COLUMNS, |batch, first_row| {
        let b = Batch {
            path,
            batch,
            first_row,
        };
        let cid = b.nums("cluster_id")?;
        let agency = b.strs("agency")?;
        let rid = b.strs("record_id")?;
        let size = b.nums("cluster_size")?;
        let count = b.nums("agency_count")?;
        for i in 0..batch.num_rows() {
            f(ClusterRef {
                row: first_row + i as u64,
                cluster_id: b.i64_at(&cid, "cluster_id", i)?,
                agency: b.str_at(&agency, "agency", i)?,
                record_id: b.str_at(&rid, "record_id", i)?,
                cluster_size: b.i64_at(&size, "cluster_size", i)?,
                agency_count: b.i64_at(&count, "agency_count", i)?,
            })?;
        }
        Ok(())
    })
}

/// Reads all of `clusters.parquet`.
pub fn read_clusters(path: &Path) -> Result<Vec<ClusterRow>> {
    let mut rows = Vec::new();
    scan_clusters(path, |r| {
        rows.push(ClusterRow {
            cluster_id: r.cluster_id,
            agency: r.agency.to_string(),
            record_id: r.record_id.to_string(),
            cluster_size: r.cluster_size,
            agency_count: r.agency_count,
        });
        Ok(())
    })?;
    Ok(rows)
}

/// Calls `f` once per row of one batch of `pairs.parquet` (rows numbered from `first_row`).
fn pair_rows(
    path: &Path,
    batch: &RecordBatch,
    first_row: u64,
    mut f: impl FnMut(PairRef<'_>) -> Result<()>,
) -> Result<()> {
    let b = Batch {
        path,
        batch,
        first_row,
    };
    let la = b.strs("left_agency")?;
    let li = b.strs("left_id")?;
    let ra = b.strs("right_agency")?;
    let ri = b.strs("right_id")?;
    let mw = b.nums("match_weight")?;
    let mp = b.nums("match_probability")?;
    let dec = b.strs("decision")?;
    for i in 0..batch.num_rows() {
        let Some(decision) = Decision::parse(b.str_at(&dec, "decision", i)?) else {
            return Err(column_error(
                path,
                "decision",
                Some(first_row + i as u64),
                "expected 'match' or 'review'",
            ));
        };
        f(PairRef {
            row: first_row + i as u64,
            left_agency: b.str_at(&la, "left_agency", i)?,
            left_id: b.str_at(&li, "left_id", i)?,
            right_agency: b.str_at(&ra, "right_agency", i)?,
            right_id: b.str_at(&ri, "right_id", i)?,
            match_weight: b.f64_at(&mw, "match_weight", i)?,
            match_probability: b.f64_at(&mp, "match_probability", i)?,
            decision,
        })?;
    }
    Ok(())
}

/// Streams `pairs.parquet`: calls `f` once per row, in file order. Returns the number of rows.
pub fn scan_pairs(path: &Path, mut f: impl FnMut(PairRef<'_>) -> Result<()>) -> Result<u64> {
    scan_batches(path, "pairs", &PAIR_COLUMNS, |batch, first_row| {
        pair_rows(path, batch, first_row, &mut f)
    })
}

/// [`scan_pairs`] with the row groups read in parallel: `f(acc, row)` folds every row of a batch
/// into that batch's accumulator (from `T::default()`); the accumulators come back in file
/// order, whatever the thread count.
pub fn fold_pairs_par<T: Send + Default>(
    path: &Path,
    f: impl Fn(&mut T, PairRef<'_>) -> Result<()> + Sync,
) -> Result<Vec<T>> {
    map_batches_par(path, "pairs", &PAIR_COLUMNS, |batch, first_row| {
        let mut acc = T::default();
        pair_rows(path, batch, first_row, |row| f(&mut acc, row))?;
        Ok(acc)
    })
}

/// Reads all of `pairs.parquet` (the columns of [`PairRow`]).
pub fn read_pairs(path: &Path) -> Result<Vec<PairRow>> {
    let mut rows = Vec::new();
    scan_pairs(path, |r| {
        rows.push(r.to_row());
        Ok(())
    })?;
    Ok(rows)
}

/// Streams `candidates.parquet`: calls `f` once per row, in file order. Returns the number of rows.
pub fn scan_candidates(
    path: &Path,
    mut f: impl FnMut(CandidateRef<'_>) -> Result<()>,
) -> Result<u64> {
    scan_batches(
        path,
        "candidates",
        &CANDIDATE_COLUMNS,
        |batch, first_row| {
            let b = Batch {
                path,
                batch,
                first_row,
            };
            let la = b.strs("left_agency")?;
            let li = b.strs("left_id")?;
            let ra = b.strs("right_agency")?;
            let ri = b.strs("right_id")?;
            let mw = b.nums("match_weight")?;
            for i in 0..batch.num_rows() {
                f(CandidateRef {
                    row: first_row + i as u64,
                    left_agency: b.str_at(&la, "left_agency", i)?,
                    left_id: b.str_at(&li, "left_id", i)?,
                    right_agency: b.str_at(&ra, "right_agency", i)?,
                    right_id: b.str_at(&ri, "right_id", i)?,
                    match_weight: b.f64_at(&mw, "match_weight", i)?,
                })?;
            }
            Ok(())
        },
    )
}

/// Reads all of `candidates.parquet` (prefer [`scan_candidates`] for large files).
pub fn read_candidates(path: &Path) -> Result<Vec<CandidateRow>> {
    let mut rows = Vec::new();
    scan_candidates(path, |r| {
        rows.push(CandidateRow {
            left_agency: r.left_agency.to_string(),
            left_id: r.left_id.to_string(),
            right_agency: r.right_agency.to_string(),
            right_id: r.right_id.to_string(),
            match_weight: r.match_weight,
        });
        Ok(())
    })?;
    Ok(rows)
}

/// The per-field columns of `pairs.parquet` for a few rows (the report's waterfalls).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairFields {
    /// Field names, in file order (the `weight_<field>` columns).
    pub fields: Vec<String>,
    /// For each row asked for (1-based): `(level, weight)` per field.
    pub rows: std::collections::BTreeMap<u64, Vec<(i64, f64)>>,
}

/// The fields of `pairs.parquet`: the names of its `weight_<field>` columns, in file order.
pub fn pair_field_names(path: &Path) -> Result<Vec<String>> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::format("reading (not a Parquet file, or truncated)", path, e))?;
    Ok(builder
        .schema()
        .fields()
        .iter()
        .filter_map(|f| f.name().strip_prefix("weight_").map(str::to_string))
        .collect())
}

/// Reads `level_<field>` and `weight_<field>` of every field for the 1-based `rows` of
/// `pairs.parquet` (both columns required, never null).
pub fn read_pair_fields(path: &Path, rows: &[u64]) -> Result<PairFields> {
    let fields = pair_field_names(path)?;
    let names: Vec<(String, String)> = fields
        .iter()
        .map(|f| (format!("level_{f}"), format!("weight_{f}")))
        .collect();
    let mut columns = Vec::with_capacity(names.len() * 2);
    for (l, w) in &names {
        columns.push((l.as_str(), Kind::Int));
        columns.push((w.as_str(), Kind::Float));
    }
    let want: std::collections::BTreeSet<u64> = rows.iter().copied().collect();
    let mut out = PairFields {
        fields,
        rows: Default::default(),
    };
    if want.is_empty() {
        return Ok(out);
    }
    scan_batches(path, "pairs", &columns, |batch, first_row| {
        let end = first_row + batch.num_rows() as u64;
        let hits: Vec<u64> = want.range(first_row..end).copied().collect();
        if hits.is_empty() {
            return Ok(());
        }
        let b = Batch {
            path,
            batch,
            first_row,
        };
        let cols = names
            .iter()
            .map(|(l, w)| Ok((b.nums(l)?, b.nums(w)?)))
            .collect::<Result<Vec<_>>>()?;
        for row in hits {
            let i = (row - first_row) as usize;
            let parts = names
                .iter()
                .zip(&cols)
                .map(|((l, w), (lc, wc))| Ok((b.i64_at(lc, l, i)?, b.f64_at(wc, w, i)?)))
                .collect::<Result<Vec<_>>>()?;
            out.rows.insert(row, parts);
        }
        Ok(())
    })?;
    Ok(out)
}

/// Whether the Parquet file at `path` has a column `name`.
pub(super) fn has_column(path: &Path, name: &str) -> Result<bool> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::format("reading (not a Parquet file, or truncated)", path, e))?;
    Ok(builder.schema().index_of(name).is_ok())
}
