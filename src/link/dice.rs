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

/// All filters of one field for N records, contiguous, with popcounts precomputed.
///
/// A missing (null) filter is stored as all-zero words with count 0 and flagged; every comparison
/// with it gives `None` (or is never above a threshold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterMatrix {
    words: usize,
    data: Vec<u64>,
    counts: Vec<u32>,
    missing: Vec<bool>,
}

impl FilterMatrix {
    /// An empty matrix of filters of `words` u64 (`64 · words` bits).
    ///
    /// # Panics
    /// Unless `words` is a power of two (so filter bits are a power of two ≥ 64) and at most
    /// 2^16 (4 M bits).
    pub fn new(words: usize) -> Self {
        Self::with_capacity(words, 0)
    }

    /// An empty matrix with room for `rows` filters.
    ///
    /// # Panics
    /// As [`FilterMatrix::new`].
    pub fn with_capacity(words: usize, rows: usize) -> Self {
        assert!(
            words.is_power_of_two() && words <= 1 << 16,
            "filter length must be a power of two between 64 and 2^22 bits, got {words} words"
        );
        FilterMatrix {
            words,
            data: Vec::with_capacity(rows * words),
            counts: Vec::with_capacity(rows),
            missing: Vec::with_capacity(rows),
        }
    }

    /// A matrix of present filters from their words, `words` per filter, one after the other.
    ///
    /// # Panics
    /// As [`FilterMatrix::new`], or when `data.len()` is not a multiple of `words`.
    pub fn from_words(words: usize, data: Vec<u64>) -> Self {
        let mut m = Self::with_capacity(words, 0);
        assert!(
            data.len().is_multiple_of(words),
            "{} words is not a whole number of {words}-word filters",
            data.len()
        );
        m.counts = data.chunks_exact(words).map(popcount_words).collect();
        m.missing = vec![false; m.counts.len()];
        m.data = data;
        m
    }

    /// Appends a filter from its little-endian bytes: bit `i` of the filter is bit `i % 8` of byte
    /// `i / 8` (the FixedSizeBinary column layout).
    ///
    /// # Panics
    /// When `bytes.len() != 8 · words`.
    pub fn push(&mut self, bytes: &[u8]) {
        assert_eq!(
            bytes.len(),
            self.words * 8,
            "filter of {} bytes in a matrix of {}-byte filters",
            bytes.len(),
            self.words * 8
        );
        let start = self.data.len();
        self.data.extend(
            bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))),
        );
        self.counts.push(popcount_words(&self.data[start..]));
        self.missing.push(false);
    }

    /// Appends a filter from its words (bit `i` is bit `i % 64` of word `i / 64`).
    ///
    /// # Panics
    /// When `words.len()` differs from the matrix's filter length.
    pub fn push_words(&mut self, words: &[u64]) {
        assert_eq!(words.len(), self.words, "filter length mismatch");
        self.data.extend_from_slice(words);
        self.counts.push(popcount_words(words));
        self.missing.push(false);
    }

    /// Appends a missing (null) filter.
    pub fn push_missing(&mut self) {
        self.data.resize(self.data.len() + self.words, 0);
        self.counts.push(0);
        self.missing.push(true);
    }

    /// u64 words per filter.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Bits per filter.
    pub fn bits(&self) -> usize {
        self.words * 64
    }

    /// Number of filters (records), missing ones included.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether the matrix holds no filter.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The words of filter `i` (all zero when missing).
    pub fn row(&self, i: usize) -> &[u64] {
        &self.data[i * self.words..(i + 1) * self.words]
    }

    /// The popcount of filter `i` (0 when missing).
    pub fn count(&self, i: usize) -> u32 {
        self.counts[i]
    }

    /// Whether filter `i` is missing (null).
    pub fn is_missing(&self, i: usize) -> bool {
        self.missing[i]
    }

    /// All words, filter after filter.
    pub fn data(&self) -> &[u64] {
        &self.data
    }
}

fn popcount_words(w: &[u64]) -> u32 {
    w.iter().map(|x| x.count_ones()).sum()
}

/// A popcount instruction-set path (serialized as its [`Isa::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isa {
    /// AVX-512F + VPOPCNTDQ: `vpopcntq` on 512-bit lanes.
    Avx512Vpopcntdq,
    /// AVX2 (+ POPCNT for short tails): nibble-table `vpshufb` popcount on 256-bit lanes.
    Avx2,
    /// The scalar `popcnt` instruction.
    Popcnt,
    /// No target feature: `u64::count_ones` as the build's baseline compiles it.
    Portable,
}

impl Isa {
    /// Every path, best first.
    pub const ALL: [Isa; 4] = [Isa::Avx512Vpopcntdq, Isa::Avx2, Isa::Popcnt, Isa::Portable];

    /// A short lower-case name: `avx512-vpopcntdq`, `avx2`, `popcnt`, `portable`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512Vpopcntdq => "avx512-vpopcntdq",
            Isa::Avx2 => "avx2",
            Isa::Popcnt => "popcnt",
            Isa::Portable => "portable",
        }
    }

    /// The path named `name` (as [`Isa::name`] prints it; `avx512` also accepted).
    pub fn from_name(name: &str) -> Option<Isa> {
        match name.to_ascii_lowercase().as_str() {
            "avx512-vpopcntdq" | "avx512" | "avx512vpopcntdq" => Some(Isa::Avx512Vpopcntdq),
            "avx2" => Some(Isa::Avx2),
            "popcnt" => Some(Isa::Popcnt),
            "portable" => Some(Isa::Portable),
            _ => None,
        }
    }

    /// Whether this CPU can run the path (checked at run time with `is_x86_feature_detected!`).
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Popcnt => std::arch::is_x86_feature_detected!("popcnt"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vpopcntdq => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The paths this CPU can run, best first (always ends with [`Isa::Portable`]).
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The best path this CPU has, detected once and cached.
///
/// The order of [`Isa::ALL`] is the order of speed, by measurement: on this project's machine
/// (AMD EPYC, Zen 3: AVX2 + POPCNT, no AVX-512) `padan bench dice --isa …` gives the AVX2 raw
/// AND+popcount loop 0.20–0.22 G pairs/s against 0.14 G/s for the scalar POPCNT one (1024-bit
/// filters, same run conditions), and the thresholded kernels keep that order, so AVX2 stays
/// ahead of POPCNT.
pub fn detect() -> Isa {
    static BEST: OnceLock<Isa> = OnceLock::new();
    *BEST.get_or_init(|| Isa::available()[0])
}

/// A comparison kernel bound to an instruction-set path the CPU is known to have.
///
/// The only way to get one is [`Kernel::new`] (which checks the CPU) or [`Kernel::detect`], so
/// every method is safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel {
    isa: Isa,
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

    fn above_tile(
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

    fn raw_tile(&self, tile: &Tile<'_>) -> u64 {
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

/// A Dice threshold in the integer form the fast kernels test: `2c·D ≥ T·s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    value: f64,
    num: u64,
    den: u64,
    keep_none: bool,
}

impl Threshold {
    /// The integer form of `threshold` for filters of `bits` bits.
    ///
    /// `T/D` is the smallest quotient `2c/s` (over every `s` in `1..=2·bits` and `2c ≤ s`, the
    /// pairs such filters can produce) whose f64 value `(2c as f64) / (s as f64)` is `>=
    /// threshold`. Correctly rounded division is monotone, so the f64 test accepts exactly the
    /// pairs whose exact quotient is at least `T/D`: `2c·D ≥ T·s` ⇔ the f64 test, with no
    /// rounding gap in either direction. A threshold ≤ 0 keeps every pair (`T/D = 0/1`); one
    /// above 1 keeps none. (Pairs with `s = 0` are decided separately: their Dice is 0.0.)
    ///
    /// # Panics
    /// When `threshold` is NaN or `bits` is 0 or above 2^22.
    pub fn new(threshold: f64, bits: usize) -> Threshold {
        assert!(!threshold.is_nan(), "Dice threshold is NaN");
        assert!(bits > 0 && bits <= 1 << 22, "unsupported filter length");
        if threshold <= 0.0 {
            return Threshold {
                value: threshold,
                num: 0,
                den: 1,
                keep_none: false,
            };
        }
        let accepts = |c: u64, s: u64| (2 * c) as f64 / s as f64 >= threshold;
        let mut best: Option<(u64, u64)> = None;
        let smax = 2 * bits as u64;
        for s in 1..=smax {
            let cmax = s / 2;
            let guess = ((threshold * s as f64) / 2.0).ceil();
            let mut c = if guess.is_finite() && guess >= 0.0 {
                (guess as u64).min(cmax + 1)
            } else {
                cmax + 1
            };
            while c > 0 && accepts(c - 1, s) {
                c -= 1;
            }
            while c <= cmax && !accepts(c, s) {
                c += 1;
            }
            if c <= cmax {
                let (n, d) = (2 * c, s);
                match best {
                    Some((bn, bd)) if n * bd >= bn * d => {}
                    _ => best = Some((n, d)),
                }
            }
        }
        match best {
            Some((num, den)) => Threshold {
                value: threshold,
                num,
                den,
                keep_none: false,
            },
            None => Threshold {
                value: threshold,
                num: 1,
                den: 0,
                keep_none: true,
            },
        }
    }

    /// The threshold as given.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// `(T, D)`: the threshold as the exact rational `T/D`.
    pub fn rational(&self) -> (u64, u64) {
        (self.num, self.den)
    }

    /// Whether no pair can be above the threshold (it is above 1).
    pub fn keeps_nothing(&self) -> bool {
        self.keep_none
    }

    /// The integer test for a pair with `c = |a ∧ b|` and `s = |a| + |b| > 0` (both present).
    #[inline(always)]
    pub fn passes(&self, c: u32, s: u32) -> bool {
        2 * u64::from(c) * self.den >= self.num * u64::from(s)
    }

    /// The full decision for a present pair, `s = 0` included (Dice 0.0 then).
    #[inline]
    fn keeps(&self, c: u32, s: u32) -> bool {
        if s == 0 {
            self.value <= 0.0
        } else {
            self.passes(c, s)
        }
    }
}

/// Up to this filter length (16384 bits) every term of the threshold test is below 2^30
/// (`c·2D ≤ 4·bits²`, `T·s ≤ 4·bits²`), so the hot loop tests in u32 lanes.
const U32_TEST_MAX_WORDS: usize = 256;

/// Rows of `a` per parallel task.
const CHUNK_A: usize = 64;

/// Rows of `b` per cache tile: about 128 KiB of filters (fits L2 beside the `a` chunk).
fn tile_rows(words: usize) -> usize {
    ((128 * 1024) / (words * 8)).max(16)
}

/// One block of pairs: rows `i0..i1` of `a` against rows `j0..j1` of `b`.
struct Tile<'m> {
    a: &'m FilterMatrix,
    b: &'m FilterMatrix,
    /// `T · |b_j|` for every row of `b` when filters are ≤ 16384 bits (the u32 test), else empty.
    bterm: &'m [u32],
    i0: usize,
    i1: usize,
    j0: usize,
    j1: usize,
}

/// A popcount of `a ∧ b` over `n` words. Implementations are `#[inline(always)]` and contain the
/// instructions of one path, so they inline into that path's `#[target_feature]` function.
trait AndPop {
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
struct Scalar;

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
unsafe fn above_tile_with<K: AndPop, const W: usize>(
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
fn keep_cold(
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
unsafe fn raw_tile_with<K: AndPop, const W: usize>(tile: &Tile<'_>) -> u64 {
    let n = if W == 0 { tile.a.words } else { W };
    let bstart = tile.b.data.as_ptr().add(tile.j0 * n);
    let mut sum = 0u64;
    for i in tile.i0..tile.i1 {
        let ar = tile.a.data.as_ptr().add(i * n);
        sum += K::sum_rows(ar, bstart, tile.j1 - tile.j0, n);
    }
    sum
}

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

/// The portable path: no target feature.
mod portable {
    use super::*;

    pub(super) fn and_popcount(a: &[u64], b: &[u64]) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
    }

    pub(super) fn above_tile(
        tile: &Tile<'_>,
        t: &Threshold,
        hits: &mut Vec<u32>,
        out: &mut Vec<(u32, u32, f32)>,
    ) {
        // SAFETY: the tile's rows are in range of both matrices; no feature needed.
        unsafe { by_words!(tile.a.words, above_tile_with::<Scalar>(tile, t, hits, out)) }
    }

    pub(super) fn raw_tile(tile: &Tile<'_>) -> u64 {
        // SAFETY: as above.
        unsafe { by_words!(tile.a.words, raw_tile_with::<Scalar>(tile)) }
    }
}

// The AVX-512 intrinsics are stable since Rust 1.89 (the crate's `rust-version` still says
// 1.80; it needs raising to 1.89 in Cargo.toml).
#[cfg(target_arch = "x86_64")]
#[clippy::msrv = "1.89"]
mod x86 {
    use super::*;
    use std::arch::x86_64::*;

    /// Mula's popcount on 256-bit lanes: nibble table with `vpshufb`, bytes summed by `vpsadbw`.
    struct Avx2;

    /// The nibble popcount table and the low-nibble mask.
    #[inline(always)]
    unsafe fn mula_consts() -> (__m256i, __m256i) {
        (
            _mm256_setr_epi8(
                0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3,
                2, 3, 3, 4,
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
}

/// The plain reference: bit by bit, obviously correct, slow. The tests check every fast path
/// against it.
pub mod naive {
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
    pub fn all_pairs_above(
        a: &FilterMatrix,
        b: &FilterMatrix,
        threshold: f64,
    ) -> Vec<(u32, u32, f32)> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Every supported filter length, 64 … 4096 bits.
    const WORDS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

    fn kernels() -> Vec<Kernel> {
        Isa::available()
            .into_iter()
            .map(|i| Kernel::new(i).expect("available"))
            .collect()
    }

    /// One filter of `words` words in one of several shapes (random, empty, full, sparse, dense).
    fn filter(rng: &mut ChaCha8Rng, words: usize) -> Vec<u64> {
        match rng.random_range(0..6) {
            0 => vec![0; words],
            1 => vec![u64::MAX; words],
            2 => (0..words)
                .map(|_| rng.random::<u64>() & rng.random::<u64>() & rng.random::<u64>())
                .collect(),
            3 => (0..words)
                .map(|_| rng.random::<u64>() | rng.random::<u64>())
                .collect(),
            _ => (0..words).map(|_| rng.random::<u64>()).collect(),
        }
    }

    /// A matrix with missing rows, and (when `base` is given) near-copies of its rows so that
    /// high thresholds are hit.
    fn matrix(
        rng: &mut ChaCha8Rng,
        words: usize,
        rows: usize,
        base: Option<&FilterMatrix>,
    ) -> FilterMatrix {
        let mut m = FilterMatrix::new(words);
        for r in 0..rows {
            match (rng.random_range(0..8), base) {
                (0, _) => m.push_missing(),
                (1..=3, Some(b)) if r < b.len() => {
                    let mut w = b.row(r).to_vec();
                    for _ in 0..rng.random_range(0..4) {
                        let bit = rng.random_range(0..words * 64);
                        w[bit / 64] ^= 1 << (bit % 64);
                    }
                    m.push_words(&w);
                }
                _ => {
                    let w = filter(rng, words);
                    m.push_words(&w);
                }
            }
        }
        m
    }

    fn words_strategy() -> impl Strategy<Value = usize> {
        prop::sample::select(WORDS.to_vec())
    }

    fn pattern(words: usize) -> impl Strategy<Value = Vec<u64>> {
        prop_oneof![
            Just(vec![0u64; words]),
            Just(vec![u64::MAX; words]),
            prop::collection::vec(any::<u64>(), words),
            prop::collection::vec(
                prop::sample::select(vec![0u64, 1, 1 << 63, u64::MAX]),
                words
            ),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn and_popcount_every_isa_equals_naive(
            (a, b) in words_strategy().prop_flat_map(|w| (pattern(w), pattern(w)))
        ) {
            let expected = naive::and_popcount(&a, &b);
            for isa in Isa::available() {
                prop_assert_eq!(and_popcount(isa, &a, &b), expected, "{}", isa);
            }
        }

        #[test]
        fn dice_every_isa_equals_naive(words in words_strategy(), seed in any::<u64>()) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let a = matrix(&mut rng, words, 6, None);
            let b = matrix(&mut rng, words, 6, Some(&a));
            for i in 0..a.len() {
                prop_assert_eq!(a.count(i), naive::popcount(a.row(i)));
                for j in 0..b.len() {
                    let expected = naive::dice(&a, i, &b, j);
                    for k in kernels() {
                        let got = k.dice(&a, i, &b, j);
                        prop_assert_eq!(got.map(f32::to_bits), expected.map(f32::to_bits),
                            "{} {} {}", k.isa(), i, j);
                    }
                    prop_assert_eq!(dice(&a, i, &b, j), expected);
                }
            }
        }

        #[test]
        fn all_pairs_every_isa_equals_naive(
            words in words_strategy(),
            seed in any::<u64>(),
            t in prop_oneof![0.0f64..=1.05, Just(0.0), Just(1.0), Just(-0.5), Just(0.5)],
            exact in any::<bool>(),
        ) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let rows = if words >= 32 { 9 } else { 23 };
            let a = matrix(&mut rng, words, rows, None);
            let b = matrix(&mut rng, words, rows + 3, Some(&a));
            // Sometimes take the threshold exactly at a value some pair has (the boundary).
            let t = if exact {
                let (i, j) = (rng.random_range(0..a.len()), rng.random_range(0..b.len()));
                naive::dice_f64(&a, i, &b, j).unwrap_or(t)
            } else {
                t
            };
            let expected = naive::all_pairs_above(&a, &b, t);
            for isa in Isa::available() {
                let got = all_pairs_above(&a, &b, t, isa);
                prop_assert_eq!(&got, &expected, "{} t={}", isa, t);
            }
        }

        #[test]
        fn threshold_integer_test_equals_f64_test(t in -0.1f64..1.1, bits in prop::sample::select(vec![64usize, 128, 256])) {
            let th = Threshold::new(t, bits);
            for s in 1..=2 * bits as u32 {
                for c in 0..=s / 2 {
                    let f = f64::from(2 * c) / f64::from(s) >= t;
                    prop_assert_eq!(!th.keeps_nothing() && th.passes(c, s), f, "c={} s={}", c, s);
                }
            }
        }
    }

    #[test]
    fn long_filters_use_the_u64_test_and_agree() {
        // 32768-bit filters: above U32_TEST_MAX_WORDS, so the hot loop tests in u64.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let a = matrix(&mut rng, 512, 5, None);
        let b = matrix(&mut rng, 512, 9, Some(&a));
        for t in [0.0, 0.4, 0.5, 0.9, 0.999] {
            let expected = naive::all_pairs_above(&a, &b, t);
            for isa in Isa::available() {
                assert_eq!(all_pairs_above(&a, &b, t, isa), expected, "{isa} {t}");
            }
        }
    }

    #[test]
    fn result_does_not_depend_on_thread_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let a = matrix(&mut rng, 16, 300, None);
        let b = matrix(&mut rng, 16, 700, Some(&a));
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| Kernel::detect().all_pairs_above(&a, &b, 0.8))
        };
        let one = run(1);
        assert!(!one.is_empty());
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
        assert_eq!(one, naive::all_pairs_above(&a, &b, 0.8));
    }

    #[test]
    fn byte_layout_is_little_endian_bit_order() {
        let mut m = FilterMatrix::new(1);
        m.push(&[0x01, 0x80, 0, 0, 0, 0, 0, 0x40]);
        assert_eq!(m.row(0), &[0x4000_0000_0000_8001]);
        assert!(naive::bit(m.row(0), 0));
        assert!(naive::bit(m.row(0), 15));
        assert!(naive::bit(m.row(0), 62));
        assert_eq!(m.count(0), 3);
        let mut m2 = FilterMatrix::new(2);
        let mut bytes = [0u8; 16];
        bytes[8] = 0x02; // bit 65
        m2.push(&bytes);
        assert_eq!(m2.row(0), &[0, 2]);
        assert!(naive::bit(m2.row(0), 65));
    }

    #[test]
    fn seed_table() {
        // (a, b, expected Dice) hand-computed on 64-bit filters.
        let table: [(u64, u64, Option<f32>); 7] = [
            (0b1111, 0b0110, Some(4.0 / 6.0)), // c=2, s=6
            (0b1111, 0b1111, Some(1.0)),       // identical
            (0b1010, 0b0101, Some(0.0)),       // disjoint
            (u64::MAX, 0, Some(0.0)),          // c=0, s=64
            (0, 0, Some(0.0)),                 // both empty: defined 0.0
            (u64::MAX, 0xFFFF_FFFF, Some(2.0 * 32.0 / 96.0)),
            (0b111, 0b1, Some(2.0 / 4.0)), // c=1, s=4
        ];
        for (a, b, want) in table {
            let ma = FilterMatrix::from_words(1, vec![a]);
            let mb = FilterMatrix::from_words(1, vec![b]);
            for k in kernels() {
                assert_eq!(k.dice(&ma, 0, &mb, 0), want, "{a:#x} {b:#x} {}", k.isa());
            }
        }
        // Missing on either side.
        let mut ma = FilterMatrix::new(16);
        ma.push_missing();
        ma.push_words(&[u64::MAX; 16]);
        assert!(ma.is_missing(0) && !ma.is_missing(1));
        assert_eq!(dice(&ma, 0, &ma, 1), None);
        assert_eq!(dice(&ma, 1, &ma, 0), None);
        assert_eq!(dice(&ma, 0, &ma, 0), None);
        assert_eq!(dice(&ma, 1, &ma, 1), Some(1.0));
        // 1024-bit: first half vs all: c=512, s=1536 → 2/3.
        let mut half = [0u64; 16];
        half[..8].fill(u64::MAX);
        let mh = FilterMatrix::from_words(16, half.to_vec());
        let mf = FilterMatrix::from_words(16, vec![u64::MAX; 16]);
        assert_eq!(dice(&mh, 0, &mf, 0), Some((1024.0f64 / 1536.0) as f32));
    }

    #[test]
    fn threshold_table() {
        let t = Threshold::new(0.5, 64);
        let (n, d) = t.rational();
        assert_eq!(2 * n, d); // exactly 1/2
        assert!(t.passes(1, 4) && !t.passes(1, 5));
        assert!(Threshold::new(1.0001, 1024).keeps_nothing());
        assert_eq!(Threshold::new(0.0, 1024).rational(), (0, 1));
        // 0.95 with 1024-bit filters: the smallest reachable Dice ≥ 0.95 is 38/40 (= 0.95).
        let (n, d) = Threshold::new(0.95, 1024).rational();
        assert_eq!(n * 40, d * 38);
        // Just above 0.95: the next reachable quotient is above it.
        let (n, d) = Threshold::new(0.950_000_1, 1024).rational();
        assert!((n as f64 / d as f64) > 0.950_000_1);
        // Empty pairs: Dice 0.0, kept only at thresholds ≤ 0; missing never kept.
        let mut m = FilterMatrix::new(1);
        m.push_words(&[0]);
        m.push_missing();
        assert_eq!(naive::all_pairs_above(&m, &m, 0.0), vec![(0, 0, 0.0)]);
        for isa in Isa::available() {
            assert_eq!(all_pairs_above(&m, &m, 0.0, isa), vec![(0, 0, 0.0)]);
            assert!(all_pairs_above(&m, &m, 0.1, isa).is_empty());
        }
    }

    #[test]
    fn simd_paths_only_when_detected() {
        for isa in Isa::ALL {
            assert_eq!(Kernel::new(isa).is_some(), isa.is_available(), "{isa}");
        }
        assert!(Isa::Portable.is_available());
        assert_eq!(detect(), Isa::available()[0]);
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            assert_eq!(
                Isa::Avx512Vpopcntdq.is_available(),
                has!("avx512f") && has!("avx512vpopcntdq") && has!("popcnt")
            );
            assert_eq!(Isa::Avx2.is_available(), has!("avx2") && has!("popcnt"));
            assert_eq!(Isa::Popcnt.is_available(), has!("popcnt"));
        }
        // Forcing a path the CPU lacks is refused, never executed.
        for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
            assert!(std::panic::catch_unwind(|| and_popcount(isa, &[1], &[1])).is_err());
            let m = FilterMatrix::from_words(1, vec![1]);
            assert!(std::panic::catch_unwind(|| all_pairs_above(&m, &m, 0.5, isa)).is_err());
        }
    }

    #[test]
    fn isa_names_round_trip() {
        for isa in Isa::ALL {
            assert_eq!(Isa::from_name(isa.name()), Some(isa));
        }
        assert_eq!(Isa::from_name("nope"), None);
    }
}
