//! The all-pairs tiles: blocks of pairs with the threshold test in the hot loop, generic over
//! a popcount ([`AndPop`]), and the portable path.

use super::*;

/// Up to this filter length (16384 bits) every term of the threshold test is below 2^30
/// (`c·2D ≤ 4·bits²`, `T·s ≤ 4·bits²`), so the hot loop tests in u32 lanes.
pub(super) const U32_TEST_MAX_WORDS: usize = 256;

/// Rows of `a` per parallel task.
pub(super) const CHUNK_A: usize = 64;

/// Rows of `b` per cache tile: about 128 KiB of filters (fits L2 beside the `a` chunk).
pub(super) fn tile_rows(words: usize) -> usize {
    ((128 * 1024) / (words * 8)).max(16)
}

/// One block of pairs: rows `i0..i1` of `a` against rows `j0..j1` of `b`.
pub(super) struct Tile<'m> {
    pub(super) a: &'m FilterMatrix,
    pub(super) b: &'m FilterMatrix,
    /// `T · |b_j|` for every row of `b` when filters are ≤ 16384 bits (the u32 test), else empty.
    pub(super) bterm: &'m [u32],
    pub(super) i0: usize,
    pub(super) i1: usize,
    pub(super) j0: usize,
    pub(super) j1: usize,
}

/// A popcount of `a ∧ b` over `n` words. Implementations are `#[inline(always)]` and contain the
/// instructions of one path, so they inline into that path's `#[target_feature]` function.
pub(super) trait AndPop {
    /// `|a ∧ b|` over `n` words.
    ///
    /// # Safety
    /// `a` and `b` are valid for `n` reads and the CPU has the path's features.
    unsafe fn pop(a: *const u64, b: *const u64, n: usize) -> u32;

    /// `|a ∧ b_k|` for the four consecutive rows `b_k = b + k·n` (k = 0..4). SIMD paths override
    /// it to share one horizontal reduction between the four pairs.
    ///
    /// # Safety
    /// `a` is valid for `n` reads, `b` for `4·n`, and the CPU has the path's features.
    #[inline(always)]
    unsafe fn pop4(a: *const u64, b: *const u64, n: usize) -> [u32; 4] {
        [
            Self::pop(a, b, n),
            Self::pop(a, b.add(n), n),
            Self::pop(a, b.add(2 * n), n),
            Self::pop(a, b.add(3 * n), n),
        ]
    }

    /// Whether any of the four pairs passes the integer test `c_k·den ≥ tna + bterm_k` (all terms
    /// below 2^30).
    ///
    /// # Safety
    /// `bterm` is valid for 4 reads and the CPU has the path's features.
    #[inline(always)]
    unsafe fn pass4(c: [u32; 4], den: u32, tna: u32, bterm: *const u32) -> bool {
        let mut pass = false;
        for (k, &ck) in c.iter().enumerate() {
            pass |= ck * den >= tna + *bterm.add(k);
        }
        pass
    }

    /// Rows of `b` per group of the thresholded hot loop (u32 test): [`AndPop::group_passes`]
    /// decides this many pairs at once.
    const GROUP: usize = 4;

    /// Whether any of the [`AndPop::GROUP`] pairs `(a, b_k)`, `b_k = b + k·n`, passes the integer
    /// test `c_k·den ≥ tna + bterm_k` (all terms below 2^30; `n ≤ U32_TEST_MAX_WORDS`).
    ///
    /// # Safety
    /// `a` is valid for `n` reads, `b` for `GROUP·n`, `bterm` for `GROUP`, and the CPU has the
    /// path's features.
    #[inline(always)]
    unsafe fn group_passes(
        a: *const u64,
        b: *const u64,
        n: usize,
        den: u32,
        tna: u32,
        bterm: *const u32,
    ) -> bool {
        debug_assert_eq!(Self::GROUP, 4);
        Self::pass4(Self::pop4(a, b, n), den, tna, bterm)
    }

    /// `Σ_k |a ∧ b_k|` over `rows` consecutive rows `b_k = b + k·n`: the raw baseline loop. SIMD
    /// paths override it to keep the sum in a vector register (no per-pair reduction at all).
    ///
    /// # Safety
    /// `a` is valid for `n` reads, `b` for `rows·n`, and the CPU has the path's features.
    #[inline(always)]
    unsafe fn sum_rows(a: *const u64, b: *const u64, rows: usize, n: usize) -> u64 {
        let mut sum = 0u64;
        for k in 0..rows {
            sum += u64::from(Self::pop(a, b.add(k * n), n));
        }
        sum
    }
}

/// `u64::count_ones` word by word (POPCNT when inlined into a `popcnt` function).
pub(super) struct Scalar;

impl AndPop for Scalar {
    #[inline(always)]
    unsafe fn pop(a: *const u64, b: *const u64, n: usize) -> u32 {
        let mut c = 0u32;
        for k in 0..n {
            c += (*a.add(k) & *b.add(k)).count_ones();
        }
        c
    }
}

/// The thresholded scan of one tile; `W` is the filter length in words, or 0 for "any".
///
/// The hot loop takes `b` rows in groups ([`AndPop::group_passes`]: eight at a time on AVX2, four
/// otherwise), tests the group's pairs on integers at once and only records the group when one
/// passes; recorded groups are re-examined pair by pair after the row (so the hot loop makes no
/// call and keeps the `a` row in registers).
#[inline(always)]
pub(super) unsafe fn above_tile_with<K: AndPop, const W: usize>(
    tile: &Tile<'_>,
    t: &Threshold,
    hits: &mut Vec<u32>,
    out: &mut Vec<(u32, u32, f32)>,
) {
    let n = if W == 0 { tile.a.words } else { W };
    debug_assert_eq!(n, tile.a.words);
    let (num, den) = (t.num, 2 * t.den);
    let bdata = tile.b.data.as_ptr();
    let bcounts = tile.b.counts.as_ptr();
    let (j0, j1) = (tile.j0, tile.j1);
    let u32_test = n <= U32_TEST_MAX_WORDS;
    let group = if u32_test { K::GROUP } else { 4 };
    let groups_end = j0 + (j1 - j0) / group * group;
    hits.clear();
    hits.reserve((j1 - j0) / group + 1);
    let hit_buf = hits.as_mut_ptr();
    for i in tile.i0..tile.i1 {
        if tile.a.missing[i] {
            continue;
        }
        let ar = tile.a.data.as_ptr().add(i * n);
        let na = u64::from(tile.a.counts[i]);
        let tna = num * na;
        let mut nhits = 0usize;
        let mut j = j0;
        if u32_test {
            let (den32, tna32) = (den as u32, tna as u32);
            let bterm = tile.bterm.as_ptr();
            while j < groups_end {
                if K::group_passes(ar, bdata.add(j * n), n, den32, tna32, bterm.add(j)) {
                    // At most one entry per group: fits the reserved capacity.
                    *hit_buf.add(nhits) = j as u32;
                    nhits += 1;
                }
                j += K::GROUP;
            }
        } else {
            while j < groups_end {
                let c = K::pop4(ar, bdata.add(j * n), n);
                let mut pass = false;
                for (k, &ck) in c.iter().enumerate() {
                    let nb = u64::from(*bcounts.add(j + k));
                    pass |= u64::from(ck) * den >= tna + num * nb;
                }
                if pass {
                    *hit_buf.add(nhits) = j as u32;
                    nhits += 1;
                }
                j += 4;
            }
        }
        for g in 0..nhits {
            let jg = *hit_buf.add(g) as usize;
            for jj in jg..jg + group {
                keep_cold(tile, t, i, jj, K::pop(ar, bdata.add(jj * n), n), out);
            }
        }
        for jj in groups_end..j1 {
            let c = K::pop(ar, bdata.add(jj * n), n);
            let nb = u64::from(*bcounts.add(jj));
            if u64::from(c) * den >= tna + num * nb {
                keep_cold(tile, t, i, jj, c, out);
            }
        }
    }
}

/// The decision for a pair (missing `b` rows and empty pairs can pass the integer test; they are
/// decided here, off the hot loop).
#[cold]
#[inline(never)]
pub(super) fn keep_cold(
    tile: &Tile<'_>,
    t: &Threshold,
    i: usize,
    j: usize,
    c: u32,
    out: &mut Vec<(u32, u32, f32)>,
) {
    if tile.b.missing[j] {
        return;
    }
    let s = tile.a.counts[i] + tile.b.counts[j];
    if t.keeps(c, s) {
        out.push((i as u32, j as u32, dice_value(c, s)));
    }
}

/// The raw AND+popcount sum of one tile (benchmark baseline).
#[inline(always)]
pub(super) unsafe fn raw_tile_with<K: AndPop, const W: usize>(tile: &Tile<'_>) -> u64 {
    let n = if W == 0 { tile.a.words } else { W };
    let bstart = tile.b.data.as_ptr().add(tile.j0 * n);
    let mut sum = 0u64;
    for i in tile.i0..tile.i1 {
        let ar = tile.a.data.as_ptr().add(i * n);
        sum += K::sum_rows(ar, bstart, tile.j1 - tile.j0, n);
    }
    sum
}

/// The portable path: no target feature.
pub(super) mod portable {
    use super::*;

    pub(in crate::link::dice) fn and_popcount(a: &[u64], b: &[u64]) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
    }

    pub(in crate::link::dice) fn above_tile(
        tile: &Tile<'_>,
        t: &Threshold,
        hits: &mut Vec<u32>,
        out: &mut Vec<(u32, u32, f32)>,
    ) {
        // SAFETY: the tile's rows are in range of both matrices; no feature needed.
        unsafe { by_words!(tile.a.words, above_tile_with::<Scalar>(tile, t, hits, out)) }
    }

    pub(in crate::link::dice) fn raw_tile(tile: &Tile<'_>) -> u64 {
        // SAFETY: as above.
        unsafe { by_words!(tile.a.words, raw_tile_with::<Scalar>(tile)) }
    }
}
