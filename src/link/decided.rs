//! What the scoring stage hands on, in either mode (field-level in [`super::pipeline`],
//! record-level in [`super::record_level`]): the decided pairs and what resolve and write need.

use super::block::{unpack, BlockingStats, PairKey};
use super::compare::Comparator;
use super::config::BlockingConfig;
use crate::io::manifest::{ModelInfo, ThresholdInfo};
use crate::scoring::{ClusterOptions, Edge};

/// Scored pairs above the review threshold, in output order.
pub struct ScoredPairs {
    /// The pairs.
    pub pairs: Vec<PairKey>,
    /// Their match weights (record Dice in record-level mode).
    pub weights: Vec<f64>,
    /// Their probabilities (NaN in record-level mode).
    pub probabilities: Vec<f64>,
    /// Whether decided match (else review).
    pub is_match: Vec<bool>,
}

impl ScoredPairs {
    /// Sorts `(score, pair)` by score descending, then pair (a total order: the same output
    /// whatever the thread count), and decides match at `match_at`.
    pub fn from_kept(
        mut keep: Vec<(f64, PairKey)>,
        probability: impl Fn(f64) -> f64,
        match_at: f64,
    ) -> ScoredPairs {
        use rayon::prelude::*;
        keep.par_sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        ScoredPairs {
            pairs: keep.iter().map(|&(_, p)| p).collect(),
            weights: keep.iter().map(|&(w, _)| w).collect(),
            probabilities: keep.iter().map(|&(w, _)| probability(w)).collect(),
            is_match: keep.iter().map(|&(w, _)| w >= match_at).collect(),
        }
    }

    /// The pairs decided `match`, as clustering edges weighted by their score.
    pub fn match_edges(&self) -> Vec<Edge> {
        self.edges(true)
    }

    /// The pairs decided `review`, as clustering edges weighted by their score.
    pub fn review_edges(&self) -> Vec<Edge> {
        self.edges(false)
    }

    fn edges(&self, matched: bool) -> Vec<Edge> {
        self.pairs
            .iter()
            .zip(&self.weights)
            .zip(&self.is_match)
            .filter(|(_, &m)| m == matched)
            .map(|((&p, &w), _)| {
                let (a, b) = unpack(p);
                Edge { a, b, weight: w }
            })
            .collect()
    }
}

/// Everything the stages up to scoring decided, for resolve and write.
pub struct Decided<'a> {
    /// The comparator (for the per-field columns of pairs.parquet).
    pub comparator: Comparator<'a>,
    /// Weight of each level of each field.
    pub weights: Vec<Vec<f64>>,
    /// Pairs at or above review.
    pub scored: ScoredPairs,
    /// All candidates with their weights (when written).
    pub candidates: Option<(Vec<PairKey>, Vec<f64>)>,
    /// What blocking did.
    pub stats: BlockingStats,
    /// How to cluster.
    pub cluster: ClusterOptions,
    /// The model, for the manifest.
    pub model: ModelInfo,
    /// The thresholds, for the manifest.
    pub thresholds: ThresholdInfo,
    /// The comparison kernel's instruction set.
    pub isa: String,
    /// Warnings so far (no values).
    pub warnings: Vec<String>,
}

/// Warnings for skipped blocks: kind and sizes, never a key.
pub fn blocking_warnings(stats: &BlockingStats, cfg: &BlockingConfig) -> Vec<String> {
    let mut w = Vec::new();
    for (kind, n) in &stats.capped_by_kind {
        w.push(format!(
            "{n} block(s) of kind '{kind}' skipped: larger than max_block_size {} (largest {} records)",
            cfg.max_block_size,
            stats.capped_largest.get(kind).copied().unwrap_or(0)
        ));
    }
    for (kind, n) in &stats.purged_by_kind {
        let (key, budget) = if kind.starts_with("slot_") {
            ("slot_pairs_per_record", cfg.slot_pairs_per_record)
        } else {
            ("pairs_per_record", cfg.pairs_per_record)
        };
        w.push(format!(
            "{n} block(s) of kind '{kind}' skipped to keep within {key} {budget}: blocks of more than {} records",
            stats.effective_max_block_size.get(kind).copied().unwrap_or(0)
        ));
    }
    w
}
