//! Reviewers' verdicts, read from decisions files (a review file with its `decision` column
//! filled, or any CSV / Parquet with the same columns), and resolved to records for
//! `padan link --decisions`.
//!
//! A row names its pair by `pair_id`, or by `left_agency,left_id,right_agency,right_id`, or both
//! (then they must agree). `decision` is `match` or `non-match` (also `yes`/`no`, `same`/
//! `different`); an empty cell, `unsure` or `skip` leaves the pair undecided. Files are read in
//! the order given, rows in file order: a later verdict on the same pair replaces an earlier one
//! (counted), so a reviewer's correction in a later file wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::pair_id;
use super::table;
use crate::error::{Error, Result};
use crate::io::location;

/// A reviewer's verdict on a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verdict {
    /// The two records are one person (a must-link).
    #[serde(rename = "match")]
    Match,
    /// The two records are two people (a cannot-link).
    #[serde(rename = "non-match")]
    NonMatch,
}

impl Verdict {
    /// The word written in files: `match` or `non-match`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::NonMatch => "non-match",
        }
    }

    /// Reads a `decision` cell: `Ok(None)` for an undecided pair, `Err(())` for a word that is no
    /// verdict.
    #[allow(clippy::result_unit_err)]
    pub fn parse(cell: Option<&str>) -> std::result::Result<Option<Verdict>, ()> {
        let Some(c) = cell else { return Ok(None) };
        let w = c.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        match w.as_str() {
            "" | "unsure" | "skip" | "?" | "undecided" => Ok(None),
            "match" | "yes" | "y" | "same" | "true" | "1" => Ok(Some(Verdict::Match)),
            "non-match" | "nonmatch" | "no-match" | "not-match" | "no" | "n" | "different"
            | "false" | "0" => Ok(Some(Verdict::NonMatch)),
            _ => Err(()),
        }
    }
}

/// One decided pair.
#[derive(Debug, Clone, PartialEq)]
pub struct DecidedPair {
    /// Its [`pair_id`].
    pub pair_id: String,
    /// Its two records (agency, record id), when the row named them.
    pub records: Option<[(String, String); 2]>,
    /// The verdict.
    pub verdict: Verdict,
    /// Where it was read: file and 1-based row.
    pub source: (PathBuf, u64),
}

/// The verdicts of one or more decisions files, one per pair.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    /// The decided pairs, by pair id.
    pub pairs: BTreeMap<String, DecidedPair>,
    /// The files read.
    pub files: Vec<PathBuf>,
    /// Rows read (with a pair).
    pub rows: u64,
    /// Rows left undecided (empty, `unsure`, `skip`).
    pub undecided: u64,
    /// Verdicts replaced by a later one on the same pair.
    pub replaced: u64,
}

/// The columns of a decisions file.
pub const COLUMNS: [&str; 6] = [
    "pair_id",
    "left_agency",
    "left_id",
    "right_agency",
    "right_id",
    "decision",
];

impl Decisions {
    /// Whether no verdict was read.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Reads the files in order (see the module docs).
    pub fn read(paths: &[PathBuf]) -> Result<Decisions> {
        let mut d = Decisions::default();
        for p in paths {
            d.read_one(p)?;
        }
        Ok(d)
    }

    fn read_one(&mut self, path: &Path) -> Result<()> {
        let t = table::read(path, &COLUMNS)?;
        if !t.has(5) {
            return Err(Error::input(
                location(path, Some(1), Some("decision")),
                "missing column: a decisions file needs a decision column (match / non-match), as padan review export writes it",
            ));
        }
        let ids = (1..5).all(|i| t.has(i));
        if !ids && !t.has(0) {
            return Err(Error::input(
                location(path, Some(1), None),
                "a decisions file names its pairs by pair_id or by left_agency, left_id, right_agency, right_id: it has neither",
            ));
        }
        self.files.push(path.to_path_buf());
        for (line, cells) in &t.rows {
            let at = |col: &str, msg: &str| {
                Error::input(location(path, Some(*line), Some(col)), msg.to_string())
            };
            let records = if ids {
                let get = |i: usize, col: &str| {
                    cells[i].clone().ok_or_else(|| {
                        at(
                            col,
                            "empty cell: each pair needs both agencies and both record ids",
                        )
                    })
                };
                Some([
                    (get(1, "left_agency")?, get(2, "left_id")?),
                    (get(3, "right_agency")?, get(4, "right_id")?),
                ])
            } else {
                None
            };
            let id = match (&records, &cells[0]) {
                (Some([(la, li), (ra, ri)]), given) => {
                    let id = pair_id(la, li, ra, ri);
                    if given.as_ref().is_some_and(|g| *g != id) {
                        return Err(at(
                            "pair_id",
                            "pair_id is not the id of this row's two records (edited by hand? or ids pasted from another row)",
                        ));
                    }
                    id
                }
                (None, Some(g)) => g.clone(),
                (None, None) => return Err(at("pair_id", "empty cell: the row names no pair")),
            };
            self.rows += 1;
            let verdict = Verdict::parse(cells[5].as_deref()).map_err(|()| {
                at(
                    "decision",
                    "not a verdict: write match or non-match (or leave it empty, unsure or skip)",
                )
            })?;
            let Some(verdict) = verdict else {
                self.undecided += 1;
                continue;
            };
            let entry = DecidedPair {
                pair_id: id.clone(),
                records,
                verdict,
                source: (path.to_path_buf(), *line),
            };
            if self.pairs.insert(id, entry).is_some() {
                self.replaced += 1;
            }
        }
        Ok(())
    }
}

/// What `padan link --decisions` did with the verdicts (in the manifest under `decisions`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionsInfo {
    /// The decisions files, as given.
    pub files: Vec<String>,
    /// Decided pairs read (after replacements).
    pub verdicts: u64,
    /// Rows left undecided.
    pub undecided: u64,
    /// Verdicts replaced by a later one on the same pair.
    pub replaced: u64,
    /// `match` verdicts applied as must-links.
    pub must_link: u64,
    /// `non-match` verdicts applied as cannot-links.
    pub cannot_link: u64,
    /// Verdicts on a pair whose records are not both in this run (ignored; listed below).
    pub not_in_run: u64,
    /// Their pair ids (sorted; ids only, never a value).
    pub not_in_run_pairs: Vec<String>,
    /// Scored edges whose merge a cannot-link refused.
    pub refused_by_cannot_link: u64,
    /// Cannot-links the must-links overrule (both records joined by `match` verdicts).
    pub conflicts: u64,
}

/// The records of a run, for resolving verdicts.
pub trait RecordIndex {
    /// The index of record `id` of `agency`, if in the run.
    fn index_of(&self, agency: &str, id: &str) -> Option<u32>;
}

impl Decisions {
    /// Resolves the verdicts against a run's records: the constraints for clustering and what
    /// was applied or ignored. A pair named by `pair_id` only is found among `scored` (the run's
    /// pairs at or above review, as (left, right) record ids); outside them it is not in the run.
    pub fn resolve(
        &self,
        records: &dyn RecordIndex,
        scored_ids: impl FnOnce() -> BTreeMap<String, (u32, u32)>,
    ) -> (crate::scoring::Constraints, DecisionsInfo) {
        let mut c = crate::scoring::Constraints::default();
        let mut info = DecisionsInfo {
            files: self.files.iter().map(|p| p.display().to_string()).collect(),
            verdicts: self.pairs.len() as u64,
            undecided: self.undecided,
            replaced: self.replaced,
            ..DecisionsInfo::default()
        };
        let needs_scored = self.pairs.values().any(|p| p.records.is_none());
        let scored = if needs_scored {
            scored_ids()
        } else {
            BTreeMap::new()
        };
        for (id, p) in &self.pairs {
            let ab = match &p.records {
                Some([(la, li), (ra, ri)]) => {
                    records.index_of(la, li).zip(records.index_of(ra, ri))
                }
                None => scored.get(id).copied(),
            };
            let Some((a, b)) = ab.filter(|(a, b)| a != b) else {
                info.not_in_run += 1;
                info.not_in_run_pairs.push(id.clone());
                continue;
            };
            match p.verdict {
                Verdict::Match => c.must_link.push((a, b)),
                Verdict::NonMatch => c.cannot_link.push((a, b)),
            }
        }
        info.must_link = c.must_link.len() as u64;
        info.cannot_link = c.cannot_link.len() as u64;
        (c, info)
    }
}

/// The warnings of a link run's verdicts (counts and pair ids, never a value).
pub fn warnings(info: &DecisionsInfo) -> Vec<String> {
    let mut w = Vec::new();
    if info.not_in_run > 0 {
        let shown: Vec<&str> = info
            .not_in_run_pairs
            .iter()
            .take(5)
            .map(String::as_str)
            .collect();
        w.push(format!(
            "{} verdict(s) name records not in this run and were ignored (pair ids in manifest.json under decisions.not_in_run_pairs; first: {}{})",
            info.not_in_run,
            shown.join(", "),
            if info.not_in_run > 5 { ", …" } else { "" }
        ));
    }
    if info.conflicts > 0 {
        w.push(format!(
            "{} non-match verdict(s) could not be honoured: match verdicts join their two records through other records (review those verdicts together)",
            info.conflicts
        ));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_words() {
        assert_eq!(Verdict::parse(Some(" Match ")), Ok(Some(Verdict::Match)));
        assert_eq!(
            Verdict::parse(Some("non_match")),
            Ok(Some(Verdict::NonMatch))
        );
        assert_eq!(
            Verdict::parse(Some("Non Match")),
            Ok(Some(Verdict::NonMatch))
        );
        assert_eq!(Verdict::parse(Some("unsure")), Ok(None));
        assert_eq!(Verdict::parse(None), Ok(None));
        assert_eq!(Verdict::parse(Some("maybe so")), Err(()));
    }

    struct Ids(Vec<(&'static str, &'static str)>);
    impl RecordIndex for Ids {
        fn index_of(&self, agency: &str, id: &str) -> Option<u32> {
            self.0
                .iter()
                .position(|&(a, i)| a == agency && i == id)
                .map(|i| i as u32)
        }
    }

    #[test]
    fn files_read_in_order_later_verdicts_win_and_missing_records_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one.csv");
        std::fs::write(
            &one,
            "left_agency,left_id,right_agency,right_id,decision\na,1,b,1,match\na,2,b,2,non-match\na,3,b,9,match\na,1,b,2,\n",
        )
        .unwrap();
        let two = dir.path().join("two.csv");
        let id = pair_id("a", "2", "b", "2");
        std::fs::write(&two, format!("pair_id,decision\n{id},match\n")).unwrap();
        let d = Decisions::read(&[one.clone(), two]).unwrap();
        assert_eq!(
            (d.rows, d.undecided, d.replaced, d.pairs.len()),
            (5, 1, 1, 3)
        );
        let ids = Ids(vec![
            ("a", "1"),
            ("b", "1"),
            ("a", "2"),
            ("b", "2"),
            ("a", "3"),
        ]);
        let (c, info) = d.resolve(&ids, BTreeMap::new);
        assert_eq!(c.cannot_link.len(), 0);
        assert_eq!(
            c.must_link.len(),
            1,
            "the pair-id-only verdict is not among the scored pairs"
        );
        assert_eq!(info.not_in_run, 2);
        assert!(info.not_in_run_pairs.contains(&pair_id("a", "3", "b", "9")));
        let (c, _) = d.resolve(&ids, || BTreeMap::from([(id.clone(), (2, 3))]));
        assert_eq!(c.must_link.len(), 2);
        assert!(warnings(&info)[0].contains("2 verdict(s)"));
        // A word that is no verdict, or a pair id that does not fit the ids: errors naming the
        // file, the row and the column.
        std::fs::write(
            &one,
            "pair_id,left_agency,left_id,right_agency,right_id,decision\npr-x,a,1,b,1,match\n",
        )
        .unwrap();
        let e = Decisions::read(std::slice::from_ref(&one))
            .unwrap_err()
            .to_string();
        assert!(e.contains("pair_id") && e.contains('2'), "{e}");
        std::fs::write(&one, "pair_id,decision\npr-x,perhaps\n").unwrap();
        let e = Decisions::read(&[one]).unwrap_err().to_string();
        assert!(e.contains("decision") && !e.contains("perhaps"), "{e}");
    }
}
