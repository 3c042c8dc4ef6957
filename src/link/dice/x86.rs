//! The x86-64 paths: AVX-512 VPOPCNTDQ, AVX2 and POPCNT, each behind its target features.
//! The AVX-512 intrinsics are stable since Rust 1.89.

use super::*;
use std::arch::x86_64::*;

/// Mula's popcount on 256-bit lanes: nibble table with `vpshufb`, bytes summed by `vpsadbw`.
struct Avx2;

/// The nibble popcount table and the low-nibble mask.
#[inline(always)]
unsafe fn mula_consts() -> (__m256i, __m256i) {
    (
        _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        ),
        _mm256_set1_epi8(0x0f),
    )
}

/// Per-byte popcounts of `a ∧ b` over `vecs` (≤ 31) 256-bit vectors, added bytewise.
#[inline(always)]
unsafe fn mula_bytes(
    a: *const u64,
    b: *const u64,
    vecs: usize,
    lut: __m256i,
    low: __m256i,
) -> __m256i {
    let mut acc = _mm256_setzero_si256();
    for v in 0..vecs {
        let x = _mm256_and_si256(
            _mm256_loadu_si256(a.add(4 * v).cast()),
            _mm256_loadu_si256(b.add(4 * v).cast()),
        );
        let lo = _mm256_and_si256(x, low);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), low);
        acc = _mm256_add_epi8(acc, _mm256_shuffle_epi8(lut, lo));
        acc = _mm256_add_epi8(acc, _mm256_shuffle_epi8(lut, hi));
    }
    acc
}

/// `vpsadbw` of the byte popcounts of `a ∧ b` over `n` words (`4 | n`): four u64 lanes whose
/// sum is `|a ∧ b|`, each at most `16·n`.
#[inline(always)]
unsafe fn sad_partials(
    a: *const u64,
    b: *const u64,
    n: usize,
    lut: __m256i,
    low: __m256i,
    zero: __m256i,
) -> __m256i {
    let vecs = n / 4;
    if vecs <= 31 {
        return _mm256_sad_epu8(mula_bytes(a, b, vecs, lut, low), zero);
    }
    let mut total = zero;
    let mut v = 0;
    while v < vecs {
        let m = (vecs - v).min(31);
        let bytes = mula_bytes(a.add(4 * v), b.add(4 * v), m, lut, low);
        total = _mm256_add_epi64(total, _mm256_sad_epu8(bytes, zero));
        v += m;
    }
    total
}

/// The sum of the four u64 lanes.
#[inline(always)]
unsafe fn hsum_epi64(v: __m256i) -> u64 {
    let s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi64(s, _mm_unpackhi_epi64(s, s));
    _mm_cvtsi128_si64(s) as u64
}

impl AndPop for Avx2 {
    #[inline(always)]
    unsafe fn pop(a: *const u64, b: *const u64, n: usize) -> u32 {
        let vecs = n / 4;
        let (lut, low) = mula_consts();
        let zero = _mm256_setzero_si256();
        let mut total = zero;
        let mut v = 0;
        while v < vecs {
            // At most 31 vectors per byte accumulator (8 · 31 ≤ 255).
            let m = (vecs - v).min(31);
            let bytes = mula_bytes(a.add(4 * v), b.add(4 * v), m, lut, low);
            total = _mm256_add_epi64(total, _mm256_sad_epu8(bytes, zero));
            v += m;
        }
        let mut c = hsum_epi64(total) as u32;
        for k in 4 * vecs..n {
            c += (*a.add(k) & *b.add(k)).count_ones();
        }
        c
    }

    #[inline(always)]
    unsafe fn pop4(a: *const u64, b: *const u64, n: usize) -> [u32; 4] {
        let vecs = n / 4;
        if !n.is_multiple_of(4) || vecs == 0 || vecs > 31 {
            return [
                Self::pop(a, b, n),
                Self::pop(a, b.add(n), n),
                Self::pop(a, b.add(2 * n), n),
                Self::pop(a, b.add(3 * n), n),
            ];
        }
        let (lut, low) = mula_consts();
        let zero = _mm256_setzero_si256();
        // Per pair: 4 u64 lanes of partial sums (each < 2^16).
        let p0 = _mm256_sad_epu8(mula_bytes(a, b, vecs, lut, low), zero);
        let p1 = _mm256_sad_epu8(mula_bytes(a, b.add(n), vecs, lut, low), zero);
        let p2 = _mm256_sad_epu8(mula_bytes(a, b.add(2 * n), vecs, lut, low), zero);
        let p3 = _mm256_sad_epu8(mula_bytes(a, b.add(3 * n), vecs, lut, low), zero);
        // 32-bit lanes per 128-bit half: s = [p0_0 p1_0 p0_1 p1_1], t = [p2_0 p3_0 p2_1 p3_1].
        let s = _mm256_or_si256(p0, _mm256_slli_epi64::<32>(p1));
        let t = _mm256_or_si256(p2, _mm256_slli_epi64::<32>(p3));
        // [p0_0 p1_0 p2_0 p3_0] + [p0_1 p1_1 p2_1 p3_1], then the two 128-bit halves.
        let u = _mm256_add_epi32(_mm256_unpacklo_epi64(s, t), _mm256_unpackhi_epi64(s, t));
        let r = _mm_add_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256::<1>(u));
        let mut out = [0u32; 4];
        _mm_storeu_si128(out.as_mut_ptr().cast(), r);
        out
    }

    #[inline(always)]
    unsafe fn pass4(c: [u32; 4], den: u32, tna: u32, bterm: *const u32) -> bool {
        // All terms are below 2^30, so signed 32-bit compares are exact.
        let c = _mm_loadu_si128(c.as_ptr().cast());
        let lhs = _mm_mullo_epi32(c, _mm_set1_epi32(den as i32));
        let rhs = _mm_add_epi32(_mm_set1_epi32(tna as i32), _mm_loadu_si128(bterm.cast()));
        // Fails where rhs > lhs; some pair passes unless all four fail.
        _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(rhs, lhs))) != 0b1111
    }

    const GROUP: usize = 8;

    /// Eight pairs per group, one combined reduction, one compare: each pair's byte counts
    /// go through `vpsadbw` (four u64 partial sums per pair, each below 2^15 for
    /// `n ≤ U32_TEST_MAX_WORDS`) as in the raw loop; two rounds of `vpackusdw` gather the
    /// eight pairs' partial sums into 16-bit lanes (exact: no value saturates), one
    /// blend + cross-lane permute + add folds the 128-bit halves, and `vpmaddwd` adds the
    /// last two partials of each pair while multiplying by `den` when it fits 15 bits (else a
    /// `vpmulld` after a `vpmaddwd` by 1). The eight tests are one subtract and a sign mask.
    #[inline(always)]
    unsafe fn group_passes(
        a: *const u64,
        b: *const u64,
        n: usize,
        den: u32,
        tna: u32,
        bterm: *const u32,
    ) -> bool {
        if !n.is_multiple_of(4) || n > U32_TEST_MAX_WORDS {
            return Self::pass4(Self::pop4(a, b, n), den, tna, bterm)
                || Self::pass4(Self::pop4(a, b.add(4 * n), n), den, tna, bterm.add(4));
        }
        let (lut, low) = mula_consts();
        let zero = _mm256_setzero_si256();
        macro_rules! p {
            ($k:expr) => {
                sad_partials(a, b.add($k * n), n, lut, low, zero)
            };
        }
        // Per 128-bit half, 16-bit lanes: pairs 0-3 (resp. 4-7), two partials each.
        let x = _mm256_packus_epi32(
            _mm256_packus_epi32(p!(0), p!(1)),
            _mm256_packus_epi32(p!(2), p!(3)),
        );
        let y = _mm256_packus_epi32(
            _mm256_packus_epi32(p!(4), p!(5)),
            _mm256_packus_epi32(p!(6), p!(7)),
        );
        // [x.lo + x.hi | y.lo + y.hi] (each 16-bit lane below 2^14).
        let z = _mm256_add_epi16(
            _mm256_blend_epi32::<0xF0>(x, y),
            _mm256_permute2x128_si256::<0x21>(x, y),
        );
        // c_k · den for the eight pairs, in 32-bit lanes (below 2^30).
        let lhs = if den < 1 << 15 {
            _mm256_madd_epi16(z, _mm256_set1_epi16(den as i16))
        } else {
            _mm256_mullo_epi32(
                _mm256_madd_epi16(z, _mm256_set1_epi16(1)),
                _mm256_set1_epi32(den as i32),
            )
        };
        // A pair fails where c·den − tna − bterm < 0 (every term below 2^30: no overflow);
        // some pair passes unless all eight sign bits are set.
        let d = _mm256_sub_epi32(
            _mm256_sub_epi32(lhs, _mm256_set1_epi32(tna as i32)),
            _mm256_loadu_si256(bterm.cast()),
        );
        _mm256_movemask_ps(_mm256_castsi256_ps(d)) != 0xFF
    }

    #[inline(always)]
    unsafe fn sum_rows(a: *const u64, b: *const u64, rows: usize, n: usize) -> u64 {
        let vecs = n / 4;
        if !n.is_multiple_of(4) || vecs == 0 || vecs > 31 {
            let mut sum = 0u64;
            for k in 0..rows {
                sum += u64::from(Self::pop(a, b.add(k * n), n));
            }
            return sum;
        }
        let (lut, low) = mula_consts();
        let zero = _mm256_setzero_si256();
        let mut acc = zero;
        for k in 0..rows {
            let bytes = mula_bytes(a, b.add(k * n), vecs, lut, low);
            acc = _mm256_add_epi64(acc, _mm256_sad_epu8(bytes, zero));
        }
        hsum_epi64(acc)
    }
}

/// `vpopcntq` on 512-bit lanes.
struct Avx512;

impl AndPop for Avx512 {
    #[inline(always)]
    unsafe fn pop(a: *const u64, b: *const u64, n: usize) -> u32 {
        let vecs = n / 8;
        let mut c = 0u32;
        if vecs > 0 {
            let mut acc = _mm512_setzero_si512();
            for v in 0..vecs {
                let x = _mm512_and_si512(
                    _mm512_loadu_si512(a.add(8 * v).cast()),
                    _mm512_loadu_si512(b.add(8 * v).cast()),
                );
                acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
            }
            c = _mm512_reduce_add_epi64(acc) as u32;
        }
        for k in 8 * vecs..n {
            c += (*a.add(k) & *b.add(k)).count_ones();
        }
        c
    }

    #[inline(always)]
    unsafe fn sum_rows(a: *const u64, b: *const u64, rows: usize, n: usize) -> u64 {
        if !n.is_multiple_of(8) {
            let mut sum = 0u64;
            for k in 0..rows {
                sum += u64::from(Self::pop(a, b.add(k * n), n));
            }
            return sum;
        }
        let mut acc = _mm512_setzero_si512();
        for k in 0..rows {
            let bk = b.add(k * n);
            for v in 0..n / 8 {
                let x = _mm512_and_si512(
                    _mm512_loadu_si512(a.add(8 * v).cast()),
                    _mm512_loadu_si512(bk.add(8 * v).cast()),
                );
                acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
            }
        }
        _mm512_reduce_add_epi64(acc) as u64
    }
}

/// Per-pair `|a ∧ b|` through `K`, specialized for 8 and 16 words.
#[inline(always)]
unsafe fn and_popcount_with<K: AndPop>(a: &[u64], b: &[u64]) -> u32 {
    match a.len() {
        8 => K::pop(a.as_ptr(), b.as_ptr(), 8),
        16 => K::pop(a.as_ptr(), b.as_ptr(), 16),
        n => K::pop(a.as_ptr(), b.as_ptr(), n),
    }
}

/// # Safety
/// The CPU has POPCNT; `a.len() == b.len()`.
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn and_popcount_popcnt(a: &[u64], b: &[u64]) -> u32 {
    and_popcount_with::<Scalar>(a, b)
}

/// # Safety
/// The CPU has AVX2 and POPCNT; `a.len() == b.len()`.
#[target_feature(enable = "avx2,popcnt")]
pub(super) unsafe fn and_popcount_avx2(a: &[u64], b: &[u64]) -> u32 {
    // Below 4 words there is no full 256-bit lane: scalar POPCNT.
    if a.len() < 4 {
        return and_popcount_with::<Scalar>(a, b);
    }
    and_popcount_with::<Avx2>(a, b)
}

/// # Safety
/// The CPU has AVX-512F, AVX-512 VPOPCNTDQ and POPCNT; `a.len() == b.len()`.
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
pub(super) unsafe fn and_popcount_avx512(a: &[u64], b: &[u64]) -> u32 {
    and_popcount_with::<Avx512>(a, b)
}

/// # Safety
/// The CPU has POPCNT.
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn above_tile_popcnt(
    tile: &Tile<'_>,
    t: &Threshold,
    hits: &mut Vec<u32>,
    out: &mut Vec<(u32, u32, f32)>,
) {
    by_words!(tile.a.words, above_tile_with::<Scalar>(tile, t, hits, out))
}

/// # Safety
/// The CPU has AVX2 and POPCNT.
#[target_feature(enable = "avx2,popcnt")]
pub(super) unsafe fn above_tile_avx2(
    tile: &Tile<'_>,
    t: &Threshold,
    hits: &mut Vec<u32>,
    out: &mut Vec<(u32, u32, f32)>,
) {
    if tile.a.words < 4 {
        return above_tile_with::<Scalar, 0>(tile, t, hits, out);
    }
    by_words!(tile.a.words, above_tile_with::<Avx2>(tile, t, hits, out))
}

/// # Safety
/// The CPU has AVX-512F, AVX-512 VPOPCNTDQ and POPCNT.
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
pub(super) unsafe fn above_tile_avx512(
    tile: &Tile<'_>,
    t: &Threshold,
    hits: &mut Vec<u32>,
    out: &mut Vec<(u32, u32, f32)>,
) {
    by_words!(tile.a.words, above_tile_with::<Avx512>(tile, t, hits, out))
}

/// # Safety
/// The CPU has POPCNT.
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn raw_tile_popcnt(tile: &Tile<'_>) -> u64 {
    by_words!(tile.a.words, raw_tile_with::<Scalar>(tile))
}

/// # Safety
/// The CPU has AVX2 and POPCNT.
#[target_feature(enable = "avx2,popcnt")]
pub(super) unsafe fn raw_tile_avx2(tile: &Tile<'_>) -> u64 {
    if tile.a.words < 4 {
        return raw_tile_with::<Scalar, 0>(tile);
    }
    by_words!(tile.a.words, raw_tile_with::<Avx2>(tile))
}

/// # Safety
/// The CPU has AVX-512F, AVX-512 VPOPCNTDQ and POPCNT.
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
pub(super) unsafe fn raw_tile_avx512(tile: &Tile<'_>) -> u64 {
    by_words!(tile.a.words, raw_tile_with::<Avx512>(tile))
}
