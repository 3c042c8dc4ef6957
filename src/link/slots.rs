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

/// Where a slotted field's segments sit in its stored filter.
#[derive(Debug, Clone, Default)]
pub struct FieldSlots {
    /// Schema slot index of each segment, in segment order.
    pub slots: Vec<usize>,
    /// Words per segment (the tag word first).
    pub segment_words: usize,
}

impl FieldSlots {
    /// Per schema field: its segments (empty for a field without slots).
    pub fn of(schema: &Schema) -> Vec<FieldSlots> {
        schema
            .fields
            .iter()
            .map(|f| FieldSlots {
                slots: f
                    .hardening
                    .slots
                    .iter()
                    .filter_map(|n| schema.slots.iter().position(|s| &s.name == n))
                    .collect(),
                segment_words: if f.hardening.slots.is_empty() {
                    0
                } else {
                    f.segment_bits() / 64
                },
            })
            .collect()
    }

    /// Whether the field is slotted.
    pub fn is_slotted(&self) -> bool {
        !self.slots.is_empty()
    }

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
        use crate::schema::SaltPart::*;
        let (Year(i) | DayMonth(i) | Phonetic(i) | Exact(i)) = p;
        used[i] = true;
    }
    Some(used)
}

/// The config to link slotted files with, when it must differ from the given one (with a
/// warning saying why): random record pairs share no slot, so every slotted field is missing for
/// them and the `blocks` training (u from random pairs, λ over all record pairs) has nothing to
/// learn from; the model is then fitted among the candidates (`model.training = "candidates"`).
pub fn adjust_config(
    schema: &Schema,
    cfg: &super::LinkConfig,
    warnings: &mut Vec<String>,
) -> Option<super::LinkConfig> {
    use super::config::Training;
    if schema.slots.is_empty() || cfg.model.training == Training::Candidates {
        return None;
    }
    let mut c = cfg.clone();
    c.model.training = Training::Candidates;
    warnings.push(
        "the inputs' schema keys fields by salt slots: random record pairs share no slot, so the \
         model is fitted among the candidate pairs (model.training = \"candidates\")"
            .into(),
    );
    Some(c)
}
