//! Blocking: candidate pairs from the union of keyed-token blocks and Hamming LSH bands on the
//! record-level filter, generated block by block without ever holding every pair at once.
//!
//! - **Token blocks**: records sharing a keyed exact token (passport digits, NIK, name, full date)
//!   or a keyed blocking key (date of birth + sex, phonetic name + birth year) form a block.
//! - **LSH**: for each of `lsh_bands` bands, `lsh_bits` bit positions of the record filter are
//!   sampled (seeded, so deterministic); records whose sampled bits are all equal share a bucket.
//!   Two filters agreeing on a fraction `s` of their bits collide in one band with probability
//!   `s^bits`, in at least one band with `1 − (1 − s^bits)^bands`.
//!
//! - **Meta-blocking (top-k neighbours)**: weak LSH bands (`knn_bands` of `knn_bits` bits, many
//!   more collisions than the strict bands) and the token blocks skipped for size or budget
//!   *propose* neighbours; each record keeps the `knn_k` proposed records whose record filter is
//!   closest by Dice (ties: the lower record index), and the union of every record's top k joins
//!   the candidates (Cardinality Node Pruning with the exact similarity as the weight). Large
//!   blocks then feed the ranking instead of being dropped, and noisy pairs that share no token
//!   and collide in no strict band are found when they are each other's near neighbours.
//!
//! A block larger than `max_block_size` is skipped and counted (a warning names its kind and size,
//! never its key): such a block is too common to tell people apart. Pairs inside one agency are
//! kept only when `within_agency` is on.
//!
//! [`Blocks`] holds every block as a list of members (block ids in a fixed order: kind, then key)
//! and, per record, the ascending ids of the blocks it belongs to. A pair found in several blocks
//! is *owned* by the first block holding both records (the smallest shared id), and only its owner
//! emits it. So candidates are distinct without a global sort and deduplication, can be compared
//! block by block (the block's records stay in cache), and their order depends only on the input
//! and the config, never on the thread count.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::config::BlockingConfig;
use super::records::{Records, TokenColumn};

/// A candidate pair of global record indices, `a < b`, packed as `a << 32 | b`.
pub type PairKey = u64;

/// Packs a pair.
#[inline]
pub fn pack(a: u32, b: u32) -> PairKey {
    ((a as u64) << 32) | b as u64
}

/// Unpacks a pair.
#[inline]
pub fn unpack(k: PairKey) -> (u32, u32) {
    ((k >> 32) as u32, k as u32)
}

/// A large block, for the stats (kind and size only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub struct BlockSize {
    /// Block kind (column name, or `lsh`).
    pub kind: String,
    /// Records in it.
    pub size: u64,
}

/// What blocking did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BlockingStats {
    /// Distinct candidate pairs.
    pub candidates: u64,
    /// Pairs each block kind produced (before deduplication across kinds).
    pub candidates_by_block: BTreeMap<String, u64>,
    /// All pairs that could be compared (under the within-agency setting).
    pub possible_pairs: u64,
    /// 1 − candidates / possible pairs.
    #[serde(deserialize_with = "crate::io::manifest::nan_if_null")]
    pub reduction_ratio: f64,
    /// The largest blocks compared.
    pub largest_blocks: Vec<BlockSize>,
    /// Blocks skipped for exceeding `max_block_size`.
    pub capped_blocks: u64,
    /// Blocks skipped for exceeding `max_block_size`, by kind.
    pub capped_by_kind: BTreeMap<String, u64>,
    /// The largest skipped block's size, by kind.
    pub capped_largest: BTreeMap<String, u64>,
    /// Blocks within `max_block_size` skipped to keep the kind within its pair budget, by kind
    /// (also counted in `capped_blocks`).
    pub purged_by_kind: BTreeMap<String, u64>,
    /// Per kind whose budget bit: the largest block size kept.
    pub effective_max_block_size: BTreeMap<String, u64>,
}

/// No block in a slot.
const NONE: u32 = u32::MAX;

/// Pairs a work unit of [`Blocks::chunks`] aims at.
const CHUNK_PAIRS: u64 = 1 << 16;

/// Meta-blocking pairs per work unit of [`Blocks::chunks`].
const EXTRA_CHUNK: usize = 1 << 16;

/// The block kind name of the meta-blocking (top-k neighbour) pairs.
pub const KNN_KIND: &str = "knn";

/// Records per work unit of the top-k neighbour search.
const KNN_CHUNK: usize = 2048;

/// Every block of a run, and each record's blocks.
pub struct Blocks {
    /// Members of block `k`: `members[starts[k]..starts[k + 1]]`, ascending record indices.
    members: Vec<u32>,
    starts: Vec<usize>,
    /// Slots: one per token kind and one per LSH band; a record is in at most one block per
    /// slot, and block ids grow with the slot.
    slots: usize,
    /// Slot of each block.
    block_slot: Vec<u16>,
    /// Kind index of each slot.
    slot_kind: Vec<u8>,
    /// Block of record `i` in slot `s`: `rec_slots[i * slots + s]` ([`NONE`] when none).
    rec_slots: Vec<u32>,
    /// Agency of each record.
    agency_of: Vec<u16>,
    within_agency: bool,
    /// Pairs each block emits before deduplication (under the agency rule), for chunking.
    block_pairs: Vec<u64>,
    /// Kind index of each block.
    block_kind: Vec<u8>,
    /// Kind names, by index (every LSH band is kind `lsh`).
    kinds: Vec<String>,
    /// Meta-blocking pairs (every record's top-k neighbours), ascending and distinct; a pair a
    /// block also holds is emitted by that block.
    extra: Vec<PairKey>,
    /// Kind index of the meta-blocking pairs.
    extra_kind: u8,
    /// Weak buckets proposing neighbours: members of bucket `w` are
    /// `weak_members[weak_starts[w]..weak_starts[w + 1]]`.
    weak_members: Vec<u32>,
    weak_starts: Vec<usize>,
    /// Skipped blocks up to this size become weak buckets (0 = none: meta-blocking off).
    weak_cap: usize,
    /// Stats; `candidates` and `reduction_ratio` are filled by [`Blocks::set_candidates`].
    pub stats: BlockingStats,
}

impl Blocks {
    /// No blocks yet, over records of these agencies.
    fn empty(agency_of: Vec<u16>, within_agency: bool) -> Blocks {
        Blocks {
            members: Vec::new(),
            starts: vec![0],
            slots: 0,
            block_slot: Vec::new(),
            slot_kind: Vec::new(),
            rec_slots: Vec::new(),
            agency_of,
            within_agency,
            block_pairs: Vec::new(),
            block_kind: Vec::new(),
            kinds: Vec::new(),
            extra: Vec::new(),
            extra_kind: u8::MAX,
            weak_members: Vec::new(),
            weak_starts: vec![0],
            weak_cap: 0,
            stats: BlockingStats::default(),
        }
    }

    /// Builds every block over all records.
    pub fn build(recs: &Records, cfg: &BlockingConfig) -> Blocks {
        let mut b = Blocks::empty(recs.agency_of.clone(), cfg.within_agency);
        let knn = cfg.knn_k > 0 && recs.record_filter.bits() > 0;
        if knn {
            b.weak_cap = cfg.knn_max_bucket;
        }
        let mut sizes: Vec<BlockSize> = Vec::new();
        let budget = (cfg.pairs_per_record * recs.len() as f64) as u64;
        for (name, col) in recs.token_columns() {
            if blocks_on_token(&recs.schema, cfg, &name) {
                let mut keys = keyed(col);
                keys.par_sort_unstable();
                b.add_kind(&name, &keys, cfg.max_block_size, budget, &mut sizes);
            }
        }
        let slot_budget = (cfg.slot_pairs_per_record * recs.len() as f64) as u64;
        for (name, mut keys) in super::slots::slot_keys(recs) {
            if cfg.keys.is_empty() || cfg.keys.contains(&name) {
                keys.par_sort_unstable();
                b.add_kind(&name, &keys, cfg.max_block_size, slot_budget, &mut sizes);
            }
        }
        if cfg.lsh_bands > 0 {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.lsh_seed);
            let bits = recs.record_filter.bits();
            for _ in 0..cfg.lsh_bands {
                let keys = band_keys(recs, &mut rng, bits, cfg.lsh_bits);
                // The bands share the LSH budget (0 stays "no budget").
                let band_budget = match budget {
                    0 => 0,
                    b => (b / cfg.lsh_bands as u64).max(1),
                };
                b.add_kind("lsh", &keys, cfg.max_block_size, band_budget, &mut sizes);
            }
        }
        sizes.sort_by(|a, b| b.size.cmp(&a.size).then(a.cmp(b)));
        sizes.truncate(10);
        b.stats.largest_blocks = sizes;
        b.stats.possible_pairs = possible_pairs(recs, cfg.within_agency);
        b.index_records(recs.len());
        if knn {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.lsh_seed ^ 0x6b6e_6e5f_6261_6e64);
            let bits = recs.record_filter.bits();
            // Records are searched in the order of the first weak band's keys: records of one
            // bucket propose mostly the same records, whose filters then stay in cache. (Each
            // record's top k does not depend on the order; the pairs are sorted at the end.)
            let mut order: Vec<u32> = Vec::new();
            for band in 0..cfg.knn_bands {
                let keys = band_keys(recs, &mut rng, bits, cfg.knn_bits);
                b.add_weak_runs(&keys, cfg.knn_max_bucket);
                if band == 0 {
                    let mut seen = vec![false; recs.len()];
                    order.extend(keys.iter().map(|&(_, r)| r));
                    order.iter().for_each(|&r| seen[r as usize] = true);
                    order.extend((0..recs.len() as u32).filter(|&r| !seen[r as usize]));
                }
            }
            if order.is_empty() {
                order = (0..recs.len() as u32).collect();
            }
            b.extra = b.top_k_pairs(recs, cfg.knn_k, &order);
            b.weak_members = Vec::new();
            b.weak_starts = vec![0];
            b.extra_kind = b.kind_index(KNN_KIND);
            b.stats
                .candidates_by_block
                .insert(KNN_KIND.into(), b.extra.len() as u64);
        }
        b
    }

    /// The index of a kind name (added when new).
    fn kind_index(&mut self, name: &str) -> u8 {
        let kind = match self.kinds.iter().position(|k| k == name) {
            Some(i) => i,
            None => {
                self.kinds.push(name.to_string());
                self.kinds.len() - 1
            }
        };
        u8::try_from(kind).unwrap_or(u8::MAX)
    }

    /// Adds a weak bucket (members ascending).
    fn push_weak(&mut self, members: impl Iterator<Item = u32>) {
        self.weak_members.extend(members);
        self.weak_starts.push(self.weak_members.len());
    }

    /// Adds the runs of equal keys of a sorted (key, record) list with 2..=`max` records as
    /// weak buckets.
    fn add_weak_runs<K: Copy + Eq>(&mut self, keys: &[(K, u32)], max: usize) {
        let mut s = 0;
        for i in 1..=keys.len() {
            if i < keys.len() && keys[i].0 == keys[s].0 {
                continue;
            }
            if (2..=max).contains(&(i - s)) {
                self.push_weak(keys[s..i].iter().map(|&(_, r)| r));
            }
            s = i;
        }
    }

    /// Every record's `k` nearest proposed neighbours by record-filter Dice (ties: lower index),
    /// under the agency rule, as distinct ascending pairs. Proposed: the other members of the
    /// record's weak buckets.
    /// `order`: every record once, the order in which they are searched (for cache locality).
    fn top_k_pairs(&self, recs: &Records, k: usize, order: &[u32]) -> Vec<PairKey> {
        let n = recs.len();
        // Each record's weak buckets (CSR).
        let mut offs = vec![0usize; n + 1];
        for &m in &self.weak_members {
            offs[m as usize + 1] += 1;
        }
        for i in 0..n {
            offs[i + 1] += offs[i];
        }
        let mut fill = offs.clone();
        let mut of_rec = vec![0u32; self.weak_members.len()];
        for w in 0..self.weak_starts.len() - 1 {
            for &m in &self.weak_members[self.weak_starts[w]..self.weak_starts[w + 1]] {
                of_rec[fill[m as usize]] = w as u32;
                fill[m as usize] += 1;
            }
        }
        drop(fill);
        let kernel = crate::link::dice::Kernel::detect();
        let m = &recs.record_filter;
        let mut pairs: Vec<PairKey> = (0..n.div_ceil(KNN_CHUNK))
            .into_par_iter()
            .flat_map_iter(|c| {
                let mut out = Vec::new();
                let mut scored: Vec<(f32, u32)> = Vec::new();
                // Whether a record was proposed for the current one (reset through `touched`).
                let mut proposed = vec![false; n];
                let mut touched: Vec<u32> = Vec::new();
                for &i in &order[c * KNN_CHUNK..((c + 1) * KNN_CHUNK).min(n)] {
                    let i = i as usize;
                    touched.clear();
                    for &w in &of_rec[offs[i]..offs[i + 1]] {
                        let w = w as usize;
                        for &j in &self.weak_members[self.weak_starts[w]..self.weak_starts[w + 1]] {
                            let p = &mut proposed[j as usize];
                            if !*p {
                                touched.push(j);
                                *p = true;
                            }
                        }
                    }
                    // Every distinct proposed record is measured by Dice.
                    scored.clear();
                    for &j in &touched {
                        let ju = j as usize;
                        proposed[ju] = false;
                        if ju == i
                            || (!self.within_agency && self.agency_of[i] == self.agency_of[ju])
                        {
                            continue;
                        }
                        if let Some(d) = kernel.dice(m, i, m, ju) {
                            scored.push((d, j));
                        }
                    }
                    let by =
                        |x: &(f32, u32), y: &(f32, u32)| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1));
                    if scored.len() > k {
                        scored.select_nth_unstable_by(k, by);
                        scored.truncate(k);
                    }
                    let i = i as u32;
                    out.extend(scored.iter().map(|&(_, j)| pack(i.min(j), i.max(j))));
                }
                out
            })
            .collect();
        pairs.par_sort_unstable();
        pairs.dedup();
        pairs
    }

    /// [`Blocks::build`] under the memory guard ([`super::budget`]): refuses (exit 4) a block
    /// index or a candidate set that would not fit, before any pair is generated.
    /// `keep_candidates`: every candidate's weight is kept for output (twice the bytes per pair).
    pub fn build_guarded(
        recs: &Records,
        cfg: &BlockingConfig,
        keep_candidates: bool,
    ) -> crate::error::Result<Blocks> {
        let kinds = recs.token_columns().len() + recs.schema.slots.len();
        super::budget::check_index(recs.len(), kinds, cfg)?;
        let b = Blocks::build(recs, cfg);
        super::budget::check_candidates(&b.stats, cfg, keep_candidates)?;
        Ok(b)
    }

    /// Adds the blocks of one kind from its sorted (key, record) list. Blocks above
    /// `max_block_size` records are skipped; then, smallest first, blocks are kept while the
    /// kind's pairs stay within `budget` (the larger ones are skipped too).
    fn add_kind<K: Copy + Eq>(
        &mut self,
        name: &str,
        keys: &[(K, u32)],
        max_block_size: usize,
        budget: u64,
        sizes: &mut Vec<BlockSize>,
    ) {
        // Runs of equal keys with their pair counts under the agency rule.
        let mut runs: Vec<(usize, usize, u64)> = Vec::new();
        let mut per_agency: BTreeMap<u16, u64> = BTreeMap::new();
        let mut s = 0;
        for i in 1..=keys.len() {
            if i < keys.len() && keys[i].0 == keys[s].0 {
                continue;
            }
            let n = (i - s) as u64;
            let mut pairs = n * n.saturating_sub(1) / 2;
            if n >= 2 && !self.within_agency {
                per_agency.clear();
                for &(_, r) in &keys[s..i] {
                    *per_agency.entry(self.agency_of[r as usize]).or_insert(0) += 1;
                }
                pairs -= per_agency.values().map(|&c| c * (c - 1) / 2).sum::<u64>();
            }
            runs.push((s, i, pairs));
            s = i;
        }
        // The size cap under the budget: the largest size whose blocks, with all smaller ones,
        // fit.
        let mut cap = max_block_size;
        if budget > 0 {
            let mut by_size: BTreeMap<usize, u64> = BTreeMap::new();
            for &(s, e, p) in &runs {
                if e - s <= max_block_size && p > 0 {
                    *by_size.entry(e - s).or_insert(0) += p;
                }
            }
            cap = budget_cap(&by_size, max_block_size, budget);
        }
        let kind = self.kind_index(name);
        let slot = u16::try_from(self.slots).expect("fewer than 65,536 block slots");
        self.slots += 1;
        self.slot_kind.push(kind);
        let mut produced = 0u64;
        for (s, e, pairs) in runs {
            let size = e - s;
            if size > cap && pairs > 0 {
                let over = if size > max_block_size {
                    &mut self.stats.capped_by_kind
                } else {
                    &mut self.stats.purged_by_kind
                };
                *over.entry(name.into()).or_insert(0) += 1;
                self.stats.capped_blocks += 1;
                let l = self.stats.capped_largest.entry(name.into()).or_insert(0);
                *l = (*l).max(size as u64);
                // Meta-blocking: a skipped block still proposes neighbours for the top-k.
                if size <= self.weak_cap {
                    self.weak_members.extend(keys[s..e].iter().map(|&(_, r)| r));
                    self.weak_starts.push(self.weak_members.len());
                }
            } else if pairs > 0 {
                self.members.extend(keys[s..e].iter().map(|&(_, r)| r));
                self.starts.push(self.members.len());
                self.block_pairs.push(pairs);
                self.block_kind.push(kind);
                self.block_slot.push(slot);
                produced += pairs;
                sizes.push(BlockSize {
                    kind: name.into(),
                    size: size as u64,
                });
                if sizes.len() > 4096 {
                    sizes.sort_by(|a, b| b.size.cmp(&a.size).then(a.cmp(b)));
                    sizes.truncate(16);
                }
            }
        }
        if cap < max_block_size {
            let c = self
                .stats
                .effective_max_block_size
                .entry(name.into())
                .or_insert(cap as u64);
            *c = (*c).min(cap as u64);
        }
        *self
            .stats
            .candidates_by_block
            .entry(name.into())
            .or_insert(0) += produced;
    }

    /// Builds each record's block per slot.
    fn index_records(&mut self, n: usize) {
        let slots = self.slots;
        let mut rec_slots = vec![NONE; n * slots];
        for k in 0..self.len() {
            let s = usize::from(self.block_slot[k]);
            for &m in self.members(k) {
                rec_slots[m as usize * slots + s] = k as u32;
            }
        }
        self.rec_slots = rec_slots;
    }

    /// Number of blocks (of two or more records, under the cap).
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Whether there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Members of block `k`, ascending.
    pub fn members(&self, k: usize) -> &[u32] {
        &self.members[self.starts[k]..self.starts[k + 1]]
    }

    fn slots_of(&self, r: u32) -> &[u32] {
        &self.rec_slots[r as usize * self.slots..(r as usize + 1) * self.slots]
    }

    /// The first block holding both records, if any.
    pub fn owner(&self, a: u32, b: u32) -> Option<u32> {
        let (x, y) = (self.slots_of(a), self.slots_of(b));
        x.iter()
            .zip(y)
            .find(|(p, q)| p == q && **p != NONE)
            .map(|(p, _)| *p)
    }

    /// For a pair of block `k`: `None` when an earlier block holds both records (that block
    /// emits the pair), else the kinds of every block holding both, as a bit mask (kind index
    /// `i` → bit `i`; kinds from the 17th on are not recorded).
    #[inline]
    fn owned_kinds(&self, a: u32, b: u32, k: u32) -> Option<u16> {
        let (x, y) = (self.slots_of(a), self.slots_of(b));
        let slot = usize::from(self.block_slot[k as usize]);
        // A record is in one block per slot: the pair is owned unless an earlier slot holds both.
        let earlier = x[..slot]
            .iter()
            .zip(&y[..slot])
            .fold(false, |acc, (p, q)| acc | ((p == q) & (*p != NONE)));
        if earlier {
            return None;
        }
        let mut mask = 0u16;
        for (s, (p, q)) in x.iter().zip(y).enumerate().skip(slot) {
            let kind = self.slot_kind[s];
            if p == q && *p != NONE && kind < 16 {
                mask |= 1 << kind;
            }
        }
        Some(mask)
    }

    /// Calls `f(a, b, kinds)` (with `a < b`) for every pair block `k` owns, in a fixed order;
    /// `kinds` is the mask of the kinds of every block holding both records.
    /// Units from [`Blocks::len`] on are chunks of the meta-blocking pairs: a pair no block
    /// holds is emitted with the `knn` kind's bit.
    #[inline]
    pub fn for_each_owned(&self, k: usize, mut f: impl FnMut(u32, u32, u16)) {
        if k >= self.len() {
            let c = k - self.len();
            let end = ((c + 1) * EXTRA_CHUNK).min(self.extra.len());
            let bit = if self.extra_kind < 16 {
                1u16 << self.extra_kind
            } else {
                0
            };
            for &p in &self.extra[c * EXTRA_CHUNK..end] {
                let (a, b) = unpack(p);
                if self.owner(a, b).is_none() {
                    f(a, b, bit);
                }
            }
            return;
        }
        let m = self.members(k);
        for (x, &a) in m.iter().enumerate() {
            for &b in &m[x + 1..] {
                if !self.within_agency && self.agency_of[a as usize] == self.agency_of[b as usize] {
                    continue;
                }
                if let Some(kinds) = self.owned_kinds(a, b, k as u32) {
                    f(a, b, kinds);
                }
            }
        }
    }

    /// Block kind names, by kind index (the bits of the masks of [`Blocks::for_each_owned`]).
    pub fn kinds(&self) -> &[String] {
        &self.kinds
    }

    /// Per kind (by index): which schema fields its blocking key is built from. LSH uses every
    /// field (the record filter holds them all).
    pub fn kind_fields(&self, schema: &crate::schema::Schema) -> Vec<Vec<bool>> {
        kind_fields(&self.kinds, schema)
    }
}

/// Per kind name: which schema fields its blocking key is built from ([`Blocks::kind_fields`]).
pub fn kind_fields(kinds: &[String], schema: &crate::schema::Schema) -> Vec<Vec<bool>> {
    {
        use crate::io::encoded::{BlockKind, Layout};
        use crate::schema::FieldKind;
        let of_kind =
            |k: FieldKind| -> Vec<bool> { schema.fields.iter().map(|f| f.kind == k).collect() };
        // A NIK spells out its holder's date of birth and sex: a key built from either also
        // selects on the NIK, and a NIK key on both. A salted field's key also selects on the
        // salt's field (a name token salted by birth year is a name + year key). Given names are gendered (Siti, Muhammad):
        // a name key also selects on sex.
        let entangle = |mut used: Vec<bool>| -> Vec<bool> {
            // A field salted with another's year (hardening) selects on that field too.
            for (i, f) in schema.fields.iter().enumerate() {
                if used[i] && !f.hardening.salt.is_empty() {
                    if let Some(j) = schema
                        .fields
                        .iter()
                        .position(|g| g.name == f.hardening.salt)
                    {
                        used[j] = true;
                    }
                }
            }
            let any = |k: FieldKind| {
                schema
                    .fields
                    .iter()
                    .zip(&used)
                    .any(|(f, &u)| u && f.kind == k)
            };
            let dob_or_sex = any(FieldKind::Date) || any(FieldKind::Sex);
            let nik = any(FieldKind::Nik);
            let name = any(FieldKind::Name);
            schema
                .fields
                .iter()
                .zip(&used)
                .map(|(f, &u)| {
                    u || (dob_or_sex && f.kind == FieldKind::Nik)
                        || (nik && matches!(f.kind, FieldKind::Date | FieldKind::Sex))
                        || (name && f.kind == FieldKind::Sex)
                })
                .collect()
        };
        kinds
            .iter()
            .map(|name| {
                if let Some(used) = super::slots::slot_fields(schema, name) {
                    return entangle(used);
                }
                if let Some(field) = name.strip_prefix("token_") {
                    return entangle(schema.fields.iter().map(|f| f.name == field).collect());
                }
                for bk in Layout::block_kinds(schema) {
                    if *name == format!("block_{}", bk.label()) {
                        let (x, y) = match bk {
                            BlockKind::DobSex => (FieldKind::Date, FieldKind::Sex),
                            BlockKind::NameYear => (FieldKind::Name, FieldKind::Date),
                        };
                        let (x, y) = (of_kind(x), of_kind(y));
                        return entangle(x.iter().zip(&y).map(|(a, b)| *a || *b).collect());
                    }
                }
                vec![true; schema.fields.len()]
            })
            .collect()
    }
}

impl Blocks {
    /// Consecutive ranges of block ids holding about [`CHUNK_PAIRS`] pairs each: the parallel
    /// work units. They depend only on the blocks, never on the thread count.
    pub fn chunks(&self) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut acc = 0u64;
        for (k, &p) in self.block_pairs.iter().enumerate() {
            acc += p;
            if acc >= CHUNK_PAIRS {
                out.push(start..k + 1);
                start = k + 1;
                acc = 0;
            }
        }
        if start < self.len() {
            out.push(start..self.len());
        }
        let n = self.len();
        out.extend((0..self.extra.len().div_ceil(EXTRA_CHUNK)).map(|c| n + c..n + c + 1));
        out
    }

    /// The kinds holding a pair, as a bit mask by kind index (kinds from the 33rd on are not
    /// recorded): every block kind with a block holding both, and `knn` when the pair is one of
    /// the meta-blocking pairs. 0 = not a candidate.
    pub fn pair_kinds(&self, a: u32, b: u32) -> u32 {
        let (a, b) = (a.min(b), a.max(b));
        let (x, y) = (self.slots_of(a), self.slots_of(b));
        let mut mask = 0u32;
        for (s, (p, q)) in x.iter().zip(y).enumerate() {
            let kind = self.slot_kind[s];
            if p == q && *p != NONE && kind < 32 {
                mask |= 1 << kind;
            }
        }
        if self.extra_kind < 32 && self.extra.binary_search(&pack(a, b)).is_ok() {
            mask |= 1 << self.extra_kind;
        }
        mask
    }

    /// Blocking pair completeness against known persons (`person[i]` of record `i`; records of
    /// unknown persons each get a value of their own): the true pairs, those found by any kind,
    /// and those found by each kind. Pairs inside one agency count only with `within_agency`.
    pub fn completeness(&self, person: &[u64]) -> PairCompleteness {
        let mut order: Vec<(u64, u32)> = person
            .iter()
            .enumerate()
            .map(|(i, &p)| (p, i as u32))
            .collect();
        order.par_sort_unstable();
        let mut groups: Vec<&[(u64, u32)]> = Vec::new();
        let mut s = 0;
        for i in 1..=order.len() {
            if i == order.len() || order[i].0 != order[s].0 {
                if i - s >= 2 {
                    groups.push(&order[s..i]);
                }
                s = i;
            }
        }
        let nk = self.kinds.len().min(32);
        let (total, found, by) = groups
            .par_iter()
            .map(|g| {
                let (mut t, mut f, mut by) = (0u64, 0u64, vec![0u64; nk]);
                for (x, &(_, a)) in g.iter().enumerate() {
                    for &(_, b) in &g[x + 1..] {
                        if !self.within_agency
                            && self.agency_of[a as usize] == self.agency_of[b as usize]
                        {
                            continue;
                        }
                        t += 1;
                        let m = self.pair_kinds(a, b);
                        f += u64::from(m != 0);
                        for (k, c) in by.iter_mut().enumerate() {
                            *c += u64::from(m >> k & 1);
                        }
                    }
                }
                (t, f, by)
            })
            .reduce(
                || (0, 0, vec![0u64; nk]),
                |mut a, b| {
                    a.0 += b.0;
                    a.1 += b.1;
                    a.2.iter_mut().zip(&b.2).for_each(|(x, y)| *x += y);
                    a
                },
            );
        PairCompleteness {
            true_pairs: total,
            found,
            found_by_kind: self.kinds[..nk].iter().cloned().zip(by).collect(),
        }
    }

    /// Every candidate pair, distinct, in block order (for tests, benches and small inputs).
    pub fn pairs(&self) -> Vec<PairKey> {
        self.chunks()
            .into_par_iter()
            .map(|r| {
                let mut v = Vec::new();
                for k in r {
                    self.for_each_owned(k, |a, b, _| v.push(pack(a, b)));
                }
                v
            })
            .collect::<Vec<_>>()
            .concat()
    }

    /// Records the number of distinct candidates (known once they are generated).
    pub fn set_candidates(&mut self, n: u64) {
        self.stats.candidates = n;
        self.stats.reduction_ratio = if self.stats.possible_pairs == 0 {
            0.0
        } else {
            1.0 - n as f64 / self.stats.possible_pairs as f64
        };
    }
}

/// Blocking pair completeness against a truth ([`Blocks::completeness`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PairCompleteness {
    /// True pairs (under the agency rule).
    pub true_pairs: u64,
    /// True pairs that are candidates.
    pub found: u64,
    /// True pairs each block kind finds (a pair found by several kinds counts for each).
    pub found_by_kind: BTreeMap<String, u64>,
}

/// One band's sorted (key, record) list: `bits` positions of the record filter, drawn from `rng`;
/// a record whose sampled bits are all zero gets no bucket (a near-empty filter says nothing).
/// The size cap of one block slot under its pair budget: the largest block size whose blocks,
/// with all smaller ones, fit in `budget` pairs. `by_size`: pairs per block size, over the blocks
/// of at most `max_block_size` records that yield pairs.
pub fn budget_cap(by_size: &BTreeMap<usize, u64>, max_block_size: usize, budget: u64) -> usize {
    let mut cap = max_block_size;
    let mut total = 0u64;
    for (&size, &p) in by_size {
        if total + p > budget {
            cap = cap.min(size - 1);
            break;
        }
        total += p;
    }
    cap
}

/// The record-filter bit positions of the next LSH band (drawn from `rng`).
pub fn band_positions(rng: &mut ChaCha8Rng, filter_bits: usize, bits: usize) -> Vec<usize> {
    (0..bits)
        .map(|_| rng.random_range(0..filter_bits))
        .collect()
}

/// The LSH band key of record `i` (its sampled bits; 0 = in no bucket).
#[inline]
pub fn band_key(recs: &Records, i: usize, positions: &[usize]) -> u64 {
    let row = recs.record_filter.row(i);
    let mut key = 0u64;
    for (k, &p) in positions.iter().enumerate() {
        key |= ((row[p / 64] >> (p % 64)) & 1) << k;
    }
    key
}

fn band_keys(
    recs: &Records,
    rng: &mut ChaCha8Rng,
    filter_bits: usize,
    bits: usize,
) -> Vec<(u64, u32)> {
    let positions = band_positions(rng, filter_bits, bits);
    let mut keys: Vec<(u64, u32)> = (0..recs.len())
        .into_par_iter()
        .with_min_len(4096)
        .filter_map(|i| {
            let key = band_key(recs, i, &positions);
            (key != 0).then_some((key, i as u32))
        })
        .collect();
    keys.par_sort_unstable();
    keys
}

fn keyed(col: &TokenColumn) -> Vec<(u128, u32)> {
    col.values
        .iter()
        .zip(&col.valid)
        .enumerate()
        .filter(|(_, (_, &v))| v)
        .map(|(i, (&t, _))| (t, i as u32))
        .collect()
}

/// The number of pairs that could be compared.
pub fn possible_pairs(recs: &Records, within: bool) -> u64 {
    let n = recs.len() as u64;
    let all = n * n.saturating_sub(1) / 2;
    if within {
        return all;
    }
    let same: u64 = recs
        .inputs
        .iter()
        .map(|i| (i.rows as u64) * (i.rows as u64).saturating_sub(1) / 2)
        .sum();
    all - same
}

/// Whether blocking uses the token column `name`: the ones `keys` lists, or by default every
/// token but those of sex fields (two values: no blocking power). `link --previous` blocks on the
/// same kinds.
pub(super) fn blocks_on_token(
    schema: &crate::schema::Schema,
    cfg: &BlockingConfig,
    name: &str,
) -> bool {
    if cfg.keys.is_empty() {
        !schema
            .fields
            .iter()
            .any(|f| f.kind == crate::schema::FieldKind::Sex && name == format!("token_{}", f.name))
    } else {
        cfg.keys.iter().any(|k| k == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_and_sorts_by_a_then_b() {
        assert_eq!(unpack(pack(3, 9)), (3, 9));
        assert!(pack(1, 100) < pack(2, 0));
    }

    fn blocks_from(lists: &[&[u32]], agency_of: Vec<u16>, within: bool) -> Blocks {
        let mut b = Blocks::empty(agency_of, within);
        let n = b.agency_of.len();
        let mut sizes = Vec::new();
        for (k, l) in lists.iter().enumerate() {
            let keys: Vec<(u32, u32)> = l.iter().map(|&r| (k as u32, r)).collect();
            b.add_kind("t", &keys, 100, 0, &mut sizes);
        }
        b.index_records(n);
        b
    }

    #[test]
    fn a_pair_in_several_blocks_is_emitted_once_by_its_first_block() {
        let b = blocks_from(&[&[0, 1, 2], &[1, 2, 3], &[0, 3]], vec![0, 1, 2, 3], true);
        assert_eq!(b.owner(1, 2), Some(0));
        assert_eq!(b.owner(2, 3), Some(1));
        assert_eq!(b.owner(0, 3), Some(2));
        let mut got = b.pairs();
        assert_eq!(got.len(), 6, "every pair of 4 records, once");
        got.sort_unstable();
        got.dedup();
        assert_eq!(got.len(), 6);
    }

    #[test]
    fn agency_rule_drops_within_agency_pairs() {
        let agency = vec![0u16, 0, 1];
        let across = blocks_from(&[&[0, 1, 2]], agency.clone(), false);
        assert_eq!(across.pairs(), vec![pack(0, 2), pack(1, 2)]);
        assert_eq!(across.stats.candidates_by_block["t"], 2);
        let within = blocks_from(&[&[0, 1, 2]], agency, true);
        assert_eq!(within.pairs(), vec![pack(0, 1), pack(0, 2), pack(1, 2)]);
        // A block whose only pairs are within one agency holds nothing when they are off.
        let none = blocks_from(&[&[0, 1]], vec![0, 0], false);
        assert!(none.is_empty());
    }

    /// Two imported inputs of random 256-bit record filters (no field data, no tokens), a third
    /// of B near-copies of A: a small set for the exhaustive references below.
    fn imported(dir: &std::path::Path) -> Records {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let a: Vec<Vec<u8>> = (0..60)
            .map(|_| (0..32).map(|_| rng.random::<u8>()).collect())
            .collect();
        let b: Vec<Vec<u8>> = (0..50)
            .map(|i| {
                let mut c: Vec<u8> = (0..32).map(|_| rng.random::<u8>()).collect();
                if i % 3 == 0 {
                    c.clone_from(&a[i]);
                    c[i % 32] ^= 0b0110_0001;
                }
                c
            })
            .collect();
        let (pa, pb) = (dir.join("a.padan.parquet"), dir.join("b.padan.parquet"));
        crate::io::clkhash::write_import(&pa, "a", &a, None).unwrap();
        crate::io::clkhash::write_import(&pb, "b", &b, None).unwrap();
        Records::load(&[pa, pb]).unwrap()
    }

    /// Per band drawn from `rng`: each record's key (`None`: all sampled bits zero), as the
    /// definition says (independently of [`band_keys`]).
    fn reference_bands(
        recs: &Records,
        rng: &mut ChaCha8Rng,
        bands: usize,
        bits: usize,
    ) -> Vec<Vec<Option<u64>>> {
        let m = &recs.record_filter;
        (0..bands)
            .map(|_| {
                let pos: Vec<usize> = (0..bits).map(|_| rng.random_range(0..m.bits())).collect();
                (0..recs.len())
                    .map(|i| {
                        let bit = |p: usize| (m.row(i)[p / 64] >> (p % 64)) & 1 == 1;
                        let key: u64 = pos
                            .iter()
                            .enumerate()
                            .map(|(k, &p)| u64::from(bit(p)) << k)
                            .sum();
                        (key != 0).then_some(key)
                    })
                    .collect()
            })
            .collect()
    }

    fn sorted(mut v: Vec<PairKey>) -> Vec<PairKey> {
        v.sort_unstable();
        v
    }

    #[test]
    fn lsh_yields_exactly_the_pairs_that_collide_in_a_band() {
        let dir = tempfile::tempdir().unwrap();
        let recs = imported(dir.path());
        for within in [false, true] {
            let cfg = BlockingConfig {
                lsh_bands: 6,
                lsh_bits: 5,
                pairs_per_record: 0.0,
                max_block_size: 1_000_000,
                knn_k: 0,
                within_agency: within,
                ..BlockingConfig::default()
            };
            let b = Blocks::build(&recs, &cfg);
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.lsh_seed);
            let bands = reference_bands(&recs, &mut rng, cfg.lsh_bands, cfg.lsh_bits);
            let mut want = Vec::new();
            for x in 0..recs.len() {
                for y in x + 1..recs.len() {
                    if !within && recs.agency_of[x] == recs.agency_of[y] {
                        continue;
                    }
                    if bands.iter().any(|k| k[x].is_some() && k[x] == k[y]) {
                        want.push(pack(x as u32, y as u32));
                    }
                }
            }
            assert!(
                want.len() > 50,
                "the set must exercise the bands: {}",
                want.len()
            );
            assert_eq!(sorted(b.pairs()), want);
        }
    }

    #[test]
    fn knn_keeps_exactly_each_records_top_k_proposed_neighbours_by_dice() {
        let dir = tempfile::tempdir().unwrap();
        let recs = imported(dir.path());
        let m = &recs.record_filter;
        let kernel = crate::link::dice::Kernel::detect();
        for (k, max_bucket, within) in [(3, 1000, false), (2, 6, true), (5, 12, false)] {
            let cfg = BlockingConfig {
                lsh_bands: 0,
                knn_k: k,
                knn_bands: 5,
                knn_bits: 4,
                knn_max_bucket: max_bucket,
                within_agency: within,
                ..BlockingConfig::default()
            };
            let b = Blocks::build(&recs, &cfg);
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.lsh_seed ^ 0x6b6e_6e5f_6261_6e64);
            let bands = reference_bands(&recs, &mut rng, cfg.knn_bands, cfg.knn_bits);
            let n = recs.len();
            let mut want = Vec::new();
            for i in 0..n {
                // Proposed: sharing a bucket of at most `max_bucket` records in some band.
                let mut scored: Vec<(f32, usize)> = (0..n)
                    .filter(|&j| j != i && (within || recs.agency_of[i] != recs.agency_of[j]))
                    .filter(|&j| {
                        bands.iter().any(|keys| {
                            keys[i].is_some()
                                && keys[i] == keys[j]
                                && keys.iter().filter(|&&x| x == keys[i]).count() <= max_bucket
                        })
                    })
                    .map(|j| (kernel.dice(m, i, m, j).unwrap(), j))
                    .collect();
                scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
                for &(_, j) in scored.iter().take(k) {
                    want.push(pack(i.min(j) as u32, i.max(j) as u32));
                }
            }
            want.sort_unstable();
            want.dedup();
            assert!(
                want.len() > n,
                "the set must exercise the top-k: {}",
                want.len()
            );
            assert_eq!(sorted(b.pairs()), want, "k {k}, bucket {max_bucket}");
            assert_eq!(b.stats.candidates_by_block[KNN_KIND], want.len() as u64);
            // With no bucket dropped, the near-copy pairs (a record of A and its copy in B) are
            // among them.
            let copies = (0..50).step_by(3).filter(|&i| {
                let p = pack(i as u32, 60 + i as u32);
                want.binary_search(&p).is_ok()
            });
            if max_bucket == 1000 {
                assert_eq!(copies.count(), 17, "k {k}");
            }
            // The same pairs whatever the thread count.
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            assert_eq!(
                one.install(|| Blocks::build(&recs, &cfg).pairs()),
                b.pairs()
            );
        }
    }

    #[test]
    fn completeness_counts_the_true_pairs_each_kind_finds() {
        let b = blocks_from(&[&[0, 1, 2], &[2, 3]], vec![0, 1, 2, 3, 4], true);
        // Persons: {0, 1, 4} and {2, 3}: true pairs 0-1, 0-4, 1-4, 2-3.
        let c = b.completeness(&[7, 7, 9, 9, 7]);
        assert_eq!((c.true_pairs, c.found), (4, 2));
        assert_eq!(c.found_by_kind["t"], 2);
        // Within-agency pairs do not count when they are off.
        let b = blocks_from(&[&[0, 1, 2], &[2, 3]], vec![0, 0, 1, 1, 2], false);
        let c = b.completeness(&[7, 7, 9, 9, 7]);
        assert_eq!((c.true_pairs, c.found), (2, 0));
    }

    proptest::proptest! {
        #[test]
        fn owned_pairs_are_the_deduplicated_union_of_block_pairs(
            lists in proptest::collection::vec(
                proptest::collection::btree_set(0u32..30, 0..8), 0..12),
            within in proptest::bool::ANY,
        ) {
            let agency: Vec<u16> = (0..30).map(|i| (i % 3) as u16).collect();
            let vecs: Vec<Vec<u32>> = lists.iter().map(|s| s.iter().copied().collect()).collect();
            let refs: Vec<&[u32]> = vecs.iter().map(|v| v.as_slice()).collect();
            let b = blocks_from(&refs, agency.clone(), within);
            let mut expect = Vec::new();
            for v in &vecs {
                for (x, &a) in v.iter().enumerate() {
                    for &c in &v[x + 1..] {
                        if within || agency[a as usize] != agency[c as usize] {
                            expect.push(pack(a, c));
                        }
                    }
                }
            }
            expect.sort_unstable();
            expect.dedup();
            let got = b.pairs();
            let mut sorted = got.clone();
            sorted.sort_unstable();
            sorted.dedup();
            proptest::prop_assert_eq!(sorted.len(), got.len(), "no pair twice");
            proptest::prop_assert_eq!(sorted, expect);
        }
    }
}
