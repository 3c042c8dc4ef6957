//! `padan bench dice`: the all-pairs Dice kernel against a raw AND+popcount loop, in one run.
//!
//! Two matrices of N random filters (about half the bits set, deterministic from the seed) are
//! compared N×N. A few rows of `b` are planted near-copies of rows of `a` (a handful of bits
//! flipped) so that the thresholded kernel has something to find. Measured, in the same process
//! and on the same data:
//! - `raw and+popcount`: the best-case loop — same path, same tiling and parallel split, summing
//!   `|a ∧ b|` into an accumulator, no threshold;
//! - `all_pairs_above`: the thresholded kernel (integer threshold test, output collection);
//! - `all_pairs_above` on the portable path (no target feature), for contrast.
//!
//! With `inputs`, the two matrices are instead the record-level filters of two encoded files (e.g.
//! clkhash CLKs brought in by `padan import clkhash`), compared A×B with nothing planted.
//!
//! The raw loop and the kernel alternate `reps` times and each keeps its best time, so a slow
//! moment of the (shared, quota-limited) host does not decide the ratio.

use std::path::PathBuf;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::io::encoded::{ColumnRole, EncodedFile};
use crate::link::dice::{FilterMatrix, Isa, Kernel};

/// What to run.
#[derive(Clone, Debug, Serialize)]
pub struct DiceBenchConfig {
    /// Rows per side (N×N comparisons).
    pub n: usize,
    /// Filter length in bits (a power of two ≥ 64).
    pub bits: usize,
    /// Dice threshold of the kernel.
    pub threshold: f64,
    /// Worker threads (`None`: all cores).
    pub threads: Option<usize>,
    /// Seed of the random filters.
    pub seed: u64,
    /// The path to measure (`None`: the detected best).
    pub isa: Option<Isa>,
    /// Alternating repetitions of the raw loop and the kernel (best time kept).
    pub reps: usize,
    /// Also measure the portable path.
    pub portable: bool,
    /// Compare the record-level filters of these two encoded files instead of random filters
    /// (`n`, `bits` and `seed` are then ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<(PathBuf, PathBuf)>,
}

impl Default for DiceBenchConfig {
    fn default() -> Self {
        DiceBenchConfig {
            n: 20_000,
            bits: 1024,
            threshold: 0.95,
            threads: None,
            seed: 42,
            isa: None,
            reps: 3,
            portable: true,
            inputs: None,
        }
    }
}

/// One measured kernel.
#[derive(Clone, Debug, Serialize)]
pub struct DiceBenchRow {
    /// What was measured.
    pub kernel: String,
    /// The popcount path.
    pub isa: String,
    /// Threads of the pool.
    pub threads: usize,
    /// Filter pairs compared.
    pub comparisons: u64,
    /// Wall-clock seconds (best of the repetitions).
    pub seconds: f64,
    /// Comparisons per second.
    pub comparisons_per_second: f64,
    /// This row's rate divided by the raw loop's rate.
    pub ratio_to_raw: f64,
}

/// The result of `padan bench dice`.
#[derive(Clone, Debug, Serialize)]
pub struct DiceBenchReport {
    /// The parameters (with the threads actually used).
    pub config: DiceBenchConfig,
    /// Filters on side A.
    pub rows_a: usize,
    /// Filters on side B.
    pub rows_b: usize,
    /// Their length in bits.
    pub filter_bits: usize,
    /// Pairs the kernel kept (the same on every path).
    pub pairs_kept: usize,
    /// Near-copies planted in the data (all of them should be kept at thresholds ≤ 0.95).
    pub planted: usize,
    /// The raw loop's popcount sum (printed so the loop cannot be optimized away).
    pub raw_checksum: u64,
    /// The measurements.
    pub rows: Vec<DiceBenchRow>,
}

impl DiceBenchReport {
    /// The report as a small plain-text table.
    pub fn table(&self) -> String {
        let c = &self.config;
        let source = match &c.inputs {
            None => format!("random, seed {}", c.seed),
            Some((a, b)) => format!("record filters of {} and {}", a.display(), b.display()),
        };
        let mut s = format!(
            "padan bench dice: {}×{} filters of {} bits ({source}), threshold {}\n",
            self.rows_a, self.rows_b, self.filter_bits, c.threshold
        );
        s.push_str(&format!(
            "{:<18} {:<17} {:>7} {:>13} {:>9} {:>10} {:>8}\n",
            "kernel", "isa", "threads", "comparisons", "seconds", "G cmp/s", "vs raw"
        ));
        for r in &self.rows {
            s.push_str(&format!(
                "{:<18} {:<17} {:>7} {:>13} {:>9.3} {:>10.3} {:>7.1}%\n",
                r.kernel,
                r.isa,
                r.threads,
                r.comparisons,
                r.seconds,
                r.comparisons_per_second / 1e9,
                100.0 * r.ratio_to_raw
            ));
        }
        s.push_str(&format!(
            "pairs kept: {} (planted near-copies: {}); raw checksum {}\n",
            self.pairs_kept, self.planted, self.raw_checksum
        ));
        s
    }
}

/// Rows `b[j]` for `j` a multiple of this are near-copies of `a[j]`.
const PLANT_EVERY: usize = 1000;

/// Two matrices of `n` random filters of `words` words (each bit set with probability 1/2),
/// deterministic from `seed`; every [`PLANT_EVERY`]-th row of `b` is the row of `a` with 8 bits
/// flipped. Returns `(a, b, planted)`.
pub fn random_pair(n: usize, words: usize, seed: u64) -> (FilterMatrix, FilterMatrix, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = FilterMatrix::from_words(words, (0..n * words).map(|_| rng.random()).collect());
    let mut bdata: Vec<u64> = (0..n * words).map(|_| rng.random()).collect();
    let mut planted = 0;
    for j in (0..n).step_by(PLANT_EVERY) {
        let row = &mut bdata[j * words..(j + 1) * words];
        row.copy_from_slice(a.row(j));
        for _ in 0..8 {
            let bit = rng.random_range(0..words * 64);
            row[bit / 64] ^= 1 << (bit % 64);
        }
        planted += 1;
    }
    (a, FilterMatrix::from_words(words, bdata), planted)
}

/// The record-level filters of an encoded file, as a matrix.
pub fn record_filters(path: &std::path::Path) -> Result<FilterMatrix> {
    let f = EncodedFile::read(path)?;
    let col = f
        .column(ColumnRole::RecordFilter)
        .ok_or_else(|| Error::input_file(path, "it has no record_filter column"))?;
    let mut m = FilterMatrix::with_capacity(col.width / 8, col.len());
    for i in 0..col.len() {
        match col.get(i) {
            Some(bytes) => m.push(bytes),
            None => m.push_missing(),
        }
    }
    Ok(m)
}

/// Runs the benchmark.
pub fn run_dice_bench(config: &DiceBenchConfig) -> Result<DiceBenchReport> {
    if !config.bits.is_power_of_two() || config.bits < 64 || config.bits > 1 << 16 {
        return Err(Error::config(
            "--bits",
            "filter length must be a power of two between 64 and 65536",
        ));
    }
    if config.n == 0 {
        return Err(Error::config("--n", "must be at least 1"));
    }
    if !config.threshold.is_finite() {
        return Err(Error::config("--threshold", "must be a finite number"));
    }
    let kernel = match config.isa {
        None => Kernel::detect(),
        Some(isa) => Kernel::new(isa)
            .ok_or_else(|| Error::config("--isa", format!("this CPU cannot run the {isa} path")))?,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the thread pool: {e}")))?;
    let threads = pool.current_num_threads();
    let (a, b, planted) = match &config.inputs {
        None => random_pair(config.n, config.bits / 64, config.seed),
        Some((pa, pb)) => {
            let (a, b) = (record_filters(pa)?, record_filters(pb)?);
            if a.bits() != b.bits() {
                return Err(Error::config(
                    "--input-b",
                    format!(
                        "its record filters have {} bits, those of --input-a {}",
                        b.bits(),
                        a.bits()
                    ),
                ));
            }
            (a, b, 0)
        }
    };
    let comparisons = (a.len() as u64) * (b.len() as u64);

    let mut raw_best = f64::INFINITY;
    let mut kernel_best = f64::INFINITY;
    let mut checksum = 0;
    let mut kept = Vec::new();
    pool.install(|| {
        for _ in 0..config.reps.max(1) {
            let t0 = Instant::now();
            checksum = std::hint::black_box(kernel.raw_and_popcount_sum(&a, &b));
            raw_best = raw_best.min(t0.elapsed().as_secs_f64());
            let t0 = Instant::now();
            kept = std::hint::black_box(kernel.all_pairs_above(&a, &b, config.threshold));
            kernel_best = kernel_best.min(t0.elapsed().as_secs_f64());
        }
    });
    let raw_rate = comparisons as f64 / raw_best;
    let row = |name: &str, isa: Isa, seconds: f64| DiceBenchRow {
        kernel: name.to_string(),
        isa: isa.name().to_string(),
        threads,
        comparisons,
        seconds,
        comparisons_per_second: comparisons as f64 / seconds,
        ratio_to_raw: comparisons as f64 / seconds / raw_rate,
    };
    let mut rows = vec![
        row("raw and+popcount", kernel.isa(), raw_best),
        row("all_pairs_above", kernel.isa(), kernel_best),
    ];
    if config.portable && kernel.isa() != Isa::Portable {
        let portable = Kernel::new(Isa::Portable).expect("portable always runs");
        let t0 = Instant::now();
        let kept_portable = pool.install(|| portable.all_pairs_above(&a, &b, config.threshold));
        let secs = t0.elapsed().as_secs_f64();
        if kept_portable != kept {
            return Err(Error::Internal(
                "the portable and SIMD kernels disagree".to_string(),
            ));
        }
        rows.push(row("all_pairs_above", Isa::Portable, secs));
    }
    let mut config = config.clone();
    config.threads = Some(threads);
    config.isa = Some(kernel.isa());
    Ok(DiceBenchReport {
        config,
        rows_a: a.len(),
        rows_b: b.len(),
        filter_bits: a.bits(),
        pairs_kept: kept.len(),
        planted,
        raw_checksum: checksum,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_run_is_deterministic_and_finds_the_planted_pairs() {
        let cfg = DiceBenchConfig {
            n: 1001,
            bits: 512,
            threads: Some(2),
            reps: 1,
            ..DiceBenchConfig::default()
        };
        let r1 = run_dice_bench(&cfg).unwrap();
        let r2 = run_dice_bench(&DiceBenchConfig {
            threads: Some(1),
            ..cfg.clone()
        })
        .unwrap();
        assert_eq!(r1.planted, 2);
        assert_eq!(r1.pairs_kept, 2);
        assert_eq!(r1.pairs_kept, r2.pairs_kept);
        assert_eq!(r1.raw_checksum, r2.raw_checksum);
        assert_eq!(
            r1.rows.len(),
            if r1.config.isa == Some(Isa::Portable) {
                2
            } else {
                3
            }
        );
        assert!(r1.table().contains("all_pairs_above"));
        let json = serde_json::to_value(&r1).unwrap();
        assert_eq!(json["rows"][0]["kernel"], "raw and+popcount");
    }

    #[test]
    fn bad_parameters_are_config_errors() {
        for cfg in [
            DiceBenchConfig {
                bits: 1000,
                ..DiceBenchConfig::default()
            },
            DiceBenchConfig {
                n: 0,
                ..DiceBenchConfig::default()
            },
            DiceBenchConfig {
                threshold: f64::NAN,
                ..DiceBenchConfig::default()
            },
        ] {
            assert_eq!(run_dice_bench(&cfg).unwrap_err().exit_code(), 2);
        }
    }
}
