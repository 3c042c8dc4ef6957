//! The linkage side of salt slots (see `encode::slots`): a slotted field's stored filter is one
//! segment per slot, a 64-bit slot tag (0 = the record lacks the slot) and the slot's filter.
//!
//! - Blocking: each slot is a block kind `slot_<name>` keyed by its tag (a record's tag is read
//!   from the first slotted field carrying it). Salt groups are about one person, so these blocks
//!   are small by construction.
//! - Comparison: a slotted field of a pair is compared inside the slots both records carry with
//!   equal tags, and the best (highest) Dice of those counts. Two records that both carry slots
//!   but share none differ in every slot's components: the field's "else" level. A record
//!   carrying no slot (or no value) leaves the field missing (neutral).

use super::dice::dice_value;
use super::records::Records;
use crate::schema::{Schema, SLOT_TAG_BITS};
use crate::scoring::slotfit::{Binding, MAX_SLOTS, MAX_TOKENS};

pub use crate::schema::FieldSlots;

impl FieldSlots {
    /// The best Dice of two stored rows over the slots they share: `Err(true)` when they share
    /// none although both carry some slot (their salts differ: the slots' components disagree),
    /// `Err(false)` when one carries no slot at all (nothing to compare: missing).
    #[inline]
    pub fn best_dice(&self, a: &[u64], b: &[u64]) -> Result<f32, bool> {
        let w = self.segment_words;
        let mut best: Option<f32> = None;
        let (mut any_a, mut any_b) = (false, false);
        for j in 0..self.slots.len() {
            let (sa, sb) = (&a[j * w..(j + 1) * w], &b[j * w..(j + 1) * w]);
            any_a |= sa[0] != 0;
            any_b |= sb[0] != 0;
            if sa[0] == 0 || sa[0] != sb[0] {
                continue;
            }
            let (mut c, mut n) = (0u32, 0u32);
            for (x, y) in sa[1..].iter().zip(&sb[1..]) {
                c += (x & y).count_ones();
                n += x.count_ones() + y.count_ones();
            }
            let d = dice_value(c, n);
            if best.is_none_or(|b| d > b) {
                best = Some(d);
            }
        }
        best.ok_or(any_a && any_b)
    }
}

/// Per schema slot: its block kind name and the (tag, record) keys of the records carrying it.
pub fn slot_keys(recs: &Records) -> Vec<(String, Vec<(u64, u32)>)> {
    let schema = &recs.schema;
    let fields = FieldSlots::of(schema);
    debug_assert_eq!(SLOT_TAG_BITS, 64);
    schema
        .slots
        .iter()
        .enumerate()
        .map(|(si, s)| {
            // The slotted fields carrying this slot, with the segment's word offset.
            let carriers: Vec<(usize, usize)> = fields
                .iter()
                .enumerate()
                .filter_map(|(fi, fs)| {
                    let j = fs.slots.iter().position(|&x| x == si)?;
                    recs.filters[fi].as_ref()?;
                    Some((fi, j * fs.segment_words))
                })
                .collect();
            let keys = (0..recs.len())
                .filter_map(|i| {
                    carriers.iter().find_map(|&(fi, off)| {
                        let m = recs.filters[fi].as_ref()?;
                        if m.is_missing(i) {
                            return None;
                        }
                        let t = m.row(i)[off];
                        (t != 0).then_some((t, i as u32))
                    })
                })
                .collect();
            (format!("slot_{}", s.name), keys)
        })
        .collect()
}

/// Which fields a slot's key selects on (its salt's components).
pub fn slot_fields(schema: &Schema, kind: &str) -> Option<Vec<bool>> {
    let name = kind.strip_prefix("slot_")?;
    let slot = schema.slots.iter().find(|s| s.name == name)?;
    let parts = slot.parts(schema).ok()?;
    let mut used = vec![false; schema.fields.len()];
    for p in parts {
        used[p.field()] = true;
    }
    Some(used)
}

/// The keys a pair of records of a slot schema can share (its slots' tags, then the fields'
/// exact tokens), per record: the pair's key of [`crate::scoring::slotfit`].
pub struct PairKeys<'a> {
    /// Per slot: each record's tag (0 = lacks the slot).
    tags: Vec<Vec<u64>>,
    /// The exact-token columns, in field order.
    tokens: Vec<&'a super::records::TokenColumn>,
    /// The keys (same order) and what each binds.
    pub binding: Binding,
}

impl<'a> PairKeys<'a> {
    /// The keys of `recs`: its slots (at most [`MAX_SLOTS`]), then its exact tokens (at most
    /// [`MAX_TOKENS`]; further ones are left out of the key).
    pub fn new(recs: &'a Records) -> PairKeys<'a> {
        use crate::schema::SaltPart::*;
        use crate::scoring::slotfit::part;
        let schema = &recs.schema;
        let nf = schema.fields.len();
        let field_slots = FieldSlots::of(schema);
        let mut carriers = vec![0u32; nf];
        let mut slots = Vec::new();
        let mut binds = Vec::new();
        let mut tags = Vec::new();
        for (name, keyed) in slot_keys(recs).into_iter().take(MAX_SLOTS) {
            let slot = name.strip_prefix("slot_").unwrap_or(&name);
            let Some(si) = schema.slots.iter().position(|s| s.name == slot) else {
                continue;
            };
            let mut b = vec![0u8; nf];
            for p in schema.slots[si].parts(schema).unwrap_or_default() {
                match p {
                    Year(i) => b[i] |= part::YEAR,
                    DayMonth(i) => b[i] |= part::DAY_MONTH,
                    Phonetic(i) => b[i] |= part::PHONETIC,
                    Exact(i) => b[i] |= part::EXACT,
                }
            }
            for (fi, fs) in field_slots.iter().enumerate() {
                if fs.slots.contains(&si) && recs.filters[fi].is_some() {
                    carriers[fi] |= 1 << slots.len();
                }
            }
            let mut t = vec![0u64; recs.len()];
            for (tag, r) in keyed {
                t[r as usize] = tag;
            }
            slots.push(name);
            binds.push(b);
            tags.push(t);
        }
        let mut tokens = Vec::new();
        let mut token_names = Vec::new();
        for (fi, f) in schema.fields.iter().enumerate() {
            if let Some(t) = recs.tokens[fi]
                .as_ref()
                .filter(|_| tokens.len() < MAX_TOKENS)
            {
                token_names.push((format!("token_{}", f.name), fi));
                tokens.push(t);
            }
        }
        PairKeys {
            tags,
            tokens,
            binding: Binding {
                slots,
                binds,
                carriers,
                tokens: token_names,
                key_layout: crate::scoring::slotfit::KEY_LAYOUT,
            },
        }
    }

    /// The key of records `a` and `b`: the slots they share (bit s) and both carry (bit 8 + s),
    /// each token's level (two bits from bit 16: 0 = a side lacks it, 1 = equal, 2 = different).
    #[inline]
    pub fn key(&self, a: usize, b: usize) -> u32 {
        let mut m = 0u32;
        for (k, t) in self.tags.iter().enumerate() {
            if t[a] != 0 && t[b] != 0 {
                m |= 1 << (8 + k);
                if t[a] == t[b] {
                    m |= 1 << k;
                }
            }
        }
        for (k, t) in self.tokens.iter().enumerate() {
            if let (Some(x), Some(y)) = (t.get(a), t.get(b)) {
                m |= (if x == y { 1 } else { 2 }) << (16 + 2 * k);
            }
        }
        m
    }

    /// Per record: which tokens (bit k = token k) and slots (bit 8 + s = slot s) it carries.
    pub fn carried(&self, i: usize) -> u16 {
        let tokens = self
            .tokens
            .iter()
            .enumerate()
            .fold(0u16, |acc, (k, t)| acc | (u16::from(t.valid[i]) << k));
        self.tags.iter().enumerate().fold(tokens, |acc, (s, t)| {
            acc | (u16::from(t[i] != 0) << (8 + s))
        })
    }

    /// What two records carry in common ([`PairKeys::carried`] bits) from a pair's key.
    pub fn carried_of(key: u32) -> u16 {
        let tokens = (0..MAX_TOKENS)
            .filter(|&k| Binding::token_level(key, k) != 0)
            .fold(0u16, |acc, k| acc | (1 << k));
        tokens | (key & 0xff00) as u16
    }

    /// The key of two records that share no slot and no token, both carrying `both` (a mask of
    /// [`PairKeys::carried`] bits): every slot and token both carry differs.
    pub fn apart(both: u16) -> u32 {
        let slots = u32::from(both) & 0xff00;
        (0..MAX_TOKENS)
            .filter(|k| both & (1 << k) != 0)
            .fold(slots, |acc, k| acc | (2 << (16 + 2 * k)))
    }
}

/// The config to link slotted files with, when it must differ from the given one: random record
/// pairs share no slot, so every slotted field is missing for them and the `blocks` training (u
/// from random pairs) has nothing to learn from. `link` then fits the slot model
/// ([`crate::scoring::slotfit`]: the pattern of shared slots and tokens as a comparison, each
/// field conditioned on what the shared keys bind, EM over all record pairs), which the manifest
/// records as `model.training = "slots"`; the config's `model.training` does not apply (its
/// documentation says so). Not a warning: the default schema has slots.
pub fn adjust_config(schema: &Schema, cfg: &super::LinkConfig) -> Option<super::LinkConfig> {
    use super::config::Training;
    if schema.slots.is_empty() || cfg.model.training == Training::Candidates {
        return None;
    }
    let mut c = cfg.clone();
    c.model.training = Training::Candidates;
    Some(c)
}
