//! Training by blocks (as Splink does it): m of each field is estimated by EM on the pairs of block
//! kinds that do not use that field, with u fixed from random pairs; the prior λ is then the share
//! of matches among *all* record pairs, not among candidates.
//!
//! Why: candidates are selected by agreement. Among pairs that share a date-of-birth block, a
//! date agreement says nothing, and among pairs that share a name block, neither does a name
//! agreement; one EM over all candidates then finds two "classes" that are really two blocking
//! rules (at 1,000,000 synthetic records it put every same-name pair in the match class). Masking
//! the fields a block kind used removes that selection from each training set, and u from random
//! pairs with a prior over all pairs keeps every match weight an honest Bayes factor for any
//! pair, whichever block found it.

use serde::{Deserialize, Serialize};

use super::em::{fit, EmOptions, EmReport, FieldParams, Model, Patterns};

/// Fields a block kind must leave free for its pairs to train m.
pub const MIN_FREE_FIELDS: usize = 3;

/// The comparison vectors of the candidate pairs that share a block of one kind.
pub struct KindPatterns {
    /// Block kind (column name).
    pub kind: String,
    /// Per field: whether the kind's blocking key is built from it.
    pub uses: Vec<bool>,
    /// Vectors (a pair sharing blocks of several kinds is in each).
    pub patterns: Patterns,
}

/// What training on one block kind gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindFit {
    /// Block kind.
    pub kind: String,
    /// Candidate pairs sharing a block of this kind.
    pub pairs: u64,
    /// Fields whose m it estimated (those its key does not use).
    pub fields: Vec<String>,
    /// Share of matches EM found among its pairs.
    pub lambda: f64,
    /// EM convergence.
    pub em: EmReport,
}

/// A model trained by blocks, with the per-kind fits (for the manifest).
pub struct Trained {
    /// The model: m by blocks, u from random pairs, λ over all pairs.
    pub model: Model,
    /// One entry per block kind used.
    pub kinds: Vec<KindFit>,
    /// Fields whose m no block kind could estimate (taken from one EM over all candidates).
    pub fallback_fields: Vec<usize>,
}

/// Trains m per field on the block kinds that do not use it, then λ over `possible_pairs`.
///
/// `all` holds every candidate's vector, `kinds` the vectors per block kind. Fixed m/u
/// (`fixed`) are kept. A field no kind can train gets m from one EM over all candidates
/// (`opts` as given, including `update_u`).
#[allow(clippy::too_many_arguments)]
pub fn fit_by_blocks(
    all: &Patterns,
    kinds: &[KindPatterns],
    field_names: &[String],
    n_levels: &[u8],
    u: &[Vec<f64>],
    fixed: &[Option<FieldParams>],
    opts: &EmOptions,
    possible_pairs: u64,
) -> Trained {
    let nf = n_levels.len();
    let mut em_opts = opts.clone();
    em_opts.update_u = false;
    let mut m_sum: Vec<Vec<f64>> = n_levels
        .iter()
        .map(|&l| vec![0.0; usize::from(l) + 1])
        .collect();
    let mut w_sum = vec![0.0f64; nf];
    let mut fits = Vec::new();
    let mut report = EmReport {
        iterations: 0,
        last_change: 0.0,
        converged: true,
        log_likelihood: 0.0,
    };
    for k in kinds {
        // EM needs three free fields to tell two classes apart (with u fixed, one or two
        // fields leave λ and m unidentified: the fit drifts to "everything matches").
        let free = k.uses.iter().filter(|&&x| !x).count();
        if k.patterns.total() == 0 || free < MIN_FREE_FIELDS {
            continue;
        }
        let masked: Vec<(Vec<u8>, u64)> = k
            .patterns
            .iter()
            .map(|(v, c)| {
                let v: Vec<u8> = v
                    .iter()
                    .zip(&k.uses)
                    .map(|(&l, &used)| if used { 0 } else { l })
                    .collect();
                (v, c)
            })
            .collect();
        let masked = Patterns::from_counts(nf, masked.iter().map(|(v, c)| (v.as_slice(), *c)));
        let mk = fit(&masked, n_levels, u, fixed, &em_opts);
        let mut trained = Vec::new();
        for f in 0..nf {
            if k.uses[f] {
                continue;
            }
            // Weight: the expected matches in which field f is not null.
            let nonnull: u64 = masked
                .iter()
                .filter(|(v, _)| v[f] != 0)
                .map(|(_, c)| c)
                .sum();
            let w = mk.lambda * nonnull as f64;
            if w <= 0.0 {
                continue;
            }
            for (s, &m) in m_sum[f].iter_mut().zip(&mk.fields[f].m) {
                *s += w * m;
            }
            w_sum[f] += w;
            trained.push(field_names[f].clone());
        }
        report.iterations = report.iterations.max(mk.em.iterations);
        report.last_change = report.last_change.max(mk.em.last_change);
        report.converged &= mk.em.converged;
        fits.push(KindFit {
            kind: k.kind.clone(),
            pairs: k.patterns.total(),
            fields: trained,
            lambda: mk.lambda,
            em: mk.em,
        });
    }
    let is_fixed = |f: usize| fixed.get(f).is_some_and(Option::is_some);
    let fallback_fields: Vec<usize> = (0..nf)
        .filter(|&f| !is_fixed(f) && w_sum[f] <= 0.0)
        .collect();
    let joint = (!fallback_fields.is_empty()).then(|| fit(all, n_levels, u, fixed, opts));
    // Start from a fit with everything fixed but λ, to get fixed fields floored as `fit` does.
    let base = fit(&Patterns::empty(nf), n_levels, u, fixed, &em_opts);
    let fields: Vec<FieldParams> = (0..nf)
        .map(|f| {
            if is_fixed(f) {
                base.fields[f].clone()
            } else if w_sum[f] > 0.0 {
                FieldParams {
                    m: m_sum[f]
                        .iter()
                        .enumerate()
                        .map(|(l, &s)| if l == 0 { 1.0 } else { s / w_sum[f] })
                        .collect(),
                    u: base.fields[f].u.clone(),
                }
            } else {
                joint
                    .as_ref()
                    .expect("joint fit for fallback fields")
                    .fields[f]
                    .clone()
            }
        })
        .collect();
    let (lambda, iterations, change) = global_lambda(all, &fields, possible_pairs, opts);
    report.iterations = report.iterations.max(iterations);
    report.last_change = report.last_change.max(change);
    report.converged &= change < opts.tolerance.max(1e-12) || iterations == 0;
    let mut model = Model {
        fields,
        lambda,
        em: report,
    };
    model.em.log_likelihood = log_likelihood(all, &model);
    Trained {
        model,
        kinds: fits,
        fallback_fields,
    }
}

/// λ over all record pairs with m and u fixed: the fixed point of "expected matches among the
/// candidates / possible pairs" (pairs that were never candidates count as non-matches).
/// Returns (λ, iterations, last relative change).
fn global_lambda(
    all: &Patterns,
    fields: &[FieldParams],
    possible_pairs: u64,
    opts: &EmOptions,
) -> (f64, u32, f64) {
    let possible = possible_pairs.max(1) as f64;
    let weights: Vec<Vec<f64>> = fields.iter().map(FieldParams::weights).collect();
    let pw: Vec<(f64, f64)> = all
        .iter()
        .map(|(v, c)| {
            let w: f64 = v
                .iter()
                .enumerate()
                .map(|(f, &l)| weights[f][usize::from(l)])
                .sum();
            (w, c as f64)
        })
        .collect();
    let mut lambda = (0.1 * all.total() as f64 / possible).clamp(1e-12, 0.5);
    let mut change = 0.0;
    let mut it = 0;
    while it < opts.max_iterations {
        let expected: f64 = pw
            .iter()
            .map(|&(w, c)| c * super::em::probability_from_weight(w, lambda))
            .sum();
        let next = (expected / possible).clamp(1e-12, 1.0 - 1e-12);
        change = ((next - lambda) / lambda).abs();
        lambda = next;
        it += 1;
        if change < opts.tolerance {
            break;
        }
    }
    (lambda, it, change)
}

/// Log-likelihood (natural log) of the candidates' vectors under the model's mixture.
fn log_likelihood(all: &Patterns, model: &Model) -> f64 {
    all.iter()
        .map(|(v, c)| {
            let (mut lm, mut lu) = (model.lambda.ln(), (1.0 - model.lambda).ln());
            for (f, &l) in v.iter().enumerate() {
                if l > 0 {
                    lm += model.fields[f].m[usize::from(l)].ln();
                    lu += model.fields[f].u[usize::from(l)].ln();
                }
            }
            let mx = lm.max(lu);
            c as f64 * (mx + ((lm - mx).exp() + (lu - mx).exp()).ln())
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::em::tests::draw;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Four fields A, B, C, D (exact, else). Kind "a" blocks on A (every pair agrees on A), kind
    /// "b" on B; C and D are never blocked on. Training by blocks recovers m of each field from the pairs
    /// of the kinds that do not select on it.
    #[test]
    fn training_by_blocks_recovers_m_under_blocking_selection() {
        let m = [
            vec![1.0, 0.9, 0.1],
            vec![1.0, 0.8, 0.2],
            vec![1.0, 0.85, 0.15],
            vec![1.0, 0.7, 0.3],
        ];
        let u = [
            vec![1.0, 0.01, 0.99],
            vec![1.0, 0.02, 0.98],
            vec![1.0, 0.05, 0.95],
            vec![1.0, 0.1, 0.9],
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut ka, mut kb, mut all) = (Vec::new(), Vec::new(), Vec::new());
        let n = 200_000;
        for _ in 0..n {
            let is_match = rng.random::<f64>() < 0.05;
            let t = if is_match { &m } else { &u };
            let v: Vec<u8> = t.iter().map(|p| draw(&mut rng, p)).collect();
            // Selection: kind a keeps pairs agreeing on A, kind b those agreeing on B.
            if v[0] == 1 {
                ka.push(v.clone());
            }
            if v[1] == 1 {
                kb.push(v.clone());
            }
            if v[0] == 1 || v[1] == 1 {
                all.push(v);
            }
        }
        let pats = |vs: &[Vec<u8>]| Patterns::from_counts(4, vs.iter().map(|v| (v.as_slice(), 1)));
        let kinds = vec![
            KindPatterns {
                kind: "a".into(),
                uses: vec![true, false, false, false],
                patterns: pats(&ka),
            },
            KindPatterns {
                kind: "b".into(),
                uses: vec![false, true, false, false],
                patterns: pats(&kb),
            },
        ];
        let names: Vec<String> = ["A", "B", "C", "D"].map(String::from).to_vec();
        let t = fit_by_blocks(
            &pats(&all),
            &kinds,
            &names,
            &[2, 2, 2, 2],
            &u,
            &[],
            &EmOptions::default(),
            n,
        );
        assert!(t.fallback_fields.is_empty());
        for (f, (want, fitted)) in m.iter().zip(&t.model.fields).enumerate() {
            let got = fitted.m[1];
            assert!(
                (got - want[1]).abs() < 0.05,
                "m of field {f}: got {got}, want {}",
                want[1]
            );
        }
        // The joint EM over the selected candidates is fooled (the check that the test can fail).
        let joint = fit(&pats(&all), &[2, 2, 2, 2], &u, &[], &EmOptions::default());
        assert!(
            (joint.lambda - 0.05).abs() > 0.05,
            "joint λ among candidates {} is not the population share",
            joint.lambda
        );
        // λ over all pairs: about 0.05.
        assert!(
            (t.model.lambda - 0.05).abs() < 0.01,
            "λ = {}",
            t.model.lambda
        );
    }
}
