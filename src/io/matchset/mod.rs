//! The match set written by `padan link` (docs/file-formats.md §2): `clusters.parquet`,
//! `pairs.parquet`, the optional `candidates.parquet` and `manifest.json` ([`crate::io::manifest`]).
//! This module owns the format: [`MatchSetWriter`] writes it, the readers here are the only ones
//! (used by `report`, `reveal` and `evaluate`).
//!
//! **Nulls.** The readers validate what they read: every column the format requires must be
//! present with its type, and no required cell may be null. A null in a required column is an
//! error naming the file, the column and the row (never a cell value): it is never read as an
//! empty string or a zero, so every command judges a file the same way. Only `sim_*` may be null
//! (a field missing on a side). They read only the columns they need, so the many
//! `sim_*`/`level_*`/`weight_*` columns of `pairs.parquet` cost nothing unless asked for
//! ([`read_pair_fields`]).
//!
//! Each file has a streaming `scan_*` function (a callback per row, borrowing the strings from the
//! Arrow batch: no allocation per row, constant memory for tens of millions of candidates) and a
//! `read_*` convenience that collects owned rows.

mod changes;
mod read;
mod write;

pub use changes::*;
pub use read::*;
pub use write::*;

/// File name of the clusters in a match-set directory.
pub const CLUSTERS_FILE: &str = "clusters.parquet";
/// File name of the scored pairs in a match-set directory.
pub const PAIRS_FILE: &str = "pairs.parquet";
/// File name of the (optional) compared pairs in a match-set directory.
pub const CANDIDATES_FILE: &str = "candidates.parquet";
/// File name of the person changes since the previous run (`padan link --previous`).
pub const CHANGES_FILE: &str = "changes.parquet";
/// File name of the manifest in a match-set directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The decision for a pair: `match` or `review` in `pairs.parquet`; a candidate below the
/// review threshold is `Below` (never written to `pairs.parquet`). Ordered `Below < Review <
/// Match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Below the review threshold (only among candidates).
    Below,
    /// Between the review and the match threshold: for a person to look at.
    Review,
    /// At or above the match threshold.
    Match,
}

impl Decision {
    /// The string stored in `pairs.parquet` (`Below` is never stored: "below review").
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Below => "below review",
            Decision::Review => "review",
            Decision::Match => "match",
        }
    }

    /// The decision stored in the file, if `s` is one.
    pub fn parse(s: &str) -> Option<Decision> {
        match s {
            "match" => Some(Decision::Match),
            "review" => Some(Decision::Review),
            _ => None,
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

impl PairRef<'_> {
    /// The row, owned.
    pub fn to_row(&self) -> PairRow {
        PairRow {
            left_agency: self.left_agency.to_string(),
            left_id: self.left_id.to_string(),
            right_agency: self.right_agency.to_string(),
            right_id: self.right_id.to_string(),
            match_weight: self.match_weight,
            match_probability: self.match_probability,
            decision: self.decision,
        }
    }
}

impl PairRow {
    /// Whether both rows pair the same two records (in the same order).
    pub fn same_records(&self, other: &PairRow) -> bool {
        self.left_agency == other.left_agency
            && self.left_id == other.left_id
            && self.right_agency == other.right_agency
            && self.right_id == other.right_id
    }
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
