//! `padan bench`: kernel benchmarks that print a table (or JSON).

use clap::{Args, Subcommand};
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::link::bench::{run_dice_bench, DiceBenchConfig};
use crate::link::dice::Isa;

/// Measure padan's kernels (prints a table, or JSON with --json).
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct BenchArgs {
    /// What to measure.
    #[command(subcommand)]
    pub what: BenchWhat,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// All-pairs Dice of N×N random filters against a raw AND+popcount loop, in one run.
    Dice(DiceArgs),
}

/// Compare N×N random Bloom filters with the all-pairs Dice kernel and, in the same run, with a
/// raw AND+popcount loop (the best case) and the portable kernel.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct DiceArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Filters per side (N×N comparisons).
    #[arg(long, default_value_t = 20_000)]
    pub n: usize,
    /// Filter length in bits (a power of two, 64 … 65536).
    #[arg(long, default_value_t = 1024)]
    pub bits: usize,
    /// Dice threshold of the kernel (random filters are near 0.5, so 0.95 keeps almost nothing).
    #[arg(long, default_value_t = 0.95)]
    pub threshold: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of the random filters.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Force a popcount path: avx512-vpopcntdq, avx2, popcnt or portable (default: the best this
    /// CPU has).
    #[arg(long)]
    pub isa: Option<String>,
    /// Alternating repetitions of the raw loop and the kernel; each keeps its best time.
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Skip the (slow) portable-kernel measurement.
    #[arg(long)]
    pub no_portable: bool,
    /// Compare the record-level filters of this encoded file (e.g. from `padan import clkhash`)
    /// with those of --input-b instead of random filters.
    #[arg(long, requires = "input_b")]
    pub input_a: Option<PathBuf>,
    /// The other side of --input-a.
    #[arg(long, requires = "input_a")]
    pub input_b: Option<PathBuf>,
}

const EXAMPLES: &str = "
  padan bench dice
  padan bench dice --n 5000 --bits 512 --threads 1 --json
  padan bench dice --input-a a.padan.parquet --input-b b.padan.parquet --threshold 0.8";

/// Runs `padan bench`.
pub fn run_bench(args: BenchArgs) -> Result<()> {
    match args.what {
        BenchWhat::Dice(a) => run_dice(a),
    }
}

fn run_dice(a: DiceArgs) -> Result<()> {
    let isa = match a.isa.as_deref() {
        None => None,
        Some(name) => Some(Isa::from_name(name).ok_or_else(|| {
            Error::config(
                "--isa",
                "expected avx512-vpopcntdq, avx2, popcnt or portable",
            )
        })?),
    };
    if a.threads == Some(0) {
        return Err(Error::config("--threads", "must be at least 1"));
    }
    let config = DiceBenchConfig {
        n: a.n,
        bits: a.bits,
        threshold: a.threshold,
        threads: a.threads,
        seed: a.seed,
        isa,
        reps: a.reps,
        portable: !a.no_portable,
        inputs: a.input_a.zip(a.input_b),
    };
    let report = run_dice_bench(&config)?;
    if a.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Internal(format!("cannot serialize the report: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
