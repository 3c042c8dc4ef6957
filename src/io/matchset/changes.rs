//! `changes.parquet` (written by `padan link --previous`): what happened to each person since the
//! previous run, and the per-record columns of `clusters.parquet` an incremental run carries
//! forward (`person_id`, `record_hash`). docs/file-formats.md §2 defines both.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field};

use super::read::{column_error, map_batches_par, scan_batches, Batch, Kind};
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

/// One row of `changes.parquet` by reference: the person now by its cluster (an index into the
/// run's person ids), the previous persons by index into the previous run's (ascending) ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeRef {
    /// The cluster of the person now (`None` for [`Change::Removed`]).
    pub person: Option<u32>,
    /// What happened.
    pub change: Change,
    /// The previous person it carries the id of, or was split from (see [`ChangeRow`]).
    pub previous_person: Option<u32>,
    /// Its previous persons: `ChangeSet::previous_persons[start..end]`, ascending.
    pub previous_persons: (u32, u32),
    /// Records now.
    pub records: i64,
    /// Records not in the previous run.
    pub records_added: i64,
    /// Records of the previous run whose encoded content changed.
    pub records_changed: i64,
    /// Records of `previous_person` no longer in any input.
    pub records_dropped: i64,
    /// Records of `previous_person` in the previous run.
    pub previous_records: i64,
}

/// The rows of `changes.parquet`, in file order, by reference (no string per row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The rows.
    pub rows: Vec<ChangeRef>,
    /// Every row's previous persons, one after the other.
    pub previous_persons: Vec<u32>,
}

impl ChangeSet {
    /// Row `k` with its ids spelled out: `now` holds the person id of each cluster, `before` the
    /// previous run's person ids.
    pub fn row(&self, k: usize, now: &StrList, before: &StrList) -> ChangeRow {
        let r = &self.rows[k];
        let (s, e) = r.previous_persons;
        ChangeRow {
            person_id: r.person.map(|c| now.get(c as usize).to_string()),
            change: r.change,
            previous_person_id: r
                .previous_person
                .map(|p| before.get(p as usize).to_string()),
            previous_person_ids: self.previous_persons[s as usize..e as usize]
                .iter()
                .map(|&p| before.get(p as usize).to_string())
                .collect(),
            records: r.records,
            records_added: r.records_added,
            records_changed: r.records_changed,
            records_dropped: r.records_dropped,
            previous_records: r.previous_records,
        }
    }
}

impl MatchSetWriter<'_> {
    /// Writes `changes.parquet`, one row per `set` row, in its order; `before` holds the
    /// previous run's person ids, the writer's person ids ([`MatchSetWriter::persons_of`]) those
    /// of the clusters of `cluster_of`.
    pub fn write_changes(
        &self,
        set: &ChangeSet,
        before: &StrList,
        cluster_of: &[u32],
    ) -> Result<()> {
        let now = self.persons_of(cluster_of);
        let rows = &set.rows;
        let int = |f: fn(&ChangeRef) -> i64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(rows.iter().map(f)))
        };
        let mut list = ListBuilder::with_capacity(
            StringBuilder::with_capacity(
                set.previous_persons.len(),
                set.previous_persons.len() * 18,
            ),
            rows.len(),
        )
        .with_field(Field::new("item", DataType::Utf8, false));
        for r in rows {
            let (s, e) = r.previous_persons;
            for &p in &set.previous_persons[s as usize..e as usize] {
                list.values().append_value(before.get(p as usize));
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
            Arc::new(StringArray::from_iter(
                rows.iter().map(|r| r.person.map(|c| now.get(c as usize))),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.change.as_str()),
            )),
            Arc::new(StringArray::from_iter(
                rows.iter()
                    .map(|r| r.previous_person.map(|p| before.get(p as usize))),
            )),
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

/// The columns of `clusters.parquet` an incremental run and the report read: the ids, and
/// `record_hash` when the file has it (the flag).
fn person_columns(path: &Path) -> Result<(Vec<(&'static str, Kind)>, bool)> {
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
    Ok((cols, has_hash))
}

/// One row of the person columns of `clusters.parquet`, borrowed from its batch.
struct PersonRef<'a> {
    cluster_id: i64,
    person_id: &'a str,
    agency: &'a str,
    record_id: &'a str,
    record_hash: Option<&'a str>,
}

/// Calls `f` once per row of one batch read with [`person_columns`] (rows numbered from
/// `first_row`; `record_hash` only when `has_hash`).
fn person_rows(
    path: &Path,
    batch: &RecordBatch,
    first_row: u64,
    has_hash: bool,
    mut f: impl FnMut(PersonRef<'_>) -> Result<()>,
) -> Result<()> {
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
    for i in 0..batch.num_rows() {
        f(PersonRef {
            cluster_id: b.i64_at(&cid, "cluster_id", i)?,
            person_id: b.str_at(&pid, "person_id", i)?,
            agency: b.str_at(&ag, "agency", i)?,
            record_id: b.str_at(&rid, "record_id", i)?,
            record_hash: match &hash {
                Some(h) => Some(b.str_at(h, "record_hash", i)?),
                None => None,
            },
        })?;
    }
    Ok(())
}

/// Reads `clusters.parquet` with its `person_id` and, when present, `record_hash` columns.
pub fn read_person_records(path: &Path) -> Result<Vec<PersonRecord>> {
    let (cols, has_hash) = person_columns(path)?;
    let mut rows = Vec::new();
    scan_batches(path, "clusters", &cols, |batch, first_row| {
        rows.reserve(batch.num_rows());
        person_rows(path, batch, first_row, has_hash, |r| {
            rows.push(PersonRecord {
                cluster_id: r.cluster_id,
                person_id: r.person_id.to_string(),
                agency: r.agency.to_string(),
                record_id: r.record_id.to_string(),
                record_hash: r.record_hash.map(str::to_string),
            });
            Ok(())
        })
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

/// Strings one after the other in one buffer, by index: no allocation per string, for the
/// million-row columns an incremental run holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrList {
    buf: String,
    ends: Vec<usize>,
}

impl StrList {
    /// An empty list.
    pub fn new() -> StrList {
        StrList::default()
    }

    /// Appends `s`.
    pub fn push(&mut self, s: &str) {
        self.buf.push_str(s);
        self.ends.push(self.buf.len());
    }

    /// String `i`.
    #[inline]
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The strings, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Appends every string of `other`.
    pub fn extend_from(&mut self, other: &StrList) {
        let base = self.buf.len();
        self.buf.push_str(&other.buf);
        self.ends.extend(other.ends.iter().map(|&e| base + e));
    }
}

impl<'s> FromIterator<&'s str> for StrList {
    fn from_iter<I: IntoIterator<Item = &'s str>>(it: I) -> StrList {
        let mut l = StrList::new();
        for s in it {
            l.push(s);
        }
        l
    }
}

/// A record's `record_hash`: 16 bytes, written as 32 lowercase hex digits.
pub type RecordHash = [u8; 16];

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `h` as the 32 lowercase hex digits `clusters.parquet` stores.
pub fn record_hash_hex(h: &RecordHash) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (k, b) in h.iter().enumerate() {
        out[2 * k] = HEX[(b >> 4) as usize];
        out[2 * k + 1] = HEX[(b & 15) as usize];
    }
    out
}

/// The hash a `record_hash` cell spells, if it is 32 lowercase hex digits (what padan writes;
/// anything else matches no record).
pub fn parse_record_hash(s: &str) -> Option<RecordHash> {
    let b = s.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 16];
    for (k, o) in out.iter_mut().enumerate() {
        *o = (digit(b[2 * k])? << 4) | digit(b[2 * k + 1])?;
    }
    Some(out)
}

/// The records of a previous `clusters.parquet` as an incremental run uses them: each row's
/// agency, record id, person and `record_hash`, held compactly (no allocation per row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrevRecords {
    /// Agency names, in order of first appearance (index = agency index here).
    pub agencies: Vec<String>,
    /// Agency of each row.
    pub agency_of: Vec<u16>,
    /// Record id of each row.
    pub ids: StrList,
    /// The distinct person ids, ascending (byte order).
    pub persons: StrList,
    /// Person (index into `persons`) of each row.
    pub person_of: Vec<u32>,
    /// Each row's `record_hash` (`None` when the file has no such column, or a cell is not 32
    /// lowercase hex digits).
    pub hashes: Vec<Option<RecordHash>>,
}

impl PrevRecords {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.agency_of.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.agency_of.is_empty()
    }
}

/// One batch of [`read_prev_records`], with its own agency and person numbering.
#[derive(Default)]
struct PrevPart {
    agencies: Vec<String>,
    agency_of: Vec<u16>,
    ids: StrList,
    /// Person ids, a new entry whenever the id differs from the row before.
    persons: StrList,
    person_of: Vec<u32>,
    hashes: Vec<Option<RecordHash>>,
}

/// Reads `clusters.parquet` for an incremental run: the columns of [`PrevRecords`] (and checks
/// `cluster_id`, as every reader of the file does), row groups in parallel.
pub fn read_prev_records(path: &Path) -> Result<PrevRecords> {
    use rayon::prelude::*;
    let (cols, has_hash) = person_columns(path)?;
    let parts = map_batches_par(path, "clusters", &cols, |batch, first_row| {
        let n = batch.num_rows();
        let mut p = PrevPart {
            agency_of: Vec::with_capacity(n),
            person_of: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            ..PrevPart::default()
        };
        person_rows(path, batch, first_row, has_hash, |r| {
            let ai = match p.agencies.iter().position(|x| x == r.agency) {
                Some(k) => k,
                None => {
                    p.agencies.push(r.agency.to_string());
                    p.agencies.len() - 1
                }
            };
            p.agency_of.push(ai as u16);
            p.ids.push(r.record_id);
            if p.persons.is_empty() || p.persons.get(p.persons.len() - 1) != r.person_id {
                p.persons.push(r.person_id);
            }
            p.person_of.push(p.persons.len() as u32 - 1);
            p.hashes.push(r.record_hash.and_then(parse_record_hash));
            Ok(())
        })?;
        Ok(p)
    })?;
    // Agencies and rows, one part after the other.
    let mut out = PrevRecords::default();
    let rows: usize = parts.iter().map(|p| p.agency_of.len()).sum();
    out.agency_of.reserve(rows);
    out.hashes.reserve(rows);
    for p in &parts {
        let map: Vec<u16> = p
            .agencies
            .iter()
            .map(|a| match out.agencies.iter().position(|x| x == a) {
                Some(k) => Ok(k as u16),
                None if out.agencies.len() < u16::MAX as usize => {
                    out.agencies.push(a.clone());
                    Ok(out.agencies.len() as u16 - 1)
                }
                None => Err(column_error(
                    path,
                    "agency",
                    None,
                    "more than 65 535 agencies",
                )),
            })
            .collect::<Result<_>>()?;
        out.agency_of
            .extend(p.agency_of.iter().map(|&a| map[a as usize]));
        out.ids.extend_from(&p.ids);
        out.hashes.extend_from_slice(&p.hashes);
    }
    // Persons: every part's ids sorted together, numbered in that order.
    let mut base = Vec::with_capacity(parts.len());
    let mut all: Vec<(&str, u32)> = Vec::new();
    for p in &parts {
        base.push(all.len() as u32);
        let b = all.len() as u32;
        all.extend(p.persons.iter().enumerate().map(|(k, s)| (s, b + k as u32)));
    }
    all.par_sort_unstable();
    let mut dense = vec![0u32; all.len()];
    for (k, &(s, flat)) in all.iter().enumerate() {
        if k == 0 || all[k - 1].0 != s {
            out.persons.push(s);
        }
        dense[flat as usize] = out.persons.len() as u32 - 1;
    }
    out.person_of.reserve(rows);
    for (p, &b) in parts.iter().zip(&base) {
        out.person_of
            .extend(p.person_of.iter().map(|&k| dense[(b + k) as usize]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_hash_round_trips_through_its_hex_and_nothing_else_parses() {
        let h: RecordHash = std::array::from_fn(|k| (k as u8) * 17);
        let hex = record_hash_hex(&h);
        assert_eq!(&hex, b"00112233445566778899aabbccddeeff");
        assert_eq!(
            parse_record_hash(std::str::from_utf8(&hex).unwrap()),
            Some(h)
        );
        assert_eq!(parse_record_hash("00112233445566778899AABBCCDDEEFF"), None);
        assert_eq!(parse_record_hash("0011"), None);
        assert_eq!(parse_record_hash("g0112233445566778899aabbccddeeff"), None);
    }

    #[test]
    fn a_str_list_holds_its_strings_in_order() {
        let mut a: StrList = ["", "ab", "c"].into_iter().collect();
        let b: StrList = ["déjà", ""].into_iter().collect();
        a.extend_from(&b);
        assert_eq!(a.len(), 5);
        assert_eq!(a.iter().collect::<Vec<_>>(), ["", "ab", "c", "déjà", ""]);
        assert!(StrList::new().is_empty());
    }

    #[test]
    fn a_change_set_row_spells_out_its_ids() {
        let now: StrList = ["p-new", "p-b"].into_iter().collect();
        let before: StrList = ["p-a", "p-b"].into_iter().collect();
        let set = ChangeSet {
            rows: vec![ChangeRef {
                person: Some(1),
                change: Change::Merged,
                previous_person: Some(1),
                previous_persons: (0, 2),
                records: 3,
                records_added: 1,
                records_changed: 0,
                records_dropped: 0,
                previous_records: 1,
            }],
            previous_persons: vec![0, 1],
        };
        let r = set.row(0, &now, &before);
        assert_eq!(r.person_id.as_deref(), Some("p-b"));
        assert_eq!(r.previous_person_id.as_deref(), Some("p-b"));
        assert_eq!(r.previous_person_ids, ["p-a", "p-b"]);
        assert_eq!((r.records, r.records_added), (3, 1));
    }
}
