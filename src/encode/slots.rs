//! Salt slots: fields keyed by composite, high-entropy salts.
//!
//! A schema's `[[slots]]` each name a composite salt built from the record (e.g. day and month
//! unordered + birth year, or birth year + the phonetic keys of the name). A field keyed by slots
//! (`hardening.slots`) is stored as one segment per slot: a 64-bit *slot tag* (the keyed hash of
//! the salt, never 0; 0 = the record has no such slot) followed by the field's filter with every
//! q-gram salted by the slot's salt (balanced, permuted and BLIP-noised like any hardened filter,
//! with BLIP randomness drawn per slot). The linkage unit compares two records' field only inside
//! a slot both carry with the same tag, and blocks on the tags.
//!
//! What this buys (docs/privacy.md): every filter is comparable only with filters of the same
//! salt group, and salt groups hold a handful of records instead of a birth-year cohort; a record
//! lacking a component (no date, no birthplace) lacks the slot, so there is no shared "empty"
//! salt group either.

use super::bloom::{self, FilterPlan};
use super::harden;
use super::tokens::{self, Tokens, Value};
use crate::keys::{Purpose, SecretKey, Subkey};
use crate::schema::{SaltPart, Schema, SLOT_TAG_BITS};

/// The slots of a schema, resolved for encoding.
pub struct SlotPlan {
    slots: Vec<Slot>,
    /// Per schema field: indices into `slots` of the field's slots, in its order.
    field_slots: Vec<Vec<usize>>,
}

struct Slot {
    name: String,
    parts: Vec<SaltPart>,
    /// Keys the slot tag.
    tag: Subkey,
}

impl SlotPlan {
    /// Resolves the schema's slots (the schema is validated).
    pub fn new(schema: &Schema, key: &SecretKey) -> SlotPlan {
        let slots: Vec<Slot> = schema
            .slots
            .iter()
            .map(|s| Slot {
                name: s.name.clone(),
                parts: s.parts(schema).expect("a validated schema has valid slots"),
                tag: key.subkey(Purpose::Block, &format!("slot:{}", s.name)),
            })
            .collect();
        let field_slots = schema
            .fields
            .iter()
            .map(|f| {
                f.hardening
                    .slots
                    .iter()
                    .map(|n| {
                        slots
                            .iter()
                            .position(|s| &s.name == n)
                            .expect("a validated schema's field slots exist")
                    })
                    .collect()
            })
            .collect();
        SlotPlan { slots, field_slots }
    }

    /// Whether field `fi` is keyed by slots.
    pub fn is_slotted(&self, fi: usize) -> bool {
        !self.field_slots[fi].is_empty()
    }

    /// Every slot's salt for a record (None where a component is missing).
    pub fn salts(&self, values: &[Option<Value>]) -> Vec<Option<String>> {
        self.slots
            .iter()
            .map(|s| salt_of(&s.parts, values))
            .collect()
    }

    /// Writes the stored words of slotted field `fi` with value `v` into `out` (cleared first):
    /// per slot, the tag word and the salted, planned and noised filter; an all-zero segment
    /// when the record lacks the slot.
    #[allow(clippy::too_many_arguments)]
    pub fn write_field(
        &self,
        fi: usize,
        v: &Value,
        salts: &[Option<String>],
        q: usize,
        filter_key: &Subkey,
        plan: &FilterPlan,
        hashing: Hashing,
        blip: Option<(&Subkey, &[u8], f64)>,
        scratch: &mut Scratch,
        out: &mut Vec<u64>,
    ) {
        out.clear();
        let Scratch {
            tokens: toks,
            bytes,
            positions,
            per: spare,
        } = scratch;
        toks.clear();
        tokens::filter_tokens(v, q, toks);
        // Each token with the positions it sets (repeats set the same bits: OR ignores them), in
        // the scratch's buffer.
        let mut per: Vec<(&[u8], usize)> = std::mem::take(spare);
        match hashing {
            Hashing::PerToken(k) => per.extend(toks.iter().map(|t| (t, k))),
            Hashing::PerValue(total) => bloom::spread(toks.iter(), total, &mut per),
        }
        for &si in &self.field_slots[fi] {
            let start = out.len();
            out.resize(start + 1 + plan.words(), 0);
            let Some(salt) = &salts[si] else { continue };
            out[start] = tag_word(&self.slots[si].tag, salt);
            let words = &mut out[start + 1..];
            let salt = Some(salt.as_bytes());
            bloom::add_counted(&per, salt, filter_key, plan, bytes, positions, words);
            plan.finish(words);
            if let Some((key, seed, p)) = blip {
                bytes.clear();
                bytes.extend_from_slice(seed);
                bytes.push(0);
                bytes.extend_from_slice(self.slots[si].name.as_bytes());
                harden::blip(words, key, bytes, p);
            }
        }
        *spare = emptied(per);
        debug_assert_eq!(out.len() * 64 % (SLOT_TAG_BITS), 0);
    }
}

/// `v` emptied, as a vector of slices of any lifetime on the same buffer: collecting a vector's
/// own iterator into a vector of the same layout reuses its buffer (in-place collection), and
/// the emptied vector has no element to convert (the map never runs).
fn emptied<'b>(mut v: Vec<(&[u8], usize)>) -> Vec<(&'b [u8], usize)> {
    v.clear();
    v.into_iter().map(|(_, k)| (&[][..], k)).collect()
}

/// How a value's tokens set filter positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashing {
    /// `hashes` positions per token.
    PerToken(usize),
    /// `hashes_per_value` positions per value, spread over its tokens ([`bloom::spread`]).
    PerValue(usize),
}

impl Hashing {
    /// A field's hashing.
    pub fn of(spec: &crate::schema::FieldSpec) -> Hashing {
        match spec.hardening.hashes_per_value {
            0 => Hashing::PerToken(spec.hashes),
            n => Hashing::PerValue(n),
        }
    }
}

/// Reusable buffers of [`SlotPlan::write_field`].
#[derive(Default)]
pub struct Scratch {
    tokens: Tokens,
    bytes: Vec<u8>,
    positions: Vec<u16>,
    /// The tokens with their position counts: empty between calls (its slices borrow `tokens`),
    /// kept for its buffer.
    per: Vec<(&'static [u8], usize)>,
}

/// The tag word of a salt: a keyed hash, never 0 (0 marks a missing slot).
fn tag_word(key: &Subkey, salt: &str) -> u64 {
    let t = key.token(salt.as_bytes());
    u64::from_le_bytes(t[..8].try_into().expect("8 bytes")) | 1
}

/// The composite salt of a record, `None` when a component is missing. Components are separated
/// by a byte no normalized value holds.
pub fn salt_of(parts: &[SaltPart], values: &[Option<Value>]) -> Option<String> {
    let mut s = String::new();
    for (n, p) in parts.iter().enumerate() {
        if n > 0 {
            s.push('\u{1f}');
        }
        match *p {
            SaltPart::Year(i) => match &values[i] {
                Some(Value::Date(d)) => s.push_str(&format!("y{}", d.year)),
                _ => return None,
            },
            SaltPart::DayMonth(i) => match &values[i] {
                Some(Value::Date(d)) => {
                    let (m, day) = (d.month?, d.day?);
                    let (a, b) = if day <= m { (day, m) } else { (m, day) };
                    s.push_str(&format!("s{a:02}.{b:02}"));
                }
                _ => return None,
            },
            SaltPart::Phonetic(i) => match &values[i] {
                Some(Value::Name(n)) => {
                    s.push('n');
                    s.push_str(&n.phonetic_key());
                }
                _ => return None,
            },
            SaltPart::Exact(i) => {
                let v = values[i].as_ref()?;
                s.push('e');
                s.push_str(&tokens::exact_text(v)?);
            }
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::date::PartialDate;

    fn date(y: i32, m: u8, d: u8) -> Option<Value> {
        Some(Value::Date(PartialDate {
            year: y,
            month: Some(m),
            day: Some(d),
        }))
    }

    #[test]
    fn a_day_month_swap_keeps_the_salt_a_missing_part_drops_it() {
        let parts = [SaltPart::DayMonth(0), SaltPart::Year(0)];
        let a = salt_of(&parts, &[date(1990, 3, 7)]);
        assert!(a.is_some());
        assert_eq!(a, salt_of(&parts, &[date(1990, 7, 3)]));
        assert_ne!(a, salt_of(&parts, &[date(1991, 3, 7)]));
        assert_eq!(salt_of(&parts, &[None]), None);
        let partial = Some(Value::Date(PartialDate {
            year: 1990,
            month: None,
            day: None,
        }));
        assert_eq!(salt_of(&parts, std::slice::from_ref(&partial)), None);
        assert!(salt_of(&[SaltPart::Year(0)], &[partial]).is_some());
    }

    #[test]
    fn write_field_reuses_its_token_buffer_and_writes_what_a_fresh_scratch_writes() {
        let schema = Schema::default_victims();
        let key = SecretKey::from_bytes([5; 32]);
        let slots = SlotPlan::new(&schema, &key);
        let fi = schema.fields.iter().position(|f| f.name == "name").unwrap();
        let spec = &schema.fields[fi];
        assert!(slots.is_slotted(fi));
        let filter_key = key.subkey(Purpose::FieldFilter, "name");
        let blip_key = key.subkey(Purpose::Hardening, "blip");
        let plan = FilterPlan::new(spec.hashes, spec.bits, false, None);
        let salts = vec![Some("s1".to_string()), None];
        // The longest value first: it sizes the buffer, the others fit in it.
        let values = [
            "Siti Nurhaliza Wulandari Ahmad",
            "Dewi Lestari",
            "Budi",
            "Ani Yudhoyono",
        ];
        for hashing in [Hashing::of(spec), Hashing::PerToken(spec.hashes)] {
            let mut scratch = Scratch::default();
            let mut buffer = None;
            for s in values {
                let v = Value::Name(crate::normalize::name::normalize(s).unwrap());
                let blip = Some((&blip_key, s.as_bytes(), 0.05));
                let (mut out, mut fresh) = (Vec::new(), Vec::new());
                let write = |scratch: &mut Scratch, out: &mut Vec<u64>| {
                    let (q, fk) = (spec.q, &filter_key);
                    slots.write_field(fi, &v, &salts, q, fk, &plan, hashing, blip, scratch, out)
                };
                write(&mut scratch, &mut out);
                write(&mut Scratch::default(), &mut fresh);
                assert_eq!(out, fresh);
                assert!(out.iter().any(|&w| w != 0));
                assert!(scratch.per.is_empty());
                let now = (scratch.per.as_ptr(), scratch.per.capacity());
                match buffer {
                    None => {
                        assert!(now.1 > 0);
                        buffer = Some(now);
                    }
                    Some(first) => assert_eq!(now, first, "{hashing:?}"),
                }
            }
        }
    }

    #[test]
    fn phonetic_salts_ignore_word_order() {
        let name = |s: &str| Some(Value::Name(crate::normalize::name::normalize(s).unwrap()));
        let parts = [SaltPart::Phonetic(0)];
        assert_eq!(
            salt_of(&parts, &[name("Dewi Lestari")]),
            salt_of(&parts, &[name("Lestari Dewi")])
        );
        assert_ne!(
            salt_of(&parts, &[name("Dewi Lestari")]),
            salt_of(&parts, &[name("Ani Yudhoyono")])
        );
    }
}
