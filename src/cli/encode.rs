//! `padan encode`: normalize and encode one agency extract.

use clap::Args;
use std::path::PathBuf;

use super::progress::Progress;
use crate::encode::EncodeJob;
use crate::error::{Error, Result};
use crate::extract::{TextEncoding, DEFAULT_BATCH_ROWS};
use crate::keys::SecretKey;
use crate::schema::{ColumnMap, DateOrder, Schema};

/// Normalize and encode one agency extract (CSV or Parquet) into an encoded Parquet file.
///
/// Only the encoded file leaves the agency. The rejects file and the pseudonym lookup stay.
///
/// Examples:
///   padan encode --schema schema.toml --key agreement.key --agency kemlu \
///       --columns kemlu.columns.toml --input kemlu.csv --out kemlu.padan.parquet
///   padan encode --key agreement.key --agency polri --input polri.csv --out polri.padan.parquet \
///       --id-column no_lp --column name=nama --column dob=tgl_lahir --column sex=jk --date-order dmy
///   padan encode --key agreement.key --columns kemlu.columns.toml --input kemlu.csv \
///       --out kemlu.padan.parquet --pseudonymize-ids --decoys 0.05
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct EncodeArgs {
    /// The shared linkage schema (TOML). Default: the built-in schema (`padan schema default`).
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// The shared secret key file.
    #[arg(long)]
    pub key: PathBuf,
    /// This agency's name, as the linkage unit will see it (default: from the column map).
    #[arg(long)]
    pub agency: Option<String>,
    /// The extract: .csv/.tsv/.txt (comma, semicolon or tab) or .parquet.
    #[arg(long)]
    pub input: PathBuf,
    /// The encoded file to write (conventionally NAME.padan.parquet).
    #[arg(long)]
    pub out: PathBuf,
    /// This agency's column map (TOML). Alternatively use --id-column and --column.
    #[arg(long, conflicts_with_all = ["id_column", "column"])]
    pub columns: Option<PathBuf>,
    /// The column holding the record id (without --columns).
    #[arg(long)]
    pub id_column: Option<String>,
    /// FIELD=COLUMN, repeated (COLUMN may be A+B to join columns), without --columns.
    #[arg(long, value_name = "FIELD=COLUMN")]
    pub column: Vec<String>,
    /// Date order of this extract: dmy, mdy or ymd (overrides the column map's).
    #[arg(long)]
    pub date_order: Option<DateOrder>,
    /// Text encoding of a CSV extract: auto, utf-8 or windows-1252.
    #[arg(long, default_value = "auto")]
    pub encoding: TextEncoding,
    /// Where to write rejected rows (default: OUT.rejects.csv).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Replace record ids by keyed pseudonyms; the lookup stays at the agency.
    #[arg(long)]
    pub pseudonymize_ids: bool,
    /// Where to write the pseudonym lookup (default: beside the extract).
    #[arg(long, requires = "pseudonymize_ids")]
    pub lookup: Option<PathBuf>,
    /// Mix in this fraction of decoy records (e.g. 0.05: 5 % extra rows, at most 1), told apart
    /// only by the lookup; needs --pseudonymize-ids. See docs/privacy.md.
    #[arg(long, value_name = "FRACTION", requires = "pseudonymize_ids")]
    pub decoys: Option<f64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Rows per batch.
    #[arg(long, default_value_t = DEFAULT_BATCH_ROWS)]
    pub batch_rows: usize,
    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `padan encode`.
pub fn run(args: EncodeArgs) -> Result<()> {
    let schema = match &args.schema {
        Some(p) => Schema::load(p)?,
        None => Schema::default_victims(),
    };
    let key = SecretKey::load(&args.key)?;
    let mut columns = match (&args.columns, &args.id_column) {
        (Some(p), _) => ColumnMap::load(p)?,
        (None, Some(id)) => {
            ColumnMap::from_flags(id, &args.column, args.date_order.unwrap_or_default())?
        }
        (None, None) => {
            return Err(Error::config(
                "arguments",
                "say which column feeds which field: --columns FILE, or --id-column and --column FIELD=COLUMN",
            ))
        }
    };
    if let Some(o) = args.date_order {
        columns.date_order = o;
    }
    let agency = args
        .agency
        .clone()
        .or_else(|| columns.agency.clone())
        .ok_or_else(|| {
            Error::config(
                "--agency",
                "name the agency with --agency (or `agency = ...` in the column map)",
            )
        })?;
    crate::agency::AgencyName::new(&agency, "--agency")?;
    let rejects = args
        .rejects
        .clone()
        .unwrap_or_else(|| EncodeJob::default_rejects(&args.out));
    let lookup = args.pseudonymize_ids.then(|| {
        args.lookup
            .clone()
            .unwrap_or_else(|| EncodeJob::default_lookup(&args.input))
    });
    let job = EncodeJob {
        rejects: rejects.clone(),
        lookup: lookup.clone(),
        encoding: args.encoding,
        batch_rows: args.batch_rows,
        decoys: args.decoys,
        ..EncodeJob::new(&schema, &key, &columns, &agency, &args.input, &args.out)
    };
    let bar = Progress::bytes(args.quiet, "encoding");
    let summary = super::with_threads(args.threads, || job.run(&|d, t| bar.update(d, t)))?;
    bar.finish();
    if args.quiet {
        return Ok(());
    }
    let c = &summary.counts;
    println!("padan encode — agency {agency}");
    println!(
        "  input        {} ({})",
        args.input.display(),
        summary.input_format
    );
    println!(
        "  rows         {} read, {} encoded, {} rejected",
        c.rows_read, c.rows_encoded, c.rows_rejected
    );
    if args.decoys.is_some() {
        println!(
            "  decoys       {} of the {} encoded rows (marked in the lookup only)",
            summary.decoys, c.rows_encoded
        );
    }
    for (r, n) in &c.rejected {
        println!("    rejected   {n:>8}  {r}");
    }
    for (r, n) in &c.dropped {
        println!("    dropped    {n:>8}  {r} (value left out, row kept)");
    }
    for (r, n) in &c.flagged {
        println!("    flagged    {n:>8}  {r} (row kept)");
    }
    println!("  output       {}", args.out.display());
    println!("  rejects      {}", rejects.display());
    if let Some(l) = &lookup {
        println!("  lookup       {} (keep at the agency)", l.display());
    }
    println!(
        "  fingerprints schema {} · key {}",
        summary.meta.schema_fingerprint, summary.meta.key_fingerprint
    );
    println!(
        "  time         {:.2} s ({:.0} rows/s)",
        summary.seconds,
        c.rows_read as f64 / summary.seconds.max(1e-9)
    );
    Ok(())
}
