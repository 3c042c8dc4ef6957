//! `padan reveal`: map a match set back to this agency's own record ids (at the agency).

use clap::Args;
use std::path::PathBuf;

use crate::error::Result;
use crate::reveal::{default_output, reveal};

/// Map a match set back to this agency's own record ids, dropping its decoys (at the agency).
///
/// Resolves this agency's pseudonyms with the lookup written by `padan encode
/// --pseudonymize-ids`, drops this agency's decoy records (and the pairs they are in), and writes
/// one Parquet row per (own record, linked record) — or one row for an own record linked to
/// nothing — to join to the agency's case files on `own_record_id`. Other agencies' record ids
/// stay as they came (their pseudonyms stay pseudonyms). See docs/file-formats.md §3. An existing
/// output is refused unless --force.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct RevealArgs {
    /// The match-set directory written by `padan link`.
    pub dir: PathBuf,
    /// This agency's name, as in the match set.
    #[arg(long)]
    pub agency: String,
    /// This agency's pseudonym lookup (from `padan encode --pseudonymize-ids`).
    #[arg(long)]
    pub lookup: PathBuf,
    /// The Parquet file to write (default: DIR/revealed-AGENCY.parquet).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the output if it already exists.
    #[arg(long)]
    pub force: bool,
    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

const EXAMPLES: &str = "
  padan reveal matches --agency kpppa --lookup kpppa.padan-lookup.csv
  padan reveal matches --agency polri --lookup polri.padan-lookup.csv --out polri-matches.parquet";

/// Runs `padan reveal`.
pub fn run(args: RevealArgs) -> Result<()> {
    crate::agency::AgencyName::new(&args.agency, "--agency")?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_output(&args.dir, &args.agency));
    super::refuse_existing(&out, args.force, "--out")?;
    let s = reveal(&args.dir, &args.agency, &args.lookup, &out)?;
    if args.quiet {
        return Ok(());
    }
    println!("padan reveal — agency {}", args.agency);
    println!(
        "  records      {} in the match set: {} own records resolved, {} decoys dropped",
        s.records, s.own_records, s.decoys_dropped
    );
    println!(
        "  linked       {} own records linked to another record",
        s.own_records_linked
    );
    println!(
        "  pairs        {} kept, {} dropped (with a decoy)",
        s.pairs_kept, s.pairs_dropped
    );
    if s.lookup_not_in_match_set > 0 {
        println!(
            "  note         {} lookup entries are not in this match set (another encode run?)",
            s.lookup_not_in_match_set
        );
    }
    println!(
        "  output       {} ({} rows; keep at the agency)",
        out.display(),
        s.rows
    );
    Ok(())
}
