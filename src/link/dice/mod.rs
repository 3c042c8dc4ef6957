//! Dice similarity of Bloom filters: the comparison kernels.
//!
//! # Data layout
//!
//! A [`FilterMatrix`] holds the filters of one field (or the record-level filter) for N records,
//! one after the other in a single `Vec<u64>`, `words` u64 per filter, with each filter's
//! popcount precomputed. Filter bit `i` is bit `i % 64` of word `i / 64`; built from bytes
//! ([`FilterMatrix::push`]), bit `i` is bit `i % 8` (least significant first) of byte `i / 8` —
//! the on-disk layout of the FixedSizeBinary filter columns, which is exactly little-endian u64
//! words.
//!
//! # Definitions
//!
//! With `c = |a ∧ b|` and `s = |a| + |b|`:
//! - `dice(a, b) = 2c / s`, computed as `(2c as f64) / (s as f64)` and returned as `f32`;
//! - both filters empty (`s = 0`): **0.0** — no q-gram on either side is no evidence of agreement
//!   (the anonlink convention);
//! - either filter missing (null): `None` — the caller treats the field as neutral.
//!
//! A pair is **above** a threshold `t` when the f64 quotient `(2c as f64) / (s as f64) >= t`
//! (with the value 0.0 when `s = 0`; missing pairs are never above). The fast kernels never divide
//! per pair: [`Threshold`] turns `t` into the exact rational `T/D` such that, for every pair that
//! filters of that length can produce, `2c·D ≥ T·s` holds exactly when the f64 test does (see
//! [`Threshold::new`] for the proof), so the fast kernels, the naive reference and [`dice`]
//! compared with `>=` in f64 agree bit for bit.
//!
//! # Instruction sets
//!
//! [`Isa`] names the popcount paths: AVX-512 VPOPCNTDQ, AVX2 (Mula's nibble-table `vpshufb`
//! popcount over 256-bit lanes, summed with `vpsadbw`), the scalar `popcnt` instruction, and a
//! portable path (`u64::count_ones` in a function without target features: a plain release build
//! lowers it to shift-and-add, about 5–10× slower). [`detect`] picks the best one this CPU has
//! (once, cached); [`Kernel::new`] forces one and refuses a path the CPU lacks, so a SIMD
//! instruction is only ever executed when `is_x86_feature_detected!` said it exists. Every path
//! gives identical results ([`naive`] is the reference the tests check them against).
//!
//! 512-bit (8-word) and 1024-bit (16-word) filters get loops specialized on the fixed size; other
//! lengths use the general loop of the same path.

use std::sync::OnceLock;

use rayon::prelude::*;

/// Expands to a dispatch on the filter length (8 and 16 words specialized).
macro_rules! by_words {
    ($words:expr, $f:ident :: <$k:ty> ($($arg:expr),*)) => {
        match $words {
            8 => $f::<$k, 8>($($arg),*),
            16 => $f::<$k, 16>($($arg),*),
            _ => $f::<$k, 0>($($arg),*),
        }
    };
}

mod isa;
mod kernel;
mod matrix;
pub mod naive;
mod threshold;
mod tile;
#[cfg(target_arch = "x86_64")]
#[clippy::msrv = "1.89"]
mod x86;

pub use isa::*;
pub use kernel::*;
pub use matrix::*;
pub use threshold::*;
use tile::*;

/// `|a ∧ b|` with the path `isa`.
///
/// # Panics
/// When this CPU cannot run `isa` (see [`Isa::is_available`]) or the lengths differ.
pub fn and_popcount(isa: Isa, a: &[u64], b: &[u64]) -> u32 {
    Kernel::new(isa)
        .unwrap_or_else(|| panic!("this CPU cannot run the {isa} popcount path"))
        .and_popcount(a, b)
}

/// Dice similarity of filter `i` of `m_a` and filter `j` of `m_b` with the detected path:
/// `None` when either is missing, 0.0 when both are empty (see the module docs).
///
/// This is the random-access form link uses per candidate pair and field.
///
/// # Panics
/// When an index is out of range or the filter lengths differ.
pub fn dice(m_a: &FilterMatrix, i: usize, m_b: &FilterMatrix, j: usize) -> Option<f32> {
    Kernel::detect().dice(m_a, i, m_b, j)
}

/// Every pair of a row of `a` and a row of `b` whose Dice similarity is above `threshold`, sorted
/// by `(i, j)`, computed with `isa` on the current rayon pool (see [`Kernel::all_pairs_above`]).
///
/// # Panics
/// When this CPU cannot run `isa`, the filter lengths differ or `threshold` is NaN.
pub fn all_pairs_above(
    a: &FilterMatrix,
    b: &FilterMatrix,
    threshold: f64,
    isa: Isa,
) -> Vec<(u32, u32, f32)> {
    Kernel::new(isa)
        .unwrap_or_else(|| panic!("this CPU cannot run the {isa} popcount path"))
        .all_pairs_above(a, b, threshold)
}

/// The Dice value of a pair with `c = |a ∧ b|` and `s = |a| + |b|` (0.0 when `s = 0`).
pub fn dice_value(c: u32, s: u32) -> f32 {
    dice_f64(c, s) as f32
}

fn dice_f64(c: u32, s: u32) -> f64 {
    if s == 0 {
        0.0
    } else {
        f64::from(2 * c) / f64::from(s)
    }
}

#[cfg(test)]
mod tests;
