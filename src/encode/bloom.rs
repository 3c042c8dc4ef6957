//! Keyed Bloom filters: bit positions from independent keyed blake3 outputs, with a cache.
//!
//! For a token `t` of field `f`, the `k` bit positions are `k` little-endian `u16` words read from
//! the blake3 XOF of `keyed_hash(subkey(f, purpose), t)`, each masked to the filter length (a
//! power of two, so the mask is unbiased). Positions are independent hash outputs — not double
//! hashing `h1 + i·h2`, whose structure the published pattern-mining attacks exploit — and cannot
//! be recomputed without the key.
//!
//! q-grams repeat enormously across records, so [`TokenCache`] memoizes token → ready filter mask
//! (balanced and permuted through a [`FilterPlan`]) and record-filter positions: the hashing cost
//! is paid once per distinct token, not once per occurrence.

use std::collections::HashMap;

use super::tokens::Tokens;

use crate::keys::Subkey;

/// The keyed bit positions of one token.
pub fn positions(subkey: &Subkey, token: &[u8], k: usize, bits: usize, out: &mut Vec<u16>) {
    debug_assert!(bits.is_power_of_two() && bits <= 1 << 16);
    let mut h = subkey.hasher();
    h.update(token);
    let mut xof = h.finalize_xof();
    let mut buf = [0u8; 128];
    let mask = (bits - 1) as u16;
    // The XOF is one stream: reading it in chunks gives the same words as one read, so a token's
    // first k positions are the same whatever k (what `hashes_per_value` relies on).
    let mut left = k;
    while left > 0 {
        let take = left.min(buf.len() / 2);
        xof.fill(&mut buf[..2 * take]);
        out.extend(
            buf[..2 * take]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) & mask),
        );
        left -= take;
    }
}

/// ORs into `words`, through `plan`, the keyed positions of every (token, count) of `per`
/// (from [`spread`], or `hashes` each), each token salted by `salt`; `bytes` and `positions` are
/// scratch buffers.
pub fn add_counted(
    per: &[(&[u8], usize)],
    salt: Option<&[u8]>,
    key: &Subkey,
    plan: &FilterPlan,
    bytes: &mut Vec<u8>,
    positions: &mut Vec<u16>,
    words: &mut [u64],
) {
    for &(t, k) in per {
        salted(t, salt, bytes);
        positions.clear();
        self::positions(key, bytes, k, plan.input_bits(), positions);
        plan.add_positions(positions, words);
    }
}

/// How many positions each token of one value sets when the value sets `total` positions in all
/// (a field's `hardening.hashes_per_value`): the value's distinct tokens, in byte order, take
/// ⌊total/n⌋ each and the first `total mod n` of them one more. A filter then holds `total`
/// keyed positions whatever the value's length, so its fill does not give the length away;
/// a token's positions are the first of its keyed stream ([`positions`]), so two values sharing
/// it share as many positions as the one setting fewer.
pub fn spread<'a>(
    tokens: impl Iterator<Item = &'a [u8]>,
    total: usize,
    out: &mut Vec<(&'a [u8], usize)>,
) {
    out.clear();
    out.extend(tokens.map(|t| (t, 0)));
    out.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    let n = out.len();
    if n == 0 {
        return;
    }
    let (each, extra) = (total / n, total % n);
    for (i, t) in out.iter_mut().enumerate() {
        t.1 = each + usize::from(i < extra);
    }
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

/// Where a field's filter bits end up after balancing and the keyed permutation, worked out once
/// so that each token's contribution is a ready mask of output words.
///
/// Balancing appends the complement and the permutation moves every bit; together the output is
/// `C XOR base`, where `C` has, for every set input position `p`, the output bits of `p` and of
/// its complement `bits + p`, and `base` has the output bits of the whole complement half (what
/// an empty filter balances to). Without balancing `base` is empty and `C` is the (permuted)
/// filter itself. Both are ORs over tokens, so a token's mask can be cached.
#[derive(Debug, Clone)]
pub struct FilterPlan {
    k: usize,
    bits: usize,
    words: usize,
    map: Option<Vec<u16>>,
    balance: bool,
    base: Vec<u64>,
}

impl FilterPlan {
    /// The plan of a filter of `bits` bits and `k` positions per token, balanced or not, permuted
    /// by `perm` (over the balanced width) or not.
    pub fn new(k: usize, bits: usize, balance: bool, perm: Option<&[u16]>) -> FilterPlan {
        let width = bits * if balance { 2 } else { 1 };
        debug_assert!(perm.is_none_or(|p| p.len() == width));
        let out = |i: usize| perm.map_or(i, |p| p[i] as usize);
        let mut base = Vec::new();
        if balance {
            base = vec![0; width / 64];
            for i in bits..width {
                let o = out(i);
                base[o >> 6] |= 1 << (o & 63);
            }
        }
        FilterPlan {
            k,
            bits,
            words: width / 64,
            map: perm.map(<[u16]>::to_vec),
            balance,
            base,
        }
    }

    /// Output words (before folding).
    pub fn words(&self) -> usize {
        self.words
    }

    /// Input filter length in bits (before balancing).
    pub fn input_bits(&self) -> usize {
        self.bits
    }

    /// ORs the output bits of input `positions` into `mask` (a filter built position by
    /// position; [`FilterPlan::finish`] completes it).
    pub fn add_positions(&self, positions: &[u16], mask: &mut [u64]) {
        self.add(positions, mask);
    }

    /// ORs the output bits of input `positions` into `mask`.
    fn add(&self, positions: &[u16], mask: &mut [u64]) {
        let mut set = |i: usize| {
            let o = self.map.as_ref().map_or(i, |m| m[i] as usize);
            mask[o >> 6] |= 1 << (o & 63);
        };
        for &p in positions {
            set(p as usize);
            if self.balance {
                set(self.bits + p as usize);
            }
        }
    }

    /// Turns the OR of the tokens' masks into the balanced, permuted filter.
    pub fn finish(&self, words: &mut [u64]) {
        for (w, b) in words.iter_mut().zip(&self.base) {
            *w ^= b;
        }
    }
}

/// A per-thread memo of token → (filter mask, record-filter positions) for one field.
///
/// q-grams repeat enormously across records, so the keyed hashing, permutation and balancing of
/// a token are paid once per distinct (token, salt), not once per occurrence. Tokens of up to 15
/// bytes (with their salt) are looked up by a packed `u128`; longer ones by their bytes.
pub struct TokenCache {
    index: KeyIndex,
    masks: Vec<u64>,
    record: Vec<u16>,
    mask_words: usize,
    record_k: usize,
    positions: Vec<u16>,
}

/// Cache size (mask words plus a quarter of the position count) before it is cleared: 16 MiB.
const CACHE_BUDGET_WORDS: usize = 2 << 20;

impl TokenCache {
    /// A cache whose entries have a mask of `mask_words` words (0: no field filter) and
    /// `record_k` record-filter positions.
    pub fn new(mask_words: usize, record_k: usize) -> TokenCache {
        TokenCache {
            index: KeyIndex::default(),
            masks: Vec::new(),
            record: Vec::new(),
            mask_words,
            record_k,
            positions: Vec::new(),
        }
    }

    /// The entry of `token` salted by `salt` (hashed as `token 0 salt`), computing it on first
    /// sight: the filter mask under `filter` and the positions under `record` (a subkey and the
    /// record filter's width), each when the cache has them.
    #[inline]
    pub fn entry(
        &mut self,
        token: &[u8],
        salt: Option<&[u8]>,
        filter: Option<(&Subkey, &FilterPlan)>,
        record: Option<(&Subkey, usize)>,
    ) -> usize {
        match self.index.get(token, salt) {
            Ok(i) => i,
            Err(packed) => self.insert(packed, token, salt, filter, record),
        }
    }

    #[cold]
    #[inline(never)]
    fn insert(
        &mut self,
        packed: Option<u128>,
        token: &[u8],
        salt: Option<&[u8]>,
        filter: Option<(&Subkey, &FilterPlan)>,
        record: Option<(&Subkey, usize)>,
    ) -> usize {
        if self.masks.len() + self.record.len() / 4 >= CACHE_BUDGET_WORDS {
            self.index.clear();
            self.masks.clear();
            self.record.clear();
        }
        let i = self.index.insert(packed, token, salt);
        let bytes = self.index.hashed();
        let start = self.masks.len();
        self.masks.resize(start + self.mask_words, 0);
        if let Some((key, plan)) = filter {
            debug_assert_eq!(plan.words, self.mask_words);
            self.positions.clear();
            positions(key, bytes, plan.k, plan.bits, &mut self.positions);
            plan.add(&self.positions, &mut self.masks[start..]);
        }
        let start = self.record.len();
        if let Some((key, bits)) = record {
            positions(key, bytes, self.record_k, bits, &mut self.record);
        }
        self.record.resize(start + self.record_k, 0);
        i
    }

    /// The filter mask of entry `i`.
    #[inline]
    pub fn mask(&self, i: usize) -> &[u64] {
        &self.masks[i * self.mask_words..(i + 1) * self.mask_words]
    }

    /// The record-filter positions of entry `i`.
    #[inline]
    pub fn record(&self, i: usize) -> &[u16] {
        &self.record[i * self.record_k..(i + 1) * self.record_k]
    }

    /// Distinct tokens cached.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A per-thread memo of unit → (OR of its tokens' masks, union of their record-filter
/// positions) for one field, a unit being a run of tokens that always come together: the q-grams
/// of one name word, all the tokens of one date. Names share words and dates repeat, so most
/// records then cost one look-up per word instead of one per q-gram.
pub struct UnitCache {
    index: KeyIndex,
    masks: Vec<u64>,
    spans: Vec<(u32, u32)>,
    record: Vec<u16>,
    mask_words: usize,
    tokens: Tokens,
}

impl UnitCache {
    /// A cache whose entries have a mask of `mask_words` words.
    pub fn new(mask_words: usize) -> UnitCache {
        UnitCache {
            index: KeyIndex::default(),
            masks: Vec::new(),
            spans: Vec::new(),
            record: Vec::new(),
            mask_words,
            tokens: Tokens::default(),
        }
    }

    /// The entry of the unit named `unit` (salted by `salt`), whose tokens `make` pushes; on
    /// first sight it is built from the tokens' entries in `cache` (which get the same salt).
    #[inline]
    pub fn entry(
        &mut self,
        unit: &[u8],
        salt: Option<&[u8]>,
        cache: &mut TokenCache,
        make: impl FnOnce(&mut Tokens),
        filter: Option<(&Subkey, &FilterPlan)>,
        record: Option<(&Subkey, usize)>,
    ) -> usize {
        let packed = match self.index.get(unit, salt) {
            Ok(i) => return i,
            Err(packed) => packed,
        };
        if self.masks.len() + self.record.len() / 4 >= CACHE_BUDGET_WORDS {
            self.index.clear();
            self.masks.clear();
            self.spans.clear();
            self.record.clear();
        }
        self.tokens.clear();
        make(&mut self.tokens);
        let i = self.index.insert(packed, unit, salt);
        let start = self.masks.len();
        self.masks.resize(start + self.mask_words, 0);
        let rstart = self.record.len();
        for t in self.tokens.iter() {
            let e = cache.entry(t, salt, filter, record);
            for (w, m) in self.masks[start..].iter_mut().zip(cache.mask(e)) {
                *w |= m;
            }
            self.record.extend_from_slice(cache.record(e));
        }
        // the unit's positions, sorted and distinct (a miss: the cold path)
        let mut own = self.record.split_off(rstart);
        own.sort_unstable();
        own.dedup();
        self.record.extend_from_slice(&own);
        self.spans.push((rstart as u32, self.record.len() as u32));
        i
    }

    /// The filter mask of entry `i`.
    #[inline]
    pub fn mask(&self, i: usize) -> &[u64] {
        &self.masks[i * self.mask_words..(i + 1) * self.mask_words]
    }

    /// The record-filter positions of entry `i` (sorted, distinct).
    #[inline]
    pub fn record(&self, i: usize) -> &[u16] {
        let (a, b) = self.spans[i];
        &self.record[a as usize..b as usize]
    }

    /// Distinct units cached.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// The index of a cache: the hashed bytes of a key (`token 0 salt`) → entry number, packed in a
/// `u128` when they fit in 15 bytes. Entries are numbered in insertion order.
struct KeyIndex {
    short: HashMap<u128, u32, ahash::RandomState>,
    long: HashMap<Box<[u8]>, u32, ahash::RandomState>,
    bytes: Vec<u8>,
}

impl Default for KeyIndex {
    fn default() -> KeyIndex {
        KeyIndex {
            short: HashMap::with_hasher(fixed_state()),
            long: HashMap::with_hasher(fixed_state()),
            bytes: Vec::new(),
        }
    }
}

impl KeyIndex {
    /// The entry of a key, or (not there) its packed form for [`KeyIndex::insert`].
    #[inline]
    fn get(&mut self, token: &[u8], salt: Option<&[u8]>) -> Result<usize, Option<u128>> {
        let packed = pack(token, salt);
        let found = match packed {
            Some(k) => self.short.get(&k),
            None => {
                salted(token, salt, &mut self.bytes);
                self.long.get(&self.bytes[..])
            }
        };
        found.map(|&i| i as usize).ok_or(packed)
    }

    /// Adds a key missing from the index; returns its entry number. Its hashed bytes are then in
    /// [`KeyIndex::hashed`].
    fn insert(&mut self, packed: Option<u128>, token: &[u8], salt: Option<&[u8]>) -> usize {
        salted(token, salt, &mut self.bytes);
        let i = self.len();
        match packed {
            Some(k) => self.short.insert(k, i as u32),
            None => self.long.insert(self.bytes.as_slice().into(), i as u32),
        };
        i
    }

    /// The hashed bytes of the last key inserted.
    fn hashed(&self) -> &[u8] {
        &self.bytes
    }

    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    fn clear(&mut self) {
        self.short.clear();
        self.long.clear();
    }
}

/// A well-mixing hasher with fixed seeds. Packed tokens differ mostly in their middle bytes (the
/// salt), which a multiplicative hash (Fx) leaves out of the low bits that pick a bucket: ahash is the
/// one hasher of the crate.
fn fixed_state() -> ahash::RandomState {
    ahash::RandomState::with_seeds(
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    )
}

/// The bytes hashed for a token (q-gram or exact token): the token, then (salted) a 0 byte and the
/// salt, so no salted token equals an unsalted one.
pub(crate) fn salted(token: &[u8], salt: Option<&[u8]>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(token);
    if let Some(s) = salt {
        out.push(0);
        out.extend_from_slice(s);
    }
}

/// The hashed bytes of a short token packed in a `u128` (length in the top byte), or `None`.
#[inline]
fn pack(token: &[u8], salt: Option<&[u8]>) -> Option<u128> {
    let len = token.len() + salt.map_or(0, |s| s.len() + 1);
    if len > 15 {
        return None;
    }
    // Shifts, not byte stores: a u128 read back from just-written bytes stalls store forwarding.
    let mut k = (len as u128) << 120;
    for (i, &c) in token.iter().enumerate() {
        k |= (c as u128) << (8 * i);
    }
    if let Some(s) = salt {
        let at = token.len() + 1;
        for (i, &c) in s.iter().enumerate() {
            k |= (c as u128) << (8 * (at + i));
        }
    }
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Purpose, SecretKey};

    #[test]
    fn spread_sets_the_same_total_whatever_the_length_and_shares_prefixes() {
        for n in 1..40usize {
            let mut out = Vec::new();
            let toks: Vec<Vec<u8>> = (0..n).map(|i| format!("t{i:02}").into_bytes()).collect();
            // Repeats count once.
            let with_repeats = toks.iter().chain(toks.iter().take(3)).map(Vec::as_slice);
            spread(with_repeats, 320, &mut out);
            assert_eq!(out.len(), n);
            assert_eq!(out.iter().map(|t| t.1).sum::<usize>(), 320, "n = {n}");
            let (lo, hi) = (320 / n, 320usize.div_ceil(n));
            assert!(out.iter().all(|t| t.1 == lo || t.1 == hi));
            assert!(out.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 >= w[1].1));
        }
        // More positions than one XOF read gives: the stream continues, and a shorter read is a
        // prefix of a longer one.
        let key = SecretKey::from_bytes([3; 32]).subkey(Purpose::FieldFilter, "name");
        let (mut short, mut long) = (Vec::new(), Vec::new());
        positions(&key, b"_a", 20, 512, &mut short);
        positions(&key, b"_a", 150, 512, &mut long);
        assert_eq!(long.len(), 150);
        assert_eq!(&long[..20], &short[..]);
        assert!(
            long[64..]
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
                > 60
        );
    }

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
        let plan = FilterPlan::new(20, 512, false, None);
        let mut cache = TokenCache::new(8, 20);
        let e = cache.entry(b"_a", None, Some((&k1, &plan)), Some((&k1, 512)));
        assert_eq!(cache.record(e), &a[..]);
        let mut mask = vec![0u64; 8];
        set_bits(&mut mask, &a);
        assert_eq!(cache.mask(e), &mask[..]);
        assert_eq!(cache.entry(b"_a", None, Some((&k1, &plan)), None), e);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_plan_gives_what_setting_balancing_and_permuting_bit_by_bit_gives() {
        use crate::encode::harden;
        let key = SecretKey::from_bytes([3; 32]);
        let perm_key = key.subkey(Purpose::Hardening, "permute:name");
        let filter_key = key.subkey(Purpose::FieldFilter, "name");
        let tokens: [&[u8]; 5] = [b"_s", b"si", b"it", b"ti", b"i_"];
        for (balance, permute) in [(false, false), (false, true), (true, false), (true, true)] {
            let width = 256 * if balance { 2 } else { 1 };
            let perm = permute.then(|| harden::permutation(&perm_key, width));
            let plan = FilterPlan::new(20, 256, balance, perm.as_deref());
            let mut cache = TokenCache::new(plan.words(), 0);
            for n in 0..=tokens.len() {
                // the bit-by-bit path
                let mut w = vec![0u64; 4];
                for t in &tokens[..n] {
                    let mut p = Vec::new();
                    positions(&filter_key, t, 20, 256, &mut p);
                    set_bits(&mut w, &p);
                }
                if balance {
                    harden::balance(&mut w);
                }
                if let Some(perm) = &perm {
                    let mut out = Vec::new();
                    harden::permute(&w, perm, &mut out);
                    w = out;
                }
                // the planned path
                let mut c = vec![0u64; plan.words()];
                for t in &tokens[..n] {
                    let e = cache.entry(t, None, Some((&filter_key, &plan)), None);
                    for (a, b) in c.iter_mut().zip(cache.mask(e)) {
                        *a |= b;
                    }
                }
                plan.finish(&mut c);
                assert_eq!(c, w, "balance {balance} permute {permute}, {n} tokens");
            }
        }
    }

    #[test]
    fn salted_short_and_long_tokens_are_cached_by_their_hashed_bytes() {
        let k = SecretKey::from_bytes([1; 32]).subkey(Purpose::RecordFilter, "name");
        let mut cache = TokenCache::new(0, 4);
        let long = b"a-token-longer-than-fifteen-bytes";
        let expect = |bytes: &[u8]| {
            let mut p = Vec::new();
            positions(&k, bytes, 4, 1024, &mut p);
            p
        };
        type Case<'a> = (&'a [u8], Option<&'a [u8]>, Vec<u8>);
        let cases: [Case; 5] = [
            (b"ab", None, b"ab".to_vec()),
            (b"ab", Some(b"1990"), b"ab\x001990".to_vec()),
            (b"ab", Some(b""), b"ab\x00".to_vec()),
            (b"abcdefghij", Some(b"1990"), b"abcdefghij\x001990".to_vec()),
            (long, Some(b"1990"), [&long[..], b"\x001990"].concat()),
        ];
        let mut seen = Vec::new();
        for (t, s, bytes) in &cases {
            let e = cache.entry(t, *s, None, Some((&k, 1024)));
            assert_eq!(cache.record(e), &expect(bytes)[..]);
            assert!(
                !seen.contains(&e),
                "distinct hashed bytes, distinct entries"
            );
            seen.push(e);
        }
        // a token already holding the 0 byte and salt hashes (and caches) as the salted one
        assert_eq!(
            cache.entry(b"ab\x001990", None, None, Some((&k, 1024))),
            seen[1]
        );
        assert_eq!(cache.len(), cases.len());
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
