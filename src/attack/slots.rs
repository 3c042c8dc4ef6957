//! Attacks on salt-slot schemas (`[[slots]]`, docs/schema.md), key-less.
//!
//! A slotted field stores one segment per slot: the slot tag (a keyed hash of the slot's salt,
//! the same in every field carrying the slot) and a filter salted by that salt. Filters of
//! different salt groups cannot be compared, but the tags are equality classes, and slots share
//! components (the phonetic name is in several slots):
//!
//! 1. **Tag chaining**: for each salt component C (e.g. `name.phonetic`, `dob.year`), two records
//!    with equal tags in any slot containing C have equal C. Union-find over the edges of every
//!    such slot gives classes of records with equal C: all of one person's records, and the
//!    persons that share C and one other component of a slot with it.
//! 2. **Frequency alignment** of the classes of a name's phonetic component against the public
//!    name lists: the attacker computes the phonetic key of every public name with the schema's
//!    public normalization and its expected frequency from the lists' weights. Classes, largest
//!    first (a class's persons: the most distinct tags any slot shows inside it, see [`persons`]),
//!    take the key with the most records left to place among those whose length (q-grams
//!    of its commonest spelling) fits the class's mean q-gram count, estimated from the
//!    popcounts of all the class's name filters (every slot, every record: many estimates); the
//!    guess is the key's commonest spelling, and the sex of the names holding it.
//! 3. **Profile matching inside a salt group** ([`super::profile`]): records sharing a slot tag
//!    have their name filters salted alike; groups large enough for profiles (20 records) are
//!    labelled like a year group of version 3, and such a label overrides the class's.
//!
//! 4. **Balanced filters** are read back unbalanced first ([`Unbalance`]): a bit and its
//!    complement sit at a fixed pair of positions (one keyed permutation per field), which many
//!    filters show as anti-correlated.
//!
//! A record's guesses from its different slots agree by construction: its class is one
//! (union-find over all slots holding the component). Everything is driven by the schema's slot
//! definitions (components by kind), never by slot or field names.

use std::collections::HashMap;

use crate::encode::tokens::{push_qgrams, Tokens};
use crate::normalize::name::phonetic_key;
use crate::schema::{FieldSlots, SaltPart, Schema};

use super::profile::{Candidates, Overlap};

/// Per slot, per record: the slot tag (0 = none). `row(field, record)` gives a field's stored
/// words; a record's tag is read from the first field carrying the slot.
#[allow(clippy::needless_range_loop)] // r indexes the row source and every slot's column
pub fn tags(
    schema: &Schema,
    segs: &[FieldSlots],
    n: usize,
    row: &dyn Fn(usize, usize) -> Option<Vec<u64>>,
) -> Vec<Vec<u64>> {
    let mut out = vec![vec![0u64; n]; schema.slots.len()];
    for (fi, fs) in segs.iter().enumerate() {
        if fs.slots.is_empty() {
            continue;
        }
        for r in 0..n {
            let Some(w) = row(fi, r) else { continue };
            for (j, &si) in fs.slots.iter().enumerate() {
                let t = &mut out[si][r];
                if *t == 0 {
                    *t = w.get(j * fs.segment_words).copied().unwrap_or(0);
                }
            }
        }
    }
    out
}

/// A salt component and the slots holding it.
#[derive(Debug, Clone)]
pub struct Component {
    /// As the schema spells it (e.g. `dob.year`): a schema string, never a value.
    pub label: String,
    /// The component.
    pub part: SaltPart,
    /// Schema slot indices holding it.
    pub slots: Vec<usize>,
}

/// The distinct components of the schema's slots.
pub fn components(schema: &Schema) -> Vec<Component> {
    let mut out: Vec<Component> = Vec::new();
    for (si, s) in schema.slots.iter().enumerate() {
        let Ok(parts) = s.parts(schema) else { continue };
        for (p, label) in parts.into_iter().zip(&s.salt) {
            match out.iter_mut().find(|c| c.part == p) {
                Some(c) => c.slots.push(si),
                None => out.push(Component {
                    label: label.clone(),
                    part: p,
                    slots: vec![si],
                }),
            }
        }
    }
    out
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn find(&mut self, x: usize) -> usize {
        let mut r = x;
        while self.0[r] as usize != r {
            r = self.0[r] as usize;
        }
        let mut x = x;
        while self.0[x] as usize != r {
            let next = self.0[x] as usize;
            self.0[x] = r as u32;
            x = next;
        }
        r
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            // The smaller index is the root: classes do not depend on the order of unions.
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            self.0[hi] = lo as u32;
        }
    }
}

/// Tag chaining: per record, its class of equal component (the class's smallest record), or
/// `None` when the record holds none of the component's slots.
pub fn chain(tags: &[Vec<u64>], slots: &[usize], n: usize) -> Vec<Option<usize>> {
    let mut uf = UnionFind((0..n as u32).collect());
    let mut has = vec![false; n];
    for &si in slots {
        let mut first: HashMap<u64, usize> = HashMap::new();
        for (r, &t) in tags[si].iter().enumerate() {
            if t == 0 {
                continue;
            }
            has[r] = true;
            match first.get(&t) {
                Some(&f) => uf.union(f, r),
                None => {
                    first.insert(t, r);
                }
            }
        }
    }
    (0..n).map(|r| has[r].then(|| uf.find(r))).collect()
}

/// Class structure of one component: counts only.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct ClassStats {
    /// The component (a schema string).
    pub component: String,
    /// Records holding at least one slot with it.
    pub records: usize,
    /// Classes after chaining.
    pub classes: usize,
    /// Records in the largest class.
    pub largest: usize,
    /// Mean class size seen by a record.
    pub mean_seen: f64,
}

/// The [`ClassStats`] of a chaining.
pub fn stats(label: &str, class_of: &[Option<usize>]) -> ClassStats {
    let mut size: HashMap<usize, usize> = HashMap::new();
    for c in class_of.iter().flatten() {
        *size.entry(*c).or_insert(0) += 1;
    }
    let records: usize = size.values().sum();
    let sq: usize = size.values().map(|s| s * s).sum();
    ClassStats {
        component: label.into(),
        records,
        classes: size.len(),
        largest: size.values().copied().max().unwrap_or(0),
        mean_seen: if records == 0 {
            0.0
        } else {
            sq as f64 / records as f64
        },
    }
}

/// One public phonetic key: its commonest spelling, expected share and sex.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// The commonest spelling's words, sorted.
    pub words: Vec<String>,
    /// Share of the public names holding the key.
    pub share: f64,
    /// Distinct q-grams of the commonest spelling.
    pub qgrams: f64,
    /// Those q-grams, as sorted ids (ids shared by all keys of one [`public_keys`] call).
    pub qset: Vec<u32>,
    /// Share of women among the names holding it (None: unknown).
    pub female: Option<f64>,
}

/// Distinct q-grams of a value's words (as the name filter holds them).
pub fn qgram_count(words: &[String], q: usize) -> usize {
    let mut t = Tokens::default();
    for w in words {
        push_qgrams(w, q, &mut t);
    }
    let mut v: Vec<&[u8]> = t.iter().collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

/// The public keys of a name sample, commonest first.
pub fn public_keys(sample: &[(Vec<String>, Option<bool>)], q: usize) -> Vec<PublicKey> {
    struct Acc {
        count: usize,
        spellings: HashMap<Vec<String>, usize>,
        female: usize,
        known: usize,
    }
    let mut by: HashMap<String, Acc> = HashMap::new();
    for (tokens, female) in sample {
        if tokens.is_empty() {
            continue;
        }
        let a = by.entry(phonetic_key(tokens)).or_insert_with(|| Acc {
            count: 0,
            spellings: HashMap::new(),
            female: 0,
            known: 0,
        });
        a.count += 1;
        let mut s = tokens.clone();
        s.sort_unstable();
        s.dedup();
        *a.spellings.entry(s).or_insert(0) += 1;
        if let Some(f) = female {
            a.known += 1;
            a.female += usize::from(*f);
        }
    }
    let total = sample.len().max(1) as f64;
    let mut ids: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut by: Vec<(String, Acc)> = by.into_iter().collect();
    by.sort_by(|a, b| a.0.cmp(&b.0));
    let mut keys: Vec<(usize, String, PublicKey)> = by
        .into_iter()
        .map(|(k, a)| {
            let (words, _) = a
                .spellings
                .into_iter()
                .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(&x.0)))
                .expect("a key has a spelling");
            let qgrams = qgram_count(&words, q) as f64;
            let mut t = Tokens::default();
            for w in &words {
                push_qgrams(w, q, &mut t);
            }
            let mut qset: Vec<u32> = t
                .iter()
                .map(|g| {
                    let next = ids.len() as u32;
                    *ids.entry(g.to_vec()).or_insert(next)
                })
                .collect();
            qset.sort_unstable();
            qset.dedup();
            (
                a.count,
                k,
                PublicKey {
                    words,
                    share: a.count as f64 / total,
                    qgrams,
                    qset,
                    female: (a.known > 0).then(|| a.female as f64 / a.known as f64),
                },
            )
        })
        .collect();
    keys.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    keys.into_iter().map(|x| x.2).collect()
}

/// Error (standard deviation, in q-grams) of one filter's q-gram count estimate.
const COUNT_SIGMA: f64 = 0.8;
/// Slack for the spellings a phonetic key holds (their q-gram counts differ).
const SPELLING_SLACK: f64 = 0.5;

/// Persons a class holds, estimated without the key: the most distinct tags any slot shows inside
/// the class. In a slot holding the component, persons sharing it differ in the slot's other
/// component while one person's records share it; in a slot without it (the same birth date, say)
/// one person's records mostly share a tag too. So a class taken from a single slot's group (a
/// component held by one slot only, which does not chain) still has its persons counted through
/// the other slots its records carry: a record joins the groups of all its slots.
pub fn persons(class_of: &[Option<usize>], tags: &[Vec<u64>]) -> HashMap<usize, f64> {
    let mut per: HashMap<usize, Vec<f64>> = HashMap::new();
    for slot in tags {
        let mut seen: std::collections::HashSet<(usize, u64)> = Default::default();
        let mut count: HashMap<usize, usize> = HashMap::new();
        for (r, c) in class_of.iter().enumerate() {
            let (Some(c), t) = (c, slot[r]) else {
                continue;
            };
            if t != 0 && seen.insert((*c, t)) {
                *count.entry(*c).or_insert(0) += 1;
            }
        }
        for (c, k) in count {
            per.entry(c).or_default().push(k as f64);
        }
    }
    let mut out: HashMap<usize, f64> = per
        .into_iter()
        .map(|(c, v)| {
            // The most distinct tags any slot shows (the median and the least measured worse:
            // one person's records with a date error split a slot, but persons sharing a
            // name and a year (say) merge one).
            let x = v.iter().copied().fold(1.0, f64::max);
            (c, x)
        })
        .collect();
    for c in class_of.iter().flatten() {
        out.entry(*c).or_insert(1.0);
    }
    out
}

/// Frequency alignment of a phonetic component's classes (see the module doc). `qgrams[r]`:
/// record r's q-gram count estimates (one per name filter it holds); `persons`: each class's
/// estimated persons ([`persons`]). Returns per record the index of its key in `keys` and the
/// confidence (its class's persons, then the fit of its length).
pub fn align(
    class_of: &[Option<usize>],
    qgrams: &[Vec<f64>],
    persons: &HashMap<usize, f64>,
    keys: &[PublicKey],
) -> Vec<Option<(usize, f64)>> {
    let n = class_of.len();
    // Per class: sum and count of q-gram estimates.
    let mut acc: HashMap<usize, (f64, usize)> = HashMap::new();
    for r in 0..n {
        if let Some(c) = class_of[r] {
            let a = acc.entry(c).or_insert((0.0, 0));
            a.0 += qgrams[r].iter().sum::<f64>();
            a.1 += qgrams[r].len();
        }
    }
    let total: f64 = acc.keys().map(|c| persons[c]).sum();
    let mut classes: Vec<(usize, f64, f64, usize)> = acc
        .into_iter()
        .map(|(c, (s, k))| (c, persons[&c], s / k.max(1) as f64, k))
        .collect();
    classes.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut remaining: Vec<f64> = keys.iter().map(|k| k.share * total).collect();
    let mut label: HashMap<usize, (usize, f64)> = HashMap::new();
    for &(c, size, mean, k) in &classes {
        // No estimate (e.g. balanced filters, whose popcount says nothing): no length constraint.
        let sd = if k == 0 {
            f64::INFINITY
        } else {
            SPELLING_SLACK + COUNT_SIGMA / (k as f64).sqrt()
        };
        let need = ALIGN_NEED * size;
        let mut best: Option<(f64, usize)> = None;
        for (ki, key) in keys.iter().enumerate() {
            let d = (key.qgrams - mean) / sd;
            if d.abs() > 2.5 || remaining[ki] < need {
                continue;
            }
            let score = remaining[ki].ln() - 0.5 * d * d;
            if best.is_none_or(|b| score > b.0) {
                best = Some((score, ki));
            }
        }
        if let Some((_, ki)) = best {
            remaining[ki] -= size * ALIGN_CONSUME;
            label.insert(c, (ki, size));
        }
    }
    class_of
        .iter()
        .map(|c| c.and_then(|c| label.get(&c).copied()))
        .collect()
}

/// Share of a class's persons a key must still have unplaced to take it.
const ALIGN_NEED: f64 = 1.0;
/// Share of a class's persons taken from its key's unplaced ones.
const ALIGN_CONSUME: f64 = 1.0;

/// Estimated shared q-grams between the names of two classes, from the pairs of their records
/// that share a salt group of a slot *not* holding the name's component (the same birth date,
/// say): inside it both names are salted alike, so their filters' overlap estimates the q-grams
/// they share, however small the group. Per class pair: (sum of estimates, number).
pub type Edges = HashMap<(usize, usize), (f64, usize)>;

/// The [`Edges`] of the slots `slots` (each: its tags, and `filter(r, si)`: record r's filter in
/// slot si). Groups larger than `max_group` are skipped (pairs grow quadratically; such groups
/// are rare by construction).
pub fn edges(
    class_of: &[Option<usize>],
    tags: &[Vec<u64>],
    slots: &[usize],
    filter: &dyn Fn(usize, usize) -> Option<Vec<u64>>,
    ov: &Overlap,
    max_group: usize,
) -> Edges {
    let mut out: Edges = HashMap::new();
    for &si in slots {
        let mut groups: HashMap<u64, Vec<usize>> = HashMap::new();
        for (r, &t) in tags[si].iter().enumerate() {
            if t != 0 && class_of[r].is_some() {
                groups.entry(t).or_default().push(r);
            }
        }
        let mut keys: Vec<u64> = groups.keys().copied().collect();
        keys.sort_unstable();
        for t in keys {
            let m = &groups[&t];
            if m.len() < 2 || m.len() > max_group {
                continue;
            }
            let first = class_of[m[0]];
            if m.iter().all(|&r| class_of[r] == first) {
                continue;
            }
            let fs: Vec<(usize, Vec<u64>, (f64, f64))> = m
                .iter()
                .filter_map(|&r| {
                    let f = filter(r, si)?;
                    let own = ov.own(&f);
                    Some((class_of[r]?, f, own))
                })
                .collect();
            for i in 0..fs.len() {
                for j in i + 1..fs.len() {
                    let (a, b) = (fs[i].0, fs[j].0);
                    if a == b {
                        continue;
                    }
                    let x = ov.shared(&fs[i].1, &fs[j].1, fs[i].2, fs[j].2);
                    let e = out.entry((a.min(b), a.max(b))).or_insert((0.0, 0));
                    e.0 += x;
                    e.1 += 1;
                }
            }
        }
    }
    out
}

/// Error (standard deviation, in q-grams) of one shared-count estimate between two filters.
const EDGE_SIGMA: f64 = 1.0;
/// Squared residual (in units of 2σ²) at which one anchor's disagreement stops counting more.
const EDGE_CAP: f64 = 6.0;
/// Keys (commonest first) considered in trilateration.
const TRI_KEYS: usize = 8000;
/// Persons a class needs for its alignment label to anchor the first round.
const ANCHOR_PERSONS: f64 = 3.0;
/// Log-likelihood margin that makes a trilaterated class an anchor of the next round.
const ANCHOR_MARGIN: f64 = 3.0;

/// Rows of expected shared counts held at once in [`trilaterate`] (each: one anchor key against
/// the [`TRI_KEYS`] candidates, 8 bytes a key: 2048 rows of 8000 keys are 128 MiB).
const TRI_ROWS: usize = 2048;

/// A class's trilateration in one round: the best key, its log-likelihood and the runner-up's.
#[derive(Debug, Clone, Copy)]
struct TriBest {
    key: u32,
    ll: f64,
    second: f64,
}

/// A class taking part in trilateration (it has edges).
struct TriClass {
    /// The class (its smallest record).
    id: usize,
    /// Mean q-gram estimate and its spread (see [`align`]).
    mean: f64,
    sd: f64,
    /// Estimated persons.
    persons: f64,
    /// Neighbours in class order: (dense index, mean shared estimate, variance term).
    near: Vec<(u32, f64, f64)>,
}

/// No anchor key.
const NO_KEY: u32 = u32::MAX;

/// What trilateration starts from: per class its summed q-gram counts and their number, its
/// label (from the records' labels), and its neighbours (class, mean shared count, records).
struct TriInputs {
    len: HashMap<usize, (f64, usize)>,
    label: HashMap<usize, (usize, f64)>,
    adj: HashMap<usize, Vec<(usize, f64, usize)>>,
}

impl TriInputs {
    fn of(
        class_of: &[Option<usize>],
        qgrams: &[Vec<f64>],
        labels: &[Option<(usize, f64)>],
        edges: &Edges,
    ) -> TriInputs {
        let mut len: HashMap<usize, (f64, usize)> = HashMap::new();
        let mut label: HashMap<usize, (usize, f64)> = HashMap::new();
        for (r, c) in class_of.iter().enumerate() {
            if let Some(c) = *c {
                let a = len.entry(c).or_insert((0.0, 0));
                a.0 += qgrams[r].iter().sum::<f64>();
                a.1 += qgrams[r].len();
                if let Some(l) = labels[r] {
                    label.insert(c, l);
                }
            }
        }
        let mut adj: HashMap<usize, Vec<(usize, f64, usize)>> = HashMap::new();
        for (&(a, b), &(sum, k)) in edges {
            adj.entry(a).or_default().push((b, sum / k as f64, k));
            adj.entry(b).or_default().push((a, sum / k as f64, k));
        }
        TriInputs { len, label, adj }
    }
}

/// Trilateration across classes: a class with edges ([`edges`]) to anchor classes (labelled
/// with confidence) takes the key whose q-gram overlaps with the anchors' keys fit the estimated
/// shared counts best, weighed with the key's public frequency and its length's fit; labels so
/// found with a clear margin anchor the next round. `labels` (per record, from [`align`]) are
/// updated in place where trilateration finds a key.
///
/// Each round is a Jacobi update (every class reads the previous round's anchors), so the classes
/// are scored in parallel and the results applied in class order; a class is scored again only
/// when one of its neighbours' anchor keys changed (its score depends on nothing else). The
/// expected shared counts of an anchor key against every candidate are computed once per batch of
/// classes (at most [`TRI_ROWS`] keys), not per class. Every sum runs in the same order as the
/// plain loop over classes, keys and neighbours: the labels do not depend on the thread count.
pub fn trilaterate(t: &Trilateration<'_>, labels: &mut [Option<(usize, f64)>], rounds: usize) {
    trilaterate_rows(t, labels, rounds, TRI_ROWS);
}

/// What trilateration reads: per record its class ([`chain`]) and q-gram count estimates, per
/// class its persons ([`persons`]), the public keys, the edges between classes ([`edges`]) and
/// the overlap model.
#[derive(Clone, Copy)]
pub struct Trilateration<'a> {
    /// Per record: its class.
    pub class_of: &'a [Option<usize>],
    /// Per record: the q-gram counts its filters estimate.
    pub qgrams: &'a [Vec<f64>],
    /// Per class: its persons.
    pub persons: &'a HashMap<usize, f64>,
    /// The public keys labels point into.
    pub keys: &'a [PublicKey],
    /// Estimated shared counts between classes.
    pub edges: &'a Edges,
    /// The overlap model of the field's filters.
    pub ov: &'a Overlap,
}

/// [`trilaterate`] holding at most `max_rows` rows at once (more for a class whose own anchors
/// need more).
fn trilaterate_rows(
    t: &Trilateration<'_>,
    labels: &mut [Option<(usize, f64)>],
    rounds: usize,
    max_rows: usize,
) {
    use rayon::prelude::*;

    let Trilateration {
        class_of,
        qgrams,
        persons,
        keys,
        edges,
        ov,
    } = *t;

    let n = class_of.len();
    let TriInputs {
        len,
        mut label,
        mut adj,
    } = TriInputs::of(class_of, qgrams, labels, edges);
    let mut ids: Vec<usize> = adj.keys().copied().collect();
    ids.sort_unstable();
    let index: HashMap<usize, u32> = ids
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, i as u32))
        .collect();
    let classes: Vec<TriClass> = ids
        .iter()
        .map(|&c| {
            let (ls, lk) = len.get(&c).copied().unwrap_or((0.0, 0));
            let mut near: Vec<(usize, f64, usize)> = adj.remove(&c).unwrap_or_default();
            // Neighbours in class order: a class's log-likelihood sums their terms in this order.
            near.sort_unstable_by_key(|x| x.0);
            TriClass {
                id: c,
                mean: ls / lk.max(1) as f64,
                sd: if lk == 0 {
                    f64::INFINITY
                } else {
                    SPELLING_SLACK + COUNT_SIGMA / (lk as f64).sqrt()
                },
                persons: persons[&c],
                near: near
                    .into_iter()
                    .map(|(o, s, k)| (index[&o], s, 2.0 * EDGE_SIGMA * EDGE_SIGMA / k as f64))
                    .collect(),
            }
        })
        .collect();
    // Anchors (their keys) of the first round: labels of classes with persons enough.
    let mut anchor: Vec<u32> = classes
        .iter()
        .map(|c| match label.get(&c.id) {
            Some(&(k, _)) if c.persons >= ANCHOR_PERSONS => k as u32,
            _ => NO_KEY,
        })
        .collect();
    let top = keys.len().min(TRI_KEYS);
    let share_ln: Vec<f64> = keys[..top].iter().map(|k| k.share.ln()).collect();
    // Per q-gram id, the candidate keys holding it.
    let mut postings: Vec<Vec<u32>> = Vec::new();
    for (ki, key) in keys[..top].iter().enumerate() {
        for &g in &key.qset {
            if postings.len() <= g as usize {
                postings.resize(g as usize + 1, Vec::new());
            }
            postings[g as usize].push(ki as u32);
        }
    }
    // One anchor key's expected shared counts with every candidate.
    let row = |ko: usize| -> Vec<f64> {
        let mut inter = vec![0u32; top];
        for &g in &keys[ko].qset {
            for &ki in postings.get(g as usize).map_or(&[][..], Vec::as_slice) {
                inter[ki as usize] += 1;
            }
        }
        inter
            .iter()
            .zip(&keys[..top])
            .map(|(&e, key)| ov.expected_shared(e as f64, key.qgrams, keys[ko].qgrams))
            .collect()
    };
    let mut best: Vec<Option<TriBest>> = vec![None; classes.len()];
    let mut dirty = vec![true; classes.len()];
    // Rows kept across batches and rounds (a row depends on its key only): per key its slot,
    // per slot its key and row.
    let mut slot = vec![u32::MAX; keys.len()];
    let mut cached: Vec<(usize, Vec<f64>)> = Vec::new();
    // Per key, the last batch that needs it.
    let mut batch_of = vec![usize::MAX; keys.len()];
    let mut batch = 0usize;
    for _ in 0..rounds {
        let anchors_of = |i: usize| -> Vec<usize> {
            let mut f: Vec<usize> = classes[i]
                .near
                .iter()
                .map(|&(o, _, _)| anchor[o as usize])
                .filter(|&ko| ko != NO_KEY)
                .map(|ko| ko as usize)
                .collect();
            f.sort_unstable();
            f.dedup();
            f
        };
        // Classes to score, by their rarest anchor key: a batch's classes then share most keys
        // (the order of scoring does not change a class's score).
        let mut todo: Vec<(usize, usize)> = (0..classes.len())
            .filter(|&i| dirty[i])
            .map(|i| (anchors_of(i).last().copied().unwrap_or(0), i))
            .collect();
        todo.sort_unstable();
        let todo: Vec<usize> = todo.into_iter().map(|x| x.1).collect();
        let mut start = 0;
        while start < todo.len() {
            // A batch of classes whose anchor keys fit in `max_rows` rows.
            let mut used = 0usize;
            let mut end = start;
            while end < todo.len() {
                let fresh: Vec<usize> = anchors_of(todo[end])
                    .into_iter()
                    .filter(|&ko| batch_of[ko] != batch)
                    .collect();
                if end > start && used + fresh.len() > max_rows {
                    break;
                }
                used += fresh.len();
                for ko in fresh {
                    batch_of[ko] = batch;
                }
                end += 1;
            }
            // Missing rows: computed, and put in free slots or in place of rows this batch does
            // not need.
            let mut missing: Vec<usize> = todo[start..end]
                .iter()
                .flat_map(|&i| anchors_of(i))
                .filter(|&ko| slot[ko] == u32::MAX)
                .collect();
            missing.sort_unstable();
            missing.dedup();
            let fresh_rows: Vec<Vec<f64>> = missing.par_iter().map(|&ko| row(ko)).collect();
            let mut victim = 0usize;
            for (ko, r) in missing.into_iter().zip(fresh_rows) {
                while victim < cached.len() && batch_of[cached[victim].0] == batch {
                    victim += 1;
                }
                if cached.len() < max_rows || victim == cached.len() {
                    slot[ko] = cached.len() as u32;
                    cached.push((ko, r));
                } else {
                    slot[cached[victim].0] = u32::MAX;
                    slot[ko] = victim as u32;
                    cached[victim] = (ko, r);
                    victim += 1;
                }
            }
            let got: Vec<Option<TriBest>> = todo[start..end]
                .par_iter()
                .map_init(
                    || vec![0f64; top],
                    |ll, &i| {
                        let c = &classes[i];
                        let near: Vec<(&[f64], f64, f64)> = c
                            .near
                            .iter()
                            .filter_map(|&(o, s, var2)| {
                                let ko = anchor[o as usize];
                                (ko != NO_KEY).then(|| {
                                    (cached[slot[ko as usize] as usize].1.as_slice(), s, var2)
                                })
                            })
                            .collect();
                        if near.is_empty() {
                            return None;
                        }
                        score(c, &near, keys, &share_ln, ll)
                    },
                )
                .collect();
            for (&i, g) in todo[start..end].iter().zip(got) {
                best[i] = g;
            }
            batch += 1;
            start = end;
        }
        // Apply in class order.
        let mut next = anchor.clone();
        let mut changed = false;
        for (i, c) in classes.iter().enumerate() {
            let Some(b) = best[i] else { continue };
            let margin = b.ll - b.second;
            label.insert(c.id, (b.key as usize, c.persons + margin));
            if margin >= ANCHOR_MARGIN && next[i] != b.key {
                next[i] = b.key;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        for (i, c) in classes.iter().enumerate() {
            dirty[i] = c
                .near
                .iter()
                .any(|&(o, _, _)| next[o as usize] != anchor[o as usize]);
        }
        anchor = next;
    }
    for r in 0..n {
        if let Some(c) = class_of[r] {
            labels[r] = label.get(&c).copied();
        }
    }
}

/// Candidates scored together in [`score`] (a block is skipped when its best prior cannot reach
/// the runner-up found so far).
const SCORE_BLOCK: usize = 64;
/// Neighbour terms between two checks of a block's bound in [`score`].
const SCORE_CHECK: usize = 4;

/// One class's best key against its anchors' rows (`near`: row, mean shared estimate, variance
/// term, in neighbour order); `ll` is scratch of the candidates' length. Per key the sum runs in
/// the order of the plain loop (prior, then each neighbour's term in turn), and keys are taken in
/// order with the same comparisons, so best and runner-up are the plain loop's. Every term only
/// lowers a key's prior, so a key whose prior is below the runner-up found so far can neither
/// beat nor tie the final two (the best two of all keys, the best the first to reach its value):
/// such blocks are skipped, and so is the rest of a block that falls below it part way.
fn score(
    c: &TriClass,
    near: &[(&[f64], f64, f64)],
    keys: &[PublicKey],
    share_ln: &[f64],
    ll: &mut [f64],
) -> Option<TriBest> {
    for ((l, key), &sl) in ll.iter_mut().zip(keys).zip(share_ln) {
        let d = (key.qgrams - c.mean) / c.sd;
        // A key whose length does not fit never competes (no finite score beats −∞).
        *l = if d.abs() > 2.5 {
            f64::NEG_INFINITY
        } else {
            sl - 0.5 * d * d
        };
    }
    let mut best = (f64::NEG_INFINITY, usize::MAX);
    let mut second = f64::NEG_INFINITY;
    // NaN scores never compete: `max` ignores them.
    let top = |block: &[f64]| block.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    'blocks: for (b, block) in ll.chunks_mut(SCORE_BLOCK).enumerate() {
        if top(block) < second {
            continue;
        }
        let from = b * SCORE_BLOCK;
        for (t, &(row, s, var2)) in near.iter().enumerate() {
            for (l, &e) in block.iter_mut().zip(&row[from..]) {
                *l -= ((s - e).powi(2) / var2).min(EDGE_CAP);
            }
            // The same bound part way: the remaining terms only lower the block further.
            if t % SCORE_CHECK == SCORE_CHECK - 1 && top(block) < second {
                continue 'blocks;
            }
        }
        for (j, &l) in block.iter().enumerate() {
            if l > best.0 {
                second = best.0;
                best = (l, from + j);
            } else if l > second {
                second = l;
            }
        }
    }
    (best.1 != usize::MAX).then_some(TriBest {
        key: best.1 as u32,
        ll: best.0,
        second,
    })
}

/// Profile matching inside each salt group of one slot (records sharing its tag): per record,
/// its label (candidate index) and margin, for groups large enough. `filter(r)` is the record's
/// filter in that slot.
pub fn group_profiles(
    tags: &[u64],
    filter: &dyn Fn(usize) -> Option<Vec<u64>>,
    ov: &Overlap,
    cands: &Candidates,
    min_group: usize,
) -> Vec<Option<(usize, f64)>> {
    let mut groups: HashMap<u64, Vec<usize>> = HashMap::new();
    for (r, &t) in tags.iter().enumerate() {
        if t != 0 {
            groups.entry(t).or_default().push(r);
        }
    }
    let mut keys: Vec<u64> = groups
        .iter()
        .filter(|(_, m)| m.len() >= min_group)
        .map(|(&t, _)| t)
        .collect();
    keys.sort_unstable();
    let mut out = vec![None; tags.len()];
    for t in keys {
        let members = &groups[&t];
        let fs: Vec<(usize, Vec<u64>)> = members
            .iter()
            .filter_map(|&r| filter(r).map(|f| (r, f)))
            .collect();
        let refs: Vec<&[u64]> = fs.iter().map(|x| x.1.as_slice()).collect();
        let labels = super::profile::label(&refs, None, ov, cands);
        for ((r, _), l) in fs.iter().zip(labels) {
            if let Some(l) = l.filter(|l| l.residual <= 1.0 && l.margin >= 2.0) {
                out[*r] = Some((l.candidate, l.margin));
            }
        }
    }
    out
}

/// Balancing undone without the key. A balanced filter is the filter followed by its complement,
/// permuted by one keyed permutation per field (the same for every record and slot), so each bit
/// and its complement sit at a fixed pair of positions: over many filters the two are strongly
/// anti-correlated (BLIP only weakens it by (1 − 2p)²), and the original is the one set less often
/// (filters are under half full). [`Unbalance::apply`] then reads a balanced filter back as an
/// unbalanced one of half the width (its bits in pair order), whose popcount and overlaps the
/// attacks use as usual.
#[derive(Debug, Clone, PartialEq)]
pub struct Unbalance {
    /// Per pair, the position of the original bit.
    orig: Vec<usize>,
}

/// Filters sampled to find the pairs.
const UNBALANCE_SAMPLE: usize = 20_000;
/// Anti-correlation a pair needs (BLIP at ε = 3 leaves about 0.4).
const UNBALANCE_MIN_CORR: f64 = 0.2;

impl Unbalance {
    /// Finds the complement pairs of balanced filters of `width` bits (None when fewer than 8
    /// filters, or when the positions do not pair up mutually: not balanced).
    pub fn find(filters: &[&[u64]], width: usize) -> Option<Unbalance> {
        if filters.len() < 8 || !width.is_multiple_of(2) {
            return None;
        }
        let step = filters.len().div_ceil(UNBALANCE_SAMPLE);
        let sample: Vec<&[u64]> = filters.iter().step_by(step).copied().collect();
        let n = sample.len();
        let nw = n.div_ceil(64);
        // Column-major: per position, which sampled filters set it.
        let mut cols = vec![vec![0u64; nw]; width];
        let mut count = vec![0f64; width];
        for (r, f) in sample.iter().enumerate() {
            for (i, col) in cols.iter_mut().enumerate() {
                if f.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1) {
                    col[r / 64] |= 1 << (r % 64);
                    count[i] += 1.0;
                }
            }
        }
        let nf = n as f64;
        // Per position the partner with the most negative covariance.
        let mut best = vec![(f64::INFINITY, usize::MAX); width];
        for i in 0..width {
            for j in i + 1..width {
                let both: u32 = cols[i]
                    .iter()
                    .zip(&cols[j])
                    .map(|(a, b)| (a & b).count_ones())
                    .sum();
                let cov = both as f64 / nf - count[i] * count[j] / (nf * nf);
                if cov < best[i].0 {
                    best[i] = (cov, j);
                }
                if cov < best[j].0 {
                    best[j] = (cov, i);
                }
            }
        }
        let var = |i: usize| count[i] / nf * (1.0 - count[i] / nf);
        let mut orig = Vec::with_capacity(width / 2);
        for (i, &(cov, j)) in best.iter().enumerate() {
            if j == usize::MAX || best[j].1 != i {
                return None;
            }
            // A complement pair is clearly anti-correlated (−(1 − 2p)² before sampling error).
            let v = (var(i) * var(j)).sqrt();
            if v == 0.0 || cov / v > -UNBALANCE_MIN_CORR {
                return None;
            }
            if i < j {
                orig.push(if count[j] < count[i] { j } else { i });
            }
        }
        Some(Unbalance { orig })
    }

    /// Bits of the unbalanced filter.
    pub fn bits(&self) -> usize {
        self.orig.len()
    }

    /// The unbalanced filter of a balanced one: bit k is the original bit of pair k.
    pub fn apply(&self, f: &[u64]) -> Vec<u64> {
        let mut out = vec![0u64; self.orig.len().div_ceil(64)];
        for (k, &i) in self.orig.iter().enumerate() {
            if f.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1) {
                out[k / 64] |= 1 << (k % 64);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaining_joins_records_through_any_slot_holding_the_component() {
        // Slot 0 (holds C): records 0-1 share a tag; slot 1 (holds C): records 1-2; slot 2 (does
        // not hold C): records 2-3. Record 4 has no slot with C.
        let tags = vec![
            vec![7, 7, 0, 5, 0],
            vec![0, 9, 9, 0, 0],
            vec![0, 0, 4, 4, 3],
        ];
        let c = chain(&tags, &[0, 1], 5);
        assert_eq!(c, vec![Some(0), Some(0), Some(0), Some(3), None]);
        let s = stats("x", &c);
        assert_eq!((s.records, s.classes, s.largest), (4, 2, 3));
        assert!((s.mean_seen - 2.5).abs() < 1e-9);
        let all = chain(&tags, &[0, 1, 2], 5);
        assert_eq!(all, vec![Some(0), Some(0), Some(0), Some(0), Some(4)]);
    }

    #[test]
    fn a_one_slot_class_counts_its_persons_through_the_other_slots() {
        // Slot 0 holds the component alone (no chaining: a class is one group); slot 1 (the
        // date, say) does not hold it. Records 0-4 share slot 0's tag: three persons by their
        // slot-1 tags (records 0-1, 2-3 and 4). Record 5 is alone.
        let tags = vec![vec![7, 7, 7, 7, 7, 9], vec![1, 1, 2, 2, 3, 4]];
        let class_of = chain(&tags, &[0], 6);
        assert_eq!(stats("c", &class_of).largest, 5);
        let p = persons(&class_of, &tags);
        assert_eq!(p[&0], 3.0);
        assert_eq!(p[&5], 1.0);
        // Without the other slot the class would look like one person.
        let p = persons(&class_of, &tags[..1]);
        assert_eq!(p[&0], 1.0);
    }

    #[test]
    fn alignment_labels_the_largest_classes_by_the_commonest_fitting_keys() {
        let w = |s: &str| vec![s.to_string()];
        let mut sample = Vec::new();
        for _ in 0..60 {
            sample.push((w("sumarni"), Some(true)));
        }
        for _ in 0..30 {
            sample.push((w("ani"), Some(true)));
        }
        for _ in 0..10 {
            sample.push((w("sutrisno"), Some(false)));
        }
        let keys = public_keys(&sample, 2);
        assert_eq!(keys[0].words, w("sumarni"));
        // Classes: 0 (60 records, 8 q-grams), 1 (30 records, 4 q-grams), 2 (10 records, 9).
        let mut class_of = Vec::new();
        let mut qg = Vec::new();
        for (c, size, q) in [(0usize, 60, 8.0), (60, 30, 4.0), (90, 10, 9.0)] {
            for _ in 0..size {
                class_of.push(Some(c));
                qg.push(vec![q, q + 0.2]);
            }
        }
        let tags = vec![(0..100u64).map(|r| r + 1).collect::<Vec<u64>>()];
        let p = persons(&class_of, &tags);
        assert_eq!(p[&60], 30.0);
        let l = align(&class_of, &qg, &p, &keys);
        let word = |r: usize| keys[l[r].unwrap().0].words[0].clone();
        assert_eq!(word(0), "sumarni");
        assert_eq!(word(60), "ani");
        assert_eq!(word(95), "sutrisno");
        assert_eq!(keys[l[95].unwrap().0].female, Some(0.0));
    }

    /// The plain loop [`trilaterate`] must equal: every class, every key, every neighbour, every
    /// round, one class after the other.
    fn trilaterate_plain(
        t: &Trilateration<'_>,
        labels: &mut [Option<(usize, f64)>],
        rounds: usize,
    ) {
        let Trilateration {
            class_of,
            qgrams,
            persons,
            keys,
            edges,
            ov,
        } = *t;
        let n = class_of.len();
        let TriInputs {
            len,
            mut label,
            mut adj,
        } = TriInputs::of(class_of, qgrams, labels, edges);
        for v in adj.values_mut() {
            v.sort_unstable_by_key(|x| x.0);
        }
        let mut anchors: HashMap<usize, usize> = label
            .iter()
            .filter(|(c, _)| persons[*c] >= ANCHOR_PERSONS)
            .map(|(&c, &(k, _))| (c, k))
            .collect();
        let top = keys.len().min(TRI_KEYS);
        let mut classes: Vec<usize> = adj.keys().copied().collect();
        classes.sort_unstable();
        for _ in 0..rounds {
            let mut next = anchors.clone();
            let mut changed = false;
            for &c in &classes {
                let near: Vec<(usize, f64, usize)> = adj[&c]
                    .iter()
                    .filter_map(|&(o, s, k)| anchors.get(&o).map(|&ko| (ko, s, k)))
                    .collect();
                if near.is_empty() {
                    continue;
                }
                let (ls, lk) = len.get(&c).copied().unwrap_or((0.0, 0));
                let mean = ls / lk.max(1) as f64;
                let sd = if lk == 0 {
                    f64::INFINITY
                } else {
                    SPELLING_SLACK + COUNT_SIGMA / (lk as f64).sqrt()
                };
                let mut best = (f64::NEG_INFINITY, usize::MAX);
                let mut second = f64::NEG_INFINITY;
                for (ki, key) in keys[..top].iter().enumerate() {
                    let d = (key.qgrams - mean) / sd;
                    if d.abs() > 2.5 {
                        continue;
                    }
                    let mut ll = key.share.ln() - 0.5 * d * d;
                    for &(ko, s, k) in &near {
                        let e = inter_sorted(&key.qset, &keys[ko].qset) as f64;
                        let e = ov.expected_shared(e, key.qgrams, keys[ko].qgrams);
                        let var2 = 2.0 * EDGE_SIGMA * EDGE_SIGMA / k as f64;
                        ll -= ((s - e).powi(2) / var2).min(EDGE_CAP);
                    }
                    if ll > best.0 {
                        second = best.0;
                        best = (ll, ki);
                    } else if ll > second {
                        second = ll;
                    }
                }
                if best.1 == usize::MAX {
                    continue;
                }
                let margin = best.0 - second;
                let conf = persons[&c] + margin;
                label.insert(c, (best.1, conf));
                if margin >= ANCHOR_MARGIN && next.get(&c) != Some(&best.1) {
                    next.insert(c, best.1);
                    changed = true;
                }
            }
            anchors = next;
            if !changed {
                break;
            }
        }
        for r in 0..n {
            if let Some(c) = class_of[r] {
                labels[r] = label.get(&c).copied();
            }
        }
    }

    fn inter_sorted(a: &[u32], b: &[u32]) -> usize {
        let (mut i, mut j, mut n) = (0, 0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    n += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        n
    }

    /// A made-up population of classes: names of a small alphabet (many shared bigrams), classes
    /// of two records, some aligned, edges whose shared counts follow the true names with noise.
    #[allow(clippy::type_complexity)]
    fn tri_case(
        per_value: usize,
    ) -> (
        Vec<Option<usize>>,
        Vec<Vec<f64>>,
        HashMap<usize, f64>,
        Vec<PublicKey>,
        Edges,
        Overlap,
        Vec<Option<(usize, f64)>>,
    ) {
        let mut state = 0x2545_f491_4f6c_dd1du64 ^ per_value as u64;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let letters = b"aeiknrsu";
        let mut sample = Vec::new();
        for i in 0..300usize {
            let l = 3 + (rnd() % 7) as usize;
            let w: String = (0..l)
                .map(|_| letters[(rnd() % letters.len() as u64) as usize] as char)
                .collect();
            for _ in 0..1 + 300 / (i + 1) {
                sample.push((vec![w.clone()], Some(rnd() % 2 == 0)));
            }
        }
        let keys = public_keys(&sample, 2);
        let ov = Overlap {
            bits: 512,
            hashes: 10,
            noise: 0.02,
            per_value,
        };
        let classes = 300usize;
        let truth: Vec<usize> = (0..classes)
            .map(|_| (rnd() % keys.len() as u64) as usize % (1 + (rnd() % 60) as usize))
            .collect();
        let mut class_of = Vec::new();
        let mut qgrams = Vec::new();
        let mut labels = Vec::new();
        let mut persons = HashMap::new();
        for (c, &t) in truth.iter().enumerate() {
            let aligned = rnd() % 10 < 4;
            let wrong = rnd() % 5 == 0;
            persons.insert(2 * c, 1.0 + (rnd() % 6) as f64);
            for _ in 0..2 {
                class_of.push(Some(2 * c));
                qgrams.push(if per_value == 0 && rnd() % 4 != 0 {
                    vec![keys[t].qgrams + (rnd() % 100) as f64 / 100.0 - 0.5]
                } else {
                    Vec::new()
                });
                labels.push(aligned.then(|| (if wrong { (t + 1) % keys.len() } else { t }, 2.0)));
            }
        }
        // Records without a class.
        class_of.push(None);
        qgrams.push(Vec::new());
        labels.push(None);
        let mut edges = Edges::new();
        for _ in 0..3 * classes {
            let (a, b) = (
                (rnd() % classes as u64) as usize,
                (rnd() % classes as u64) as usize,
            );
            if a == b {
                continue;
            }
            let e = inter_sorted(&keys[truth[a]].qset, &keys[truth[b]].qset) as f64;
            let e = ov.expected_shared(e, keys[truth[a]].qgrams, keys[truth[b]].qgrams);
            let k = 1 + (rnd() % 3) as usize;
            let sum = (0..k)
                .map(|_| e + (rnd() % 100) as f64 / 50.0 - 1.0)
                .sum::<f64>();
            edges.insert((2 * a.min(b), 2 * a.max(b)), (sum, k));
        }
        (class_of, qgrams, persons, keys, edges, ov, labels)
    }

    #[test]
    fn trilateration_equals_the_plain_loop_whatever_the_threads_and_batches() {
        let bits = |l: &[Option<(usize, f64)>]| -> Vec<Option<(usize, u64)>> {
            l.iter().map(|x| x.map(|(k, c)| (k, c.to_bits()))).collect()
        };
        for per_value in [0, 40] {
            let (class_of, qgrams, persons, keys, edges, ov, start) = tri_case(per_value);
            let t = Trilateration {
                class_of: &class_of,
                qgrams: &qgrams,
                persons: &persons,
                keys: &keys,
                edges: &edges,
                ov: &ov,
            };
            let mut want = start.clone();
            trilaterate_plain(&t, &mut want, 4);
            // The case is not idle: trilateration labels classes alignment left out, and later
            // rounds (anchors found in earlier ones) change labels.
            let found = (0..start.len())
                .filter(|&r| start[r].is_none() && want[r].is_some())
                .count();
            assert!(found > 50, "per_value {per_value}: {found} labelled");
            let mut one = start.clone();
            trilaterate_plain(&t, &mut one, 1);
            assert_ne!(bits(&one), bits(&want), "per_value {per_value}");
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                for max_rows in [1, 3, TRI_ROWS] {
                    let mut got = start.clone();
                    pool.install(|| trilaterate_rows(&t, &mut got, 4, max_rows));
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "per_value {per_value}, {threads} threads, {max_rows} rows"
                    );
                }
            }
        }
    }

    #[test]
    fn balancing_is_undone_from_the_filters_alone() {
        // Filters of 128 bits with 20-60 bits set, balanced (filter ‖ complement) and permuted by
        // one permutation, then BLIP-flipped with p = 0.15: the pairs are found and each
        // unbalanced filter's popcount follows the original's.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (bits, width) = (128usize, 256usize);
        let mut perm: Vec<usize> = (0..width).collect();
        for i in (1..width).rev() {
            perm.swap(i, (rnd() % (i as u64 + 1)) as usize);
        }
        let mut originals = Vec::new();
        let mut stored = Vec::new();
        for _ in 0..3000 {
            let set = 20 + (rnd() % 41) as usize;
            let mut f = vec![false; bits];
            for _ in 0..set {
                f[(rnd() % bits as u64) as usize] = true;
            }
            let mut w = vec![0u64; width / 64];
            for (i, &p) in perm.iter().enumerate() {
                let mut b = if i < bits { f[i] } else { !f[i - bits] };
                if rnd() % 100 < 15 {
                    b = !b;
                }
                if b {
                    w[p / 64] |= 1 << (p % 64);
                }
            }
            originals.push(f);
            stored.push(w);
        }
        let refs: Vec<&[u64]> = stored.iter().map(Vec::as_slice).collect();
        let u = Unbalance::find(&refs, width).expect("balanced filters pair up");
        assert_eq!(u.bits(), bits);
        // Every original position is found, as the original (not the complement).
        let mut found: Vec<usize> = u.orig.clone();
        found.sort_unstable();
        let mut want: Vec<usize> = perm[..bits].to_vec();
        want.sort_unstable();
        assert_eq!(found, want);
        // Popcounts now follow the name's length (they were constant before the noise).
        let pc = |w: &[u64]| w.iter().map(|x| x.count_ones()).sum::<u32>() as f64;
        let (mut sxy, mut sx, mut sy, mut sxx, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (f, w) in originals.iter().zip(&stored) {
            let x = f.iter().filter(|&&b| b).count() as f64;
            let y = pc(&u.apply(w));
            sxy += x * y;
            sx += x;
            sy += y;
            sxx += x * x;
            syy += y * y;
        }
        let n = originals.len() as f64;
        let r = (n * sxy - sx * sy) / ((n * sxx - sx * sx) * (n * syy - sy * sy)).sqrt();
        assert!(r > 0.8, "popcount correlation {r}");
        // Unbalanced filters do not pair up.
        let plain: Vec<Vec<u64>> = originals
            .iter()
            .map(|f| {
                let mut w = vec![0u64; width / 64];
                for (i, &b) in f.iter().enumerate() {
                    if b {
                        w[perm[i] / 64] |= 1 << (perm[i] % 64);
                    }
                }
                w
            })
            .collect();
        let refs: Vec<&[u64]> = plain.iter().map(Vec::as_slice).collect();
        assert_eq!(Unbalance::find(&refs, width), None);
    }
}
