//! The report's "since the last run" data: `changes.parquet` (written by `padan link
//! --previous`) counted by change and by agency. Ids and counts only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::Result;
use crate::io::matchset::{read_changes, read_person_records, Change, CHANGES_FILE, CLUSTERS_FILE};

/// What changed since the previous run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeStats {
    /// Persons by change, in [`Change::ALL`] order (zeros included).
    pub by_change: Vec<(Change, u64)>,
    /// Per agency (sorted by name): persons holding one of its records, by change (removed
    /// persons hold none).
    pub by_agency: BTreeMap<String, BTreeMap<Change, u64>>,
}

/// Reads `DIR/changes.parquet` with `DIR/clusters.parquet`; `None` when the match set has no
/// changes file (a run without `--previous`).
pub fn load(dir: &Path) -> Result<Option<ChangeStats>> {
    let path = dir.join(CHANGES_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let rows = read_changes(&path)?;
    let mut by_change: BTreeMap<Change, u64> = BTreeMap::new();
    let mut change_of: BTreeMap<&str, Change> = BTreeMap::new();
    let mut s = ChangeStats::default();
    for r in &rows {
        *by_change.entry(r.change).or_insert(0) += 1;
        if let Some(p) = &r.person_id {
            change_of.insert(p.as_str(), r.change);
        }
    }
    s.by_change = Change::ALL
        .iter()
        .map(|c| (*c, by_change.get(c).copied().unwrap_or(0)))
        .collect();
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    let records = read_person_records(&dir.join(CLUSTERS_FILE))?;
    for r in &records {
        if !seen.insert((r.agency.as_str(), r.person_id.as_str())) {
            continue;
        }
        if let Some(&c) = change_of.get(r.person_id.as_str()) {
            *s.by_agency
                .entry(r.agency.clone())
                .or_default()
                .entry(c)
                .or_insert(0) += 1;
        }
    }
    Ok(Some(s))
}
