//! Comparison: per field, a level (and similarity) for a pair of records.
//!
//! Level 0 is null (missing on either side: neutral). Level 1 is exact: equal keyed tokens, or
//! for a field without tokens a Dice of 1. Then one level per descending Dice threshold of the
//! field's [`ComparisonConfig`], and last "else". A token-only field (sex) has exact and else.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::block::{unpack, PairKey};
use super::config::{ComparisonConfig, LinkConfig};
use super::dice::{dice_value, Kernel};
use super::records::{Records, TokenColumn};

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
    /// Per schema field with frequency bands in use: each record's exact level (1 = rarest),
    /// from how many records of the run hold its token.
    exact_levels: Vec<Option<Vec<u8>>>,
    /// Per schema field whose tokens are counted ([`counts_tokens`]): its term frequencies.
    tf: Vec<Option<TermFrequencies>>,
}

/// Whether a field's tokens are counted over the run (see [`TermFrequencies`]): it is not keyed
/// by salt slots and its m and u are not fixed (the caller checks that it has a token). The
/// counts bound the u of its exact level and, with [`uses_bands`], split that level.
pub fn counts_tokens(c: &ComparisonConfig, slots: &super::slots::FieldSlots) -> bool {
    !slots.is_slotted() && c.fixed().is_none()
}

/// Whether a field splits its exact level by frequency bands: it has edges and its tokens are
/// counted ([`counts_tokens`]).
pub fn uses_bands(c: &ComparisonConfig, slots: &super::slots::FieldSlots) -> bool {
    c.frequency_bands.as_ref().is_some_and(|e| !e.is_empty()) && counts_tokens(c, slots)
}

/// Puts a field's frequency edges in use (`c.bands_in_use`) when it splits its exact level by
/// them ([`uses_bands`]); returns whether it does. The comparator and the distributed plan both
/// go through here, so a count lands in the same exact level on either path.
pub fn activate_bands(c: &mut ComparisonConfig, slots: &super::slots::FieldSlots) -> bool {
    let on = uses_bands(c, slots);
    if on {
        c.bands_in_use = c.frequency_bands.clone().unwrap_or_default();
    }
    on
}

/// A field's term frequencies over the whole run (see [`ComparisonConfig::frequency_bands`]):
/// the totals that place a count in a band, and the record pairs agreeing in each band. Counted
/// here from the records, or by a cluster engine and handed to the distributed plan
/// ([`TermFrequencies::from_histogram`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermFrequencies {
    /// Records holding the token.
    pub present: u64,
    /// Σ count² over the distinct tokens (below 2^64: records are numbered by `u32`).
    pub sum_sq: u64,
    /// Per exact level (rarest first): ordered record pairs agreeing on a token of that level,
    /// Σ count · (count − 1).
    pub pairs: Vec<u64>,
}

impl TermFrequencies {
    /// From the histogram of token counts: `(count, tokens)`, how many distinct tokens are held
    /// by exactly `count` records.
    pub fn from_histogram(c: &ComparisonConfig, hist: &[(u64, u64)]) -> TermFrequencies {
        let present = hist.iter().map(|&(k, t)| k * t).sum();
        let sum_sq = hist.iter().map(|&(k, t)| k * k * t).sum();
        let mut tf = TermFrequencies {
            present,
            sum_sq,
            pairs: vec![0; usize::from(c.n_exact())],
        };
        for &(k, t) in hist {
            let l = usize::from(tf.level(c, k)) - 1;
            tf.pairs[l] += k * k.saturating_sub(1) * t;
        }
        tf
    }

    /// The exact level of a token held by `count` records: the term-frequency adjustment
    /// `log2(u_exact / share)` in bits, with `u_exact = Σ count² / N²` (two random records
    /// agree) and `share = count / N`, i.e. `log2(Σ count² / (N · count))`, placed among the
    /// edges ([`ComparisonConfig::exact_level`]).
    pub fn level(&self, c: &ComparisonConfig, count: u64) -> u8 {
        if count == 0 || self.present == 0 {
            return 1;
        }
        let bits = (self.sum_sq as f64 / (self.present as f64 * count as f64)).log2();
        c.exact_level(bits)
    }

    /// The rate at which two records holding the token agree on it, `Σ count · (count − 1) /
    /// (N · (N − 1))` over the N records holding one (`None` below two records). It counts every
    /// agreeing pair, true matches included, so it bounds the non-match rate u of the exact level
    /// from above ([`crate::scoring::cap_exact_u`]).
    pub fn agreement_rate(&self) -> Option<f64> {
        let n = self.present;
        (n >= 2).then(|| self.pairs.iter().sum::<u64>() as f64 / (n as f64 * (n - 1) as f64))
    }

    /// The share of each exact level among the agreeing pairs (`None` when no two records agree).
    pub fn shares(&self) -> Option<Vec<f64>> {
        let total: u64 = self.pairs.iter().sum();
        (total > 0).then(|| {
            self.pairs
                .iter()
                .map(|&p| p as f64 / total as f64)
                .collect()
        })
    }
}

/// The histogram of how many records of `t` hold each token (`(count, distinct tokens)`,
/// ascending) and, with `per_record`, each record's count (0 without a token; empty otherwise).
pub fn token_counts(t: &TokenColumn, per_record: bool) -> (Vec<u64>, Vec<(u64, u64)>) {
    let mut counts: ahash::AHashMap<u128, u64> = ahash::AHashMap::new();
    for (&v, _) in t.values.iter().zip(&t.valid).filter(|(_, &ok)| ok) {
        *counts.entry(v).or_insert(0) += 1;
    }
    let per = if per_record {
        (0..t.values.len())
            .map(|i| t.get(i).map_or(0, |v| counts[&v]))
            .collect()
    } else {
        Vec::new()
    };
    let mut hist: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
    for &k in counts.values() {
        *hist.entry(k).or_insert(0) += 1;
    }
    (per, hist.into_iter().collect())
}

/// Where a field sits in a packed row.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Offset of the meta word: popcount (low 32 bits), token present (bit 32), filter present
    /// (bit 33), the token's exact level (bits 40–47).
    meta: usize,
    /// Offset of the 2-word token, if the field has tokens.
    token: Option<usize>,
    /// Offset and length in words of the filter, if the field has one.
    filter: Option<(usize, usize)>,
}

const TOKEN_PRESENT: u64 = 1 << 32;
const FILTER_PRESENT: u64 = 1 << 33;
/// Bits 40–47 of the meta word: the exact level of the record's token (1 without bands).
const EXACT_SHIFT: u32 = 40;

/// Every field of a record in one contiguous row of words, so comparing a pair reads a few
/// adjacent cache lines per record instead of two or three lines per field from separate
/// columns. Built once per run; holds the same values as [`Records`].
struct Packed {
    stride: usize,
    slots: Vec<Slot>,
    data: Vec<u64>,
}

impl Packed {
    fn new(recs: &Records, exact_levels: &[Option<Vec<u8>>]) -> Packed {
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
                            let level = exact_levels[f].as_ref().map_or(1, |lv| lv[i]);
                            meta |= TOKEN_PRESENT | u64::from(level) << EXACT_SHIFT;
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
        let counted = Self::with_frequencies(recs, cfg, |_, t, c| {
            let (per, hist) = token_counts(t, !c.bands_in_use.is_empty());
            Ok::<_, std::convert::Infallible>((TermFrequencies::from_histogram(c, &hist), per))
        });
        match counted {
            Ok(c) => c,
            Err(never) => match never {},
        }
    }

    /// A comparator whose term frequencies come from `frequencies(field, tokens, comparison)`:
    /// the field's [`TermFrequencies`] over the whole run and, when the comparison has bands in
    /// use, each record's token count (otherwise unused: may be empty). The distributed run
    /// counts them across every batch, and fails when they are not given.
    pub fn with_frequencies<E>(
        recs: &'a Records,
        cfg: &LinkConfig,
        mut frequencies: impl FnMut(
            usize,
            &TokenColumn,
            &ComparisonConfig,
        ) -> Result<(TermFrequencies, Vec<u64>), E>,
    ) -> Result<Comparator<'a>, E> {
        let slotted = super::slots::FieldSlots::of(&recs.schema);
        let mut comparisons: Vec<ComparisonConfig> = recs
            .schema
            .fields
            .iter()
            .map(|f| cfg.comparison_for(f))
            .collect();
        let mut exact_levels = vec![None; comparisons.len()];
        let mut tf = vec![None; comparisons.len()];
        for (f, c) in comparisons.iter_mut().enumerate() {
            if let Some(t) = recs.tokens[f].as_ref() {
                if counts_tokens(c, &slotted[f]) {
                    let bands = activate_bands(c, &slotted[f]);
                    let (table, counts) = frequencies(f, t, c)?;
                    if bands {
                        exact_levels[f] = Some(counts.iter().map(|&k| table.level(c, k)).collect());
                    }
                    tf[f] = Some(table);
                }
            }
        }
        Ok(Comparator {
            recs,
            comparisons,
            kernel: Kernel::detect(),
            #[cfg(target_arch = "x86_64")]
            popcnt: std::arch::is_x86_feature_detected!("popcnt"),
            packed: Packed::new(recs, &exact_levels),
            slotted,
            exact_levels,
            tf,
        })
    }

    /// Per field with frequency bands, the share of each exact level among the record pairs that
    /// agree on the token (rarest first), for [`crate::scoring::split_exact_u`].
    pub fn exact_shares(&self) -> Vec<Option<Vec<f64>>> {
        self.tf
            .iter()
            .zip(&self.comparisons)
            .map(|(t, c)| {
                t.as_ref()
                    .filter(|_| !c.bands_in_use.is_empty())
                    .and_then(TermFrequencies::shares)
            })
            .collect()
    }

    /// Per field whose tokens are counted, the rate at which two records holding the token agree
    /// on it ([`TermFrequencies::agreement_rate`]), for [`crate::scoring::cap_exact_u`].
    pub fn exact_agreement_rates(&self) -> Vec<Option<f64>> {
        self.tf
            .iter()
            .map(|t| t.as_ref().and_then(TermFrequencies::agreement_rate))
            .collect()
    }

    /// Exact levels per field (one per frequency band in use).
    pub fn n_exact(&self) -> Vec<u8> {
        self.comparisons.iter().map(|c| c.n_exact()).collect()
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
                    let level = self.exact_levels[f].as_ref().map_or(1, |lv| lv[a]);
                    return (level, 1.0);
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
                    *o = ((ma >> EXACT_SHIFT) & 0xff) as u8;
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

    fn tokens(values: &[Option<u128>]) -> TokenColumn {
        TokenColumn {
            values: values.iter().map(|v| v.unwrap_or(0)).collect(),
            valid: values.iter().map(Option::is_some).collect(),
        }
    }

    fn name_comparison() -> ComparisonConfig {
        let mut c = ComparisonConfig::default_for(crate::schema::FieldKind::Name);
        c.bands_in_use = c.frequency_bands.clone().expect("names have bands");
        c
    }

    /// Counted by hand: tokens 1 (×1), 2 (×2), 3 (×3), 4 (×14) and one record without a token;
    /// 20 records hold a token, Σ count² = 1 + 4 + 9 + 196 = 210. The adjustment
    /// log2(210 / (20 · count)) is +3.39 bits for 1, +2.39 for 2, +1.81 for 3 (all ≥ +1: the
    /// rarest level) and −0.42 for 4 (between −1 and 0: the third level).
    #[test]
    fn frequency_levels_follow_the_term_frequency_adjustment() {
        let mut v = vec![Some(1), Some(2), Some(2), Some(3), Some(3), Some(3), None];
        v.extend(std::iter::repeat_n(Some(4), 14));
        let t = tokens(&v);
        let c = name_comparison();
        let (per, hist) = token_counts(&t, true);
        assert_eq!(hist, vec![(1, 1), (2, 1), (3, 1), (14, 1)]);
        assert_eq!(token_counts(&t, false), (Vec::new(), hist.clone()));
        assert_eq!(per[..7], [1, 2, 2, 3, 3, 3, 0]);
        let tf = TermFrequencies::from_histogram(&c, &hist);
        assert_eq!((tf.present, tf.sum_sq), (20, 210));
        // Ordered pairs agreeing per level: 2·1 + 3·2 in the rarest, 14·13 in the third.
        assert_eq!(tf.pairs, vec![8, 0, 182, 0]);
        let levels: Vec<u8> = [1, 2, 3, 14].iter().map(|&k| tf.level(&c, k)).collect();
        assert_eq!(levels, vec![1, 1, 1, 3]);
        let shares = tf.shares().expect("pairs agree");
        assert!((shares[0] - 8.0 / 190.0).abs() < 1e-12 && shares[1] == 0.0);
        // One exact level per band, then the Dice thresholds, then else.
        assert_eq!(c.n_exact(), 4);
        assert_eq!(c.n_levels(), 4 + 5 + 1);
        assert_eq!(
            c.level(0.95),
            5,
            "the first Dice level follows the exact levels"
        );
        assert_eq!(c.level(0.1), 10, "else");
        let labels = c.labels();
        assert_eq!(labels.len(), 11);
        assert!(
            labels[1].starts_with("exact, value rare")
                && labels[4].starts_with("exact, value common")
        );
    }

    /// A pair agreeing on a rare name gets a lower (rarer) exact level than a pair agreeing on a
    /// common one, on the per-field and the packed path alike; a field without bands keeps one
    /// exact level.
    #[test]
    fn comparator_splits_exact_agreement_by_frequency() {
        use crate::schema::Schema;
        let schema = Schema::from_toml(
            r#"
version = 1
name = "tf"
[record_filter]
bits = 256
[[fields]]
name = "name"
kind = "name"
bits = 64
hashes = 2
exact_token = true
record_hashes = 2
[[fields]]
name = "sex"
kind = "sex"
exact_token = true
"#,
            "tf.toml",
        )
        .expect("schema");
        let layout = crate::io::encoded::Layout::for_schema(&schema);
        let mut recs = Records::empty(&schema, &layout);
        // Name tokens: 7 held by two records, 9 by twelve; sex 1 or 2.
        let names: Vec<u128> = [7, 7]
            .into_iter()
            .chain(std::iter::repeat_n(9, 12))
            .collect();
        for (i, &n) in names.iter().enumerate() {
            let t = recs.tokens[0].as_mut().expect("name token");
            t.values.push(n);
            t.valid.push(true);
            let s = recs.tokens[1].as_mut().expect("sex token");
            s.values.push(1 + (i % 2) as u128);
            s.valid.push(true);
            if let Some(m) = recs.filters[0].as_mut() {
                m.push_missing();
            }
            recs.record_filter.push_missing();
            recs.agency_of.push(0);
            recs.ids.push(i.to_string());
        }
        let cmp = Comparator::new(&recs, &LinkConfig::default());
        assert_eq!(cmp.n_levels()[1], 2, "sex: exact and else, no bands");
        let mut lv = [0u8; 2];
        cmp.levels(0, 1, &mut lv);
        let rare = lv[0];
        assert_eq!(rare, cmp.field(0, 0, 1).0);
        cmp.levels(2, 4, &mut lv);
        let common = lv[0];
        assert_eq!(common, cmp.field(0, 2, 4).0);
        assert_eq!(lv[1], 1, "sex agrees exactly: its one exact level");
        assert!(rare < common, "rare {rare}, common {common}");
        assert!(common <= cmp.comparisons[0].n_exact());
        let shares = cmp.exact_shares();
        assert!(shares[1].is_none());
        let s = shares[0].as_ref().expect("name shares");
        // 2·1 ordered pairs on the rare token, 12·11 on the common one.
        assert!(
            (s[usize::from(rare) - 1] - 2.0 / 134.0).abs() < 1e-12,
            "{s:?}"
        );
        // Both fields' tokens are counted, the sex without bands too: two records holding a
        // token agree on it at Σ count·(count − 1) / (N·(N − 1)).
        let rates = cmp.exact_agreement_rates();
        let name_rate = rates[0].expect("name counted");
        assert!(
            (name_rate - 134.0 / (14.0 * 13.0)).abs() < 1e-12,
            "{name_rate}"
        );
        let sex_rate = rates[1].expect("sex counted");
        assert!(
            (sex_rate - 2.0 * 7.0 * 6.0 / (14.0 * 13.0)).abs() < 1e-12,
            "{sex_rate}"
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
