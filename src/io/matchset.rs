//! The match set written by `padan link` (docs/file-formats.md §2): `clusters.parquet`,
//! `pairs.parquet`, the optional `candidates.parquet` and `manifest.json`.
//!
//! The readers validate what they read — every column the format requires must be present with
//! its type, and no required cell may be null — and report a problem with the file, the column
//! and the row, never a cell value. They read only the columns they need, so the many
//! `sim_*`/`level_*`/`weight_*` columns of `pairs.parquet` cost nothing.
//!
//! Each file has a streaming `scan_*` function (a callback per row, borrowing the strings from the
//! Arrow batch: no allocation per row, constant memory for tens of millions of candidates) and a
//! `read_*` convenience that collects owned rows.

// ============================================================================================
// Readers
// ============================================================================================

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::error::{Error, Location, Result};

/// File name of the clusters in a match-set directory.
pub const CLUSTERS_FILE: &str = "clusters.parquet";
/// File name of the scored pairs in a match-set directory.
pub const PAIRS_FILE: &str = "pairs.parquet";
/// File name of the (optional) compared pairs in a match-set directory.
pub const CANDIDATES_FILE: &str = "candidates.parquet";
/// File name of the manifest in a match-set directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The decision recorded for a pair in `pairs.parquet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// At or above the match threshold.
    Match,
    /// Between the review and the match threshold: for a person to look at.
    Review,
}

impl Decision {
    /// The string stored in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Match => "match",
            Decision::Review => "review",
        }
    }
}

/// One row of `clusters.parquet`, borrowed from the batch being read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterRef<'a> {
    /// 1-based row in the file.
    pub row: u64,
    /// The cluster.
    pub cluster_id: i64,
    /// The record's agency.
    pub agency: &'a str,
    /// The record's id in its agency.
    pub record_id: &'a str,
    /// Records in the cluster.
    pub cluster_size: i64,
    /// Distinct agencies in the cluster.
    pub agency_count: i64,
}

/// One row of `clusters.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRow {
    /// The cluster.
    pub cluster_id: i64,
    /// The record's agency.
    pub agency: String,
    /// The record's id in its agency.
    pub record_id: String,
    /// Records in the cluster.
    pub cluster_size: i64,
    /// Distinct agencies in the cluster.
    pub agency_count: i64,
}

/// One row of `pairs.parquet` (the columns padan's readers use), borrowed from the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairRef<'a> {
    /// 1-based row in the file.
    pub row: u64,
    /// Agency of the left record.
    pub left_agency: &'a str,
    /// Id of the left record.
    pub left_id: &'a str,
    /// Agency of the right record.
    pub right_agency: &'a str,
    /// Id of the right record.
    pub right_id: &'a str,
    /// Σ per-field weights (log2 Bayes factor).
    pub match_weight: f64,
    /// Posterior match probability.
    pub match_probability: f64,
    /// `match` or `review`.
    pub decision: Decision,
}

/// One row of `pairs.parquet` (the columns padan's readers use).
#[derive(Debug, Clone, PartialEq)]
pub struct PairRow {
    /// Agency of the left record.
    pub left_agency: String,
    /// Id of the left record.
    pub left_id: String,
    /// Agency of the right record.
    pub right_agency: String,
    /// Id of the right record.
    pub right_id: String,
    /// Σ per-field weights (log2 Bayes factor).
    pub match_weight: f64,
    /// Posterior match probability.
    pub match_probability: f64,
    /// `match` or `review`.
    pub decision: Decision,
}

/// One row of `candidates.parquet`, borrowed from the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateRef<'a> {
    /// 1-based row in the file.
    pub row: u64,
    /// Agency of the left record.
    pub left_agency: &'a str,
    /// Id of the left record.
    pub left_id: &'a str,
    /// Agency of the right record.
    pub right_agency: &'a str,
    /// Id of the right record.
    pub right_id: &'a str,
    /// Σ per-field weights (log2 Bayes factor).
    pub match_weight: f64,
}

/// One row of `candidates.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateRow {
    /// Agency of the left record.
    pub left_agency: String,
    /// Id of the left record.
    pub left_id: String,
    /// Agency of the right record.
    pub right_agency: String,
    /// Id of the right record.
    pub right_id: String,
    /// Σ per-field weights (log2 Bayes factor).
    pub match_weight: f64,
}

/// The column types a reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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

fn column_error(path: &Path, column: &str, line: Option<u64>, message: impl Into<String>) -> Error {
    Error::input(
        Location {
            file: Some(path.to_path_buf()),
            line,
            column: Some(column.to_string()),
        },
        message,
    )
}

/// Opens `path`, checks that every `(name, kind)` column is present with an accepted type, and
/// calls `f` for every batch (projected on those columns) with the 1-based row of its first row.
fn scan_batches(
    path: &Path,
    what: &str,
    columns: &[(&str, Kind)],
    mut f: impl FnMut(&RecordBatch, u64) -> Result<()>,
) -> Result<u64> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::format("reading (not a Parquet file, or truncated)", path, e))?;
    let schema = builder.schema().clone();
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
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(65_536)
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

/// A string column of any accepted physical type.
enum StrCol<'a> {
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

    fn get(&self, i: usize) -> Option<&'a str> {
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
enum NumCol<'a> {
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
struct Batch<'a> {
    path: &'a Path,
    batch: &'a RecordBatch,
    first_row: u64,
}

impl<'a> Batch<'a> {
    fn column(&self, name: &str) -> Result<&'a ArrayRef> {
        let i = self.batch.schema_ref().index_of(name).map_err(|_| {
            Error::Internal(format!("projected column {name} missing from the batch"))
        })?;
        Ok(self.batch.column(i))
    }

    fn strs(&self, name: &str) -> Result<StrCol<'a>> {
        StrCol::new(self.column(name)?)
            .ok_or_else(|| column_error(self.path, name, None, "column is not a string column"))
    }

    fn nums(&self, name: &str) -> Result<NumCol<'a>> {
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

    fn str_at(&self, col: &StrCol<'a>, name: &str, i: usize) -> Result<&'a str> {
        col.get(i).ok_or_else(|| self.null(name, i))
    }

    fn i64_at(&self, col: &NumCol<'a>, name: &str, i: usize) -> Result<i64> {
        col.get_i64(i).ok_or_else(|| self.null(name, i))
    }

    fn f64_at(&self, col: &NumCol<'a>, name: &str, i: usize) -> Result<f64> {
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

/// Streams `pairs.parquet`: calls `f` once per row, in file order. Returns the number of rows.
pub fn scan_pairs(path: &Path, mut f: impl FnMut(PairRef<'_>) -> Result<()>) -> Result<u64> {
    scan_batches(path, "pairs", &PAIR_COLUMNS, |batch, first_row| {
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
            let decision = match b.str_at(&dec, "decision", i)? {
                "match" => Decision::Match,
                "review" => Decision::Review,
                _ => {
                    return Err(column_error(
                        path,
                        "decision",
                        Some(first_row + i as u64),
                        "expected 'match' or 'review'",
                    ))
                }
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
    })
}

/// Reads all of `pairs.parquet` (the columns of [`PairRow`]).
pub fn read_pairs(path: &Path) -> Result<Vec<PairRow>> {
    let mut rows = Vec::new();
    scan_pairs(path, |r| {
        rows.push(PairRow {
            left_agency: r.left_agency.to_string(),
            left_id: r.left_id.to_string(),
            right_agency: r.right_agency.to_string(),
            right_id: r.right_id.to_string(),
            match_weight: r.match_weight,
            match_probability: r.match_probability,
            decision: r.decision,
        });
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

// ============================================================================================
// Writers (used by `padan link`)
// ============================================================================================
