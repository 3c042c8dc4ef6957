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
///
/// With a review file (from `padan review export`) instead of a match set, it writes this
/// agency's side of each pair next to its own extract's fields (a CSV for the reviewer; it holds
/// identities: keep it at the agency).
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct RevealArgs {
    /// The match-set directory written by `padan link`, or a review file (review.csv /
    /// review.parquet from `padan review export`).
    pub dir: PathBuf,
    /// This agency's name, as in the match set.
    #[arg(long)]
    pub agency: String,
    /// This agency's pseudonym lookup (from `padan encode --pseudonymize-ids`); required for a
    /// match set, and for a review file when the agency encoded with pseudonyms.
    #[arg(long)]
    pub lookup: Option<PathBuf>,
    /// The file to write (default: DIR/revealed-AGENCY.parquet; for a review file
    /// review-AGENCY.csv beside it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// For a review file: this agency's extract (as given to `padan encode`).
    #[arg(long)]
    pub extract: Option<PathBuf>,
    /// For a review file: the extract's column map (as given to `padan encode --columns`).
    #[arg(long)]
    pub columns: Option<PathBuf>,
    /// For a review file: the shared schema (default: the built-in schema).
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Replace the output if it already exists.
    #[arg(long)]
    pub force: bool,
    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

const EXAMPLES: &str = "
  padan reveal matches --agency kpppa --lookup kpppa.padan-lookup.csv
  padan reveal matches --agency polri --lookup polri.padan-lookup.csv --out polri-matches.parquet
  padan reveal review/review.csv --agency kemlu --extract kemlu.csv --columns kemlu.columns.toml";

/// Runs `padan reveal`.
pub fn run(args: RevealArgs) -> Result<()> {
    crate::agency::AgencyName::new(&args.agency, "--agency")?;
    if args.dir.is_file() {
        return run_review(args);
    }
    let lookup = args.lookup.clone().ok_or_else(|| {
        crate::error::Error::config(
            "--lookup",
            "name this agency's pseudonym lookup (from padan encode --pseudonymize-ids)",
        )
    })?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_output(&args.dir, &args.agency));
    super::refuse_existing(&out, args.force, "--out")?;
    let s = reveal(&args.dir, &args.agency, &lookup, &out)?;
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

/// `padan reveal REVIEW_FILE`: this agency's side of each pair, next to its extract's fields.
fn run_review(args: RevealArgs) -> Result<()> {
    use crate::error::Error;
    use crate::review::reveal::{default_output, reveal_review, ReviewReveal};
    let extract = args.extract.clone().ok_or_else(|| {
        Error::config(
            "--extract",
            "a review file is revealed next to this agency's own extract: name it with --extract (and its column map with --columns)",
        )
    })?;
    let columns = args
        .columns
        .clone()
        .ok_or_else(|| Error::config("--columns", "name the extract's column map"))?;
    let schema = match &args.schema {
        Some(p) => crate::schema::Schema::load(p)?,
        None => crate::schema::Schema::default_victims(),
    };
    let map = crate::schema::ColumnMap::load(&columns)?;
    let lookup = match &args.lookup {
        Some(p) => Some(crate::io::lookup::Lookup::read(p)?),
        None => None,
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_output(&args.dir, &args.agency));
    super::refuse_existing(&out, args.force, "--out")?;
    let s = reveal_review(&ReviewReveal {
        review: &args.dir,
        agency: &args.agency,
        extract: &extract,
        schema: &schema,
        columns: &map,
        lookup: lookup.as_ref(),
        out: &out,
    })?;
    if args.quiet {
        return Ok(());
    }
    println!("padan reveal — review file, agency {}", args.agency);
    println!(
        "  pairs        {} in the review file: {} with a record of this agency written, {} of other agencies only, {} with a decoy",
        s.review_rows, s.rows, s.not_ours, s.decoys
    );
    if s.not_in_extract > 0 {
        println!(
            "  note         {} own records not found in the extract (fields left empty; another extract?)",
            s.not_in_extract
        );
    }
    println!(
        "  output       {} (holds identities: keep it at the agency)",
        out.display()
    );
    Ok(())
}
