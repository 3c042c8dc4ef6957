//! Score bands: the strata of a review sample and of the measured quality.
//!
//! The bands cut the probability scale at fixed points (0.01, 0.1, 0.5, 0.9, 0.99) and at the
//! run's two thresholds (review, match), so every band lies wholly on one side of each threshold
//! and the precision of the `match` decision is a sum over whole bands. In record-level mode (no
//! probability) the scale is the record Dice, cut at the two thresholds only. Bands are derived
//! from the manifest alone: `review export`, `evaluate` and `report` find the same ones.

use crate::io::manifest::Manifest;

/// The fixed cut points on the probability scale.
pub const PROBABILITY_CUTS: [f64; 5] = [0.01, 0.1, 0.5, 0.9, 0.99];

/// One band: scores in `[lo, hi)` (the top band includes its upper end).
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Its name, e.g. `0.90–0.99`.
    pub name: String,
    /// Lower end (inclusive).
    pub lo: f64,
    /// Upper end (exclusive, except for the top band).
    pub hi: f64,
    /// At or above the match threshold.
    pub is_match: bool,
    /// At or above the review threshold.
    pub at_or_above_review: bool,
}

/// The bands of a match set, from the lowest to the highest, and how to score a pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// The bands, ascending.
    pub bands: Vec<Band>,
    /// Whether the scale is the probability (else the record Dice, in record-level mode).
    pub probability: bool,
    /// The prior weight, to turn a match weight into a probability.
    pub prior_weight: f64,
    /// The thresholds on the weight scale: (review, match).
    pub weights: (f64, f64),
    /// The thresholds on the banded scale: (review, match).
    pub cuts: (f64, f64),
}

fn fmt_cut(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0');
    let s = s.strip_suffix('.').unwrap_or(s);
    // Keep two decimals at least: 0.90, not 0.9.
    match s.split_once('.') {
        Some((_, d)) if d.len() == 1 => format!("{s}0"),
        None => format!("{s}.00"),
        _ => s.to_string(),
    }
}

impl Bands {
    /// The bands of the match set described by `manifest`.
    pub fn of(manifest: &Manifest) -> Bands {
        let th = &manifest.thresholds;
        let probability = th.match_probability.is_finite() && manifest.model.lambda.is_finite();
        let (review, matched, top) = if probability {
            (th.review_probability, th.match_probability, 1.0)
        } else {
            (th.review_weight, th.match_weight, 1.0)
        };
        let mut cuts: Vec<f64> = if probability {
            PROBABILITY_CUTS.to_vec()
        } else {
            Vec::new()
        };
        cuts.extend([review, matched].into_iter().filter(|x| x.is_finite()));
        cuts.retain(|&c| c > 0.0 && c < top);
        cuts.sort_by(f64::total_cmp);
        cuts.dedup();
        let mut edges = vec![f64::NEG_INFINITY];
        edges.extend(&cuts);
        edges.push(f64::INFINITY);
        let bands = edges
            .windows(2)
            .map(|w| {
                let (lo, hi) = (w[0], w[1]);
                let lo_s = if lo.is_finite() {
                    fmt_cut(lo)
                } else {
                    "0.00".into()
                };
                let hi_s = if hi.is_finite() {
                    fmt_cut(hi)
                } else {
                    "1.00".into()
                };
                Band {
                    name: format!("{lo_s}–{hi_s}"),
                    lo,
                    hi,
                    is_match: lo >= matched,
                    at_or_above_review: lo >= review,
                }
            })
            .collect();
        Bands {
            bands,
            probability,
            prior_weight: manifest.model.prior(),
            weights: (th.review_weight, th.match_weight),
            cuts: (review, matched),
        }
    }

    /// The score a pair is banded by: its probability (from `weight` and the prior), or in
    /// record-level mode its weight (the record Dice). The run decided on the weight, so a pair
    /// is put on the side of each threshold its weight is on, whatever the rounding of the
    /// probability.
    pub fn score(&self, weight: f64) -> f64 {
        if !self.probability {
            return weight;
        }
        let mut p = 1.0 / (1.0 + (-(weight + self.prior_weight)).exp2());
        for (w, cut) in [self.weights.0, self.weights.1]
            .into_iter()
            .zip([self.cuts.0, self.cuts.1])
        {
            if !(w.is_finite() && cut.is_finite()) {
                continue;
            }
            if weight >= w {
                p = p.max(cut);
            } else if p >= cut {
                p = f64::from_bits(cut.to_bits() - 1);
            }
        }
        p
    }

    /// The band index of a score.
    pub fn index(&self, score: f64) -> usize {
        self.bands
            .iter()
            .position(|b| score < b.hi)
            .unwrap_or(self.bands.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(review: f64, matched: f64) -> Manifest {
        let mut m = Manifest::new();
        m.model.lambda = 0.01;
        m.model.prior_weight = (0.01f64 / 0.99).log2();
        m.thresholds.review_probability = review;
        m.thresholds.match_probability = matched;
        let w = |p: f64| crate::scoring::weight_for_probability(p, m.model.prior_weight);
        m.thresholds.review_weight = w(review);
        m.thresholds.match_weight = w(matched);
        m
    }

    #[test]
    fn bands_cut_at_the_thresholds_and_the_fixed_points() {
        let b = Bands::of(&manifest(0.5, 0.95));
        let names: Vec<&str> = b.bands.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "0.00–0.01",
                "0.01–0.10",
                "0.10–0.50",
                "0.50–0.90",
                "0.90–0.95",
                "0.95–0.99",
                "0.99–1.00"
            ]
        );
        let matching: Vec<bool> = b.bands.iter().map(|b| b.is_match).collect();
        assert_eq!(matching, [false, false, false, false, false, true, true]);
        assert!(b.bands[3].at_or_above_review && !b.bands[2].at_or_above_review);
        assert_eq!(b.index(0.0), 0);
        assert_eq!(b.index(0.95), 5);
        assert_eq!(b.index(0.9499), 4);
        assert_eq!(b.index(1.0), 6);
        // From a weight: the prior turns weight 0 into λ; a pair at the match weight is in the
        // match band whatever the rounding, one just below it is not.
        assert!((b.score(0.0) - 0.01).abs() < 1e-12);
        let mw = b.weights.1;
        assert!(b.bands[b.index(b.score(mw))].is_match);
        assert!(!b.bands[b.index(b.score(mw - 1e-9))].is_match);
    }
}
