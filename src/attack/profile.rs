//! Profile matching and trilateration inside one salt group (after Vidanage et al.'s similarity
//! graph attack), key-less.
//!
//! Inside a salt group every value is hashed alike, so the overlap of two filters estimates how
//! many q-grams the two values share ([`Overlap`]: the public k, m and BLIP p undo the expected
//! chance overlap and the flips; about ±0.85 q-gram under BLIP ε = 3).
//!
//! 1. **Profile matching**: a record's *profile* — how many group members share 0, 1, 2, …
//!    q-grams with it — is compared with each public candidate's predicted profile (the same
//!    histogram against the public population sample, smoothed by the estimate's error). The
//!    record's own q-gram count (from its popcount) must fit the candidate's too.
//! 2. **Trilateration**: the records matched with the largest margin become anchors; every record
//!    is then placed by its estimated shared q-gram counts with the anchors, which must fit the
//!    candidate's known overlaps with the anchors' values. Well-fitting records join the anchors
//!    and the placement repeats.
//!
//!    The first anchors decide everything after them, and a set can be self-consistent yet wrong
//!    (most names share no q-gram, so pairwise consistency is a weak test, and a person's copies
//!    in several files agree with any label of the right length). So copies count once, several
//!    start sets are grown, and each is trilaterated on a sample of the group: the set under
//!    which most of the sample fits a candidate well is kept. The score needs only the filters.
//!
//! The result (anchors with their values) seeds the q-gram bit learning of [`super::decode`],
//! which then decodes every filter, including values outside the candidate list.

use rayon::prelude::*;

use super::mining::{and_count, popcount};

/// Highest shared q-gram count a profile distinguishes (larger counts share the last bin).
const BINS: usize = 24;
/// Error (standard deviation, in q-grams) of a shared-count estimate the predicted profile is
/// smoothed by.
const PROFILE_SIGMA: f64 = 0.9;
/// Error of a record's own q-gram count estimate.
const COUNT_SIGMA: f64 = 0.8;
/// Error of a shared-count estimate in trilateration.
const TRI_SIGMA: f64 = 0.9;
/// Squared residual (in σ²) at which one anchor's disagreement stops counting more (a wrong
/// anchor must not sink a right candidate).
const TRI_CAP: f64 = 9.0;
/// Group members the profiles are taken against at most (a sample is enough).
const REFERENCE: usize = 1500;
/// Candidates per record kept from profile matching for trilateration.
const SHORTLIST: usize = 150;
/// Anchors used at most in one trilateration round (the surest).
const MAX_ANCHORS: usize = 160;
/// Trilateration rounds.
const ROUNDS: usize = 4;

/// Turns filter overlaps into shared q-gram count estimates.
#[derive(Debug, Clone, Copy)]
pub struct Overlap {
    /// Filter bits (m).
    pub bits: usize,
    /// Bits per q-gram (k).
    pub hashes: usize,
    /// BLIP flip probability (p).
    pub noise: f64,
    /// The schema's `hashes_per_value` (0 = off): every value sets this many positions, spread
    /// over its q-grams, so the fill says nothing of the length and two values sharing a q-gram
    /// share only as many positions as the longer value gives each of its q-grams.
    pub per_value: usize,
}

impl Overlap {
    /// The model of a field's filters as the schema gives it (k, BLIP p, `hashes_per_value`),
    /// over `bits` bits (the filter as the attack reads it: stored, or read back unbalanced).
    pub fn of_field(spec: &crate::schema::FieldSpec, bits: usize) -> Overlap {
        Overlap {
            bits,
            hashes: spec.hashes,
            noise: spec.hardening.blip_probability(),
            per_value: spec.hardening.hashes_per_value,
        }
    }

    /// True bits set, from an observed popcount (BLIP undone in expectation).
    fn true_bits(&self, observed: f64) -> f64 {
        let (m, p) = (self.bits as f64, self.noise);
        ((observed - m * p) / (1.0 - 2.0 * p)).clamp(0.0, m - 1.0)
    }

    /// Q-grams that set `t` bits (the inverse of m·(1 − (1 − 1/m)^{k·q})).
    fn qgrams(&self, t: f64) -> f64 {
        let m = self.bits as f64;
        let t = t.clamp(0.0, m - 1.0);
        (1.0 - t / m).ln() / (self.hashes as f64 * (1.0 - 1.0 / m).ln())
    }

    /// Whether a filter's fill estimates its value's q-gram count (not with `per_value`).
    pub fn length_known(&self) -> bool {
        self.per_value == 0
    }

    /// What [`Overlap::shared`] estimates for two values of `na` and `nb` distinct q-grams sharing
    /// `inter` of them: `inter` when each q-gram sets `hashes` positions; with `per_value`, each
    /// shared q-gram sets ⌊per_value / max(na, nb)⌋ positions in both, in units of `hashes`.
    pub fn expected_shared(&self, inter: f64, na: f64, nb: f64) -> f64 {
        if self.per_value == 0 {
            inter
        } else {
            inter * self.per_value as f64 / (self.hashes as f64 * na.max(nb).max(1.0))
        }
    }

    /// A filter's estimated true bits and q-gram count (with `per_value`: the count of
    /// `hashes`-position q-grams that would set as many bits, the same for every value).
    pub fn own(&self, f: &[u64]) -> (f64, f64) {
        let t = self.true_bits(popcount(f) as f64);
        (t, self.qgrams(t))
    }

    /// Estimated shared q-grams of two filters with their [`Overlap::own`] estimates (shared
    /// positions in units of `hashes`: compare with [`Overlap::expected_shared`]).
    pub fn shared(&self, a: &[u64], b: &[u64], oa: (f64, f64), ob: (f64, f64)) -> f64 {
        let (m, p) = (self.bits as f64, self.noise);
        let o = and_count(a, b) as f64;
        let q = 1.0 - 2.0 * p;
        let both = ((o - (oa.0 + ob.0) * p * q - m * p * p) / (q * q)).clamp(0.0, oa.0.min(ob.0));
        let union = oa.0 + ob.0 - both;
        (oa.1 + ob.1 - self.qgrams(union)).max(0.0)
    }
}

/// The public candidates: distinct values of the population sample, with their q-gram sets and
/// predicted profiles.
pub struct Candidates {
    /// Per candidate: index of a population value holding it (its words: `pop_words`).
    pub value: Vec<usize>,
    /// Per candidate: q-gram set as a bitset over the vocabulary's q-grams.
    qbits: Vec<Vec<u64>>,
    /// Per candidate: number of distinct q-grams.
    count: Vec<f64>,
    /// Per candidate: log-probability of each shared-count bin (smoothed).
    log_profile: Vec<[f64; BINS + 1]>,
}

fn bitset(qs: &[u32], words: usize) -> Vec<u64> {
    let mut w = vec![0u64; words];
    for &g in qs {
        w[g as usize >> 6] |= 1 << (g & 63);
    }
    w
}

fn inter(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

fn gauss_bins(x: f64, sigma: f64, out: &mut [f64; BINS + 1], w: f64) {
    // Spread weight `w` at `x` over the bins by a discretized normal (±3σ).
    let lo = ((x - 3.0 * sigma).floor().max(0.0)) as usize;
    let hi = ((x + 3.0 * sigma).ceil() as usize).min(BINS);
    let mut total = 0.0;
    let mut tmp = [0f64; BINS + 1];
    for (b, t) in tmp.iter_mut().enumerate().take(hi + 1).skip(lo) {
        let d = (b as f64 - x) / sigma;
        *t = (-0.5 * d * d).exp();
        total += *t;
    }
    if total == 0.0 {
        out[(x.round() as usize).min(BINS)] += w;
        return;
    }
    for b in lo..=hi {
        out[b] += w * tmp[b] / total;
    }
}

impl Candidates {
    /// Candidates from the population sample `pop_q` (each value's sorted q-gram ids, `< n_q`).
    pub fn build(pop_q: &[Vec<u32>], n_q: usize, ov: &Overlap) -> Candidates {
        let words = n_q.div_ceil(64).max(1);
        let sets: Vec<Vec<u64>> = pop_q.iter().map(|q| bitset(q, words)).collect();
        let mut seen: std::collections::HashMap<&[u64], usize> = Default::default();
        let mut value = Vec::new();
        for (i, s) in sets.iter().enumerate() {
            if !seen.contains_key(s.as_slice()) {
                seen.insert(s, i);
                value.push(i);
            }
        }
        let log_profile: Vec<[f64; BINS + 1]> = value
            .par_iter()
            .map(|&c| {
                let mut sm = [0f64; BINS + 1];
                if ov.length_known() {
                    let mut raw = [0f64; BINS + 1];
                    for s in &sets {
                        raw[(inter(&sets[c], s) as usize).min(BINS)] += 1.0;
                    }
                    for (b, &r) in raw.iter().enumerate() {
                        if r > 0.0 {
                            gauss_bins(b as f64, PROFILE_SIGMA, &mut sm, r);
                        }
                    }
                } else {
                    let nc = pop_q[c].len() as f64;
                    for (s, q) in sets.iter().zip(pop_q) {
                        let e = ov.expected_shared(inter(&sets[c], s) as f64, nc, q.len() as f64);
                        gauss_bins(e.min(BINS as f64), PROFILE_SIGMA, &mut sm, 1.0);
                    }
                }
                let total: f64 = sm.iter().sum::<f64>() + 0.5 * (BINS + 1) as f64;
                let mut lp = [0f64; BINS + 1];
                for (l, s) in lp.iter_mut().zip(sm) {
                    *l = ((s + 0.5) / total).ln();
                }
                lp
            })
            .collect();
        Candidates {
            qbits: value.iter().map(|&c| sets[c].clone()).collect(),
            count: value.iter().map(|&c| pop_q[c].len() as f64).collect(),
            value,
            log_profile,
        }
    }

    /// Number of candidates.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// Profile matching then trilateration in one group of filters (`f[i]`: record `i`'s field
/// filter). Returns the anchors: (record, candidate) pairs, surest first.
pub fn anchors(f: &[&[u64]], ov: &Overlap, cands: &Candidates) -> Vec<(usize, usize)> {
    seeds(&label(f, None, ov, cands))
}

/// The well-fitting labels of [`label`] as (record, candidate), surest first: all of them, not
/// only the last round's anchors, seed the q-gram bit learning.
pub fn seeds(result: &[Option<Label>]) -> Vec<(usize, usize)> {
    // All well-fitting records (not only the last round's anchors) seed the bit learning.
    let mut all: Vec<(f64, usize, usize)> = (0..result.len())
        .filter_map(|i| result[i].map(|r| (r, i)))
        .filter(|(r, _)| r.residual <= 1.0 && r.margin >= 2.0)
        .map(|(r, i)| (r.margin, i, r.candidate))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    all.into_iter().map(|(_, i, c)| (i, c)).collect()
}

/// A record's profile shortlist and, when it has two candidates, (margin, record, best).
type Matched = (Vec<usize>, Option<(f64, usize, usize)>);

/// One filter's label from [`label`].
#[derive(Debug, Clone, Copy)]
pub struct Label {
    /// The candidate.
    pub candidate: usize,
    /// Log-likelihood margin over the best other candidate.
    pub margin: f64,
    /// Mean squared residual against the anchors (in units of 2σ²).
    pub residual: f64,
}

/// Profile matching and trilateration (see the module doc): per filter its best candidate, or
/// `None` when no anchor set formed. `weights[j]` (default 1) is how many records filter `j`
/// stands for in the others' profiles (distinct filters of an unnoised field).
pub fn label(
    f: &[&[u64]],
    weights: Option<&[f64]>,
    ov: &Overlap,
    cands: &Candidates,
) -> Vec<Option<Label>> {
    let n = f.len();
    if n < 20 || cands.is_empty() {
        return vec![None; n];
    }
    let own: Vec<(f64, f64)> = f.iter().map(|x| ov.own(x)).collect();
    // The reference members the profiles are taken against (evenly spread, deterministic).
    let step = n.div_ceil(REFERENCE).max(1);
    let reference: Vec<usize> = (0..n).step_by(step).collect();
    // The record's own q-gram count must fit the candidate's (when the fill gives it).
    let count_term = |i: usize, c: usize| -> f64 {
        if !ov.length_known() {
            return 0.0;
        }
        let d = (own[i].1 - cands.count[c]) / COUNT_SIGMA;
        -0.5 * d * d
    };
    // 1. Profile matching: per record, its shortlist of candidates by profile likelihood.
    let per: Vec<Matched> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut hist = [0f64; BINS + 1];
            for &j in &reference {
                if j == i {
                    continue;
                }
                let s = ov.shared(f[i], f[j], own[i], own[j]).min(BINS as f64);
                let w = weights.map_or(1.0, |w| w[j]);
                let lo = s.floor() as usize;
                let fr = s - lo as f64;
                hist[lo] += w * (1.0 - fr);
                if lo < BINS {
                    hist[lo + 1] += w * fr;
                }
            }
            let total: f64 = hist.iter().sum();
            // Tempered: as if 60 independent members (the members' overlaps are not independent).
            let norm = 60.0 / total.max(1.0);
            let mut scored: Vec<(f64, usize)> = (0..cands.len())
                .filter(|&c| {
                    !ov.length_known() || (own[i].1 - cands.count[c]).abs() <= 3.0 * COUNT_SIGMA
                })
                .map(|c| {
                    let lp = &cands.log_profile[c];
                    let ll: f64 = hist.iter().zip(lp).map(|(h, l)| h * l).sum::<f64>() * norm;
                    (ll + count_term(i, c), c)
                })
                .collect();
            keep_best(&mut scored, SHORTLIST);
            let margin = (scored.len() >= 2).then(|| (scored[0].0 - scored[1].0, i, scored[0].1));
            (scored.into_iter().map(|x| x.1).collect(), margin)
        })
        .collect();
    let mut profile_margin: Vec<(f64, usize, usize)> = per.iter().filter_map(|x| x.1).collect();
    let shortlist: Vec<Vec<usize>> = per.into_iter().map(|x| x.0).collect();
    profile_margin.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let ctx = Context::new(f, ov, &own, cands, &shortlist);
    // 2. The first anchors: several mutually consistent start sets, each trilaterated on a
    // sample of the group; the one the sample fits best is kept.
    let starts = consistent_starts(&ctx, &profile_margin);
    let mut anchors = best_start(&ctx, starts);
    // 3. Trilateration against the anchors, repeated as anchors grow.
    // (margin, mean residual, candidate); before trilateration the profile's best (no residual).
    let mut result: Vec<(f64, f64, usize)> =
        (0..n).map(|_| (0.0, f64::INFINITY, usize::MAX)).collect();
    for &(m, i, c) in &profile_margin {
        result[i] = (m, f64::INFINITY, c);
    }
    let all: Vec<usize> = (0..n).collect();
    for _ in 0..ROUNDS {
        if anchors.is_empty() {
            break;
        }
        result = ctx.trilaterate(&anchors, &all);
        let next = next_anchors(&ctx, &result, &all);
        if next == anchors {
            break;
        }
        anchors = next;
    }
    result
        .into_iter()
        .map(|(margin, residual, candidate)| {
            (candidate != usize::MAX).then_some(Label {
                candidate,
                margin,
                residual,
            })
        })
        .collect()
}

/// Ranks (score, candidate) pairs: higher score first (`total_cmp`), ties by the lower candidate.
fn by_score(a: &(f64, usize), b: &(f64, usize)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// Keeps the `keep` best of `scored` (distinct candidates), best first by [`by_score`]: what a
/// full sort then truncation gives, for a selection over all and a sort of the kept only. The
/// candidates being distinct, [`by_score`] is a strict total order: the kept pairs and their
/// order are the same whatever the algorithm.
fn keep_best(scored: &mut Vec<(f64, usize)>, keep: usize) {
    if keep == 0 {
        scored.clear();
        return;
    }
    if scored.len() > keep {
        scored.select_nth_unstable_by(keep - 1, by_score);
        scored.truncate(keep);
    }
    scored.sort_unstable_by(by_score);
}

/// What trilateration works on in one group.
struct Context<'a> {
    f: &'a [&'a [u64]],
    ov: &'a Overlap,
    own: &'a [(f64, f64)],
    cands: &'a Candidates,
    shortlist: &'a [Vec<usize>],
    /// [`Overlap::expected_shared`] of two candidates sharing `inter` q-grams, the longer having
    /// `len`: at `len * width + inter` (both are whole counts up to the longest candidate's), so
    /// [`Context::expected`] divides once per (len, inter), not once per pair.
    expected_table: Vec<f64>,
    width: usize,
}

impl<'a> Context<'a> {
    fn new(
        f: &'a [&'a [u64]],
        ov: &'a Overlap,
        own: &'a [(f64, f64)],
        cands: &'a Candidates,
        shortlist: &'a [Vec<usize>],
    ) -> Context<'a> {
        // Candidate counts are q-gram set sizes (whole numbers), shares at most the smaller.
        let longest = cands.count.iter().fold(0.0f64, |a, &b| a.max(b)) as usize;
        let width = longest + 1;
        let expected_table = (0..width)
            .flat_map(|len| {
                let len = len as f64;
                (0..width).map(move |inter| ov.expected_shared(inter as f64, len, len))
            })
            .collect();
        Context {
            f,
            ov,
            own,
            cands,
            shortlist,
            expected_table,
            width,
        }
    }
}

impl Context<'_> {
    /// Log-likelihood that record `i`'s own q-gram count fits candidate `c` (when the fill
    /// gives it).
    fn count_term(&self, i: usize, c: usize) -> f64 {
        if !self.ov.length_known() {
            return 0.0;
        }
        let d = (self.own[i].1 - self.cands.count[c]) / COUNT_SIGMA;
        -0.5 * d * d
    }

    /// Whether records `a` and `b` hold the same value (their estimated shared count is their
    /// q-gram count).
    fn same_value(&self, a: usize, b: usize) -> bool {
        let (f, own) = (self.f, self.own);
        let s = self.ov.shared(f[a], f[b], own[a], own[b]);
        s >= own[a].1.max(own[b].1) - 0.5
    }

    /// Candidate `x`'s expected shared count with candidate `y`: [`Overlap::expected_shared`]
    /// of their shared q-grams, which depends on their counts only through the larger.
    fn expected(&self, x: usize, y: usize) -> f64 {
        let c = self.cands;
        let e = inter(&c.qbits[x], &c.qbits[y]) as usize;
        let len = c.count[x].max(c.count[y]) as usize;
        self.expected_table[len * self.width + e]
    }

    /// Per record of `records`: (margin, mean residual, candidate) of its best shortlisted
    /// candidate against `anchors` (record, candidate).
    fn trilaterate(&self, anchors: &[(usize, usize)], records: &[usize]) -> Vec<(f64, f64, usize)> {
        let var2 = 2.0 * TRI_SIGMA * TRI_SIGMA;
        // Each shortlisted candidate's q-grams shared with each anchor's value (on demand: a
        // sample needs few candidates).
        let needed: std::collections::BTreeSet<usize> = records
            .iter()
            .flat_map(|&i| self.shortlist[i].iter().copied())
            .collect();
        let mut slot = vec![usize::MAX; self.cands.len()];
        let needed: Vec<usize> = needed.into_iter().collect();
        for (k, &c) in needed.iter().enumerate() {
            slot[c] = k;
        }
        let expect: Vec<Vec<f64>> = needed
            .par_iter()
            .map(|&c| {
                anchors
                    .iter()
                    .map(|&(_, ac)| self.expected(c, ac))
                    .collect()
            })
            .collect();
        records
            .par_iter()
            .map(|&i| {
                let s: Vec<f64> = anchors
                    .iter()
                    .map(|&(a, _)| {
                        if a == i {
                            f64::NAN
                        } else {
                            self.ov
                                .shared(self.f[i], self.f[a], self.own[i], self.own[a])
                        }
                    })
                    .collect();
                let mut best = (f64::NEG_INFINITY, f64::INFINITY, usize::MAX);
                let mut second = f64::NEG_INFINITY;
                for &c in &self.shortlist[i] {
                    let mut ll = self.count_term(i, c);
                    let mut sq = 0.0;
                    let mut used = 0.0f64;
                    for (k, &e) in expect[slot[c]].iter().enumerate() {
                        if s[k].is_nan() {
                            continue;
                        }
                        let d2 = (s[k] - e).powi(2) / var2;
                        ll -= d2.min(TRI_CAP);
                        sq += d2;
                        used += 1.0;
                    }
                    if ll > best.0 {
                        second = best.0;
                        best = (ll, sq / used.max(1.0), c);
                    } else if ll > second {
                        second = ll;
                    }
                }
                (best.0 - second, best.1, best.2)
            })
            .collect()
    }
}

/// The next anchors from a trilateration of `records` (`result[k]` is `records[k]`'s): the
/// well-fitting ones with a clear margin, surest first, one per value (a person's copies in
/// several files agree with each other whatever their label, and would crowd out the others).
fn next_anchors(
    ctx: &Context,
    result: &[(f64, f64, usize)],
    records: &[usize],
) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..records.len())
        .filter(|&k| result[k].2 != usize::MAX && result[k].1 <= 1.0 && result[k].0 >= 2.0)
        .collect();
    order.sort_by(|&a, &b| {
        result[b]
            .0
            .total_cmp(&result[a].0)
            .then(records[a].cmp(&records[b]))
    });
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(MAX_ANCHORS);
    for k in order {
        if out.len() == MAX_ANCHORS {
            break;
        }
        let r = records[k];
        if !out.iter().any(|&(q, _)| ctx.same_value(r, q)) {
            out.push((r, result[k].2));
        }
    }
    out
}

/// Distinct records ranked by profile margin considered for the first anchors.
const START_RECORDS: usize = 200;
/// Candidates per record considered for the first anchors.
const START_CANDIDATES: usize = 3;
/// Starting points tried for the first anchor set.
const STARTS: usize = 60;
/// Start anchor sets trilaterated on the sample at most (the largest).
const RESTARTS: usize = 8;
/// Records of the sample a start anchor set is judged on.
const SAMPLE: usize = 2000;
/// Trilateration rounds on the sample.
const SAMPLE_ROUNDS: usize = 2;

/// Candidate first anchor sets: profile matching alone is often wrong, so among the best-matched
/// records (each with its few best candidates) *mutually consistent* sets are grown — every
/// pair's estimated shared count must fit their candidates' overlap. Records holding the same
/// value (a person's copies in several files) count once: copies are consistent with any label
/// of the right length. One set is grown from each of several starting points; the distinct sets
/// of at least 3 anchors come back largest first.
fn consistent_starts(ctx: &Context, ranked: &[(f64, usize, usize)]) -> Vec<Vec<(usize, usize)>> {
    let (f, ov, own) = (ctx.f, ctx.ov, ctx.own);
    // The best-matched records, one per value.
    let mut records: Vec<usize> = Vec::with_capacity(START_RECORDS);
    for &(_, r, _) in ranked {
        if records.len() == START_RECORDS {
            break;
        }
        if !records.iter().any(|&q| ctx.same_value(r, q)) {
            records.push(r);
        }
    }
    let nodes: Vec<(usize, usize)> = records
        .iter()
        .enumerate()
        .flat_map(|(ri, &r)| {
            ctx.shortlist[r]
                .iter()
                .take(START_CANDIDATES)
                .map(move |&c| (ri, c))
        })
        .collect();
    let r_n = records.len();
    let mut s = vec![0f64; r_n * r_n];
    for a in 0..r_n {
        for b in a + 1..r_n {
            let x = ov.shared(
                f[records[a]],
                f[records[b]],
                own[records[a]],
                own[records[b]],
            );
            s[a * r_n + b] = x;
            s[b * r_n + a] = x;
        }
    }
    let resid = |x: (usize, usize), y: (usize, usize)| -> f64 {
        (s[x.0 * r_n + y.0] - ctx.expected(x.1, y.1)).abs()
    };
    let mut sets: Vec<(Vec<(usize, usize)>, f64)> = nodes
        .par_iter()
        .take(STARTS)
        .map(|start| {
            let mut set: Vec<(usize, usize)> = vec![*start];
            let mut taken = vec![false; r_n];
            taken[start.0] = true;
            let mut sum_sq = 0.0;
            let mut pairs = 0.0;
            for &node in &nodes {
                if taken[node.0] {
                    continue;
                }
                let d: Vec<f64> = set.iter().map(|&m| resid(node, m)).collect();
                let sq: f64 = d.iter().map(|x| x * x).sum();
                let far = d.iter().filter(|&&x| x > 2.0).count();
                if sq / d.len() as f64 <= 1.0 && far * 10 <= d.len() {
                    taken[node.0] = true;
                    set.push(node);
                    sum_sq += sq;
                    pairs += d.len() as f64;
                }
            }
            let fit = sum_sq / pairs.max(1.0);
            let set = set
                .into_iter()
                .take(MAX_ANCHORS)
                .map(|(ri, c)| (records[ri], c))
                .collect();
            (set, fit)
        })
        .collect();
    // Largest first, then the better fit, then the earlier start (stable sort).
    sets.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<Vec<(usize, usize)>> = Vec::new();
    for (set, _) in sets {
        if set.len() < 3 {
            break;
        }
        let mut key = set.clone();
        key.sort_unstable();
        if out.iter().any(|o| {
            let mut k = o.clone();
            k.sort_unstable();
            k == key
        }) {
            continue;
        }
        out.push(set);
        if out.len() == RESTARTS {
            break;
        }
    }
    out
}

/// The start set whose trilateration fits the group best. Each set is trilaterated on a sample
/// of the group (`SAMPLE_ROUNDS` rounds, anchors regrown from the sample as in the full run);
/// its score is the share of the sample that then fits a candidate well (residual ≤ 1 with a
/// clear margin). Right anchors explain most records; a self-consistent but wrong set leaves
/// most of them without a fitting candidate. Only the filters decide, never the plaintext.
fn best_start(ctx: &Context, starts: Vec<Vec<(usize, usize)>>) -> Vec<(usize, usize)> {
    if starts.len() <= 1 {
        return starts.into_iter().next().unwrap_or_default();
    }
    let n = ctx.f.len();
    let step = n.div_ceil(SAMPLE).max(1);
    let sample: Vec<usize> = (0..n).step_by(step).collect();
    let scores: Vec<f64> = starts
        .iter()
        .map(|start| {
            let mut anchors = start.clone();
            let mut result = Vec::new();
            for round in 0..SAMPLE_ROUNDS {
                result = ctx.trilaterate(&anchors, &sample);
                if round + 1 < SAMPLE_ROUNDS {
                    let next = next_anchors(ctx, &result, &sample);
                    if next.len() < 3 {
                        break;
                    }
                    anchors = next;
                }
            }
            let good = result
                .iter()
                .filter(|r| r.2 != usize::MAX && r.1 <= 1.0 && r.0 >= 2.0)
                .count();
            good as f64 / sample.len() as f64
        })
        .collect();
    // The best score; ties keep the earlier (larger) set.
    let mut best = 0;
    for (k, &sc) in scores.iter().enumerate() {
        if sc > scores[best] {
            best = k;
        }
    }
    starts.into_iter().nth(best).expect("a start")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_estimates_shared_qgrams_without_noise() {
        // Two filters of 64·8 bits built from disjoint and shared pseudo-random positions.
        let ov = Overlap {
            bits: 512,
            hashes: 20,
            noise: 0.0,
            per_value: 0,
        };
        let pos = |g: u64| -> Vec<usize> {
            (0..20)
                .map(|i| {
                    let h = blake3::hash(&[g as u8, i as u8]);
                    u16::from_le_bytes([h.as_bytes()[0], h.as_bytes()[1]]) as usize % 512
                })
                .collect()
        };
        let filter = |gs: &[u64]| {
            let mut w = vec![0u64; 8];
            for &g in gs {
                for b in pos(g) {
                    w[b >> 6] |= 1 << (b & 63);
                }
            }
            w
        };
        let a = filter(&(0..12).collect::<Vec<_>>());
        let b = filter(&(6..18).collect::<Vec<_>>());
        let s = ov.shared(&a, &b, ov.own(&a), ov.own(&b));
        assert!((s - 6.0).abs() < 2.0, "{s}");
        let c = filter(&(100..112).collect::<Vec<_>>());
        let s0 = ov.shared(&a, &c, ov.own(&a), ov.own(&c));
        assert!(s0 < 2.0, "{s0}");
    }

    /// A toy group: people drawn from a public population of two-word names, each held by one
    /// to five records (a person's copies in several files); every q-gram sets 20 keyed bits of
    /// 512. Returns the filters, the candidates and each record's true candidate.
    fn toy_group(seed: u64) -> (Vec<Vec<u64>>, Candidates, Vec<usize>) {
        use crate::attack::decode::tests::{TEST_FIRST_NAMES, TEST_SECOND_NAMES};
        use rand::{Rng, SeedableRng};
        let (first, second) = (&TEST_FIRST_NAMES, &TEST_SECOND_NAMES);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let population: Vec<Vec<String>> = (0..1000)
            .map(|_| {
                vec![
                    first[rng.random_range(0..first.len())].to_string(),
                    second[rng.random_range(0..second.len())].to_string(),
                ]
            })
            .collect();
        let vocab = super::super::decode::Vocab::build(&population, 2);
        let ov = toy_overlap();
        let cands = Candidates::build(&vocab.pop_q, vocab.n_q, &ov);
        let mut filters = Vec::new();
        let mut truth = Vec::new();
        for _ in 0..200 {
            let v = rng.random_range(0..vocab.pop_q.len());
            let words = vocab.n_q.div_ceil(64);
            let set = bitset(&vocab.pop_q[v], words);
            let c = (0..cands.len()).find(|&c| cands.qbits[c] == set).unwrap();
            let mut w = vec![0u64; 8];
            for &g in &vocab.pop_q[v] {
                let h = blake3::hash(&g.to_le_bytes());
                for k in 0..20 {
                    let b = u16::from_le_bytes([h.as_bytes()[k], h.as_bytes()[k + 1]]) as usize;
                    w[(b % 512) >> 6] |= 1 << (b % 64);
                }
            }
            for _ in 0..rng.random_range(1..=5) {
                filters.push(w.clone());
                truth.push(c);
            }
        }
        (filters, cands, truth)
    }

    fn toy_overlap() -> Overlap {
        Overlap {
            bits: 512,
            hashes: 20,
            noise: 0.0,
            per_value: 0,
        }
    }

    #[test]
    fn the_start_whose_trilateration_fits_is_kept_over_a_wrong_one() {
        let (filters, cands, truth) = toy_group(5);
        let f: Vec<&[u64]> = filters.iter().map(Vec::as_slice).collect();
        let ov = toy_overlap();
        let own: Vec<(f64, f64)> = f.iter().map(|x| ov.own(x)).collect();
        let shortlist: Vec<Vec<usize>> = vec![(0..cands.len()).collect(); f.len()];
        let ctx = Context::new(&f, &ov, &own, &cands, &shortlist);
        // Twelve distinct values; the wrong set labels each with another candidate of the same
        // q-gram count (consistent with its own length, not with the others' overlaps).
        let mut picked: Vec<usize> = Vec::new();
        for i in 0..f.len() {
            if picked.len() < 12 && !picked.iter().any(|&q| truth[q] == truth[i]) {
                picked.push(i);
            }
        }
        let right: Vec<(usize, usize)> = picked.iter().map(|&i| (i, truth[i])).collect();
        let wrong: Vec<(usize, usize)> = picked
            .iter()
            .map(|&i| {
                let c = (0..cands.len())
                    .find(|&c| c != truth[i] && cands.count[c] == cands.count[truth[i]])
                    .unwrap_or((truth[i] + 1) % cands.len());
                (i, c)
            })
            .collect();
        assert_eq!(best_start(&ctx, vec![wrong.clone(), right.clone()]), right);
        assert_eq!(best_start(&ctx, vec![right.clone(), wrong]), right);
        // Copies count once among the next anchors.
        let all: Vec<usize> = (0..f.len()).collect();
        let result = ctx.trilaterate(&right, &all);
        let next = next_anchors(&ctx, &result, &all);
        assert!(next.len() >= 3);
        for (k, a) in next.iter().enumerate() {
            assert!(next[..k].iter().all(|b| filters[a.0] != filters[b.0]));
        }
    }

    #[test]
    fn keep_best_is_the_full_sort_truncated_even_among_ties() {
        use rand::seq::SliceRandom;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        // Few distinct scores (±0 apart under total_cmp): most pairs tie on the score.
        let levels = [-3.5, -1.0, -0.0, 0.0, 0.25, 2.0, f64::NEG_INFINITY];
        for round in 0..400 {
            let len = rng.random_range(0..400);
            let mut ids: Vec<usize> = (0..len * 2).collect();
            ids.shuffle(&mut rng);
            let scored: Vec<(f64, usize)> = ids[..len]
                .iter()
                .map(|&c| (levels[rng.random_range(0..levels.len())], c))
                .collect();
            let keep = match round % 4 {
                0 => SHORTLIST,
                1 => rng.random_range(0..=len + 2),
                2 => 1,
                _ => len,
            };
            // The former code: a stable full sort, then truncation.
            let mut reference = scored.clone();
            reference.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            reference.truncate(keep);
            let mut kept = scored;
            keep_best(&mut kept, keep);
            let bits = |v: &[(f64, usize)]| -> Vec<(u64, usize)> {
                v.iter().map(|&(s, c)| (s.to_bits(), c)).collect()
            };
            assert_eq!(bits(&kept), bits(&reference), "len {len}, keep {keep}");
        }
    }

    #[test]
    fn the_expected_shared_count_table_gives_the_formula_for_every_candidate_pair() {
        let (filters, cands, _) = toy_group(3);
        let f: Vec<&[u64]> = filters.iter().map(Vec::as_slice).collect();
        let own = vec![(0.0, 0.0); f.len()];
        let shortlist = vec![Vec::new(); f.len()];
        for per_value in [0, 320, 7] {
            let ov = Overlap {
                per_value,
                ..toy_overlap()
            };
            let ctx = Context::new(&f, &ov, &own, &cands, &shortlist);
            for x in 0..cands.len() {
                for y in (0..cands.len()).step_by(7) {
                    let e = inter(&cands.qbits[x], &cands.qbits[y]) as f64;
                    let formula = ov.expected_shared(e, cands.count[x], cands.count[y]);
                    assert_eq!(ctx.expected(x, y).to_bits(), formula.to_bits(), "{x} {y}");
                }
            }
        }
    }

    #[test]
    fn labels_most_values_of_a_group_with_copies() {
        let (filters, cands, truth) = toy_group(1);
        let f: Vec<&[u64]> = filters.iter().map(Vec::as_slice).collect();
        let labels = label(&f, None, &toy_overlap(), &cands);
        let right = labels
            .iter()
            .zip(&truth)
            .filter(|(l, &t)| l.is_some_and(|l| l.candidate == t))
            .count();
        let share = right as f64 / f.len() as f64;
        assert!(share > 0.8, "{share}");
    }
}
