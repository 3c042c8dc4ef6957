//! `padan review`: the clerical review queue, for people to decide the uncertain pairs.

use clap::{Args, Subcommand};
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::review::export::{export, Selection};

/// Clerical review: export the uncertain pairs (or a sample) for people to decide.
///
/// `export` writes the queue; each agency opens its own side with `padan reveal`; the verdicts
/// go back through `padan link --decisions` and `padan evaluate --decisions`.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct ReviewArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ReviewCommand,
}

/// The review subcommands (each one's help is its `Args` struct's doc comment).
#[allow(missing_docs)]
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    Export(ExportArgs),
}

/// Write the review queue of a match set: the pairs decided `review`, or with --sample a
/// stratified random sample across every score band (to measure precision and recall).
///
/// Each row: a stable pair_id, both agencies and record ids, the probability and weight, the
/// band, each field's level as words (exact, dice ≥ 0.84, missing, …), the two clusters
/// (person_id) the pair would join, and empty decision / reviewer / note columns. Ids and
/// scores only: no identity. Each agency then opens its own side with `padan reveal`.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct ExportArgs {
    /// The match-set directory written by `padan link`.
    pub dir: PathBuf,
    /// The directory to write review.parquet and review.csv into.
    #[arg(long)]
    pub out: PathBuf,
    /// Draw a stratified random sample of N pairs across the score bands instead of the queue
    /// (from candidates.parquet when the run wrote it, so bands below review are sampled too).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// The sample's seed (the same seed and match set give the same sample).
    #[arg(long, default_value_t = 1, requires = "sample")]
    pub seed: u64,
    /// Replace existing review files (they may hold reviewers' decisions).
    #[arg(long)]
    pub force: bool,
    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

const EXAMPLES: &str = "
  padan review export matches --out review
  padan link --write-candidates --out matches *.padan.parquet
  padan review export matches --out sample --sample 400 --seed 7";

/// Runs `padan review`.
pub fn run(args: ReviewArgs) -> Result<()> {
    match args.command {
        ReviewCommand::Export(a) => run_export(a),
    }
}

fn run_export(a: ExportArgs) -> Result<()> {
    let selection = match a.sample {
        Some(0) => {
            return Err(Error::config(
                "--sample",
                "the sample needs at least one pair",
            ))
        }
        Some(n) => Selection::Sample { n, seed: a.seed },
        None => Selection::Queue,
    };
    let s = export(&a.dir, &a.out, selection, a.force)?;
    if a.quiet {
        return Ok(());
    }
    match selection {
        Selection::Queue => println!("padan review export — the review queue: {} pairs", s.rows),
        Selection::Sample { n, seed } => println!(
            "padan review export — a stratified sample of {} pairs (asked {n}, seed {seed}) from {}",
            s.rows,
            if s.from_candidates {
                "all compared candidates"
            } else {
                "the pairs at or above review (link with --write-candidates to sample below review too)"
            }
        ),
    }
    for (band, (n, total)) in s.by_band.iter().rev() {
        println!("  band {band:<12} {n:>7} of {total} pairs");
    }
    for f in &s.files {
        println!("  wrote        {f}");
    }
    Ok(())
}
