//! The threshold sweep: for candidate thresholds on the match weight, the pairs above, the
//! expected precision and recall from the model's probabilities, and with a truth the real ones
//! ([`crate::metrics::Prf`]). See docs/report.md for the estimators.

use super::ScoreSet;
use crate::metrics::Prf;

/// One row of the threshold sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Threshold on match weight.
    pub weight: f64,
    /// Corresponding probability.
    pub probability: f64,
    /// Pairs at or above it.
    pub pairs: u64,
    /// Expected precision: mean probability of those pairs (None when there are none).
    pub expected_precision: Option<f64>,
    /// Expected recall: Σ probability of those pairs / Σ probability of all.
    pub expected_recall: f64,
    /// True (precision, recall, F1) with `--truth`.
    pub truth: Option<(f64, f64, f64)>,
}

/// Sweeps thresholds over a score set (see docs/report.md for the estimators).
pub fn sweep_rows(s: &ScoreSet, true_pairs: Option<u64>, lambda: f64, ts: &[f64]) -> Vec<SweepRow> {
    let mut idx: Vec<usize> = (0..s.weights.len())
        .filter(|&i| s.weights[i].is_finite())
        .collect();
    idx.sort_by(|&a, &b| s.weights[b].total_cmp(&s.weights[a]));
    // prefix sums in descending weight order
    let mut cum_p = Vec::with_capacity(idx.len() + 1);
    let mut cum_t = Vec::with_capacity(idx.len() + 1);
    cum_p.push(0.0);
    cum_t.push(0u64);
    for &i in &idx {
        let p = s.probabilities[i];
        cum_p.push(cum_p.last().copied().unwrap_or(0.0) + if p.is_finite() { p } else { 0.0 });
        let t = s.is_true.as_ref().is_some_and(|v| v[i]);
        cum_t.push(cum_t.last().copied().unwrap_or(0) + u64::from(t));
    }
    let total_p = cum_p.last().copied().unwrap_or(0.0);
    ts.iter()
        .map(|&t| {
            let n = idx.partition_point(|&i| s.weights[i] >= t);
            let truth = match (&s.is_true, true_pairs) {
                (Some(_), Some(tp)) => {
                    let hit = cum_t[n] as f64;
                    let p = if n == 0 { 1.0 } else { hit / n as f64 };
                    let r = if tp == 0 {
                        1.0
                    } else {
                        (hit / tp as f64).min(1.0)
                    };
                    let prf = Prf::new(p, r);
                    Some((prf.precision, prf.recall, prf.f1))
                }
                _ => None,
            };
            SweepRow {
                weight: t,
                probability: crate::scoring::probability_from_weight(t, lambda),
                pairs: n as u64,
                expected_precision: (n > 0).then(|| cum_p[n] / n as f64),
                expected_recall: if total_p > 0.0 {
                    cum_p[n] / total_p
                } else {
                    0.0
                },
                truth,
            }
        })
        .collect()
}
