//! Comparison: per field, a level (and similarity) for a pair of records.
//!
//! Level 0 is null (missing on either side: neutral). Level 1 is exact: equal keyed tokens, or
//! for a field without tokens a Dice of 1. Then one level per descending Dice threshold of the
//! field's [`ComparisonConfig`], and last "else". A token-only field (sex) has exact and else.

use rayon::prelude::*;

use super::block::{unpack, PairKey};
use super::config::{ComparisonConfig, LinkConfig};
use super::dice::{dice_value, Kernel};
use super::records::Records;

/// How every field of a pair is compared.
pub struct Comparator<'a> {
    recs: &'a Records,
    /// Per schema field.
    pub comparisons: Vec<ComparisonConfig>,
    kernel: Kernel,
    #[cfg(target_arch = "x86_64")]
    popcnt: bool,
    packed: Packed,
    /// Per schema field: its salt-slot segments (empty for most fields).
    slotted: Vec<super::slots::FieldSlots>,
}

/// Where a field sits in a packed row.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Offset of the meta word: popcount (low 32 bits), token present (bit 32), filter present
    /// (bit 33).
    meta: usize,
    /// Offset of the 2-word token, if the field has tokens.
    token: Option<usize>,
    /// Offset and length in words of the filter, if the field has one.
    filter: Option<(usize, usize)>,
}

const TOKEN_PRESENT: u64 = 1 << 32;
const FILTER_PRESENT: u64 = 1 << 33;

/// Every field of a record in one contiguous row of words, so comparing a pair reads a few
/// adjacent cache lines per record instead of two or three lines per field from separate
/// columns. Built once per run; holds the same values as [`Records`].
struct Packed {
    stride: usize,
    slots: Vec<Slot>,
    data: Vec<u64>,
}

impl Packed {
    fn new(recs: &Records) -> Packed {
        let mut slots = Vec::new();
        let mut off = 0;
        for f in 0..recs.schema.fields.len() {
            let meta = off;
            off += 1;
            let token = recs.tokens[f].as_ref().map(|_| {
                off += 2;
                off - 2
            });
            let filter = recs.filters[f].as_ref().map(|m| {
                off += m.words();
                (off - m.words(), m.words())
            });
            slots.push(Slot {
                meta,
                token,
                filter,
            });
        }
        let stride = off.max(1);
        let mut data = vec![0u64; stride * recs.len()];
        data.par_chunks_mut(stride)
            .enumerate()
            .for_each(|(i, row)| {
                for (f, slot) in slots.iter().enumerate() {
                    let mut meta = 0u64;
                    if let (Some(o), Some(t)) = (slot.token, recs.tokens[f].as_ref()) {
                        if let Some(v) = t.get(i) {
                            meta |= TOKEN_PRESENT;
                            row[o] = v as u64;
                            row[o + 1] = (v >> 64) as u64;
                        }
                    }
                    if let (Some((o, w)), Some(m)) = (slot.filter, recs.filters[f].as_ref()) {
                        if !m.is_missing(i) {
                            meta |= FILTER_PRESENT | u64::from(m.count(i));
                            row[o..o + w].copy_from_slice(m.row(i));
                        }
                    }
                    row[slot.meta] = meta;
                }
            });
        Packed {
            stride,
            slots,
            data,
        }
    }

    #[inline(always)]
    fn row(&self, i: usize) -> &[u64] {
        &self.data[i * self.stride..(i + 1) * self.stride]
    }
}

impl<'a> Comparator<'a> {
    /// A comparator over all records with the config's levels and the fastest kernel.
    pub fn new(recs: &'a Records, cfg: &LinkConfig) -> Comparator<'a> {
        Comparator {
            recs,
            comparisons: recs
                .schema
                .fields
                .iter()
                .map(|f| cfg.comparison_for(f))
                .collect(),
            kernel: Kernel::detect(),
            #[cfg(target_arch = "x86_64")]
            popcnt: std::arch::is_x86_feature_detected!("popcnt"),
            packed: Packed::new(recs),
            slotted: super::slots::FieldSlots::of(&recs.schema),
        }
    }

    /// Fields compared.
    pub fn n_fields(&self) -> usize {
        self.comparisons.len()
    }

    /// Non-null levels per field.
    pub fn n_levels(&self) -> Vec<u8> {
        self.comparisons.iter().map(|c| c.n_levels()).collect()
    }

    /// The kernel's instruction set.
    pub fn isa(&self) -> &'static str {
        self.kernel.isa().name()
    }

    /// Compares field `f` of records `a` and `b`: (level, similarity or NaN when null).
    #[inline]
    pub fn field(&self, f: usize, a: usize, b: usize) -> (u8, f32) {
        let comp = &self.comparisons[f];
        if self.slotted[f].is_slotted() {
            return match &self.recs.filters[f] {
                Some(m) if !m.is_missing(a) && !m.is_missing(b) => {
                    slotted_level(comp, self.slotted[f].best_dice(m.row(a), m.row(b)))
                }
                _ => (0, f32::NAN),
            };
        }
        let token = self.recs.tokens[f].as_ref();
        if let Some(t) = token {
            if let (Some(x), Some(y)) = (t.get(a), t.get(b)) {
                if x == y {
                    return (1, 1.0);
                }
            }
        }
        match &self.recs.filters[f] {
            Some(m) => match self.kernel.dice(m, a, m, b) {
                None => (0, f32::NAN),
                Some(s) => {
                    if token.is_none() && s >= 1.0 {
                        (1, s)
                    } else {
                        (comp.level(s), s)
                    }
                }
            },
            None => match token.map(|t| (t.get(a), t.get(b))) {
                Some((Some(_), Some(_))) => (comp.n_levels(), 0.0),
                _ => (0, f32::NAN),
            },
        }
    }

    /// Levels of every field of a pair into `out` (the same levels as [`Comparator::field`],
    /// read from the packed rows).
    #[inline]
    pub fn levels(&self, a: usize, b: usize, out: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if self.popcnt {
            // SAFETY: `popcnt` was detected on this CPU when the comparator was built.
            unsafe { self.levels_popcnt(a, b, out) };
            return;
        }
        self.levels_packed(a, b, out);
    }

    /// [`Comparator::levels_packed`] with the filters (a few words each) counted by inlined
    /// `popcnt` instructions: a vector kernel's call costs more than it saves on 4–8 words.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn levels_popcnt(&self, a: usize, b: usize, out: &mut [u8]) {
        self.levels_packed(a, b, out);
    }

    #[inline(always)]
    fn levels_packed(&self, a: usize, b: usize, out: &mut [u8]) {
        let (ra, rb) = (self.packed.row(a), self.packed.row(b));
        for (((o, slot), comp), fs) in out
            .iter_mut()
            .zip(&self.packed.slots)
            .zip(&self.comparisons)
            .zip(&self.slotted)
        {
            let (ma, mb) = (ra[slot.meta], rb[slot.meta]);
            if fs.is_slotted() {
                *o = match slot.filter {
                    Some((f, w)) if ma & mb & FILTER_PRESENT != 0 => {
                        slotted_level(comp, fs.best_dice(&ra[f..f + w], &rb[f..f + w])).0
                    }
                    _ => 0,
                };
                continue;
            }
            if let Some(t) = slot.token {
                if ma & mb & TOKEN_PRESENT != 0 && ra[t] == rb[t] && ra[t + 1] == rb[t + 1] {
                    *o = 1;
                    continue;
                }
            }
            *o = match slot.filter {
                Some((f, w)) => {
                    if ma & mb & FILTER_PRESENT == 0 {
                        0
                    } else {
                        let c: u32 = ra[f..f + w]
                            .iter()
                            .zip(&rb[f..f + w])
                            .map(|(x, y)| (x & y).count_ones())
                            .sum();
                        let s = dice_value(c, (ma as u32) + (mb as u32));
                        if slot.token.is_none() && s >= 1.0 {
                            1
                        } else {
                            comp.level(s)
                        }
                    }
                }
                None => {
                    if slot.token.is_some() && ma & mb & TOKEN_PRESENT != 0 {
                        comp.n_levels()
                    } else {
                        0
                    }
                }
            };
        }
    }

    /// Levels of many pairs, flat `pairs × fields`, in parallel, in pair order.
    pub fn levels_of(&self, pairs: &[PairKey]) -> Vec<u8> {
        let nf = self.n_fields();
        let mut out = vec![0u8; pairs.len() * nf];
        if nf == 0 {
            return out;
        }
        out.par_chunks_mut(nf * 4096)
            .zip(pairs.par_chunks(4096))
            .for_each(|(o, ps)| {
                for (k, &p) in ps.iter().enumerate() {
                    let (a, b) = unpack(p);
                    self.levels(a as usize, b as usize, &mut o[k * nf..(k + 1) * nf]);
                }
            });
        out
    }
}

/// The level of a slotted field from its best shared-slot Dice (see
/// [`super::slots::FieldSlots::best_dice`]: no shared slot is "else", no slot on a side null).
#[inline]
fn slotted_level(comp: &ComparisonConfig, best: Result<f32, bool>) -> (u8, f32) {
    match best {
        Err(false) => (0, f32::NAN),
        Err(true) => (comp.n_levels(), 0.0),
        Ok(s) if s >= 1.0 => (1, s),
        Ok(s) => (comp.level(s), s),
    }
}

/// Packs a pair's level vector into one `u32` (mixed radix, field 0 most significant, so code
/// order is the lexicographic order of the vectors): candidates are stored as a pair and a code.
#[derive(Debug, Clone)]
pub struct LevelCoder {
    /// Levels per field, null included.
    radix: Vec<u32>,
    space: u64,
}

impl LevelCoder {
    /// A coder for fields with `n_levels` non-null levels each; `None` when the vectors do not
    /// fit in 32 bits (more than 4 294 967 296 possible patterns).
    pub fn new(n_levels: &[u8]) -> Option<LevelCoder> {
        let radix: Vec<u32> = n_levels.iter().map(|&n| u32::from(n) + 1).collect();
        let space = radix
            .iter()
            .try_fold(1u64, |acc, &r| acc.checked_mul(u64::from(r)))
            .filter(|&s| s <= 1u64 << 32)?;
        Some(LevelCoder { radix, space })
    }

    /// Number of possible codes.
    pub fn space(&self) -> u64 {
        self.space
    }

    /// The code of a level vector.
    #[inline]
    pub fn encode(&self, levels: &[u8]) -> u32 {
        let mut c = 0u32;
        for (&l, &r) in levels.iter().zip(&self.radix) {
            c = c * r + u32::from(l);
        }
        c
    }

    /// The level vector of a code, into `out`.
    pub fn decode(&self, mut code: u32, out: &mut [u8]) {
        for (o, &r) in out.iter_mut().zip(&self.radix).rev() {
            *o = (code % r) as u8;
            code /= r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed, inlined path gives the levels of the per-field kernel path on real encoded
    /// fixtures (every pair of a few hundred records of two agencies).
    #[test]
    fn packed_levels_equal_per_field_levels() {
        use crate::encode::EncodeJob;
        use crate::keys::SecretKey;
        use crate::schema::{ColumnMap, Schema};
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synth");
        let dir = tempfile::tempdir().expect("temp dir");
        let schema = Schema::default_victims();
        let key = SecretKey::from_bytes([7; 32]);
        let files: Vec<std::path::PathBuf> = ["kemlu", "polri"]
            .iter()
            .map(|&name| {
                let columns = ColumnMap::load(&fixtures.join(format!("{name}.columns.toml")))
                    .expect("column map");
                let output = dir.path().join(format!("{name}.padan.parquet"));
                let input = fixtures.join(format!("{name}.csv"));
                EncodeJob::new(&schema, &key, &columns, name, &input, &output)
                    .run(&|_, _| {})
                    .expect("encode");
                output
            })
            .collect();
        let recs = Records::load(&files).expect("fixtures load");
        let cmp = Comparator::new(&recs, &LinkConfig::default());
        let mut lv = vec![0u8; cmp.n_fields()];
        let n = recs.len();
        let mut seen = [0u64; 8];
        for a in 0..n {
            for b in a + 1..n {
                cmp.levels(a, b, &mut lv);
                for (f, &l) in lv.iter().enumerate() {
                    assert_eq!(l, cmp.field(f, a, b).0, "field {f} of pair ({a}, {b})");
                    seen[usize::from(l).min(7)] += 1;
                }
            }
        }
        // Null, exact and some graded levels all occur (the comparison is not trivial).
        assert!(
            seen[0] > 0 && seen[1] > 0 && seen[2..].iter().sum::<u64>() > 0,
            "{seen:?}"
        );
    }

    #[test]
    fn level_codes_round_trip_and_keep_lexicographic_order() {
        let coder = LevelCoder::new(&[4, 3, 2]).expect("small space");
        assert_eq!(coder.space(), 5 * 4 * 3);
        let mut seen = Vec::new();
        let mut out = [0u8; 3];
        for a in 0..=4u8 {
            for b in 0..=3u8 {
                for c in 0..=2u8 {
                    let code = coder.encode(&[a, b, c]);
                    coder.decode(code, &mut out);
                    assert_eq!(out, [a, b, c]);
                    seen.push(code);
                }
            }
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "lexicographic order");
        assert!(
            LevelCoder::new(&[255; 5]).is_none(),
            "256^5 codes do not fit in 32 bits"
        );
    }
}
