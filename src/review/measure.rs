//! Measured quality without truth: precision and recall per score band from a labelled sample
//! (the `decision` column of a review file drawn by `review export --sample`), with 95 %
//! intervals, next to the model's own estimate, and warnings where the two disagree or the fit
//! looks odd.
//!
//! **Per band** the labelled pairs are taken as a simple random sample of the band (which is how
//! `review export --sample` draws them): the precision is the share judged `match`, with a Wilson
//! 95 % interval (exact when every pair of the band is labelled). **Overall**, the precision of
//! the `match` decision and the recall are stratified estimates: each band's share weighted by
//! the number of pairs in it, `P = Σ N_h p_h / Σ N_h` over the bands at or above the match
//! threshold, `R = Σ_match N_h p_h / Σ_all N_h p_h`, their variance from the bands' (with the
//! finite-population correction; Agresti–Coull shares so a band of all-match labels still has
//! one), the interval normal (delta method for the recall) and clipped to [0, 1]. Recall counts
//! only the true pairs among the pairs the sample was drawn from: all compared candidates when
//! the run wrote `candidates.parquet`, else only the pairs at or above review; pairs blocking
//! never compared are outside it (measure those with truth: `padan evaluate --truth`).
//!
//! Per band the table also gives the **recall from here**: the recall the `match` decision would
//! have if its threshold were the band's lower end (the same stratified estimator, accepting that
//! band and every band above it), so an auditor sees what moving the threshold would buy.
//!
//! The model's own estimate of a band is the mean of its pairs' probabilities; of the precision
//! the mean over the `match` pairs; of the recall the sum over `match` pairs over the sum over all.

use serde::Serialize;

use super::export::Population;
use super::{Decisions, Verdict};
use crate::io::manifest::Manifest;

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Fewer labelled pairs than this in a band: its interval is too wide to say much.
pub const MIN_LABELLED: u64 = 10;

/// How far (absolute) the model's estimate may lie outside the measured interval before it is
/// called a disagreement: a fully labelled band has a zero-width interval, and a model that says
/// 0.9996 where the reviewers found 1.000 agrees.
pub const DISAGREEMENT_SLACK: f64 = 0.01;

/// An estimate with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Lower end of the 95 % interval.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl Estimate {
    /// Whether `x` lies inside the interval.
    pub fn covers(&self, x: f64) -> bool {
        x >= self.lo - 1e-12 && x <= self.hi + 1e-12
    }

    /// Whether a model's estimate `x` disagrees with this measurement: outside the interval by
    /// more than [`DISAGREEMENT_SLACK`].
    pub fn disagrees(&self, x: f64) -> bool {
        x < self.lo - DISAGREEMENT_SLACK || x > self.hi + DISAGREEMENT_SLACK
    }
}

/// Wilson's 95 % interval for `x` successes in `n` draws; exact (zero width) when the draws
/// are the whole population (`n == population`).
pub fn wilson(x: u64, n: u64, population: u64) -> Option<Estimate> {
    if n == 0 {
        return None;
    }
    let (xf, nf) = (x as f64, n as f64);
    let p = xf / nf;
    if n >= population {
        return Some(Estimate {
            value: p,
            lo: p,
            hi: p,
        });
    }
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = Z95 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    Some(Estimate {
        value: p,
        lo: (centre - half).max(0.0),
        hi: (centre + half).min(1.0),
    })
}

/// One band's measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandMeasure {
    /// Band name (`0.90–0.99`).
    pub band: String,
    /// At or above the match threshold.
    pub is_match: bool,
    /// Pairs in the band.
    pub pairs: u64,
    /// Of them, labelled.
    pub labelled: u64,
    /// Of those, judged `match`.
    pub judged_match: u64,
    /// Measured precision (share of true matches) with its interval.
    pub precision: Option<Estimate>,
    /// The model's estimate: the mean probability of the band's pairs.
    pub model: f64,
    /// Estimated true pairs in the band (pairs × measured precision).
    pub true_pairs: Option<f64>,
    /// Recall if the match threshold were this band's lower end: the share of all true pairs
    /// (of the population) in this band and those above it, with its interval.
    pub recall_from_here: Option<Estimate>,
}

/// The measurement of a match set from a labelled sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// What recall counts the true pairs among.
    pub population: String,
    /// Verdicts read.
    pub verdicts: u64,
    /// Verdicts on pairs this match set does not hold (not counted).
    pub not_in_match_set: u64,
    /// Per band, from the lowest.
    pub bands: Vec<BandMeasure>,
    /// Precision of the `match` decision (stratified).
    pub precision: Option<Estimate>,
    /// Recall of the `match` decision among the population (stratified).
    pub recall: Option<Estimate>,
    /// The model's precision of the `match` decision.
    pub model_precision: Option<f64>,
    /// The model's recall among the population.
    pub model_recall: Option<f64>,
    /// Where the measurement and the model disagree, or the fit looks odd.
    pub warnings: Vec<String>,
}

/// Agresti–Coull share (for a variance that is not zero at 0 or 1).
fn ac(x: u64, n: u64) -> f64 {
    (x as f64 + 2.0) / (n as f64 + 4.0)
}

/// Variance of a band's share estimate, with the finite-population correction.
fn share_var(b: &BandMeasure) -> f64 {
    let n = b.labelled as f64;
    let p = ac(b.judged_match, b.labelled);
    let fpc = if b.pairs > 1 {
        ((b.pairs as f64 - n) / (b.pairs as f64 - 1.0)).max(0.0)
    } else {
        0.0
    };
    p * (1.0 - p) / (n + 4.0) * fpc
}

/// The stratified recall of accepting the bands `accepted(index)`: `A / (A + B)` with `A` the
/// estimated true pairs in them and `B` in the others, its variance by the delta method. `None`
/// unless every band has a labelled pair.
fn recall_above(bands: &[BandMeasure], accepted: impl Fn(usize) -> bool) -> Option<Estimate> {
    if bands.is_empty() || bands.iter().any(|b| b.labelled == 0) {
        return None;
    }
    let t = |b: &BandMeasure| b.pairs as f64 * b.precision.map_or(0.0, |e| e.value);
    let v = |b: &BandMeasure| (b.pairs as f64).powi(2) * share_var(b);
    let (mut a, mut rest, mut va, mut vr) = (0.0, 0.0, 0.0, 0.0);
    for (i, b) in bands.iter().enumerate() {
        if accepted(i) {
            a += t(b);
            va += v(b);
        } else {
            rest += t(b);
            vr += v(b);
        }
    }
    (a + rest > 0.0).then(|| {
        let s = a + rest;
        normal(a / s, (rest * rest * va + a * a * vr) / s.powi(4))
    })
}

fn normal(value: f64, var: f64) -> Estimate {
    let h = Z95 * var.max(0.0).sqrt();
    Estimate {
        value,
        lo: (value - h).max(0.0),
        hi: (value + h).min(1.0),
    }
}

/// Measures the match set `pop` from the verdicts `d`.
pub fn measure(pop: &Population, d: &Decisions) -> Measurement {
    let nb = pop.bands.bands.len();
    let mut pairs = vec![0u64; nb];
    let mut model_sum = vec![0f64; nb];
    let mut index: ahash::AHashMap<u128, usize> = ahash::AHashMap::new();
    for (i, p) in pop.pairs.iter().enumerate() {
        pairs[p.band] += 1;
        model_sum[p.band] += p.score;
        index.insert(p.key, i);
    }
    let mut labelled = vec![0u64; nb];
    let mut judged = vec![0u64; nb];
    let mut not_in = 0u64;
    for (id, v) in &d.pairs {
        match super::parse_pair_id(id).and_then(|k| index.get(&k)) {
            Some(&i) => {
                let b = pop.pairs[i].band;
                labelled[b] += 1;
                if v.verdict == Verdict::Match {
                    judged[b] += 1;
                }
            }
            None => not_in += 1,
        }
    }
    let prob = pop.bands.probability;
    let bands: Vec<BandMeasure> = (0..nb)
        .filter(|&b| pairs[b] > 0)
        .map(|b| BandMeasure {
            band: pop.bands.bands[b].name.clone(),
            is_match: pop.bands.bands[b].is_match,
            pairs: pairs[b],
            labelled: labelled[b],
            judged_match: judged[b],
            precision: wilson(judged[b], labelled[b], pairs[b]),
            model: if prob {
                model_sum[b] / pairs[b] as f64
            } else {
                f64::NAN
            },
            true_pairs: None,
            recall_from_here: None,
        })
        .collect();
    let mut bands = bands;
    for b in &mut bands {
        b.true_pairs = b.precision.map(|e| e.value * b.pairs as f64);
    }
    for k in 0..bands.len() {
        let r = recall_above(&bands, |i| i >= k);
        bands[k].recall_from_here = r;
    }

    // Stratified precision of the match decision.
    let matched: Vec<&BandMeasure> = bands.iter().filter(|b| b.is_match).collect();
    let precision = if !matched.is_empty() && matched.iter().all(|b| b.labelled > 0) {
        let n: f64 = matched.iter().map(|b| b.pairs as f64).sum();
        let value = matched
            .iter()
            .map(|b| b.pairs as f64 * b.precision.map_or(0.0, |e| e.value))
            .sum::<f64>()
            / n;
        let var = matched
            .iter()
            .map(|b| (b.pairs as f64 / n).powi(2) * share_var(b))
            .sum();
        Some(normal(value, var))
    } else {
        None
    };
    // Stratified recall among the population.
    let recall = recall_above(&bands, |i| bands[i].is_match);
    let (model_precision, model_recall) = if prob {
        let m_pairs: f64 = matched.iter().map(|b| b.pairs as f64).sum();
        let m_sum: f64 = matched.iter().map(|b| b.model * b.pairs as f64).sum();
        let all: f64 = bands.iter().map(|b| b.model * b.pairs as f64).sum();
        (
            (m_pairs > 0.0).then(|| m_sum / m_pairs),
            (all > 0.0).then(|| m_sum / all),
        )
    } else {
        (None, None)
    };

    let mut warnings = Vec::new();
    for b in &bands {
        if b.labelled == 0 {
            warnings.push(format!(
                "band {}: no labelled pair among its {} pairs, so it is not measured (export a sample with review export --sample)",
                b.band, b.pairs
            ));
            continue;
        }
        if b.labelled < MIN_LABELLED && b.labelled < b.pairs {
            warnings.push(format!(
                "band {}: only {} labelled pair(s); its interval is wide",
                b.band, b.labelled
            ));
        }
        if let Some(e) = b.precision {
            if prob && e.disagrees(b.model) {
                warnings.push(format!(
                    "band {}: the model puts its precision at {:.3}, the labelled sample at {:.3} (95 % interval {:.3}–{:.3}): the model's probabilities are {} here",
                    b.band,
                    b.model,
                    e.value,
                    e.lo,
                    e.hi,
                    if b.model > e.hi { "too high" } else { "too low" }
                ));
            }
        }
    }
    if let (Some(e), Some(m)) = (precision, model_precision) {
        if e.disagrees(m) {
            warnings.push(format!(
                "precision of the match decision: the model says {m:.3}, the labelled sample {:.3} (95 % interval {:.3}–{:.3})",
                e.value, e.lo, e.hi
            ));
        }
    }
    if let (Some(e), Some(m)) = (recall, model_recall) {
        if e.disagrees(m) {
            warnings.push(format!(
                "recall: the model says {m:.3}, the labelled sample {:.3} (95 % interval {:.3}–{:.3})",
                e.value, e.lo, e.hi
            ));
        }
    }
    if not_in > 0 {
        warnings.push(format!(
            "{not_in} verdict(s) name pairs this match set does not hold (from another run?); not counted"
        ));
    }
    warnings.extend(fit_warnings(&pop.manifest));

    Measurement {
        population: if pop.from_candidates {
            "all compared candidate pairs (candidates.parquet)".into()
        } else {
            "pairs at or above review only (link with --write-candidates to measure recall below review)".into()
        },
        verdicts: d.pairs.len() as u64,
        not_in_match_set: not_in,
        bands,
        precision,
        recall,
        model_precision,
        model_recall,
        warnings,
    }
}

/// Warnings on the fitted model of a match set: a stricter level weighted below a looser one of
/// the same field (by more than 0.5 bit), and an m or u sitting on the EM floor (the fit had no
/// evidence for that level). Field and level names only.
pub fn fit_warnings(m: &Manifest) -> Vec<String> {
    let floor = m
        .config
        .pointer("/model/em/floor")
        .and_then(|v| v.as_f64())
        .unwrap_or(1e-6);
    let mut w = Vec::new();
    for f in &m.model.fields {
        let mut levels = f.levels.clone();
        levels.sort_by_key(|l| l.index);
        for pair in levels.windows(2) {
            let (strict, loose) = (&pair[0], &pair[1]);
            if strict.weight.is_finite()
                && loose.weight.is_finite()
                && strict.weight + 0.5 < loose.weight
            {
                w.push(format!(
                    "field '{}': level '{}' weighs {:.2}, below the looser level '{}' ({:.2}): the fit looks odd (too few pairs at these levels, or the field does not mean what its levels say)",
                    f.name, strict.label, strict.weight, loose.label, loose.weight
                ));
            }
        }
        if f.fixed {
            continue;
        }
        for l in &levels {
            for (what, v) in [("m", l.m), ("u", l.u)] {
                if v.is_finite() && v <= floor * 1.000_001 {
                    w.push(format!(
                        "field '{}': {what} of level '{}' sits on the floor ({floor:e}), so its weight ({:.2}) comes from the floor, not from data",
                        f.name, l.label, l.weight
                    ));
                }
            }
        }
    }
    w
}

/// The measurement as a text table (aggregate only: no record or pair id).
pub fn render(m: &Measurement) -> String {
    let mut s = String::new();
    let est = |e: Option<Estimate>| match e {
        Some(e) => format!("{:.3} ({:.3}–{:.3})", e.value, e.lo, e.hi),
        None => "—".into(),
    };
    let num = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.3}"));
    s.push_str(&format!(
        "measured quality from {} verdicts (95 % intervals)\n  recall counts true pairs among: {}\n\n",
        m.verdicts, m.population
    ));
    s.push_str(&format!(
        "  {:<12} {:>9} {:>9} {:>7}  {:<22} {:>7}  {:<22}\n",
        "band",
        "pairs",
        "labelled",
        "match",
        "precision (95 %)",
        "model",
        "recall from here (95 %)"
    ));
    for b in m.bands.iter().rev() {
        let line = format!(
            "  {:<12} {:>9} {:>9} {:>7}  {:<22} {:>7}  {:<22}{}",
            b.band,
            b.pairs,
            b.labelled,
            b.judged_match,
            est(b.precision),
            num(b.model.is_finite().then_some(b.model)),
            est(b.recall_from_here),
            if b.is_match { "  (match)" } else { "" }
        );
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s.push_str(&format!(
        "\n  precision of match   {:<22} model {}\n  recall               {:<22} model {}\n",
        est(m.precision),
        num(m.model_precision),
        est(m.recall),
        num(m.model_recall)
    ));
    for w in &m.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_values() {
        // 8 of 10: Wilson 95 % interval 0.490–0.943.
        let e = wilson(8, 10, 1000).unwrap();
        assert!(
            (e.lo - 0.4902).abs() < 1e-3 && (e.hi - 0.9433).abs() < 1e-3,
            "{e:?}"
        );
        // All labelled: exact.
        let e = wilson(3, 4, 4).unwrap();
        assert_eq!((e.lo, e.value, e.hi), (0.75, 0.75, 0.75));
        // 0 of 20 still has an upper end above 0.
        assert!(wilson(0, 20, 100).unwrap().hi > 0.1);
        assert!(wilson(0, 0, 10).is_none());
    }

    #[test]
    fn fit_warnings_name_the_odd_levels() {
        use crate::io::manifest::{FieldInfo, LevelInfo};
        let mut m = Manifest::new();
        let lv = |index: u8, label: &str, mm: f64, u: f64| LevelInfo {
            index,
            label: label.into(),
            m: mm,
            u,
            weight: (mm / u).log2(),
        };
        m.model.fields.push(FieldInfo {
            name: "name".into(),
            kind: "name".into(),
            fixed: false,
            levels: vec![
                lv(1, "exact", 0.8, 0.001),
                lv(2, "dice ≥ 0.9", 0.01, 0.01),
                lv(3, "dice ≥ 0.8", 0.1, 0.01),
                lv(4, "else", 1e-6, 0.97),
            ],
        });
        let w = fit_warnings(&m);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("'dice ≥ 0.9'") && w[0].contains("'dice ≥ 0.8'"));
        assert!(w[1].contains("m of level 'else'") && w[1].contains("floor"));
    }
}
