//! Bit-pattern mining on Bloom filters (after Christen et al.), key-less: which bits each q-gram
//! sets, learned from the filters alone and named after the q-grams of the attacker's public
//! population. Nothing here knows the key.

/// Set bits of a filter.
pub(crate) fn popcount(w: &[u64]) -> u32 {
    w.iter().map(|x| x.count_ones()).sum()
}

/// Bits set in both filters.
pub(crate) fn and_count(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

/// Dice coefficient of two filters.
pub(crate) fn dice(a: &[u64], b: &[u64]) -> f64 {
    let d = popcount(a) + popcount(b);
    if d == 0 {
        0.0
    } else {
        2.0 * and_count(a, b) as f64 / d as f64
    }
}

/// Whether bit `b` is set.
pub(crate) fn bit(w: &[u64], b: usize) -> bool {
    w[b >> 6] >> (b & 63) & 1 == 1
}

/// Merges groups whose cores nearly coincide: the smaller core (of at least `min_bits` bits) has
/// 80 % of its bits in the other (a core that caught a few chance bits, or one group found
/// twice). Per group: its merged group, numbered in order of first appearance.
pub(crate) fn merge_coinciding(cores: &[Vec<u64>], min_bits: u32) -> Vec<usize> {
    let k = cores.len();
    let mut parent: Vec<usize> = (0..k).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for a in 0..k {
        for b in a + 1..k {
            let small = popcount(&cores[a]).min(popcount(&cores[b]));
            if small >= min_bits && and_count(&cores[a], &cores[b]) as f64 >= 0.8 * small as f64 {
                let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                if ra != rb {
                    parent[ra.max(rb)] = ra.min(rb);
                }
            }
        }
    }
    let mut renum: std::collections::HashMap<usize, usize> = Default::default();
    (0..k)
        .map(|g| {
            let r = root(&mut parent, g);
            let next = renum.len();
            *renum.entry(r).or_insert(next)
        })
        .collect()
}

/// Parameters of the q-gram / bit-pattern attack.
#[derive(Debug, Clone)]
pub struct PatternParams {
    /// Bits per q-gram the attacker expects (the schema's `hashes`, public).
    pub hashes: usize,
    /// Patterns mined at most.
    pub max_patterns: usize,
    /// The BLIP flip probability the attacker expects (public in the schema): loosens "set in
    /// every holder" to "set in a share 1 − noise of them".
    pub noise: f64,
    /// Bootstrapping rounds (learn from confident re-identifications, re-identify again).
    pub rounds: usize,
}

impl Default for PatternParams {
    fn default() -> Self {
        PatternParams {
            hashes: 20,
            max_patterns: 400,
            noise: 0.0,
            rounds: 15,
        }
    }
}

pub(crate) fn bit_counts(f: &[&[u64]], idx: &[usize], out: &mut [u32]) {
    out.iter_mut().for_each(|c| *c = 0);
    for &i in idx {
        for (wi, &w) in f[i].iter().enumerate() {
            let mut w = w;
            while w != 0 {
                out[wi * 64 + w.trailing_zeros() as usize] += 1;
                w &= w - 1;
            }
        }
    }
}

/// A bit pattern mined from the filters: its bits and the filters holding all of them.
pub(crate) struct Pattern {
    pub(crate) bits: Vec<usize>,
    pub(crate) holders: Vec<usize>,
}

/// Mines one pattern starting from bit `b0`: adds, one at a time, the bit whose frequency among
/// the filters holding the pattern so far most exceeds its overall frequency (the bits of the
/// q-gram that set `b0` co-occur with it), until `k` bits; then the pattern is every bit set in
/// nearly all of its holders.
pub(crate) fn mine_from(
    f: &[&[u64]],
    all_freq: &[f64],
    b0: usize,
    k: usize,
    keep: f64,
    counts: &mut [u32],
) -> Pattern {
    let m = all_freq.len();
    let mut s: Vec<usize> = (0..f.len()).filter(|&i| bit(f[i], b0)).collect();
    let mut chosen = vec![b0];
    // A few bits by lift identify the q-gram that set b0 …
    while chosen.len() < k.clamp(1, 5) && s.len() >= 2 {
        bit_counts(f, &s, counts);
        let n = s.len() as f64;
        let pick = (0..m)
            .filter(|b| !chosen.contains(b))
            .map(|b| (counts[b] as f64 / n - all_freq[b], b))
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        let Some((lift, b)) = pick else { break };
        if lift <= 0.05 {
            break;
        }
        s.retain(|&i| bit(f[i], b));
        chosen.push(b);
    }
    // … then its bits are those set in nearly all of the filters holding them, and its holders
    // the filters holding nearly all of its bits (twice, to settle).
    let mut bits: Vec<usize> = chosen;
    for _ in 0..2 {
        bit_counts(f, &s, counts);
        let need = 0.9 * keep * s.len() as f64;
        // Saturated bits (set in most filters) are left out: they tell nothing.
        bits = (0..m)
            .filter(|&b| counts[b] as f64 >= need && all_freq[b] <= 0.85)
            .collect();
        let min = (bits.len() as f64 * 0.9 * keep).ceil() as usize;
        s = (0..f.len())
            .filter(|&i| bits.iter().filter(|&&b| bit(f[i], b)).count() >= min)
            .collect();
        if s.is_empty() {
            break;
        }
    }
    Pattern { bits, holders: s }
}

/// Mining and naming (the first half of Christen et al.'s attack):
///
/// 1. from each bit not yet explained (most frequent first), `mine_from` grows the pattern of
///    bits that co-occur with it — one q-gram's bits;
/// 2. patterns, largest support first, are named after the population q-gram whose support
///    (share of population values holding it, scaled to the filters) is within 25 % and whose
///    co-occurrence with the q-grams named so far fits best.
///
/// `population` holds each public value's q-gram ids (`< n_q`). Returns, per q-gram id, the bits
/// mined for it (`None`: not found). Under BLIP (`noise` > 0) "set in all" becomes "set in a
/// share 1 − noise".
pub fn mine_masks(
    f: &[&[u64]],
    words: usize,
    population: &[Vec<u32>],
    n_q: usize,
    p: &PatternParams,
) -> Vec<Option<Vec<u64>>> {
    let m = words * 64;
    let n = f.len();
    let mut from_mining: Vec<Option<Vec<u64>>> = vec![None; n_q];
    if n == 0 || population.is_empty() {
        return from_mining;
    }
    let scale = n as f64 / population.len() as f64;
    let mut support = vec![0f64; n_q];
    let mut holders_of: Vec<Vec<usize>> = vec![Vec::new(); n_q];
    for (li, qs) in population.iter().enumerate() {
        for &g in qs {
            support[g as usize] += scale;
            holders_of[g as usize].push(li);
        }
    }
    let mut counts = vec![0u32; m];
    bit_counts(f, &(0..n).collect::<Vec<_>>(), &mut counts);
    let all_freq: Vec<f64> = counts.iter().map(|&c| c as f64 / n as f64).collect();
    let mut claimed = vec![false; m];
    let mut named: Vec<(u32, Vec<usize>)> = Vec::new();
    let min_support = 3.0f64.max(0.004 * n as f64);
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let mut scratch = vec![0u32; m];
    let mut pats: Vec<Pattern> = Vec::new();
    for &b0 in &order {
        // A bit set in most filters is saturated: no q-gram pattern starts there.
        if claimed[b0] || pats.len() >= p.max_patterns || all_freq[b0] > 0.8 {
            continue;
        }
        let pat = mine_from(f, &all_freq, b0, p.hashes, 1.0 - p.noise, &mut scratch);
        claimed[b0] = true;
        for &b in &pat.bits {
            claimed[b] = true;
        }
        let ok = (pat.holders.len() as f64) >= min_support
            && pat.bits.len() * 4 >= p.hashes * 3
            && pat.bits.len() <= p.hashes * 8;
        if ok {
            pats.push(pat);
        }
    }
    pats.sort_by(|a, b| {
        b.holders
            .len()
            .cmp(&a.holders.len())
            .then(a.bits.cmp(&b.bits))
    });
    for pat in pats {
        let s = pat.holders.len() as f64;
        let mut best: Option<(f64, u32)> = None;
        for g in 0..n_q {
            if from_mining[g].is_some() || support[g] < min_support {
                continue;
            }
            let err = (s - support[g]).abs() / support[g];
            if err > 0.25 {
                continue;
            }
            // Co-occurrence with the q-grams named so far (the first 30: the surest).
            let mut co = 0.0;
            let mut k = 0;
            for (g2, h2) in named.iter().take(30) {
                let inter_f = pat
                    .holders
                    .iter()
                    .filter(|i| h2.binary_search(i).is_ok())
                    .count() as f64
                    / s;
                let inter_l = holders_of[g]
                    .iter()
                    .filter(|&&l| population[l].binary_search(g2).is_ok())
                    .count() as f64
                    / holders_of[g].len() as f64;
                co += (inter_f - inter_l).abs();
                k += 1;
            }
            let score = err + if k > 0 { 3.0 * co / k as f64 } else { 0.0 };
            if best.is_none_or(|(b, _)| score < b) {
                best = Some((score, g as u32));
            }
        }
        let Some((score, g)) = best else { continue };
        if score > 0.3 {
            continue;
        }
        let mut w = vec![0u64; words];
        for &b in &pat.bits {
            w[b >> 6] |= 1 << (b & 63);
        }
        from_mining[g as usize] = Some(w);
        named.push((g, pat.holders));
    }
    from_mining
}
