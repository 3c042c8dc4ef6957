//! `changes.parquet` (written by `padan link --previous`): what happened to each person since the
//! previous run, and the per-record columns of `clusters.parquet` an incremental run carries
//! forward (`person_id`, `record_hash`). docs/file-formats.md §2 defines both.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, Int64Array, StringArray};
use arrow_schema::{DataType, Field};

use super::read::{column_error, scan_batches, Batch, Kind};
use super::{MatchSetWriter, CHANGES_FILE};
use crate::error::Result;

/// What happened to a person since the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// None of its records was in the previous run.
    New,
    /// The same records as the previous person it carries the id of.
    Unchanged,
    /// All of one previous person's records, plus records new to this run.
    Grown,
    /// One previous person's records, less some that left the inputs (a replacement extract
    /// dropped them), plus perhaps records new to this run.
    Shrunk,
    /// Records of two or more previous persons.
    Merged,
    /// Part of one previous person whose other records are now in another person.
    Split,
    /// A previous person none of whose records is in the inputs any more (no `person_id`).
    Removed,
}

impl Change {
    /// Every change, in the order the report lists them.
    pub const ALL: [Change; 7] = [
        Change::New,
        Change::Unchanged,
        Change::Grown,
        Change::Shrunk,
        Change::Merged,
        Change::Split,
        Change::Removed,
    ];

    /// The string stored in `changes.parquet`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Unchanged => "unchanged",
            Change::Grown => "grown",
            Change::Shrunk => "shrunk",
            Change::Merged => "merged",
            Change::Split => "split",
            Change::Removed => "removed",
        }
    }

    /// The change stored as `s`, if it is one.
    pub fn parse(s: &str) -> Option<Change> {
        Change::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One row of `changes.parquet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    /// The person now (`None` for [`Change::Removed`]).
    pub person_id: Option<String>,
    /// What happened.
    pub change: Change,
    /// The previous person it carries the id of, or was split from (`None` when new). For a
    /// merge: the previous person whose id it kept.
    pub previous_person_id: Option<String>,
    /// Every previous person some of its records belonged to, ascending (empty when new).
    pub previous_person_ids: Vec<String>,
    /// Records now.
    pub records: i64,
    /// Records not in the previous run.
    pub records_added: i64,
    /// Records of the previous run whose encoded content changed (a replacement extract).
    pub records_changed: i64,
    /// Records of `previous_person_id` no longer in any input.
    pub records_dropped: i64,
    /// Records of `previous_person_id` in the previous run.
    pub previous_records: i64,
}

impl MatchSetWriter<'_> {
    /// Writes `changes.parquet`, one row per `rows` entry, in the given order.
    pub fn write_changes(&mut self, rows: &[ChangeRow]) -> Result<()> {
        let opt = |f: fn(&ChangeRow) -> Option<&str>| -> ArrayRef {
            Arc::new(StringArray::from_iter(rows.iter().map(f)))
        };
        let int = |f: fn(&ChangeRow) -> i64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(rows.iter().map(f)))
        };
        let mut list = ListBuilder::new(StringBuilder::new()).with_field(Field::new(
            "item",
            DataType::Utf8,
            false,
        ));
        for r in rows {
            for p in &r.previous_person_ids {
                list.values().append_value(p);
            }
            list.append(true);
        }
        let fields = vec![
            Field::new("person_id", DataType::Utf8, true),
            Field::new("change", DataType::Utf8, false),
            Field::new("previous_person_id", DataType::Utf8, true),
            Field::new(
                "previous_person_ids",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
                false,
            ),
            Field::new("records", DataType::Int64, false),
            Field::new("records_added", DataType::Int64, false),
            Field::new("records_changed", DataType::Int64, false),
            Field::new("records_dropped", DataType::Int64, false),
            Field::new("previous_records", DataType::Int64, false),
        ];
        let cols: Vec<ArrayRef> = vec![
            opt(|r| r.person_id.as_deref()),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.change.as_str()),
            )),
            opt(|r| r.previous_person_id.as_deref()),
            Arc::new(list.finish()),
            int(|r| r.records),
            int(|r| r.records_added),
            int(|r| r.records_changed),
            int(|r| r.records_dropped),
            int(|r| r.previous_records),
        ];
        self.write_file(CHANGES_FILE, "changes", fields, cols)
    }
}

const CHANGE_COLUMNS: [(&str, Kind); 8] = [
    ("person_id", Kind::Str),
    ("change", Kind::Str),
    ("previous_person_id", Kind::Str),
    ("records", Kind::Int),
    ("records_added", Kind::Int),
    ("records_changed", Kind::Int),
    ("records_dropped", Kind::Int),
    ("previous_records", Kind::Int),
];

/// Reads `changes.parquet` (every column but the `previous_person_ids` list, which comes back
/// empty: padan's readers count, they do not follow merges).
pub fn read_changes(path: &Path) -> Result<Vec<ChangeRow>> {
    let mut rows = Vec::new();
    scan_batches(path, "changes", &CHANGE_COLUMNS, |batch, first_row| {
        let b = Batch {
            path,
            batch,
            first_row,
        };
        let pid = b.strs("person_id")?;
        let change = b.strs("change")?;
        let prev = b.strs("previous_person_id")?;
        let nums: Vec<_> = CHANGE_COLUMNS[3..]
            .iter()
            .map(|(n, _)| b.nums(n))
            .collect::<Result<_>>()?;
        for i in 0..batch.num_rows() {
            let row = first_row + i as u64;
            let c = b.str_at(&change, "change", i)?;
            let Some(change) = Change::parse(c) else {
                return Err(column_error(
                    path,
                    "change",
                    Some(row),
                    "expected new, unchanged, grown, shrunk, merged, split or removed",
                ));
            };
            let person_id = pid.get(i).map(str::to_string);
            if person_id.is_none() != (change == Change::Removed) {
                return Err(column_error(
                    path,
                    "person_id",
                    Some(row),
                    "person_id must be null exactly when change is 'removed'",
                ));
            }
            let n = |k: usize| b.i64_at(&nums[k], CHANGE_COLUMNS[3 + k].0, i);
            rows.push(ChangeRow {
                person_id,
                change,
                previous_person_id: prev.get(i).map(str::to_string),
                previous_person_ids: Vec::new(),
                records: n(0)?,
                records_added: n(1)?,
                records_changed: n(2)?,
                records_dropped: n(3)?,
                previous_records: n(4)?,
            });
        }
        Ok(())
    })?;
    Ok(rows)
}

/// One record of `clusters.parquet` with the columns an incremental run carries forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRecord {
    /// The cluster.
    pub cluster_id: i64,
    /// The cluster's person.
    pub person_id: String,
    /// The record's agency.
    pub agency: String,
    /// The record's id in its agency.
    pub record_id: String,
    /// The record's `record_hash` (`None` when the file has no such column).
    pub record_hash: Option<String>,
}

/// Reads `clusters.parquet` with its `person_id` and, when present, `record_hash` columns.
pub fn read_person_records(path: &Path) -> Result<Vec<PersonRecord>> {
    let has_hash = super::read::has_column(path, "record_hash")?;
    let mut cols = vec![
        ("cluster_id", Kind::Int),
        ("person_id", Kind::Str),
        ("agency", Kind::Str),
        ("record_id", Kind::Str),
    ];
    if has_hash {
        cols.push(("record_hash", Kind::Str));
    }
    let mut rows = Vec::new();
    scan_batches(path, "clusters", &cols, |batch, first_row| {
        let b = Batch {
            path,
            batch,
            first_row,
        };
        let cid = b.nums("cluster_id")?;
        let pid = b.strs("person_id")?;
        let ag = b.strs("agency")?;
        let rid = b.strs("record_id")?;
        let hash = if has_hash {
            Some(b.strs("record_hash")?)
        } else {
            None
        };
        rows.reserve(batch.num_rows());
        for i in 0..batch.num_rows() {
            rows.push(PersonRecord {
                cluster_id: b.i64_at(&cid, "cluster_id", i)?,
                person_id: b.str_at(&pid, "person_id", i)?.to_string(),
                agency: b.str_at(&ag, "agency", i)?.to_string(),
                record_id: b.str_at(&rid, "record_id", i)?.to_string(),
                record_hash: match &hash {
                    Some(h) => Some(b.str_at(h, "record_hash", i)?.to_string()),
                    None => None,
                },
            });
        }
        Ok(())
    })?;
    Ok(rows)
}

/// Each cluster's `person_id` from `clusters.parquet` (cluster id → person id); `None` when the
/// file has no `person_id` column (a match set written before person ids existed).
pub fn read_cluster_persons(
    path: &Path,
) -> Result<Option<std::collections::BTreeMap<i64, String>>> {
    if !super::read::has_column(path, "person_id")? {
        return Ok(None);
    }
    let cols = [("cluster_id", Kind::Int), ("person_id", Kind::Str)];
    let mut out = std::collections::BTreeMap::new();
    scan_batches(path, "clusters", &cols, |batch, first_row| {
        let b = Batch {
            path,
            batch,
            first_row,
        };
        let cid = b.nums("cluster_id")?;
        let pid = b.strs("person_id")?;
        for i in 0..batch.num_rows() {
            let c = b.i64_at(&cid, "cluster_id", i)?;
            if let std::collections::btree_map::Entry::Vacant(e) = out.entry(c) {
                e.insert(b.str_at(&pid, "person_id", i)?.to_string());
            }
        }
        Ok(())
    })?;
    Ok(Some(out))
}
