//! The plain reference: bit by bit, obviously correct, slow. The tests check every fast path
//! against it.

use super::FilterMatrix;

/// Bit `i` of a filter (bit `i % 64` of word `i / 64`).
pub fn bit(words: &[u64], i: usize) -> bool {
    (words[i / 64] >> (i % 64)) & 1 == 1
}

/// The number of set bits, counted one bit at a time.
pub fn popcount(a: &[u64]) -> u32 {
    (0..a.len() * 64).filter(|&i| bit(a, i)).count() as u32
}

/// `|a ∧ b|`, counted one bit at a time.
pub fn and_popcount(a: &[u64], b: &[u64]) -> u32 {
    assert_eq!(a.len(), b.len());
    (0..a.len() * 64)
        .filter(|&i| bit(a, i) && bit(b, i))
        .count() as u32
}

/// Dice as f64 from the bits (ignores the matrix's precomputed counts); `None` when missing,
/// 0.0 when both are empty.
pub fn dice_f64(m_a: &FilterMatrix, i: usize, m_b: &FilterMatrix, j: usize) -> Option<f64> {
    if m_a.is_missing(i) || m_b.is_missing(j) {
        return None;
    }
    let (a, b) = (m_a.row(i), m_b.row(j));
    let s = popcount(a) + popcount(b);
    if s == 0 {
        return Some(0.0);
    }
    Some(f64::from(2 * and_popcount(a, b)) / f64::from(s))
}

/// Dice as returned by the fast kernels (the f64 value rounded to f32).
pub fn dice(m_a: &FilterMatrix, i: usize, m_b: &FilterMatrix, j: usize) -> Option<f32> {
    dice_f64(m_a, i, m_b, j).map(|d| d as f32)
}

/// Every pair whose f64 Dice is `>= threshold`, in `(i, j)` order, by two plain loops.
pub fn all_pairs_above(a: &FilterMatrix, b: &FilterMatrix, threshold: f64) -> Vec<(u32, u32, f32)> {
    let mut out = Vec::new();
    for i in 0..a.len() {
        for j in 0..b.len() {
            if let Some(d) = dice_f64(a, i, b, j) {
                if d >= threshold {
                    out.push((i as u32, j as u32, d as f32));
                }
            }
        }
    }
    out
}
