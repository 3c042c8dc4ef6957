//! Evaluation against known truth (synthetic data, or a labelled sample).
//!
//! Pairwise metrics count record pairs through the contingency table of predicted clusters ×
//! true persons — never by enumerating pairs — so [`cluster_metrics`] costs one sort of the
//! records: fast at millions of records.
//!
//! Conventions: precision is 1 when nothing is predicted (no predicted pair, or no record), recall
//! is 1 when there is nothing to find (no true pair, or no record), and F1 is the harmonic mean
//! of the two (0 when both are 0).

use rayon::prelude::*;
use serde::Serialize;

/// Precision, recall and their harmonic mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prf {
    /// Share of predicted links that are right.
    pub precision: f64,
    /// Share of true links that were found.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

impl Prf {
    /// From precision and recall.
    pub fn new(precision: f64, recall: f64) -> Self {
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }

    /// From pair counts: `tp / predicted` and `tp / truth`, with the module's conventions.
    pub fn from_counts(tp: u64, predicted: u64, truth: u64) -> Self {
        let p = if predicted == 0 {
            1.0
        } else {
            tp as f64 / predicted as f64
        };
        let r = if truth == 0 {
            1.0
        } else {
            tp as f64 / truth as f64
        };
        Prf::new(p, r)
    }
}

/// Quality of a clustering against the true persons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterMetrics {
    /// Records evaluated.
    pub records: u64,
    /// Predicted clusters (singletons included).
    pub clusters: u64,
    /// True persons.
    pub persons: u64,
    /// Record pairs of one person: Σ over persons C(size, 2).
    pub true_pairs: u64,
    /// Record pairs in one predicted cluster: Σ over clusters C(size, 2).
    pub predicted_pairs: u64,
    /// Pairs both predicted and true: Σ over (cluster, person) cells C(size, 2).
    pub true_positive_pairs: u64,
    /// Pairwise precision / recall / F1.
    pub pairwise: Prf,
    /// B-cubed: per record, precision = |own cluster ∩ own person| / |own cluster| and recall =
    /// |own cluster ∩ own person| / |own person|, averaged over records.
    pub bcubed: Prf,
    /// Persons whose predicted cluster holds exactly their records (no more, no fewer).
    pub persons_exact: u64,
    /// `persons_exact / persons` (1 when there is no person).
    pub exact_share: f64,
}

/// Quality of a set of predicted pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairMetrics {
    /// Pairs predicted.
    pub predicted_pairs: u64,
    /// Predicted pairs whose two records belong to the same person.
    pub true_positive_pairs: u64,
    /// True pairs to find (as given).
    pub true_pairs: u64,
    /// Precision / recall / F1 of the pairs.
    pub scores: Prf,
}

fn pairs_of(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Runs of equal values in a sorted slice, as `(value, run length)`.
fn runs<T: PartialEq + Copy>(sorted: &[T]) -> impl Iterator<Item = (T, u64)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let v = *sorted.get(i)?;
        let start = i;
        while i < sorted.len() && sorted[i] == v {
            i += 1;
        }
        Some((v, (i - start) as u64))
    })
}

/// Compares predicted clusters (`pred[i]`, any ids) with true persons (`truth[i]`, any ids) over
/// the same records. One parallel sort plus linear passes; deterministic.
///
/// # Panics
/// If `pred` and `truth` differ in length.
pub fn cluster_metrics(pred: &[u64], truth: &[u64]) -> ClusterMetrics {
    assert_eq!(
        pred.len(),
        truth.len(),
        "cluster_metrics: pred and truth must describe the same records"
    );
    let n = pred.len() as u64;
    let mut by_pred: Vec<(u64, u64)> = pred.iter().copied().zip(truth.iter().copied()).collect();
    by_pred.par_sort_unstable();

    // Pass 1, by predicted cluster: cluster sizes and contingency cells.
    // cells: (person, cluster, cell size, cluster size)
    let mut cells: Vec<(u64, u64, u64, u64)> = Vec::new();
    let (mut clusters, mut predicted_pairs, mut tp) = (0u64, 0u64, 0u64);
    let mut bcubed_p = 0.0f64;
    let mut i = 0;
    while i < by_pred.len() {
        let c = by_pred[i].0;
        let mut j = i;
        while j < by_pred.len() && by_pred[j].0 == c {
            j += 1;
        }
        let block = &by_pred[i..j];
        let size = block.len() as u64;
        clusters += 1;
        predicted_pairs += pairs_of(size);
        let mut sq = 0u128;
        for ((_, person), k) in runs(block) {
            tp += pairs_of(k);
            sq += u128::from(k) * u128::from(k);
            cells.push((person, c, k, size));
        }
        bcubed_p += sq as f64 / size as f64;
        i = j;
    }

    // Pass 2, by person: person sizes, B-cubed recall, exact reconstructions.
    cells.par_sort_unstable();
    let (mut persons, mut true_pairs, mut exact) = (0u64, 0u64, 0u64);
    let mut bcubed_r = 0.0f64;
    let mut i = 0;
    while i < cells.len() {
        let person = cells[i].0;
        let mut j = i;
        while j < cells.len() && cells[j].0 == person {
            j += 1;
        }
        let block = &cells[i..j];
        let size: u64 = block.iter().map(|c| c.2).sum();
        persons += 1;
        true_pairs += pairs_of(size);
        let sq: u128 = block
            .iter()
            .map(|c| u128::from(c.2) * u128::from(c.2))
            .sum();
        bcubed_r += sq as f64 / size as f64;
        if block.len() == 1 && block[0].2 == block[0].3 {
            exact += 1;
        }
        i = j;
    }

    let bcubed = if n == 0 {
        Prf::new(1.0, 1.0)
    } else {
        Prf::new(bcubed_p / n as f64, bcubed_r / n as f64)
    };
    ClusterMetrics {
        records: n,
        clusters,
        persons,
        true_pairs,
        predicted_pairs,
        true_positive_pairs: tp,
        pairwise: Prf::from_counts(tp, predicted_pairs, true_pairs),
        bcubed,
        persons_exact: exact,
        exact_share: if persons == 0 {
            1.0
        } else {
            exact as f64 / persons as f64
        },
    }
}

/// Precision / recall of predicted pairs, each given as `(person of left record, person of right
/// record)`; a pair is right when both are the same person. `true_pairs` is the number of pairs
/// to find (see [`true_pair_count`]). Pairs are counted as given: the caller removes duplicates
/// (recall is capped at 1 regardless).
pub fn pair_metrics(pairs: impl Iterator<Item = (u64, u64)>, true_pairs: u64) -> PairMetrics {
    let (mut predicted, mut tp) = (0u64, 0u64);
    for (l, r) in pairs {
        predicted += 1;
        tp += u64::from(l == r);
    }
    let mut scores = Prf::from_counts(tp, predicted, true_pairs);
    if scores.recall > 1.0 {
        scores = Prf::new(scores.precision, 1.0);
    }
    PairMetrics {
        predicted_pairs: predicted,
        true_positive_pairs: tp,
        true_pairs,
        scores,
    }
}

/// Number of record pairs of one person: Σ over persons C(records of the person, 2).
pub fn true_pair_count(truth: &[u64]) -> u64 {
    let mut t = truth.to_vec();
    t.par_sort_unstable();
    runs(&t).map(|(_, k)| pairs_of(k)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Truth for 8 records: person 10 has 3 records, 20 has 2, 30 has 2, 40 has 1.
    /// True pairs: 3 + 1 + 1 + 0 = 5.
    const TRUTH: [u64; 8] = [10, 10, 10, 20, 20, 30, 30, 40];

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    fn check(m: &ClusterMetrics, pw: (f64, f64, f64), b3: (f64, f64, f64)) {
        close(m.pairwise.precision, pw.0);
        close(m.pairwise.recall, pw.1);
        close(m.pairwise.f1, pw.2);
        close(m.bcubed.precision, b3.0);
        close(m.bcubed.recall, b3.1);
        close(m.bcubed.f1, b3.2);
    }

    #[test]
    fn perfect() {
        let m = cluster_metrics(&[7, 7, 7, 3, 3, 9, 9, 1], &TRUTH);
        check(&m, (1.0, 1.0, 1.0), (1.0, 1.0, 1.0));
        assert_eq!((m.records, m.clusters, m.persons), (8, 4, 4));
        assert_eq!(
            (m.true_pairs, m.predicted_pairs, m.true_positive_pairs),
            (5, 5, 5)
        );
        assert_eq!(m.persons_exact, 4);
        close(m.exact_share, 1.0);
    }

    #[test]
    fn all_singletons() {
        let pred: Vec<u64> = (0..8).collect();
        let m = cluster_metrics(&pred, &TRUTH);
        // No predicted pair: precision 1 by convention, recall 0/5.
        // B-cubed precision: every cluster pure → 1. Recall per record = 1/|person|:
        // (3·1/3 + 2·1/2 + 2·1/2 + 1·1) / 8 = 4/8 = 1/2. F1 = 2·1·(1/2)/(3/2) = 2/3.
        check(&m, (1.0, 0.0, 0.0), (1.0, 1.0 / 2.0, 2.0 / 3.0));
        assert_eq!(
            (m.clusters, m.predicted_pairs, m.true_positive_pairs),
            (8, 0, 0)
        );
        assert_eq!(m.persons_exact, 1); // person 40 (one record)
        close(m.exact_share, 1.0 / 4.0);
    }

    #[test]
    fn all_in_one() {
        let m = cluster_metrics(&[0; 8], &TRUTH);
        // Predicted pairs C(8,2) = 28, TP = 5: P = 5/28, R = 1, F1 = 2·(5/28)/(33/28) = 10/33.
        // B-cubed precision per record = |person|/8: (3·3 + 2·2 + 2·2 + 1·1)/8 /8 = 18/64 = 9/32.
        // Recall 1. F1 = 2·(9/32)/(41/32) = 18/41.
        check(
            &m,
            (5.0 / 28.0, 1.0, 10.0 / 33.0),
            (9.0 / 32.0, 1.0, 18.0 / 41.0),
        );
        assert_eq!(m.persons_exact, 0);
    }

    #[test]
    fn one_person_split() {
        // Person 10 split into {0,1} and {2}; the rest perfect.
        let m = cluster_metrics(&[1, 1, 2, 3, 3, 4, 4, 5], &TRUTH);
        // Predicted pairs 1+1+1 = 3, all true: P = 1, R = 3/5, F1 = 2·(3/5)/(8/5) = 3/4.
        // B-cubed P = 1. R: records 0,1 → 2/3 each, 2 → 1/3, others 1:
        // (2/3 + 2/3 + 1/3 + 5)/8 = (20/3)/8 = 5/6. F1 = 2·(5/6)/(11/6) = 10/11.
        check(
            &m,
            (1.0, 3.0 / 5.0, 3.0 / 4.0),
            (1.0, 5.0 / 6.0, 10.0 / 11.0),
        );
        assert_eq!(m.persons_exact, 3);
        close(m.exact_share, 3.0 / 4.0);
    }

    #[test]
    fn two_persons_merged() {
        // Persons 20 and 30 merged into one cluster {3,4,5,6}; the rest perfect.
        let m = cluster_metrics(&[0, 0, 0, 1, 1, 1, 1, 2], &TRUTH);
        // Predicted pairs 3 + 6 = 9, TP = 3 + 1 + 1 = 5: P = 5/9, R = 1,
        // F1 = 2·(5/9)/(14/9) = 5/7.
        // B-cubed P: records 3..6 → 2/4 each, others 1: (4·1/2 + 4)/8 = 6/8 = 3/4.
        // R = 1. F1 = 2·(3/4)/(7/4) = 6/7.
        check(&m, (5.0 / 9.0, 1.0, 5.0 / 7.0), (3.0 / 4.0, 1.0, 6.0 / 7.0));
        assert_eq!(m.persons_exact, 2);
        assert_eq!((m.predicted_pairs, m.true_positive_pairs), (9, 5));
    }

    #[test]
    fn empty_and_counts() {
        let m = cluster_metrics(&[], &[]);
        check(&m, (1.0, 1.0, 1.0), (1.0, 1.0, 1.0));
        assert_eq!(true_pair_count(&TRUTH), 5);
        assert_eq!(true_pair_count(&[]), 0);
    }

    #[test]
    fn pairs() {
        // Pairs (0,1) right, (3,4) right, (4,5) wrong.
        let got = pair_metrics(
            [(10, 10), (20, 20), (20, 30)].into_iter(),
            true_pair_count(&TRUTH),
        );
        assert_eq!(
            (got.predicted_pairs, got.true_positive_pairs, got.true_pairs),
            (3, 2, 5)
        );
        // P = 2/3, R = 2/5, F1 = 2·(4/15)/(16/15) = 1/2.
        close(got.scores.precision, 2.0 / 3.0);
        close(got.scores.recall, 2.0 / 5.0);
        close(got.scores.f1, 1.0 / 2.0);
        let none = pair_metrics(std::iter::empty(), 5);
        assert_eq!((none.scores.precision, none.scores.recall), (1.0, 0.0));
    }
}

#[cfg(test)]
mod scale {
    use super::*;

    /// `cargo test --release -- --ignored scale` : 1 M records.
    #[test]
    #[ignore]
    fn scale_1m_records() {
        let truth: Vec<u64> = (0..1_000_000u64).map(|i| i / 3).collect();
        let pred: Vec<u64> = (0..1_000_000u64)
            .map(|i| (i / 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 3 ^ (i % 7 == 0) as u64)
            .collect();
        let t = std::time::Instant::now();
        let m = cluster_metrics(&pred, &truth);
        eprintln!("cluster_metrics: {:?}, {m:?}", t.elapsed());
    }
}
