//! Fellegi–Sunter scoring with m (and optionally u) fitted by expectation–maximisation.
//!
//! # Comparison vectors
//!
//! Every candidate pair is compared field by field; each field yields a *level* (`u8`):
//!
//! * `0` — null: the value is missing on either side. Neutral: weight 0, ignored by EM.
//! * `1..=L_f` — ordered agreement levels, `1` the best (exact), `L_f` the worst ("else").
//!
//! `L_f` is the number of non-null levels of field `f` (`n_levels[f]`). Probability tables
//! ([`FieldParams::m`], [`FieldParams::u`], the output of [`estimate_u`]) are indexed by level, so
//! they have `L_f + 1` entries; entry 0 is a placeholder `1.0` (so that `log2(m/u) = 0`).
//!
//! # Fitting
//!
//! EM runs on [`Patterns`] — the distinct comparison vectors with their counts — so an iteration
//! costs the number of distinct patterns (thousands), not the number of pairs (tens of millions).
//! Following Splink, u is by default estimated once from *random* record pairs ([`estimate_u`])
//! and held fixed while EM fits m and the prior λ on the candidate pairs ([`fit`]); this avoids
//! EM confusing "near-duplicates found by blocking" with matches. Fields with manual parameters
//! (`fixed`) are never updated.
//!
//! # Determinism
//!
//! Pattern order is lexicographic; sums over patterns are computed in fixed-size chunks whose
//! partial results are added in chunk order, so the fitted model is bit-identical whatever the
//! number of rayon threads.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::patterns::Patterns;

/// Patterns per chunk in the EM expectation step (fixed, so sums do not depend on threads).
const EM_CHUNK_PATTERNS: usize = 1 << 12;
/// λ is kept inside `[LAMBDA_BOUND, 1 - LAMBDA_BOUND]` so both log-priors stay finite.
const LAMBDA_BOUND: f64 = 1e-9;
/// Smallest floor used whatever the options say, so that no log-probability is −∞.
const MIN_FLOOR: f64 = 1e-12;
/// Ratio of the geometric starting m over levels (level l+1 gets this times level l's mass).
const INITIAL_M_RATIO: f64 = 0.2;

/// m and u probabilities of one field, indexed by level (entry 0, the null level, is `1.0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldParams {
    /// `m[l]` = P(level l | match, field not null), for l in `1..=L_f`.
    pub m: Vec<f64>,
    /// `u[l]` = P(level l | non-match, field not null), for l in `1..=L_f`.
    pub u: Vec<f64>,
}

impl FieldParams {
    /// Match weights `log2(m[l] / u[l])` per level; the null level weighs 0.
    pub fn weights(&self) -> Vec<f64> {
        self.m
            .iter()
            .zip(&self.u)
            .enumerate()
            .map(|(l, (&m, &u))| if l == 0 { 0.0 } else { (m / u).log2() })
            .collect()
    }
}

/// How the EM fit went.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EmReport {
    /// EM iterations run (each an expectation and a maximisation step).
    pub iterations: u32,
    /// Largest absolute change of any updated parameter (λ, m, u) in the last iteration.
    #[serde(deserialize_with = "crate::io::manifest::nan_if_null")]
    pub last_change: f64,
    /// True when EM stopped because `last_change < tolerance`; false when it stopped on
    /// `max_iterations`, or when there was nothing to fit (no pair).
    pub converged: bool,
    /// Log-likelihood (natural log) of the candidate pairs under the final model, counting null
    /// fields as uninformative.
    #[serde(deserialize_with = "crate::io::manifest::nan_if_null")]
    pub log_likelihood: f64,
}

/// A fitted Fellegi–Sunter model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Per-field m/u tables, in field order.
    pub fields: Vec<FieldParams>,
    /// Prior P(match) among candidate pairs.
    pub lambda: f64,
    /// How the fit went.
    pub em: EmReport,
}

impl Model {
    /// `log2(m/u)` per field and level; entry 0 (null) is 0. Use this table to score many pairs.
    pub fn weights(&self) -> Vec<Vec<f64>> {
        self.fields.iter().map(FieldParams::weights).collect()
    }

    /// Match weight of one comparison vector: the sum of its per-field weights (nulls add 0).
    ///
    /// # Panics
    /// If `levels` has a level outside a field's table.
    pub fn match_weight(&self, levels: &[u8]) -> f64 {
        self.fields
            .iter()
            .zip(levels)
            .map(|(p, &l)| {
                if l == 0 {
                    0.0
                } else {
                    (p.m[usize::from(l)] / p.u[usize::from(l)]).log2()
                }
            })
            .sum()
    }

    /// The prior weight `log2(λ / (1 − λ))`.
    pub fn prior_weight(&self) -> f64 {
        (self.lambda / (1.0 - self.lambda)).log2()
    }

    /// P(match | pair) from a match weight and this model's prior λ.
    pub fn probability(&self, weight: f64) -> f64 {
        probability_from_weight(weight, self.lambda)
    }
}

/// The match weight at which a pair reaches probability `p` given the prior weight
/// `prior_weight` (log2(λ/(1−λ))): the inverse of [`probability_from_weight`], with `p` clamped
/// to `[1e-12, 1 − 1e-12]` so the weight stays finite.
pub fn weight_for_probability(p: f64, prior_weight: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).log2() - prior_weight
}

/// P(match) of a pair with match weight `weight` (`log2` Bayes factor) given prior `lambda`:
/// posterior odds = `2^weight · λ/(1−λ)`, probability = odds / (1 + odds), computed without
/// overflow. `lambda` of 0 or 1 gives 0 or 1.
pub fn probability_from_weight(weight: f64, lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda >= 1.0 {
        return 1.0;
    }
    let log_odds = weight + (lambda / (1.0 - lambda)).log2();
    1.0 / (1.0 + (-log_odds).exp2())
}

/// Options of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmOptions {
    /// Stop after this many iterations (then `converged = false`).
    pub max_iterations: u32,
    /// Stop when the largest absolute parameter change falls below this.
    pub tolerance: f64,
    /// Starting λ (clamped into `[1e-9, 1 − 1e-9]`).
    pub initial_lambda: f64,
    /// Also re-estimate u from the candidate pairs (default false: u stays as given).
    pub update_u: bool,
    /// Smallest probability any fitted m (or u) may take, so that no weight is infinite: a fitted
    /// table `p` over `L` levels becomes `floor + (1 − L·floor)·p`. Given u and fixed
    /// parameters are raised to at least `floor` (not renormalised). Values below `1e-12` are
    /// treated as `1e-12`.
    pub floor: f64,
}

impl Default for EmOptions {
    fn default() -> Self {
        EmOptions {
            max_iterations: 500,
            tolerance: 1e-6,
            initial_lambda: 0.1,
            update_u: false,
            floor: 1e-6,
        }
    }
}

/// Estimates u per field and level from the comparison vectors of random record pairs (almost
/// all non-matches). Returns one table per field indexed by level (entry 0 = 1.0).
///
/// Smoothing: add-one (Laplace), `u[l] = (count_l + 1) / (N_f + L_f)` where `N_f` is the number
/// of random pairs with field `f` not null. No u is ever 0 (a level never seen among `N_f` pairs
/// gets `1/(N_f + L_f)`, the "rule of succession"), and a field that is always null gets the
/// uniform `1/L_f`. With millions of random pairs the smoothing is negligible elsewhere.
///
/// # Panics
/// If a pattern has a level above `n_levels` or a different number of fields.
pub fn estimate_u(random: &Patterns, n_levels: &[u8]) -> Vec<Vec<f64>> {
    random.check_levels(n_levels, "estimate_u");
    let mut counts: Vec<Vec<u64>> = n_levels
        .iter()
        .map(|&l| vec![0u64; usize::from(l) + 1])
        .collect();
    for (v, c) in random.iter() {
        for (f, &l) in v.iter().enumerate() {
            counts[f][usize::from(l)] += c;
        }
    }
    counts
        .iter()
        .map(|cs| {
            let levels = cs.len() - 1;
            let n: u64 = cs[1..].iter().sum();
            let denom = n as f64 + levels as f64;
            let mut u = vec![1.0; cs.len()];
            for l in 1..cs.len() {
                u[l] = (cs[l] as f64 + 1.0) / denom;
            }
            u
        })
        .collect()
}

/// Bounds the u of a field's exact levels (levels `1..=n_exact[f]`) by the rate at which two
/// records holding the field's token agree on it, counted over the whole run (`rates`, see
/// [`crate::link::TermFrequencies::agreement_rate`]). Random pairs seldom agree on a rare
/// identifier: when none of the `N_f` sampled pairs agrees on a passport, add-one smoothing puts
/// its u at `1/(N_f + L_f)`, about 10⁻⁵ with the default sample, where at a million records the
/// counted rate is under 10⁻⁶; an exact passport then weighs 3.5 bits less than the counted rate gives.
/// The counted rate includes the true matches that agree, so it is an upper bound of the
/// non-match rate; the smaller of the two estimates is kept. The exact levels keep their
/// proportions, and the mass taken from them goes to the field's last level ("else"), so the
/// table still sums to one.
pub fn cap_exact_u(u: &mut [Vec<f64>], rates: &[Option<f64>], n_exact: &[u8]) {
    for ((uf, rate), &ne) in u.iter_mut().zip(rates).zip(n_exact) {
        let (Some(rate), ne) = (rate, usize::from(ne)) else {
            continue;
        };
        if uf.len() < ne + 2 {
            continue;
        }
        let total: f64 = uf[1..=ne].iter().sum();
        let rate = rate.max(MIN_FLOOR);
        if rate >= total {
            continue;
        }
        let scale = rate / total;
        for x in &mut uf[1..=ne] {
            *x *= scale;
        }
        let last = uf.len() - 1;
        uf[last] += total - rate;
    }
}

/// Splits the u of a field's exact levels (levels `1..=B`, one per term-frequency band, see
/// [`crate::link::ComparisonConfig::frequency_bands`]) by `shares`: the share of each band among
/// the record pairs agreeing on the token, counted exactly from the token counts. Random pairs
/// rarely agree on a rare value, so their count estimates the exact levels' total well and each
/// band's part poorly. A band no pair can agree in keeps a floor of 10⁻⁹ of the total (its
/// weight is then large but finite).
pub fn split_exact_u(u: &mut [Vec<f64>], shares: &[Option<Vec<f64>>]) {
    for (uf, s) in u.iter_mut().zip(shares) {
        let Some(s) = s else { continue };
        let total: f64 = uf[1..=s.len()].iter().sum();
        let eps = 1e-9;
        let norm = 1.0 + eps * s.len() as f64;
        for (l, &share) in s.iter().enumerate() {
            uf[l + 1] = total * (share + eps) / norm;
        }
    }
}

/// Per-field offsets into a flat `(field, level)` table.
fn offsets(n_levels: &[u8]) -> (Vec<usize>, usize) {
    let mut off = Vec::with_capacity(n_levels.len());
    let mut total = 0;
    for &l in n_levels {
        off.push(total);
        total += usize::from(l) + 1;
    }
    (off, total)
}

/// Sums of one expectation step.
struct EStep {
    /// Σ count · P(match | pattern).
    matches: f64,
    /// Per (field, level): Σ count · P(match | pattern) over patterns with that level.
    m_sums: Vec<f64>,
    /// Per (field, level): Σ count · P(non-match | pattern).
    u_sums: Vec<f64>,
    /// Σ count · ln P(pattern).
    log_likelihood: f64,
}

impl EStep {
    fn zero(n: usize) -> Self {
        EStep {
            matches: 0.0,
            m_sums: vec![0.0; n],
            u_sums: vec![0.0; n],
            log_likelihood: 0.0,
        }
    }
    fn add(&mut self, o: &EStep) {
        self.matches += o.matches;
        self.log_likelihood += o.log_likelihood;
        for (a, b) in self.m_sums.iter_mut().zip(&o.m_sums) {
            *a += b;
        }
        for (a, b) in self.u_sums.iter_mut().zip(&o.u_sums) {
            *a += b;
        }
    }
}

/// One expectation step over all patterns, deterministic: chunk partials summed in chunk order.
fn e_step(
    pats: &Patterns,
    off: &[usize],
    width: usize,
    ln_m: &[f64],
    ln_u: &[f64],
    lambda: f64,
) -> EStep {
    let (ln_l, ln_nl) = (lambda.ln(), (1.0 - lambda).ln());
    let chunk = |range: std::ops::Range<usize>| {
        let mut s = EStep::zero(width);
        for i in range {
            let v = pats.pattern(i);
            let c = pats.count(i) as f64;
            let (mut a, mut b) = (ln_l, ln_nl);
            for (f, &l) in v.iter().enumerate() {
                if l != 0 {
                    let k = off[f] + usize::from(l);
                    a += ln_m[k];
                    b += ln_u[k];
                }
            }
            // P(match | pattern) = 1 / (1 + exp(b - a)), log P(pattern) = logsumexp(a, b).
            let g = 1.0 / (1.0 + (b - a).exp());
            let hi = a.max(b);
            s.log_likelihood += c * (hi + ((a - hi).exp() + (b - hi).exp()).ln());
            s.matches += c * g;
            for (f, &l) in v.iter().enumerate() {
                if l != 0 {
                    let k = off[f] + usize::from(l);
                    s.m_sums[k] += c * g;
                    s.u_sums[k] += c * (1.0 - g);
                }
            }
        }
        s
    };
    let n = pats.len();
    let n_chunks = n.div_ceil(EM_CHUNK_PATTERNS);
    let parts: Vec<EStep> = if n_chunks <= 1 {
        vec![chunk(0..n)]
    } else {
        (0..n_chunks)
            .into_par_iter()
            .map(|k| chunk(k * EM_CHUNK_PATTERNS..((k + 1) * EM_CHUNK_PATTERNS).min(n)))
            .collect()
    };
    let mut total = EStep::zero(width);
    for p in &parts {
        total.add(p);
    }
    total
}

/// Normalises `sums[1..]` into a floored probability table in `out[1..]`; returns the largest
/// absolute change. Leaves `out` unchanged when the sums are all zero (no information).
fn m_step_table(sums: &[f64], out: &mut [f64], floor: f64) -> f64 {
    let levels = sums.len() - 1;
    let total: f64 = sums[1..].iter().sum();
    if levels == 0 || total <= 0.0 || !total.is_finite() {
        return 0.0;
    }
    let scale = (1.0 - levels as f64 * floor).max(0.0);
    let mut change: f64 = 0.0;
    for l in 1..=levels {
        let p = floor + scale * (sums[l] / total);
        change = change.max((p - out[l]).abs());
        out[l] = p;
    }
    change
}

/// Geometric, decreasing starting m over `levels` levels (`m[1]` largest), entry 0 = 1.0.
fn initial_m(levels: u8) -> Vec<f64> {
    let mut m = vec![1.0; usize::from(levels) + 1];
    let norm: f64 = (0..levels)
        .map(|k| INITIAL_M_RATIO.powi(i32::from(k)))
        .sum();
    for (k, x) in m.iter_mut().skip(1).enumerate() {
        *x = INITIAL_M_RATIO.powi(k as i32) / norm;
    }
    m
}

/// Fits a Fellegi–Sunter model on candidate-pair patterns by EM.
///
/// * `n_levels[f]` — number of non-null levels `L_f` of field `f`.
/// * `u[f]` — u table of field `f` indexed by level (`L_f + 1` entries, e.g. from
///   [`estimate_u`]); kept fixed unless `opts.update_u`.
/// * `fixed[f]` — manual m/u for field `f` (overrides `u[f]`, never updated). `fixed` may be empty
///   (no manual parameters) or have one entry per field.
///
/// Starts from a decreasing geometric m (ratio 0.2 between consecutive levels) and
/// `opts.initial_lambda`; each iteration computes P(match | pattern) for every pattern and
/// re-estimates λ and the free m (and u) tables, floored by `opts.floor`. Stops when the largest
/// parameter change is below `opts.tolerance` (`converged = true`) or after
/// `opts.max_iterations` (`converged = false`). With no candidate pair it returns the starting
/// model with `iterations = 0`, `converged = false`. A field that is null in every pair keeps its
/// starting m (it has weight 0 in every pair anyway).
///
/// # Panics
/// On inconsistent shapes: tables of the wrong length, a level above `n_levels`, or a `fixed`
/// slice that is neither empty nor one per field.
pub fn fit(
    cands: &Patterns,
    n_levels: &[u8],
    u: &[Vec<f64>],
    fixed: &[Option<FieldParams>],
    opts: &EmOptions,
) -> Model {
    let n_fields = n_levels.len();
    cands.check_levels(n_levels, "fit");
    assert_eq!(u.len(), n_fields, "fit: u must have one table per field");
    assert!(
        fixed.is_empty() || fixed.len() == n_fields,
        "fit: fixed must be empty or have one entry per field"
    );
    let floor = opts.floor.max(MIN_FLOOR);
    let is_fixed = |f: usize| fixed.get(f).is_some_and(Option::is_some);

    let mut fields: Vec<FieldParams> = (0..n_fields)
        .map(|f| {
            let len = usize::from(n_levels[f]) + 1;
            let raise = |t: &[f64]| {
                let mut t = t.to_vec();
                t[0] = 1.0;
                for x in &mut t[1..] {
                    *x = x.max(floor);
                }
                t
            };
            if let Some(Some(p)) = fixed.get(f) {
                assert!(
                    p.m.len() == len && p.u.len() == len,
                    "fit: fixed params of field {f} must have {len} entries"
                );
                FieldParams {
                    m: raise(&p.m),
                    u: raise(&p.u),
                }
            } else {
                assert_eq!(
                    u[f].len(),
                    len,
                    "fit: u of field {f} must have {len} entries"
                );
                FieldParams {
                    m: initial_m(n_levels[f]),
                    u: raise(&u[f]),
                }
            }
        })
        .collect();
    let mut lambda = opts.initial_lambda.clamp(LAMBDA_BOUND, 1.0 - LAMBDA_BOUND);

    let (off, width) = offsets(n_levels);
    let tables = |fields: &[FieldParams]| {
        let mut ln_m = vec![0.0; width];
        let mut ln_u = vec![0.0; width];
        for (f, p) in fields.iter().enumerate() {
            for l in 1..p.m.len() {
                ln_m[off[f] + l] = p.m[l].ln();
                ln_u[off[f] + l] = p.u[l].ln();
            }
        }
        (ln_m, ln_u)
    };

    let total = cands.total() as f64;
    let mut report = EmReport {
        iterations: 0,
        last_change: 0.0,
        converged: false,
        log_likelihood: 0.0,
    };
    if total == 0.0 {
        return Model {
            fields,
            lambda,
            em: report,
        };
    }

    while report.iterations < opts.max_iterations {
        let (ln_m, ln_u) = tables(&fields);
        let s = e_step(cands, &off, width, &ln_m, &ln_u, lambda);
        let new_lambda = (s.matches / total).clamp(LAMBDA_BOUND, 1.0 - LAMBDA_BOUND);
        let mut change = (new_lambda - lambda).abs();
        lambda = new_lambda;
        for (f, p) in fields.iter_mut().enumerate() {
            if is_fixed(f) {
                continue;
            }
            let r = off[f]..off[f] + p.m.len();
            change = change.max(m_step_table(&s.m_sums[r.clone()], &mut p.m, floor));
            if opts.update_u {
                change = change.max(m_step_table(&s.u_sums[r], &mut p.u, floor));
            }
        }
        report.iterations += 1;
        report.last_change = change;
        if change < opts.tolerance {
            report.converged = true;
            break;
        }
    }
    let (ln_m, ln_u) = tables(&fields);
    report.log_likelihood = e_step(cands, &off, width, &ln_m, &ln_u, lambda).log_likelihood;
    Model {
        fields,
        lambda,
        em: report,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn exact_u_is_capped_by_the_counted_rate_and_the_mass_moves_to_else() {
        // Field 0: the random sample saw no agreement (add-one floor 1e-4); the counted rate is
        // 1e-6. Field 1: counted rate above the sample's estimate: unchanged. Field 2: no rate.
        let mut u = vec![
            vec![1.0, 1e-4, 0.01, 1.0 - 1e-4 - 0.01],
            vec![1.0, 0.002, 0.998],
            vec![1.0, 0.3, 0.7],
        ];
        cap_exact_u(&mut u, &[Some(1e-6), Some(0.01), None], &[1, 1, 1]);
        assert!((u[0][1] - 1e-6).abs() < 1e-15);
        assert!((u[0][2] - 0.01).abs() < 1e-15);
        assert!((u[0][1..].iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(u[1], vec![1.0, 0.002, 0.998]);
        assert_eq!(u[2], vec![1.0, 0.3, 0.7]);
        // Two exact levels (frequency bands) keep their proportions.
        let mut u = vec![vec![1.0, 3e-4, 1e-4, 0.1, 0.8996]];
        cap_exact_u(&mut u, &[Some(2e-5)], &[2]);
        assert!((u[0][1] - 1.5e-5).abs() < 1e-15 && (u[0][2] - 0.5e-5).abs() < 1e-15);
        assert!((u[0][1..].iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    /// A field with two frequency bands (levels 1–2) and else (3): the exact levels' u from
    /// random pairs is split by the counted shares; other levels and fields are left alone.
    #[test]
    fn exact_u_is_split_by_the_counted_shares() {
        let mut u = vec![vec![1.0, 0.002, 0.002, 0.996], vec![1.0, 0.1, 0.9]];
        split_exact_u(&mut u, &[Some(vec![0.25, 0.75]), None]);
        assert!(
            (u[0][1] - 0.001).abs() < 1e-9 && (u[0][2] - 0.003).abs() < 1e-9,
            "{u:?}"
        );
        assert_eq!(u[0][3], 0.996);
        assert_eq!(
            u[1],
            vec![1.0, 0.1, 0.9],
            "a field without bands is left alone"
        );
        // A band no pair agrees in keeps a tiny, non-zero u.
        let mut u = vec![vec![1.0, 0.002, 0.002, 0.996]];
        split_exact_u(&mut u, &[Some(vec![0.0, 1.0])]);
        assert!(u[0][1] > 0.0 && u[0][1] < 1e-11, "{u:?}");
    }

    /// True m/u (index = level, entry 0 placeholder) of a 4-field simulation.
    fn truth() -> (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<u8>) {
        let m = vec![
            vec![1.0, 0.85, 0.10, 0.05],
            vec![1.0, 0.70, 0.20, 0.07, 0.03],
            vec![1.0, 0.90, 0.10],
            vec![1.0, 0.60, 0.25, 0.15],
        ];
        let u = vec![
            vec![1.0, 0.02, 0.08, 0.90],
            vec![1.0, 0.01, 0.04, 0.15, 0.80],
            vec![1.0, 0.50, 0.50],
            vec![1.0, 0.05, 0.15, 0.80],
        ];
        (m, u, vec![3, 4, 2, 3])
    }

    /// A level drawn from the table `p` (entry 0, the null level, is skipped).
    pub(crate) fn draw(rng: &mut ChaCha8Rng, p: &[f64]) -> u8 {
        let x: f64 = rng.random();
        let mut acc = 0.0;
        for (l, &q) in p.iter().enumerate().skip(1) {
            acc += q;
            if x < acc {
                return l as u8;
            }
        }
        (p.len() - 1) as u8
    }

    /// `n` comparison vectors, each a match with probability `lambda`; fields null w.p. 5%.
    fn simulate(n: usize, lambda: f64, seed: u64) -> Vec<u8> {
        let (m, u, _) = truth();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(n * m.len());
        for _ in 0..n {
            let is_match = rng.random::<f64>() < lambda;
            for f in 0..m.len() {
                if rng.random::<f64>() < 0.05 {
                    out.push(0);
                } else {
                    out.push(draw(&mut rng, if is_match { &m[f] } else { &u[f] }));
                }
            }
        }
        out
    }

    fn assert_recovers(model: &Model, lambda: f64) {
        let (m, _, _) = truth();
        assert!(model.em.converged, "{:?}", model.em);
        assert!((model.lambda - lambda).abs() < 0.01, "λ = {}", model.lambda);
        for (f, p) in model.fields.iter().enumerate() {
            for (l, (&got, &want)) in p.m.iter().zip(&m[f]).enumerate().skip(1) {
                assert!((got - want).abs() < 0.02, "m[{f}][{l}] = {got} vs {want}");
            }
        }
    }

    #[test]
    fn em_recovers_m_and_lambda_with_true_u() {
        let (_, u, n_levels) = truth();
        let pats = Patterns::from_levels(&simulate(200_000, 0.1, 7), 4);
        assert_eq!(pats.total(), 200_000);
        let model = fit(&pats, &n_levels, &u, &[], &EmOptions::default());
        assert_recovers(&model, 0.1);
    }

    #[test]
    fn em_recovers_m_and_lambda_with_estimated_u() {
        let (_, _, n_levels) = truth();
        // Random pairs: a tiny share of matches, as among random record pairs.
        let random = Patterns::from_levels(&simulate(300_000, 0.0005, 11), 4);
        let u = estimate_u(&random, &n_levels);
        let pats = Patterns::from_levels(&simulate(200_000, 0.1, 12), 4);
        let model = fit(&pats, &n_levels, &u, &[], &EmOptions::default());
        assert_recovers(&model, 0.1);
        assert_eq!(model.fields[0].u, u[0]);
    }

    #[test]
    fn em_with_u_update_still_recovers() {
        let (_, u, n_levels) = truth();
        let pats = Patterns::from_levels(&simulate(200_000, 0.1, 3), 4);
        let opts = EmOptions {
            update_u: true,
            ..EmOptions::default()
        };
        let model = fit(&pats, &n_levels, &u, &[], &opts);
        assert_recovers(&model, 0.1);
        for (f, p) in model.fields.iter().enumerate() {
            for (got, want) in p.u.iter().zip(&u[f]).skip(1) {
                assert!((got - want).abs() < 0.02);
            }
        }
    }

    #[test]
    fn patterns_are_order_independent_and_counted() {
        let data = simulate(150_000, 0.2, 5); // > one parallel chunk
        let a = Patterns::from_levels(&data, 4);
        let mut rows: Vec<&[u8]> = data.chunks_exact(4).collect();
        rows.reverse();
        let rev: Vec<u8> = rows.concat();
        let b = Patterns::from_levels(&rev, 4);
        assert_eq!(a, b);
        assert_eq!(a.total(), 150_000);
        for i in 1..a.len() {
            assert!(a.pattern(i - 1) < a.pattern(i));
        }
        let c = Patterns::from_counts(4, a.iter());
        assert_eq!(a, c);
        let (x, y) = data.split_at(4 * 1000);
        assert_eq!(
            Patterns::from_levels(x, 4).merge(&Patterns::from_levels(y, 4)),
            a
        );
    }

    #[test]
    fn dense_and_hashed_counting_agree() {
        // 6 fields × 10 levels: 10^6 codes > dense limit → hashed path; compare with dense
        // counting of the same data restricted to few levels, and with a naive count.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let wide: Vec<u8> = (0..100_000 * 6)
            .map(|_| rng.random_range(0..10u8))
            .collect();
        let narrow: Vec<u8> = wide.iter().map(|&l| l % 3).collect();
        for (data, n) in [(&wide, 6), (&narrow, 6)] {
            let p = Patterns::from_levels(data, n);
            let mut naive: std::collections::BTreeMap<&[u8], u64> = Default::default();
            for v in data.chunks_exact(n) {
                *naive.entry(v).or_default() += 1;
            }
            let q = Patterns::from_counts(n, naive);
            assert_eq!(p, q);
        }
    }

    #[test]
    fn fit_is_deterministic_across_thread_counts() {
        let (_, u, n_levels) = truth();
        let pats = Patterns::from_levels(&simulate(50_000, 0.1, 9), 4);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| fit(&pats, &n_levels, &u, &[], &EmOptions::default()))
        };
        let a = run(1);
        let b = run(3);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a.lambda.to_bits(), b.lambda.to_bits());
    }

    #[test]
    fn e_step_chunking_is_deterministic() {
        // Many patterns (> one EM chunk) to exercise the parallel path.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n_levels = vec![9u8; 5];
        let data: Vec<u8> = (0..60_000 * 5).map(|_| rng.random_range(0..10u8)).collect();
        let pats = Patterns::from_levels(&data, 5);
        assert!(pats.len() > EM_CHUNK_PATTERNS);
        let u = vec![vec![1.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2]; 5];
        let opts = EmOptions {
            max_iterations: 20,
            ..EmOptions::default()
        };
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| fit(&pats, &n_levels, &u, &[], &opts))
        };
        assert_eq!(format!("{:?}", run(1)), format!("{:?}", run(4)));
    }

    #[test]
    fn fixed_params_are_never_updated() {
        let (_, u, n_levels) = truth();
        let pats = Patterns::from_levels(&simulate(50_000, 0.1, 21), 4);
        let manual = FieldParams {
            m: vec![1.0, 0.5, 0.3, 0.2],
            u: vec![1.0, 0.3, 0.3, 0.4],
        };
        let fixed = vec![None, None, None, Some(manual.clone())];
        let model = fit(&pats, &n_levels, &u, &fixed, &EmOptions::default());
        assert_eq!(model.fields[3], manual);
        let opts = EmOptions {
            update_u: true,
            ..EmOptions::default()
        };
        let model = fit(&pats, &n_levels, &u, &fixed, &opts);
        assert_eq!(model.fields[3], manual);
        assert_ne!(model.fields[0].u, u[0]);
    }

    #[test]
    fn nulls_are_neutral_and_degenerate_inputs_are_safe() {
        let n_levels = [2u8, 2];
        let u = vec![vec![1.0, 0.1, 0.9], vec![1.0, 0.2, 0.8]];
        // Field 1 always null.
        let data = [1, 0, 1, 0, 2, 0, 2, 0, 2, 0, 2, 0];
        let pats = Patterns::from_levels(&data, 2);
        let model = fit(&pats, &n_levels, &u, &[], &EmOptions::default());
        assert_eq!(model.fields[1].m, initial_m(2));
        assert!(model.lambda.is_finite() && model.lambda > 0.0 && model.lambda < 1.0);
        assert_eq!(model.match_weight(&[1, 0]), model.weights()[0][1]);
        assert_eq!(model.match_weight(&[0, 0]), 0.0);
        assert_eq!(model.weights()[0][0], 0.0);
        assert_eq!(
            model.match_weight(&[2, 0]),
            (model.fields[0].m[2] / model.fields[0].u[2]).log2()
        );
        let empty = fit(
            &Patterns::empty(2),
            &n_levels,
            &u,
            &[],
            &EmOptions::default(),
        );
        assert_eq!(empty.em.iterations, 0);
        assert!(!empty.em.converged);
        assert_eq!(empty.lambda, 0.1);
        let all_null = Patterns::from_levels(&[0, 0, 0, 0], 2);
        let m = fit(&all_null, &n_levels, &u, &[], &EmOptions::default());
        assert_eq!(m.fields[0].m, initial_m(2));
        assert!(m.em.converged);
        // estimate_u on an always-null field gives the uniform table.
        let eu = estimate_u(&pats, &n_levels);
        assert_eq!(eu[1], vec![1.0, 0.5, 0.5]);
        assert_eq!(eu[0], vec![1.0, 3.0 / 8.0, 5.0 / 8.0]);
    }

    #[test]
    fn weights_are_monotonic_for_a_sane_model() {
        let (_, u, n_levels) = truth();
        let pats = Patterns::from_levels(&simulate(100_000, 0.1, 4), 4);
        let model = fit(&pats, &n_levels, &u, &[], &EmOptions::default());
        for (f, w) in model.weights().iter().enumerate() {
            assert_eq!(w[0], 0.0);
            for l in 2..w.len() {
                assert!(w[l] < w[l - 1], "field {f}: {w:?}");
            }
        }
        let best = model.match_weight(&[1, 1, 1, 1]);
        let worst = model.match_weight(&[3, 4, 2, 3]);
        assert!(best > 0.0 && worst < 0.0);
        assert!(model.probability(best) > 0.99);
        assert!(model.probability(worst) < 0.01);
        assert!(model.em.log_likelihood < 0.0);
    }

    #[test]
    fn probability_from_weight_is_stable() {
        assert_eq!(probability_from_weight(0.0, 0.5), 0.5);
        assert!((probability_from_weight(3.0, 0.2) - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(probability_from_weight(5000.0, 0.1), 1.0);
        assert_eq!(probability_from_weight(-5000.0, 0.1), 0.0);
        assert_eq!(probability_from_weight(1.0, 0.0), 0.0);
        assert_eq!(probability_from_weight(1.0, 1.0), 1.0);
    }
}

#[cfg(test)]
mod scale {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `cargo test --release -- --ignored scale` : 20 M pairs × 6 fields.
    #[test]
    #[ignore]
    fn scale_20m_pairs() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n_levels = [4u8, 4, 3, 3, 2, 5];
        let data: Vec<u8> = (0..20_000_000usize * 6)
            .map(|i| rng.random_range(0..=n_levels[i % 6]))
            .collect();
        let t = std::time::Instant::now();
        let pats = Patterns::from_levels(&data, 6);
        eprintln!("patterns: {:?}, {} distinct", t.elapsed(), pats.len());
        let u: Vec<Vec<f64>> = n_levels
            .iter()
            .map(|&l| {
                let mut v = vec![1.0 / f64::from(l); usize::from(l) + 1];
                v[0] = 1.0;
                v
            })
            .collect();
        let t = std::time::Instant::now();
        let model = fit(&pats, &n_levels, &u, &[], &EmOptions::default());
        eprintln!("fit: {:?}, {:?}", t.elapsed(), model.em);
    }
}
