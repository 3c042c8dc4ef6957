//! The attacks themselves, on plain data: name filters (bit sets), exact name tokens, and the
//! attacker's population list. Nothing here knows the key.

use std::collections::HashMap;

/// Filters of one field, one row per record (`None` = missing), `words` u64 words each.
pub struct FilterSet {
    /// Words per filter.
    pub words: usize,
    /// The filters.
    pub rows: Vec<Option<Vec<u64>>>,
}

/// The attacker's population list, as distinct names with their q-grams.
pub struct Vocabulary {
    /// Distinct normalized names (the sorted key), index = name id.
    pub names: Vec<String>,
    /// Per name id: its distinct q-gram ids.
    pub qgrams: Vec<Vec<u32>>,
}

/// One entry of the attacker's list: a name id and the salt the attacker would compute for it
/// (the birth year; empty when unknown).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListEntry {
    /// Name id in the [`Vocabulary`].
    pub name: u32,
    /// Salt text (birth year) or empty.
    pub salt: String,
}

/// Which name each record was given (None = not claimed by this attack).
pub type Guesses = Vec<Option<u32>>;

fn popcount(w: &[u64]) -> u32 {
    w.iter().map(|x| x.count_ones()).sum()
}

fn and_count(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

fn dice(a: &[u64], b: &[u64]) -> f64 {
    let d = popcount(a) + popcount(b);
    if d == 0 {
        0.0
    } else {
        2.0 * and_count(a, b) as f64 / d as f64
    }
}

fn bit(w: &[u64], b: usize) -> bool {
    w[b >> 6] >> (b & 63) & 1 == 1
}

/// An order for ties that carries no information about the truth: a hash of the content.
fn tie(bytes: &[u8]) -> [u8; 8] {
    let h = blake3::hash(bytes);
    let mut o = [0u8; 8];
    o.copy_from_slice(&h.as_bytes()[..8]);
    o
}

/// Frequency alignment: groups sorted by size (ties in an order unrelated to the truth) are
/// aligned rank by rank, as long as both groups hold at least two records (a singleton carries no
/// frequency information). Returns the list key guessed for each group.
fn align<K: Clone>(
    filter_groups: &[(Vec<usize>, [u8; 8])],
    list_groups: &[(K, usize, [u8; 8])],
) -> Vec<(usize, K)> {
    let mut fg: Vec<usize> = (0..filter_groups.len()).collect();
    fg.sort_by(|&a, &b| {
        filter_groups[b]
            .0
            .len()
            .cmp(&filter_groups[a].0.len())
            .then(filter_groups[a].1.cmp(&filter_groups[b].1))
    });
    let mut lg: Vec<usize> = (0..list_groups.len()).collect();
    lg.sort_by(|&a, &b| {
        list_groups[b]
            .1
            .cmp(&list_groups[a].1)
            .then(list_groups[a].2.cmp(&list_groups[b].2))
    });
    let mut out = Vec::new();
    for (&f, &l) in fg.iter().zip(&lg) {
        if filter_groups[f].0.len() < 2 || list_groups[l].1 < 2 {
            break;
        }
        out.push((f, list_groups[l].0.clone()));
    }
    out
}

fn list_groups(list: &[ListEntry], salted: bool) -> Vec<((u32, String), usize, [u8; 8])> {
    let mut counts: HashMap<(u32, String), usize> = HashMap::new();
    for e in list {
        let salt = if salted {
            e.salt.clone()
        } else {
            String::new()
        };
        *counts.entry((e.name, salt)).or_insert(0) += 1;
    }
    let mut v: Vec<_> = counts
        .into_iter()
        .map(|(k, c)| {
            let t = tie(format!("{}\0{}", k.0, k.1).as_bytes());
            (k, c, t)
        })
        .collect();
    v.sort_by_key(|a| a.2);
    v
}

/// Frequency attack on filters: identical filters (or, with BLIP noise, filters within Dice
/// `cluster_dice` of a cluster's first filter) form groups; groups are aligned with the list's
/// names (name + salt when `salted`) by frequency.
pub fn frequency_filters(
    filters: &FilterSet,
    list: &[ListEntry],
    salted: bool,
    cluster_dice: Option<f64>,
) -> Guesses {
    let mut groups: Vec<(Vec<usize>, [u8; 8])> = Vec::new();
    match cluster_dice {
        None => {
            let mut by: HashMap<&[u64], usize> = HashMap::new();
            for (i, f) in filters.rows.iter().enumerate() {
                let Some(f) = f else { continue };
                let g = *by.entry(f.as_slice()).or_insert_with(|| {
                    let bytes: Vec<u8> = f.iter().flat_map(|w| w.to_le_bytes()).collect();
                    groups.push((Vec::new(), tie(&bytes)));
                    groups.len() - 1
                });
                groups[g].0.push(i);
            }
        }
        Some(t) => {
            // Greedy clustering against each cluster's first filter (bounded work).
            const MAX_CLUSTERS: usize = 20_000;
            let mut reps: Vec<usize> = Vec::new();
            for (i, f) in filters.rows.iter().enumerate() {
                let Some(f) = f else { continue };
                let found = reps.iter().position(|&r| {
                    dice(
                        filters.rows[r]
                            .as_deref()
                            .expect("representatives are present"),
                        f,
                    ) >= t
                });
                match found {
                    Some(g) => groups[g].0.push(i),
                    None if reps.len() < MAX_CLUSTERS => {
                        reps.push(i);
                        let bytes: Vec<u8> = f.iter().flat_map(|w| w.to_le_bytes()).collect();
                        groups.push((vec![i], tie(&bytes)));
                    }
                    None => {}
                }
            }
        }
    }
    let lg = list_groups(list, salted);
    let mut guesses = vec![None; filters.rows.len()];
    for (g, (name, _)) in align(&groups, &lg) {
        for &i in &groups[g].0 {
            guesses[i] = Some(name);
        }
    }
    guesses
}

/// Frequency attack on exact tokens: records with equal tokens are aligned with the list's names
/// (name + salt when `salted`) by frequency.
pub fn frequency_tokens(tokens: &[Option<u128>], list: &[ListEntry], salted: bool) -> Guesses {
    let mut by: HashMap<u128, usize> = HashMap::new();
    let mut groups: Vec<(Vec<usize>, [u8; 8])> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let Some(t) = t else { continue };
        let g = *by.entry(*t).or_insert_with(|| {
            groups.push((Vec::new(), tie(&t.to_le_bytes())));
            groups.len() - 1
        });
        groups[g].0.push(i);
    }
    let lg = list_groups(list, salted);
    let mut guesses = vec![None; tokens.len()];
    for (g, (name, _)) in align(&groups, &lg) {
        for &i in &groups[g].0 {
            guesses[i] = Some(name);
        }
    }
    guesses
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
            rounds: 6,
        }
    }
}

fn bit_counts(f: &[&[u64]], idx: &[usize], out: &mut [u32]) {
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
struct Pattern {
    bits: Vec<usize>,
    holders: Vec<usize>,
}

/// Mines one pattern starting from bit `b0`: adds, one at a time, the bit whose frequency among
/// the filters holding the pattern so far most exceeds its overall frequency (the bits of the
/// q-gram that set `b0` co-occur with it), until `k` bits; then the pattern is every bit set in
/// nearly all of its holders.
fn mine_from(
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

/// The q-gram / bit-pattern attack (after Christen et al.'s pattern mining), key-less:
///
/// 1. mining: from each bit not yet explained (most frequent first), `mine_from` grows the
///    pattern of bits that co-occur with it — one q-gram's bits;
/// 2. naming: patterns, largest support first, are named after the list q-gram whose support
///    (share of list names holding it, scaled to the file) is within 25 % and whose
///    co-occurrence with the q-grams named so far fits best;
/// 3. re-identification: each filter gets the list name whose predicted filter (the union of
///    its q-grams' learned bits) has the highest Dice with it;
/// 4. bootstrapping: confident re-identifications become known pairs, from which every q-gram
///    held by at least three of them is re-learned (bits set in nearly all their filters), and
///    step 3 runs again (`rounds` times).
///
/// Under BLIP (`noise` > 0) every "set in all" becomes "set in a share 1 − noise".
pub fn qgram_pattern(
    filters: &FilterSet,
    vocab: &Vocabulary,
    list: &[ListEntry],
    p: &PatternParams,
) -> Guesses {
    let present: Vec<usize> = (0..filters.rows.len())
        .filter(|&i| filters.rows[i].is_some())
        .collect();
    let f: Vec<&[u64]> = present
        .iter()
        .map(|&i| filters.rows[i].as_deref().expect("present"))
        .collect();
    let m = filters.words * 64;
    let list_names: Vec<u32> = list.iter().map(|e| e.name).collect();
    let n = f.len();
    if n == 0 {
        return vec![None; filters.rows.len()];
    }
    let n_q = vocab
        .qgrams
        .iter()
        .flatten()
        .copied()
        .max()
        .map_or(0, |x| x as usize + 1);
    // The list's q-gram supports, scaled to the number of filters.
    let scale = n as f64 / list_names.len().max(1) as f64;
    let mut support = vec![0f64; n_q];
    let mut holders_of: Vec<Vec<usize>> = vec![Vec::new(); n_q];
    for (li, &name) in list_names.iter().enumerate() {
        for &g in &vocab.qgrams[name as usize] {
            support[g as usize] += scale;
            holders_of[g as usize].push(li);
        }
    }
    let mut counts = vec![0u32; m];
    bit_counts(&f, &(0..n).collect::<Vec<_>>(), &mut counts);
    let all_freq: Vec<f64> = counts.iter().map(|&c| c as f64 / n as f64).collect();
    // Mine patterns from unclaimed bits, most frequent first; name each after the q-gram whose
    // support and co-occurrence with the q-grams named so far fit it best.
    let mut claimed = vec![false; m];
    let mut named: Vec<(u32, Vec<usize>)> = Vec::new(); // q-gram, its holders (filters)
    let mut from_mining: Vec<Option<Vec<u64>>> = vec![None; n_q];
    let min_support = 3.0f64.max(0.004 * n as f64);
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let mut scratch = vec![0u32; m];
    let mut pats: Vec<Pattern> = Vec::new();
    for &b0 in &order {
        // A bit set in most filters is saturated (or, balanced, the complement of a rare bit): no
        // q-gram pattern starts there.
        if claimed[b0] || pats.len() >= p.max_patterns || all_freq[b0] > 0.8 {
            continue;
        }
        let pat = mine_from(&f, &all_freq, b0, p.hashes, 1.0 - p.noise, &mut scratch);
        claimed[b0] = true;
        for &b in &pat.bits {
            claimed[b] = true;
        }
        let ok = (pat.holders.len() as f64) >= min_support
            && pat.bits.len() * 4 >= p.hashes * 3
            && pat.bits.len() * 2 <= p.hashes * 3;
        if ok {
            pats.push(pat);
        }
    }
    pats.sort_by_key(|p| std::cmp::Reverse(p.holders.len()));
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
            // co-occurrence with the q-grams named so far (the first 30: the surest)
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
                    .filter(|&&l| vocab.qgrams[list_names[l] as usize].contains(g2))
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
        let mut w = vec![0u64; filters.words];
        for &b in &pat.bits {
            w[b >> 6] |= 1 << (b & 63);
        }
        from_mining[g as usize] = Some(w);
        named.push((g, pat.holders));
    }
    let mut seeds: Vec<(usize, u32)> = Vec::new();
    // Candidate names: the distinct names of the list.
    let mut cand: Vec<u32> = list_names.clone();
    cand.sort_unstable();
    cand.dedup();
    let mut best_guess: Vec<Option<u32>> = vec![None; f.len()];
    for round in 0..p.rounds.max(1) + 1 {
        if round > 0 && seeds.is_empty() {
            break;
        }
        // Learn each q-gram's bits from the seeds holding it.
        let mut holders: Vec<Vec<usize>> = vec![Vec::new(); n_q];
        for (si, &(_, name)) in seeds.iter().enumerate() {
            for &g in &vocab.qgrams[name as usize] {
                holders[g as usize].push(si);
            }
        }
        let mut learned: Vec<Option<Vec<u64>>> = vec![None; n_q];
        let mut counts = vec![0u32; m];
        for (g, h) in holders.iter().enumerate() {
            if h.len() < 3 {
                continue;
            }
            let seed_filters: Vec<usize> = h.iter().map(|&si| seeds[si].0).collect();
            bit_counts(&f, &seed_filters, &mut counts);
            let need = if h.len() < 10 && p.noise == 0.0 {
                h.len() as u32
            } else {
                (h.len() as f64 * 0.9 * (1.0 - p.noise)).ceil() as u32
            };
            let mut bits = vec![0u64; filters.words];
            for b in 0..m {
                if counts[b] >= need {
                    bits[b >> 6] |= 1 << (b & 63);
                }
            }
            learned[g] = Some(bits);
        }
        // Q-grams too rare among the seeds keep what mining found.
        for (l, t) in learned.iter_mut().zip(&from_mining) {
            if l.is_none() {
                l.clone_from(t);
            }
        }
        // Predicted filter of every candidate name (only names whose q-grams are mostly learned).
        let mut preds: Vec<(u32, Vec<u64>, f64)> = Vec::new();
        for &n in &cand {
            let qs = &vocab.qgrams[n as usize];
            let known: Vec<&Vec<u64>> = qs
                .iter()
                .filter_map(|&g| learned[g as usize].as_ref())
                .collect();
            if qs.is_empty() || known.len() * 4 < qs.len() * 3 {
                continue;
            }
            let mut w = vec![0u64; filters.words];
            for k in known {
                for (a, b) in w.iter_mut().zip(k) {
                    *a |= b;
                }
            }
            let pc = popcount(&w) as f64;
            if pc > 0.0 {
                preds.push((n, w, pc));
            }
        }
        if preds.is_empty() {
            break;
        }
        let mut next = Vec::new();
        for (i, fi) in f.iter().enumerate() {
            let mut best = (-1.0f64, 0u32);
            let mut second = -1.0f64;
            for (n, w, _) in &preds {
                let d = dice(w, fi);
                if d > best.0 {
                    second = best.0;
                    best = (d, *n);
                } else if d > second {
                    second = d;
                }
            }
            best_guess[i] = Some(best.1);
            if best.0 >= 0.85 * (1.0 - p.noise) && best.0 - second >= 0.04 {
                next.push((i, best.1));
            }
        }
        // Keep earlier seeds; add the new confident ones.
        let have: std::collections::HashSet<usize> = seeds.iter().map(|s| s.0).collect();
        seeds.extend(next.into_iter().filter(|s| !have.contains(&s.0)));
    }
    let mut guesses = vec![None; filters.rows.len()];
    for (k, &i) in present.iter().enumerate() {
        guesses[i] = best_guess[k];
    }
    guesses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: u32, salt: &str) -> ListEntry {
        ListEntry {
            name,
            salt: salt.into(),
        }
    }

    #[test]
    fn frequency_alignment_pairs_ranks_and_leaves_singletons_alone() {
        // name 0 ×4, name 1 ×3, name 2 ×2, names 3 and 4 once; filters mirror it.
        let names = [0u32, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4];
        let list: Vec<ListEntry> = names.iter().map(|&n| entry(n, "")).collect();
        let rows = names
            .iter()
            .map(|&n| Some(vec![1u64 << n, 0]))
            .collect::<Vec<_>>();
        let fs = FilterSet { words: 2, rows };
        let g = frequency_filters(&fs, &list, false, None);
        for (i, &n) in names.iter().enumerate() {
            if n <= 2 {
                assert_eq!(g[i], Some(n), "record {i}");
            } else {
                assert_eq!(g[i], None, "a singleton carries no frequency information");
            }
        }
        // Tokens: the same.
        let toks: Vec<Option<u128>> = names.iter().map(|&n| Some(n as u128 + 7)).collect();
        let t = frequency_tokens(&toks, &list, false);
        assert_eq!(t[0], Some(0));
        assert_eq!(t[5], Some(1));
        // Salted, with every (name, year) unique: nothing to align.
        let salted: Vec<ListEntry> = names
            .iter()
            .enumerate()
            .map(|(i, &n)| entry(n, &format!("{}", 1970 + i)))
            .collect();
        let unique = FilterSet {
            words: 2,
            rows: (0..names.len())
                .map(|i| Some(vec![i as u64 + 1, 9]))
                .collect(),
        };
        assert!(frequency_filters(&unique, &salted, true, None)
            .iter()
            .all(Option::is_none));
    }

    #[test]
    fn blip_clustering_groups_near_identical_filters() {
        let base: Vec<u64> = vec![0xFFFF_0000_FFFF_0000, 0x0F0F_0F0F_0F0F_0F0F];
        let mut noisy = base.clone();
        noisy[0] ^= 0b101; // a few flipped bits
        let other: Vec<u64> = vec![0x0000_FFFF_0000_FFFF, 0xF0F0_F0F0_F0F0_F0F0];
        let fs = FilterSet {
            words: 2,
            rows: vec![
                Some(base.clone()),
                Some(noisy),
                Some(other.clone()),
                Some(other),
            ],
        };
        let list = vec![entry(5, ""), entry(5, ""), entry(6, ""), entry(6, "")];
        let exact = frequency_filters(&fs, &list, false, None);
        assert_eq!(exact[0], None, "exact grouping splits the noisy copy off");
        let clustered = frequency_filters(&fs, &list, false, Some(0.9));
        assert!(clustered[0].is_some() && clustered[0] == clustered[1]);
        assert!(clustered[2].is_some() && clustered[2] == clustered[3]);
        assert_ne!(clustered[0], clustered[2]);
    }
}
