//! Keyed Bloom filters: bit positions from independent keyed blake3 outputs, with a cache.
//!
//! For a token `t` of field `f`, the `k` bit positions are `k` little-endian `u16` words read from
//! the blake3 XOF of `keyed_hash(subkey(f, purpose), t)`, each masked to the filter length (a
//! power of two, so the mask is unbiased). Positions are independent hash outputs — not double
//! hashing `h1 + i·h2`, whose structure the published pattern-mining attacks exploit — and cannot
//! be recomputed without the key.
//!
//! q-grams repeat enormously across records, so [`PositionCache`] memoizes token → positions: the
//! hashing cost is paid once per distinct token, not once per occurrence.

use rustc_hash::FxHashMap;

use crate::keys::Subkey;

/// The keyed bit positions of one token.
pub fn positions(subkey: &Subkey, token: &[u8], k: usize, bits: usize, out: &mut Vec<u16>) {
    debug_assert!(bits.is_power_of_two() && bits <= 1 << 16);
    let mut h = subkey.hasher();
    h.update(token);
    let mut xof = h.finalize_xof();
    let mut buf = [0u8; 128];
    let need = 2 * k;
    xof.fill(&mut buf[..need]);
    let mask = (bits - 1) as u16;
    out.extend(
        buf[..need]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) & mask),
    );
}

/// Sets `positions` in a filter held as `u64` words (bit `p` = word `p/64`, bit `p%64`).
#[inline]
pub fn set_bits(words: &mut [u64], positions: &[u16]) {
    for &p in positions {
        words[(p >> 6) as usize] |= 1u64 << (p & 63);
    }
}

/// Writes filter words as bytes, little-endian: bit `i` of the filter is bit `i % 8` of byte
/// `i / 8` (the on-disk layout of every filter column).
pub fn words_to_bytes(words: &[u64], out: &mut Vec<u8>) {
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// A memo of token → bit positions for one (field, purpose, k, bits).
#[derive(Default)]
pub struct PositionCache {
    map: FxHashMap<Box<[u8]>, (u32, u32)>,
    arena: Vec<u16>,
}

/// Distinct tokens kept per cache before it is cleared (bounds memory on huge vocabularies).
pub const DEFAULT_CACHE_TOKENS: usize = 1 << 20;

impl PositionCache {
    /// Positions of `token`, hashing it on first sight.
    pub fn get(&mut self, subkey: &Subkey, token: &[u8], k: usize, bits: usize) -> &[u16] {
        if self.map.len() >= DEFAULT_CACHE_TOKENS {
            self.map.clear();
            self.arena.clear();
        }
        let (start, len) = match self.map.get(token) {
            Some(&v) => v,
            None => {
                let start = self.arena.len();
                positions(subkey, token, k, bits, &mut self.arena);
                let v = (start as u32, (self.arena.len() - start) as u32);
                self.map.insert(token.into(), v);
                v
            }
        };
        &self.arena[start as usize..(start + len) as usize]
    }

    /// Distinct tokens cached.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Purpose, SecretKey};

    #[test]
    fn positions_are_keyed_in_range_and_cached_identically() {
        let k1 = SecretKey::from_bytes([1; 32]).subkey(Purpose::FieldFilter, "name");
        let k2 = SecretKey::from_bytes([2; 32]).subkey(Purpose::FieldFilter, "name");
        let mut a = Vec::new();
        let mut b = Vec::new();
        positions(&k1, b"_a", 20, 512, &mut a);
        positions(&k2, b"_a", 20, 512, &mut b);
        assert_eq!(a.len(), 20);
        assert!(a.iter().all(|&p| p < 512));
        assert_ne!(a, b);
        let mut cache = PositionCache::default();
        assert_eq!(cache.get(&k1, b"_a", 20, 512), &a[..]);
        assert_eq!(cache.get(&k1, b"_a", 20, 512), &a[..]);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn bytes_layout_is_little_endian_bit_order() {
        let mut w = vec![0u64; 2];
        set_bits(&mut w, &[0, 9, 64]);
        let mut out = Vec::new();
        words_to_bytes(&w, &mut out);
        assert_eq!(out[0], 0b0000_0001);
        assert_eq!(out[1], 0b0000_0010);
        assert_eq!(out[8], 1);
    }
}
