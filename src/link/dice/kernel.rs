//! [`Kernel`]: a comparison kernel bound to a path the CPU is known to have.

use super::*;

/// A comparison kernel bound to an instruction-set path the CPU is known to have.
///
/// The only way to get one is [`Kernel::new`] (which checks the CPU) or [`Kernel::detect`], so
/// every method is safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel {
    pub(super) isa: Isa,
}

impl Kernel {
    /// The kernel for `isa`, or `None` when this CPU cannot run it.
    pub fn new(isa: Isa) -> Option<Kernel> {
        isa.is_available().then_some(Kernel { isa })
    }

    /// The kernel for the best path of this CPU ([`detect`]).
    pub fn detect() -> Kernel {
        Kernel { isa: detect() }
    }

    /// The kernel's path.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// `|a ∧ b|`: the popcount of the AND of two equally long word slices.
    ///
    /// # Panics
    /// When the lengths differ.
    pub fn and_popcount(&self, a: &[u64], b: &[u64]) -> u32 {
        assert_eq!(a.len(), b.len(), "filters of different lengths");
        match self.isa {
            Isa::Portable => portable::and_popcount(a, b),
            // SAFETY (all three): `Kernel` values only exist for paths `is_available` confirmed.
            #[cfg(target_arch = "x86_64")]
            Isa::Popcnt => unsafe { x86::and_popcount_popcnt(a, b) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { x86::and_popcount_avx2(a, b) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vpopcntdq => unsafe { x86::and_popcount_avx512(a, b) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("no SIMD kernel on this architecture"),
        }
    }

    /// Dice similarity of filter `i` of `m_a` and filter `j` of `m_b` (see the module docs):
    /// `None` when either is missing, 0.0 when both are empty.
    ///
    /// # Panics
    /// When an index is out of range or the filter lengths differ.
    pub fn dice(&self, m_a: &FilterMatrix, i: usize, m_b: &FilterMatrix, j: usize) -> Option<f32> {
        if m_a.is_missing(i) || m_b.is_missing(j) {
            return None;
        }
        let c = self.and_popcount(m_a.row(i), m_b.row(j));
        Some(dice_value(c, m_a.count(i) + m_b.count(j)))
    }

    /// Every pair `(i, j)` (row `i` of `a`, row `j` of `b`) whose Dice similarity is above
    /// `threshold` (in the sense of the module docs), with its similarity, sorted by `(i, j)`.
    ///
    /// Runs in parallel on the current rayon pool (over chunks of rows of `a`, cache-tiled over
    /// `b`); the result does not depend on the number of threads.
    ///
    /// # Panics
    /// When the filter lengths differ or `threshold` is NaN.
    pub fn all_pairs_above(
        &self,
        a: &FilterMatrix,
        b: &FilterMatrix,
        threshold: f64,
    ) -> Vec<(u32, u32, f32)> {
        assert_eq!(a.words, b.words, "filters of different lengths");
        assert!(u32::try_from(a.len().max(b.len())).is_ok(), "too many rows");
        let t = Threshold::new(threshold, a.bits());
        if t.keeps_nothing() || a.is_empty() || b.is_empty() {
            return Vec::new();
        }
        let tile_b = tile_rows(a.words);
        let bterm: Vec<u32> = if a.words <= U32_TEST_MAX_WORDS {
            b.counts
                .iter()
                .map(|&nb| (t.num * u64::from(nb)) as u32)
                .collect()
        } else {
            Vec::new()
        };
        let chunks: Vec<Vec<(u32, u32, f32)>> = (0..a.len())
            .step_by(CHUNK_A)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|i0| {
                let i1 = (i0 + CHUNK_A).min(a.len());
                let mut out = Vec::new();
                let mut hits = Vec::new();
                let mut j0 = 0;
                while j0 < b.len() {
                    let j1 = (j0 + tile_b).min(b.len());
                    let tile = Tile {
                        a,
                        b,
                        bterm: &bterm,
                        i0,
                        i1,
                        j0,
                        j1,
                    };
                    self.above_tile(&tile, &t, &mut hits, &mut out);
                    j0 = j1;
                }
                out.sort_unstable_by_key(|&(i, j, _)| (i, j));
                out
            })
            .collect();
        chunks.concat()
    }

    /// The benchmark baseline: the sum of `|a_i ∧ b_j|` over all pairs, with the same path, the
    /// same tiling and the same parallel split as [`Kernel::all_pairs_above`] but no threshold
    /// test (missing flags are ignored: missing filters are all zero).
    ///
    /// # Panics
    /// When the filter lengths differ.
    pub fn raw_and_popcount_sum(&self, a: &FilterMatrix, b: &FilterMatrix) -> u64 {
        assert_eq!(a.words, b.words, "filters of different lengths");
        let tile_b = tile_rows(a.words);
        (0..a.len())
            .step_by(CHUNK_A)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|i0| {
                let i1 = (i0 + CHUNK_A).min(a.len());
                let mut sum = 0u64;
                let mut j0 = 0;
                while j0 < b.len() {
                    let j1 = (j0 + tile_b).min(b.len());
                    let tile = Tile {
                        a,
                        b,
                        bterm: &[],
                        i0,
                        i1,
                        j0,
                        j1,
                    };
                    sum += self.raw_tile(&tile);
                    j0 = j1;
                }
                sum
            })
            .sum()
    }

    pub(super) fn above_tile(
        &self,
        tile: &Tile<'_>,
        t: &Threshold,
        hits: &mut Vec<u32>,
        out: &mut Vec<(u32, u32, f32)>,
    ) {
        match self.isa {
            Isa::Portable => portable::above_tile(tile, t, hits, out),
            // SAFETY (all three): `Kernel` values only exist for paths `is_available` confirmed.
            #[cfg(target_arch = "x86_64")]
            Isa::Popcnt => unsafe { x86::above_tile_popcnt(tile, t, hits, out) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { x86::above_tile_avx2(tile, t, hits, out) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vpopcntdq => unsafe { x86::above_tile_avx512(tile, t, hits, out) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("no SIMD kernel on this architecture"),
        }
    }

    pub(super) fn raw_tile(&self, tile: &Tile<'_>) -> u64 {
        match self.isa {
            Isa::Portable => portable::raw_tile(tile),
            // SAFETY (all three): `Kernel` values only exist for paths `is_available` confirmed.
            #[cfg(target_arch = "x86_64")]
            Isa::Popcnt => unsafe { x86::raw_tile_popcnt(tile) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { x86::raw_tile_avx2(tile) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vpopcntdq => unsafe { x86::raw_tile_avx512(tile) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("no SIMD kernel on this architecture"),
        }
    }
}
