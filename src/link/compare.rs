//! Comparison: per field, a level (and similarity) for a pair of records.
//!
//! Level 0 is null (missing on either side: neutral). Level 1 is exact: equal keyed tokens, or
//! for a field without tokens a Dice of 1. Then one level per descending Dice threshold of the
//! field's [`ComparisonConfig`], and last "else". A token-only field (sex) has exact and else.

use rayon::prelude::*;

use super::block::{unpack, PairKey};
use super::config::{ComparisonConfig, LinkConfig};
use super::data::Records;
use super::dice::Kernel;

/// How every field of a pair is compared.
pub struct Comparator<'a> {
    recs: &'a Records,
    /// Per schema field.
    pub comparisons: Vec<ComparisonConfig>,
    kernel: Kernel,
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

    /// Levels of every field of a pair into `out`.
    #[inline]
    pub fn levels(&self, a: usize, b: usize, out: &mut [u8]) {
        for (f, o) in out.iter_mut().enumerate() {
            *o = self.field(f, a, b).0;
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
