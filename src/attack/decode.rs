//! Decoding a q-gram filter field inside one salt group, key-less: which public value (a set of
//! words: a name's tokens, a place's words) each filter holds.
//!
//! 1. **Mining** ([`mining::mine_masks`]): the bits each frequent q-gram sets, learned from the
//!    group's filters and named after the public population's q-grams by support and
//!    co-occurrence.
//! 2. **Re-identification**: every public word whose q-grams are (mostly) known gets a predicted
//!    bit mask; a filter's best-fitting words (share of their bits set) are combined, up to the
//!    longest public value, and the combination whose predicted filter has the highest Dice with
//!    the filter wins. Its margin over the best *different* prediction is the attacker's
//!    confidence.
//! 3. **Anchors and bootstrapping**: the filters re-identified with a clear margin become anchors;
//!    every q-gram held by at least three anchors is re-learned from them (bits set in nearly all
//!    their filters), and step 2 runs again (`rounds` times). Each round's anchors pin more
//!    q-grams, so the re-identification of all others tightens (trilateration against the
//!    anchors' known q-grams).
//!
//! Under BLIP (`noise` > 0, public in the schema) "set in all" becomes "set in a share 1 − noise".

use std::collections::HashMap;

use super::mining::{self, bit_counts, dice, popcount, PatternParams};
use crate::encode::tokens::{push_qgrams, Tokens};

/// The public value space of one field: its words, their q-grams, and a population sample.
pub struct Vocab {
    /// Distinct words (normalized), index = word id.
    pub words: Vec<String>,
    /// Per word: its distinct q-gram ids, sorted.
    pub word_q: Vec<Vec<u32>>,
    /// Number of distinct q-grams.
    pub n_q: usize,
    /// The population sample: per value its q-gram ids, sorted.
    pub pop_q: Vec<Vec<u32>>,
    /// Per population value: its word ids, sorted.
    pub pop_words: Vec<Vec<u32>>,
    /// Most words in one public value.
    pub max_words: usize,
    word_ids: HashMap<String, u32>,
    qgram_ids: HashMap<Vec<u8>, u32>,
}

impl Vocab {
    /// Builds the vocabulary of a population sample (each value: its normalized words) for
    /// q-grams of length `q`.
    pub fn build(values: &[Vec<String>], q: usize) -> Vocab {
        let mut word_ids: HashMap<String, u32> = HashMap::new();
        let mut q_ids: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut v = Vocab {
            words: Vec::new(),
            word_q: Vec::new(),
            n_q: 0,
            pop_q: Vec::new(),
            pop_words: Vec::new(),
            max_words: 1,
            word_ids: HashMap::new(),
            qgram_ids: HashMap::new(),
        };
        let mut toks = Tokens::default();
        for value in values {
            let mut ws: Vec<u32> = Vec::new();
            for w in value {
                let id = match word_ids.get(w) {
                    Some(&i) => i,
                    None => {
                        toks.clear();
                        push_qgrams(w, q, &mut toks);
                        let mut qs: Vec<u32> = toks
                            .iter()
                            .map(|t| {
                                let n = q_ids.len() as u32;
                                *q_ids.entry(t.to_vec()).or_insert(n)
                            })
                            .collect();
                        qs.sort_unstable();
                        qs.dedup();
                        let i = v.words.len() as u32;
                        v.words.push(w.clone());
                        v.word_q.push(qs);
                        word_ids.insert(w.clone(), i);
                        i
                    }
                };
                ws.push(id);
            }
            ws.sort_unstable();
            ws.dedup();
            if ws.is_empty() {
                continue;
            }
            let mut qs: Vec<u32> = ws
                .iter()
                .flat_map(|&w| v.word_q[w as usize].iter().copied())
                .collect();
            qs.sort_unstable();
            qs.dedup();
            v.max_words = v.max_words.max(ws.len());
            v.pop_q.push(qs);
            v.pop_words.push(ws);
        }
        v.n_q = q_ids.len();
        v.word_ids = word_ids;
        v.qgram_ids = q_ids;
        v
    }

    /// Adds words missing from the sample (no population entry: they can be decoded, not
    /// counted). Their q-grams not seen yet get new ids.
    pub fn add_words(&mut self, words: &[String], q: usize) {
        let mut toks = Tokens::default();
        for w in words {
            if self.word_ids.contains_key(w) {
                continue;
            }
            toks.clear();
            push_qgrams(w, q, &mut toks);
            let mut qs: Vec<u32> = toks
                .iter()
                .map(|t| {
                    let n = self.qgram_ids.len() as u32;
                    *self.qgram_ids.entry(t.to_vec()).or_insert(n)
                })
                .collect();
            qs.sort_unstable();
            qs.dedup();
            self.word_ids.insert(w.clone(), self.words.len() as u32);
            self.words.push(w.clone());
            self.word_q.push(qs);
        }
        self.n_q = self.qgram_ids.len();
    }

    /// The word ids of a value, when every word is public.
    pub fn ids_of(&self, words: &[String]) -> Option<Vec<u32>> {
        let mut ids: Vec<u32> = Vec::with_capacity(words.len());
        for w in words {
            ids.push(self.words.iter().position(|x| x == w)? as u32);
        }
        ids.sort_unstable();
        ids.dedup();
        Some(ids)
    }
}

/// The attacker's answer for one filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// The words guessed (sorted word ids); `None` when nothing fitted.
    pub value: Option<Vec<u32>>,
    /// Margin of the guess over the best different prediction (higher = surer).
    pub confidence: f64,
}

/// Candidate words per filter, best first, before combining.
const TOP_WORDS: usize = 12;
/// Margin over the best different prediction that makes a decoded filter an anchor.
const MIN_MARGIN: f64 = 0.0;
/// Dice (scaled by 1 − noise) a decoded filter needs to become an anchor.
const ANCHOR_FIT: f64 = 0.7;
/// Share of the anchors holding a q-gram (scaled by 1 − noise) that must have a bit set for it
/// to be learned as one of the q-gram's bits.
const LEARN_SHARE: f64 = 0.85;
/// Dice a word must add to stay in a combination.
const PRUNE_GAIN: f64 = 0.01;
/// Words combined at most.
const MAX_COMBINED: usize = 4;

struct Best {
    dice: f64,
    words: Vec<u32>,
    mask: Vec<u64>,
    second: f64,
}

/// Decodes every filter of one group (see the module doc).
/// `seeds` are anchors known beforehand (record, its words), e.g. from
/// [`super::profile::anchors`]; the first round learns from them.
pub fn decode_group(
    f: &[&[u64]],
    words: usize,
    vocab: &Vocab,
    p: &PatternParams,
    seeds: Vec<(usize, Vec<u32>)>,
) -> Vec<Decoded> {
    let n = f.len();
    if n == 0 {
        return Vec::new();
    }
    let m = words * 64;
    let mined = mining::mine_masks(f, words, &vocab.pop_q, vocab.n_q, p);
    let mut seeds = seeds;
    let mut out = vec![Decoded::default(); n];
    let keep = 1.0 - p.noise;
    let mut counts = vec![0u32; m];
    let mut all_counts = vec![0u32; m];
    bit_counts(f, &(0..n).collect::<Vec<_>>(), &mut all_counts);
    for round in 0..=p.rounds {
        // Learn each q-gram's bits from the anchors holding it; rarer ones keep the mined bits.
        let mut holders: Vec<Vec<usize>> = vec![Vec::new(); vocab.n_q];
        for (i, ws) in &seeds {
            let mut qs: Vec<u32> = ws
                .iter()
                .flat_map(|&w| vocab.word_q[w as usize].iter().copied())
                .collect();
            qs.sort_unstable();
            qs.dedup();
            for g in qs {
                holders[g as usize].push(*i);
            }
        }
        let learned: Vec<Option<Vec<u64>>> = holders
            .iter()
            .enumerate()
            .map(|(g, h)| {
                if h.len() < 3 {
                    return mined[g].clone();
                }
                bit_counts(f, h, &mut counts);
                let hn = h.len() as f64;
                let rest = (n - h.len()).max(1) as f64;
                let mut w = vec![0u64; words];
                for (b, &c) in counts.iter().enumerate() {
                    let inside = c as f64 / hn;
                    let outside = (all_counts[b] - c) as f64 / rest;
                    if inside >= LEARN_SHARE * keep && inside - outside >= 0.3 {
                        w[b >> 6] |= 1 << (b & 63);
                    }
                }
                Some(w)
            })
            .collect();
        // Each word's predicted mask (words whose q-grams are mostly known).
        let masks: Vec<Option<Vec<u64>>> = vocab
            .word_q
            .iter()
            .map(|qs| {
                let known: Vec<&Vec<u64>> = qs
                    .iter()
                    .filter_map(|&g| learned[g as usize].as_ref())
                    .collect();
                if qs.is_empty() || known.len() * 2 < qs.len() {
                    return None;
                }
                let mut w = vec![0u64; words];
                for k in known {
                    for (a, b) in w.iter_mut().zip(k) {
                        *a |= b;
                    }
                }
                (popcount(&w) > 0).then_some(w)
            })
            .collect();
        if masks.iter().all(Option::is_none) {
            break;
        }
        let mut next = Vec::new();
        for (i, fi) in f.iter().enumerate() {
            let Some(b) = best_words(fi, &masks, vocab.max_words.min(MAX_COMBINED), 0.5) else {
                continue;
            };
            let margin = b.dice - b.second;
            if b.dice >= ANCHOR_FIT * (1.0 - p.noise) && margin >= MIN_MARGIN {
                next.push((i, b.words.clone()));
            }
            out[i] = Decoded {
                value: Some(b.words),
                confidence: margin,
            };
        }
        if round > 0 && next == seeds {
            break;
        }
        seeds = next;
    }
    out
}

/// The combination of at most `max` words whose predicted filter fits `fi` best.
fn best_words(fi: &[u64], masks: &[Option<Vec<u64>>], max: usize, keep: f64) -> Option<Best> {
    let mut cand: Vec<(f64, u32)> = masks
        .iter()
        .enumerate()
        .filter_map(|(w, m)| {
            let m = m.as_ref()?;
            let share = mining::and_count(fi, m) as f64 / popcount(m) as f64;
            (share >= 0.6).then_some((share, w as u32))
        })
        .collect();
    if cand.is_empty() {
        return None;
    }
    cand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    cand.truncate(TOP_WORDS);
    let mut best = Best {
        dice: -1.0,
        words: Vec::new(),
        mask: Vec::new(),
        second: 0.0,
    };
    let mut chosen: Vec<u32> = Vec::with_capacity(max);
    let union = vec![0u64; fi.len()];
    combine(
        fi,
        masks,
        &cand,
        0,
        max,
        &mut chosen,
        &union,
        &mut best,
        keep,
    );
    // Prune words that barely help: a word riding along on bits the others (nearly) explain.
    loop {
        if best.words.len() < 2 {
            break;
        }
        let mut pruned = None;
        for drop in 0..best.words.len() {
            let mut u = vec![0u64; fi.len()];
            for (k, &w) in best.words.iter().enumerate() {
                if k != drop {
                    for (a, b) in u.iter_mut().zip(masks[w as usize].as_ref().expect("mask")) {
                        *a |= b;
                    }
                }
            }
            let d = dice(&u, fi);
            if d >= best.dice - PRUNE_GAIN && pruned.as_ref().is_none_or(|(pd, _, _)| d > *pd) {
                pruned = Some((d, drop, u));
            }
        }
        let Some((d, drop, u)) = pruned else { break };
        best.words.remove(drop);
        best.dice = d;
        best.mask = u;
    }
    best.words.sort_unstable();
    Some(best)
}

#[allow(clippy::too_many_arguments)]
fn combine(
    fi: &[u64],
    masks: &[Option<Vec<u64>>],
    cand: &[(f64, u32)],
    from: usize,
    max: usize,
    chosen: &mut Vec<u32>,
    union: &[u64],
    best: &mut Best,
    keep: f64,
) {
    for k in from..cand.len() {
        let w = cand[k].1;
        let m = masks[w as usize].as_ref().expect("candidates have masks");
        let u: Vec<u64> = union.iter().zip(m).map(|(a, b)| a | b).collect();
        // A word joins only when the bits it adds are (nearly all) set: a word whose bits are
        // already mostly explained by the others must not ride along.
        let mut added = 0u32;
        let mut added_set = 0u32;
        for ((a, b), x) in u.iter().zip(union).zip(fi) {
            let new = a & !b;
            added += new.count_ones();
            added_set += (new & x).count_ones();
        }
        if added == 0 || (added_set as f64) < keep * added as f64 {
            continue;
        }
        chosen.push(w);
        let d = dice(&u, fi);
        if d > best.dice + 1e-12 {
            if best.mask != u {
                best.second = best.second.max(best.dice);
            }
            best.dice = d;
            best.words.clone_from(chosen);
            best.mask.clone_from(&u);
        } else if d > best.second && u != best.mask {
            best.second = d;
        }
        if chosen.len() < max {
            combine(fi, masks, cand, k + 1, max, chosen, &u, best, keep);
        }
        chosen.pop();
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Public first words of the attack tests' toy populations (Javanese given names).
    pub(in crate::attack) const TEST_FIRST_NAMES: [&str; 24] = [
        "sumarni", "suparmi", "wagiyem", "painem", "sutini", "sulastri", "tukiyem", "ngatini",
        "suwarni", "sumiati", "darmini", "kartini", "rusmini", "sriyati", "mujiati", "yuliani",
        "ratna", "dewi", "siti", "nur", "ani", "wati", "yanti", "rina",
    ];
    /// Their second words.
    pub(in crate::attack) const TEST_SECOND_NAMES: [&str; 12] = [
        "astuti",
        "lestari",
        "wahyuni",
        "rahayu",
        "handayani",
        "purwanti",
        "susanti",
        "rahmawati",
        "fitriani",
        "safitri",
        "anggraini",
        "puspita",
    ];

    /// A toy keyed encoding: each q-gram sets `k` pseudo-random bits of `m`.
    fn encode(qs: &[Vec<u8>], k: usize, m: usize, noise: f64, rng: &mut ChaCha8Rng) -> Vec<u64> {
        let mut w = vec![0u64; m / 64];
        for g in qs {
            let h = blake3::hash(g);
            let x = h.as_bytes();
            for i in 0..k {
                let b = u16::from_le_bytes([x[i], x[i + 1]]) as usize % m;
                w[b >> 6] |= 1 << (b & 63);
            }
        }
        for b in 0..m {
            if rng.random_bool(noise) {
                w[b >> 6] ^= 1 << (b & 63);
            }
        }
        w
    }

    #[test]
    fn decodes_most_names_of_a_group_without_the_key_and_fails_on_noise() {
        let first = &TEST_FIRST_NAMES[..16];
        let second = &TEST_SECOND_NAMES[..6];
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let draw = |rng: &mut ChaCha8Rng| -> Vec<String> {
            let mut v = vec![first[rng.random_range(0..first.len())].to_string()];
            if rng.random_bool(0.5) {
                v.push(second[rng.random_range(0..second.len())].to_string());
            }
            v
        };
        let population: Vec<Vec<String>> = (0..3000).map(|_| draw(&mut rng)).collect();
        let vocab = Vocab::build(&population, 2);
        let people: Vec<Vec<String>> = (0..800).map(|_| draw(&mut rng)).collect();
        let qgrams = |ws: &[String]| -> Vec<Vec<u8>> {
            let mut t = Tokens::default();
            for w in ws {
                push_qgrams(w, 2, &mut t);
            }
            t.iter().map(|x| x.to_vec()).collect()
        };
        let run = |noise: f64, rng: &mut ChaCha8Rng| -> f64 {
            let filters: Vec<Vec<u64>> = people
                .iter()
                .map(|p| encode(&qgrams(p), 20, 512, noise, rng))
                .collect();
            let f: Vec<&[u64]> = filters.iter().map(Vec::as_slice).collect();
            let params = PatternParams {
                noise: noise.min(0.1),
                ..PatternParams::default()
            };
            let d = decode_group(&f, 8, &vocab, &params, Vec::new());
            let hits = people
                .iter()
                .zip(&d)
                .filter(|(p, d)| d.value.is_some() && d.value == vocab.ids_of(p))
                .count();
            hits as f64 / people.len() as f64
        };
        let clean = run(0.0, &mut rng);
        let blip = run(0.047, &mut rng);
        let noise = run(0.5, &mut rng);
        eprintln!("toy: clean {clean} blip {blip} noise {noise}");
        assert!(clean > 0.5, "clean filters: {clean}");
        assert!(blip > 0.1, "BLIP ε = 3: {blip}");
        assert!(noise < 0.1, "pure noise cannot be decoded: {noise}");
    }
}
