//! `padan import`: bring filters encoded by other tools into padan's encoded format.

use clap::{Args, Subcommand};
use std::path::PathBuf;

use crate::error::Result;
use crate::io::clkhash::import_clkhash;

/// Write clkhash CLKs (base64, one per line) as a padan encoded file.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct ImportArgs {
    /// The source format.
    #[command(subcommand)]
    pub what: ImportWhat,
}

/// The importable formats.
#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// clkhash CLKs: one base64 filter per line.
    Clkhash(ClkhashArgs),
}

/// Write clkhash CLKs (one base64 record-level filter per line) as a padan encoded file whose
/// record filter is the CLK, so padan's Dice kernel runs on them without re-encoding.
///
/// An existing --out is refused unless --force.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct ClkhashArgs {
    /// The agency the CLKs belong to.
    #[arg(long)]
    pub agency: String,
    /// The CLK file: one base64 CLK per line, all of one length (256..8192 bits).
    #[arg(long)]
    pub input: PathBuf,
    /// The encoded file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Record ids, one per line in CLK order (first CSV column; a `record_id` header is skipped).
    /// Default: the line number, from 0.
    #[arg(long)]
    pub ids: Option<PathBuf>,
    /// Replace --out if it already exists.
    #[arg(long)]
    pub force: bool,
}

const EXAMPLES: &str = "
  padan import clkhash --agency legacy --input clks.b64 --out legacy.padan.parquet
  padan import clkhash --agency legacy --input clks.b64 --ids ids.csv --out legacy.padan.parquet";

/// Runs `padan import`.
pub fn run(args: ImportArgs) -> Result<()> {
    match args.what {
        ImportWhat::Clkhash(a) => {
            super::refuse_existing(&a.out, a.force, "--out")?;
            let s = import_clkhash(&a.input, a.ids.as_deref(), &a.agency, &a.out)?;
            eprintln!(
                "imported {} clkhash CLKs of {} bits for agency '{}' into {}",
                s.records,
                s.bits,
                a.agency,
                a.out.display()
            );
            Ok(())
        }
    }
}
