//! `padan evaluate`: the quality of a match set measured against known truth.
//!
//! The truth is a CSV file `agency,record_id,person_id` (as `padan synth` writes it, or a
//! hand-labelled sample). The match set is a directory written by `padan link`
//! (docs/file-formats.md §2). Three things are measured:
//!
//! - **Clusters** (`clusters.parquet`): pairwise precision / recall / F1 over every record pair the
//!   clusters imply (across and within agencies), B-cubed precision / recall / F1, and the share of
//!   true persons reconstructed exactly (see [`crate::metrics::cluster_metrics`]).
//! - **Pairs** (`pairs.parquet`): precision / recall / F1 of the pairs decided `match`, and of the
//!   pairs decided `match` or `review`, against all true pairs. A pair is unordered and counted
//!   once, whatever rows repeat it (it is a `match` when any of its rows says so).
//! - **Blocking pair completeness** (`candidates.parquet`, written by `padan link
//!   --write-candidates`): the share of true pairs that were ever compared, over all true pairs
//!   (within-agency duplicates are true pairs too: link compares within agencies by default), and
//!   separately over cross-agency and within-agency true pairs.
//!
//! **Which records are evaluated.** Only records both in the match set and in the truth. Truth
//! records absent from the match set are expected — rows the agencies' `padan encode` rejected
//! never reach link — and are reported as "truth records not in the match set", with the true
//! pairs they take part in. Match-set records without a truth row cannot be judged and are
//! reported as "match-set records not in the truth". So recall here is the recall of linkage on
//! what it was given; an end-to-end view multiplies by the share of true pairs evaluated.
//! Pairs and candidates with a record outside the evaluated set are skipped and counted.
//!
//! **Cost.** Each `(agency, record_id)` is hashed once into a dense index; pairs are only
//! enumerated over the rows of `pairs.parquet` and `candidates.parquet` (streamed), never over
//! clusters or persons. Memory: the truth's ids, plus 8 bytes per row of `pairs.parquet` and per
//! true pair found among the candidates.
//!
//! **Pseudonyms and decoys.** When the agencies encoded with `--pseudonymize-ids`, the match set
//! names records by pseudonym while the truth names them by record id: `--lookup AGENCY=FILE`
//! (repeated; [`evaluate_with_lookups`]) translates an agency's truth ids to its pseudonyms with
//! its lookup, and adds each decoy of that lookup to the truth as a person of its own. A decoy
//! linked to a real record is then a false pair and a decoy that takes a real record's place in a
//! cluster costs recall — the honest price of decoys, not hidden by leaving them unjudged.
//!
//! The output is aggregate-only: counts and rates, never a record id or a person id.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Location, Result};
use crate::io::lookup::Lookup;
use crate::io::matchset::{
    scan_candidates, scan_clusters, scan_pairs, Decision, CANDIDATES_FILE, CLUSTERS_FILE,
    PAIRS_FILE,
};
use crate::io::truth::Truth;
use crate::metrics::{cluster_metrics, pair_metrics, true_pair_count, ClusterMetrics, PairMetrics};

/// What `padan evaluate` reports (also its `--json` output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The match-set directory.
    pub match_set: String,
    /// The truth file.
    pub truth: String,
    /// Which records were evaluated.
    pub records: Coverage,
    /// Quality of `clusters.parquet`, over the evaluated records.
    pub clusters: ClusterMetrics,
    /// Quality of the decisions in `pairs.parquet`.
    pub pairs: PairsEvaluation,
    /// Blocking pair completeness, from `candidates.parquet`.
    pub blocking: Blocking,
    /// What a reader should know before trusting the figures (e.g. an agency none of whose
    /// records is in the truth: pseudonymized ids without `--lookup`).
    pub warnings: Vec<String>,
}

/// Which records are in the truth, in the match set, and in both (the evaluated ones).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Rows of the truth file.
    pub truth_records: u64,
    /// Rows of `clusters.parquet`.
    pub match_set_records: u64,
    /// Records in both: every metric is computed over these.
    pub evaluated_records: u64,
    /// Truth records absent from the match set (rejected at encode, or not linked).
    pub truth_not_in_match_set: u64,
    /// Match-set records absent from the truth (cannot be judged).
    pub match_set_not_in_truth: u64,
    /// True pairs among all truth records.
    pub true_pairs_in_truth: u64,
    /// True pairs among the evaluated records (the denominator of every recall).
    pub true_pairs_evaluated: u64,
    /// Decoys added to the truth from `--lookup` files (each a person of its own; included in
    /// `truth_records`).
    pub decoys: u64,
}

/// Quality of the decisions in `pairs.parquet`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairsEvaluation {
    /// Rows of `pairs.parquet`.
    pub rows: u64,
    /// Rows skipped because a record is not evaluated (see [`Coverage`]).
    pub rows_not_evaluated: u64,
    /// Rows repeating an unordered pair already counted.
    pub duplicate_rows: u64,
    /// Pairs decided `match`.
    pub matched: PairMetrics,
    /// Pairs decided `match` or `review`.
    pub match_or_review: PairMetrics,
}

/// Blocking pair completeness, when link recorded its candidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Blocking {
    /// `candidates.parquet` is absent.
    NotRecorded {
        /// What to do to measure it.
        hint: String,
    },
    /// Measured from `candidates.parquet`.
    Recorded(BlockingMetrics),
}

/// Pair completeness of blocking: the share of true pairs that were compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockingMetrics {
    /// Rows of `candidates.parquet` (every compared pair).
    pub candidates: u64,
    /// Rows skipped because a record is not evaluated.
    pub candidates_not_evaluated: u64,
    /// Completeness over all true pairs.
    pub all: Completeness,
    /// Completeness over true pairs of records of two different agencies.
    pub cross_agency: Completeness,
    /// Completeness over true pairs of two records of one agency (duplicates).
    pub within_agency: Completeness,
}

/// True pairs compared out of true pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Completeness {
    /// True pairs (among the evaluated records).
    pub true_pairs: u64,
    /// Of these, the pairs found among the candidates.
    pub compared: u64,
    /// `compared / true_pairs` (1 when there is no true pair).
    pub completeness: f64,
}

impl Completeness {
    fn new(compared: u64, true_pairs: u64) -> Self {
        Completeness {
            true_pairs,
            compared,
            completeness: if true_pairs == 0 {
                1.0
            } else {
                compared as f64 / true_pairs as f64
            },
        }
    }
}

/// The hint shown when `candidates.parquet` is absent.
pub const CANDIDATES_HINT: &str = "not recorded — run padan link with --write-candidates";

/// A pair of dense indices as one unordered key.
fn pair_key(a: u32, b: u32) -> u64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    (u64::from(lo) << 32) | u64::from(hi)
}

fn unpack(key: u64) -> (usize, usize) {
    ((key >> 32) as usize, (key & 0xFFFF_FFFF) as usize)
}

/// A warning for each agency of the match set none of whose records is in the truth: its recall
/// counts nothing, which is what pseudonymized ids without `--lookup` look like.
pub(crate) fn missing_agencies(
    by_agency: &std::collections::BTreeMap<String, (u64, u64)>,
    lookups: &[(String, Lookup)],
) -> Vec<String> {
    by_agency
        .iter()
        .filter(|(_, &(records, found))| records > 0 && found == 0)
        .map(|(agency, &(records, _))| {
            let hint = if lookups.iter().any(|(a, _)| a == agency) {
                "its --lookup file does not fit this match set"
            } else {
                "if it encoded with --pseudonymize-ids, add --lookup AGENCY=FILE with its lookup"
            };
            format!(
                "none of the {records} records of agency '{agency}' in the match set is in the truth, so its records are not evaluated; {hint}"
            )
        })
        .collect()
}

fn self_pair(path: &Path, row: u64) -> Error {
    Error::input(
        Location {
            file: Some(path.to_path_buf()),
            line: Some(row),
            column: Some("right_id".into()),
        },
        "a record is paired with itself",
    )
}

/// Evaluates the match set in `dir` against `truth` (see the module documentation).
pub fn evaluate(dir: &Path, truth_path: &Path) -> Result<Evaluation> {
    evaluate_with_lookups(dir, truth_path, &[])
}

/// [`evaluate`] for pseudonymized agencies: each `(agency, lookup)` maps that agency's truth ids
/// to pseudonyms and adds its decoys to the truth, each as a person of its own.
pub fn evaluate_with_lookups(
    dir: &Path,
    truth_path: &Path,
    lookups: &[(String, Lookup)],
) -> Result<Evaluation> {
    let clusters_path = dir.join(CLUSTERS_FILE);
    let pairs_path = dir.join(PAIRS_FILE);
    let candidates_path = dir.join(CANDIDATES_FILE);
    for p in [&clusters_path, &pairs_path] {
        if !p.is_file() {
            return Err(Error::input_file(
                p,
                format!(
                    "file not found: is {} a match set written by padan link?",
                    dir.display()
                ),
            ));
        }
    }
    let mut truth = Truth::read(truth_path)?;
    let mut decoys = 0;
    for (agency, lookup) in lookups {
        decoys += truth.apply_lookup(agency, lookup)?;
    }
    let n = truth.person.len();

    // Clusters: the predicted cluster of every truth record in the match set.
    let mut pred: Vec<u64> = vec![0; n];
    let mut in_set: Vec<bool> = vec![false; n];
    let mut not_in_truth = 0u64;
    // Per agency of the match set: (records, records found in the truth).
    let mut by_agency: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    let match_set_records = scan_clusters(&clusters_path, |r| {
        let found = truth.lookup(r.agency, r.record_id);
        let entry = match by_agency.get_mut(r.agency) {
            Some(e) => e,
            None => by_agency.entry(r.agency.to_string()).or_default(),
        };
        entry.0 += 1;
        entry.1 += u64::from(found.is_some());
        match found {
            None => not_in_truth += 1,
            Some(i) => {
                let i = i as usize;
                if in_set[i] {
                    return Err(Error::input(
                        Location {
                            file: Some(clusters_path.clone()),
                            line: Some(r.row),
                            column: Some("record_id".into()),
                        },
                        "this (agency, record_id) already appeared on an earlier row",
                    ));
                }
                in_set[i] = true;
                pred[i] = r.cluster_id as u64;
            }
        }
        Ok(())
    })?;
    let warnings = missing_agencies(&by_agency, lookups);
    let evaluated: Vec<usize> = (0..n).filter(|&i| in_set[i]).collect();
    if evaluated.is_empty() && n > 0 && match_set_records > 0 {
        return Err(Error::Incompatible(format!(
            "no record of {} is in {} (truth of another run, or ids pseudonymized at encode?)",
            clusters_path.display(),
            truth_path.display()
        )));
    }
    let pred_e: Vec<u64> = evaluated.iter().map(|&i| pred[i]).collect();
    let person_e: Vec<u64> = evaluated.iter().map(|&i| truth.person[i]).collect();
    let clusters = cluster_metrics(&pred_e, &person_e);
    let true_pairs = clusters.true_pairs;
    let n_agencies = truth.ids.len().max(1) as u64;
    let within_true = true_pair_count(
        &evaluated
            .iter()
            .map(|&i| truth.person[i] * n_agencies + u64::from(truth.agency[i]))
            .collect::<Vec<_>>(),
    );
    drop((pred, pred_e, person_e, evaluated));

    let lookup = |agency: &str, id: &str| -> Option<u32> {
        truth.lookup(agency, id).filter(|&i| in_set[i as usize])
    };

    // Pairs: unordered, deduplicated, `match` when any row says so.
    let mut keys: Vec<(u64, bool)> = Vec::new();
    let mut rows_not_evaluated = 0u64;
    let rows = scan_pairs(&pairs_path, |r| {
        match (
            lookup(r.left_agency, r.left_id),
            lookup(r.right_agency, r.right_id),
        ) {
            (Some(a), Some(b)) if a == b => return Err(self_pair(&pairs_path, r.row)),
            (Some(a), Some(b)) => keys.push((pair_key(a, b), r.decision == Decision::Match)),
            _ => rows_not_evaluated += 1,
        }
        Ok(())
    })?;
    keys.sort_unstable();
    let mut distinct: Vec<(u64, bool)> = Vec::with_capacity(keys.len());
    for (k, m) in keys {
        match distinct.last_mut() {
            Some(last) if last.0 == k => last.1 |= m,
            _ => distinct.push((k, m)),
        }
    }
    let persons_of = |k: u64| {
        let (a, b) = unpack(k);
        (truth.person[a], truth.person[b])
    };
    let duplicate_rows = rows - rows_not_evaluated - distinct.len() as u64;
    let matched = pair_metrics(
        distinct.iter().filter(|p| p.1).map(|p| persons_of(p.0)),
        true_pairs,
    );
    let match_or_review = pair_metrics(distinct.iter().map(|p| persons_of(p.0)), true_pairs);
    drop(distinct);

    // Blocking: the distinct true pairs among the candidates.
    let blocking = if candidates_path.exists() {
        let mut found: Vec<u64> = Vec::new();
        let mut skipped = 0u64;
        let candidates = scan_candidates(&candidates_path, |r| {
            match (
                lookup(r.left_agency, r.left_id),
                lookup(r.right_agency, r.right_id),
            ) {
                (Some(a), Some(b)) if a == b => return Err(self_pair(&candidates_path, r.row)),
                (Some(a), Some(b)) => {
                    if truth.person[a as usize] == truth.person[b as usize] {
                        found.push(pair_key(a, b));
                    }
                }
                _ => skipped += 1,
            }
            Ok(())
        })?;
        found.sort_unstable();
        found.dedup();
        let within_found = found
            .iter()
            .filter(|&&k| {
                let (a, b) = unpack(k);
                truth.agency[a] == truth.agency[b]
            })
            .count() as u64;
        let all_found = found.len() as u64;
        Blocking::Recorded(BlockingMetrics {
            candidates,
            candidates_not_evaluated: skipped,
            all: Completeness::new(all_found, true_pairs),
            cross_agency: Completeness::new(all_found - within_found, true_pairs - within_true),
            within_agency: Completeness::new(within_found, within_true),
        })
    } else {
        Blocking::NotRecorded {
            hint: CANDIDATES_HINT.to_string(),
        }
    };

    Ok(Evaluation {
        match_set: dir.display().to_string(),
        truth: truth_path.display().to_string(),
        records: Coverage {
            truth_records: n as u64,
            match_set_records,
            evaluated_records: clusters.records,
            truth_not_in_match_set: n as u64 - clusters.records,
            match_set_not_in_truth: not_in_truth,
            true_pairs_in_truth: true_pair_count(&truth.person),
            true_pairs_evaluated: true_pairs,
            decoys,
        },
        clusters,
        pairs: PairsEvaluation {
            rows,
            rows_not_evaluated,
            duplicate_rows,
            matched,
            match_or_review,
        },
        blocking,
        warnings,
    })
}

mod table;
pub use table::render_table;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod scale;
