//! Hardening of field filters: keyed permutation, balancing, XOR-folding and BLIP (salting is
//! applied to the q-grams themselves, in [`super::Encoder`]).
//!
//! The encoder applies balancing and the permutation through each token's cached mask
//! ([`super::bloom::FilterPlan`]); `balance` and `permute` here (test builds only) are their
//! bit-by-bit definitions, which the tests hold the plan to.
//!
//! Every random choice comes from a keyed blake3 XOF under a [`Purpose::Hardening`] subkey, so
//! encoding stays deterministic and nobody without the key can undo it. Filters are `u64` words,
//! bit `p` = word `p / 64`, bit `p % 64` (as in [`super::bloom`]).
//!
//! [`Purpose::Hardening`]: crate::keys::Purpose::Hardening

use crate::keys::Subkey;

/// A keyed permutation of `bits` positions: Fisher–Yates driven by the subkey's XOF. Input bit
/// `i` goes to output bit `perm[i]`.
pub fn permutation(subkey: &Subkey, bits: usize) -> Vec<u16> {
    debug_assert!(bits <= 1 << 16);
    let mut perm: Vec<u16> = (0..bits).map(|i| i as u16).collect();
    let mut h = subkey.hasher();
    h.update(b"permutation");
    h.update(&(bits as u64).to_le_bytes());
    let mut xof = h.finalize_xof();
    let mut buf = [0u8; 8];
    for i in (1..bits).rev() {
        // Unbiased enough: a 64-bit draw reduced modulo at most 2^13 (bias < 2^-50).
        xof.fill(&mut buf);
        let j = (u64::from_le_bytes(buf) % (i as u64 + 1)) as usize;
        perm.swap(i, j);
    }
    perm
}

#[cfg(test)]
fn get(words: &[u64], p: usize) -> bool {
    words[p >> 6] >> (p & 63) & 1 == 1
}

/// Applies a permutation: `out` (resized to `words.len()`) gets bit `perm[i]` = bit `i` of `words`.
#[cfg(test)]
pub fn permute(words: &[u64], perm: &[u16], out: &mut Vec<u64>) {
    debug_assert_eq!(perm.len(), words.len() * 64);
    out.clear();
    out.resize(words.len(), 0);
    for (i, &p) in perm.iter().enumerate() {
        if get(words, i) {
            out[(p >> 6) as usize] |= 1u64 << (p & 63);
        }
    }
}

/// Balancing: appends the complement, so exactly half of the (doubled) bits are set.
#[cfg(test)]
pub fn balance(words: &mut Vec<u64>) {
    let n = words.len();
    for i in 0..n {
        words.push(!words[i]);
    }
}

/// XOR-folding: the first half XOR the second half (the width halves).
pub fn fold(words: &mut Vec<u64>) {
    let half = words.len() / 2;
    debug_assert!(half > 0 && words.len().is_multiple_of(2));
    for i in 0..half {
        words[i] ^= words[half + i];
    }
    words.truncate(half);
}

/// BLIP: flips each bit independently with probability `p`, the flips drawn from the keyed XOF of
/// `subkey` over `seed` (agency and record id), so a record always gets the same noise and two
/// records with the same value get different noise.
///
/// The flips are drawn as geometric gaps between flipped bits (inverse transform of a uniform
/// 53-bit draw: `gap = ⌊ln U / ln(1 − p)⌋`), which is exactly a Bernoulli(p) process over the bits
/// and needs about `p · bits + 1` draws instead of one per bit.
pub fn blip(words: &mut [u64], subkey: &Subkey, seed: &[u8], p: f64) {
    if p <= 0.0 {
        return;
    }
    let bits = words.len() * 64;
    if p >= 1.0 {
        words.iter_mut().for_each(|w| *w = !*w);
        return;
    }
    let ln_q = (-p).ln_1p();
    let mut h = subkey.hasher();
    h.update(b"blip-geometric");
    h.update(seed);
    let mut xof = h.finalize_xof();
    let mut buf = [0u8; 256];
    let mut used = buf.len();
    let mut at = 0usize;
    loop {
        if used == buf.len() {
            xof.fill(&mut buf);
            used = 0;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&buf[used..used + 8]);
        used += 8;
        // U uniform in (0, 1]
        let u = ((u64::from_le_bytes(b) >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
        let gap = (u.ln() / ln_q).floor();
        if gap >= (bits - at) as f64 {
            return;
        }
        at += gap as usize;
        words[at >> 6] ^= 1 << (at & 63);
        at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Purpose, SecretKey};

    fn key(b: u8, label: &str) -> Subkey {
        SecretKey::from_bytes([b; 32]).subkey(Purpose::Hardening, label)
    }

    fn popcount(w: &[u64]) -> u32 {
        w.iter().map(|x| x.count_ones()).sum()
    }

    fn sample(seed: u64, n: usize) -> Vec<u64> {
        // splitmix64: a fixed pseudo-random filter
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            })
            .collect()
    }

    #[test]
    fn permutation_is_keyed_deterministic_a_bijection_and_keeps_popcount() {
        let a = permutation(&key(1, "permute:name"), 512);
        assert_eq!(a, permutation(&key(1, "permute:name"), 512));
        assert_ne!(a, permutation(&key(2, "permute:name"), 512));
        assert_ne!(a, permutation(&key(1, "permute:nik"), 512));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..512).collect::<Vec<u16>>());
        // it moves almost every position
        assert!(
            a.iter()
                .enumerate()
                .filter(|(i, &p)| *i == p as usize)
                .count()
                < 10
        );
        let w = sample(7, 8);
        let mut out = Vec::new();
        permute(&w, &a, &mut out);
        assert_eq!(popcount(&w), popcount(&out));
        assert_ne!(w, out);
        // bit i lands on perm[i]
        let mut one = vec![0u64; 8];
        one[0] = 1 << 5;
        permute(&one, &a, &mut out);
        let p = a[5] as usize;
        assert_eq!(popcount(&out), 1);
        assert!(get(&out, p));
    }

    #[test]
    fn balancing_sets_exactly_half_the_bits_whatever_the_input() {
        for (seed, n) in [(1, 8), (2, 4)] {
            for mask in [0u64, u64::MAX, 0x0F0F] {
                let mut w: Vec<u64> = sample(seed, n).into_iter().map(|x| x & !mask).collect();
                balance(&mut w);
                assert_eq!(w.len(), 2 * n);
                assert_eq!(popcount(&w) as usize, n * 64);
            }
        }
    }

    #[test]
    fn folding_halves_the_width_and_xors_the_halves() {
        let w = sample(3, 8);
        let mut f = w.clone();
        fold(&mut f);
        assert_eq!(f.len(), 4);
        for i in 0..4 {
            assert_eq!(f[i], w[i] ^ w[i + 4]);
        }
    }

    #[test]
    fn blip_is_deterministic_per_record_and_flips_at_rate_p() {
        let k = key(1, "blip:name");
        let base = vec![0u64; 8 * 500]; // 256 000 bits
        let mut a = base.clone();
        blip(&mut a, &k, b"kemlu\0r1", 0.1);
        let mut b = base.clone();
        blip(&mut b, &k, b"kemlu\0r1", 0.1);
        assert_eq!(a, b, "same record, same noise");
        let mut c = base.clone();
        blip(&mut c, &k, b"kemlu\0r2", 0.1);
        assert_ne!(a, c, "another record, other noise");
        let rate = popcount(&a) as f64 / (base.len() * 64) as f64;
        assert!((rate - 0.1).abs() < 0.004, "flip rate {rate}");
        // flipping is symmetric: on an all-ones filter the same share is cleared
        let mut ones = vec![u64::MAX; 8 * 500];
        blip(&mut ones, &k, b"kemlu\0r3", 0.25);
        let cleared = 1.0 - popcount(&ones) as f64 / (8.0 * 500.0 * 64.0);
        assert!((cleared - 0.25).abs() < 0.005, "cleared {cleared}");
        let mut off = base.clone();
        blip(&mut off, &k, b"x", 0.0);
        assert_eq!(off, base);
    }
}
