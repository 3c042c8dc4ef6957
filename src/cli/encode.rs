//! `padan encode`: normalize and encode one agency extract.

use clap::Args;
use std::path::PathBuf;

use super::progress::Progress;
use crate::encode::EncodeJob;
use crate::error::{Error, Result};
use crate::extract::{parse_delimiter, ReadOptions, TextEncoding, DEFAULT_BATCH_ROWS};
use crate::keys::SecretKey;
use crate::normalize::{Reason, SPREADSHEET_TEXT_HINT};
use crate::schema::{ColumnMap, DateOrder, Schema};

/// Normalize and encode one agency extract (at the agency).
///
/// Reads the extract (delimited text, Excel, OpenDocument or Parquet), normalizes each field the
/// schema names and writes an encoded Parquet file of keyed Bloom filters and tokens. Only the
/// encoded file leaves the agency; the rejects file and the pseudonym lookup stay. Say which
/// column feeds which field with --columns FILE, or with --id-column and --column flags (one of
/// the two is required). An output that already exists is refused unless --force.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
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
    /// The extract, or - for standard input. Told by content, whatever its name: delimited text
    /// (CSV/TSV/pipe..., UTF-8, UTF-16 with BOM or Windows-1252, plain or gzip), Excel
    /// .xlsx/.xls, OpenDocument .ods, or Parquet.
    #[arg(long)]
    pub input: PathBuf,
    /// The encoded file to write (conventionally NAME.padan.parquet).
    #[arg(long)]
    pub out: PathBuf,
    /// This agency's column map (TOML). Required, unless --id-column with --column flags say the
    /// same.
    #[arg(long, conflicts_with_all = ["id_column", "column"])]
    pub columns: Option<PathBuf>,
    /// The column holding the record id (required without --columns).
    #[arg(long)]
    pub id_column: Option<String>,
    /// FIELD=COLUMN, repeated (COLUMN may be A+B to join columns); required without --columns.
    #[arg(long, value_name = "FIELD=COLUMN")]
    pub column: Vec<String>,
    /// Date order of this extract: dmy, mdy or ymd (overrides the column map's).
    #[arg(long)]
    pub date_order: Option<DateOrder>,
    /// Text encoding of a CSV extract: auto, utf-8 or windows-1252.
    #[arg(long, default_value = "auto")]
    pub encoding: TextEncoding,
    /// Delimiter of a text extract: one character, or comma, semicolon, tab, pipe, space
    /// (default: Excel's `sep=` line if there is one, else the most frequent of , ; tab | in the
    /// header).
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Rows above the header to skip (title rows of a text or spreadsheet extract).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub skip_rows: usize,
    /// The sheet of a workbook (.xlsx/.xls/.ods): its name or 1-based position (default: the
    /// first).
    #[arg(long)]
    pub sheet: Option<String>,
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
    /// Largest share of rejected rows (0..1) for which the encoded file is still written. Above
    /// it, the rejects file is written, no encoded file, and the exit code is 7. An extract
    /// whose every row is rejected always exits with 7.
    #[arg(long, value_name = "SHARE", default_value_t = 0.5)]
    pub max_reject_rate: f64,
    /// Print the summary as JSON on standard output (also when too many rows are rejected).
    #[arg(long)]
    pub json: bool,
    /// Replace the encoded file, rejects file or lookup if they already exist.
    #[arg(long)]
    pub force: bool,
    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

const EXAMPLES: &str = "
  padan encode --schema schema.toml --key agreement.key \\
      --columns kemlu.columns.toml --input kemlu.csv --out kemlu.padan.parquet
  padan encode --key agreement.key --agency polri --input polri.csv --out polri.padan.parquet \\
      --id-column no_lp --column name=nama --column dob=tgl_lahir --column sex=jk --date-order dmy
  padan encode --key agreement.key --columns kemlu.columns.toml --input kemlu.csv \\
      --out kemlu.padan.parquet --pseudonymize-ids --decoys 0.05
  export-from-case-system | padan encode --key agreement.key --columns kemlu.columns.toml \\
      --input - --out kemlu.padan.parquet";

/// Runs `padan encode`.
pub fn run(args: EncodeArgs) -> Result<()> {
    let schema = match &args.schema {
        Some(p) => Schema::load(p)?,
        None => Schema::default_victims(),
    };
    let key = SecretKey::load(&args.key)?;
    let columns = ColumnMap::resolve(
        args.columns.as_deref(),
        args.id_column.as_deref(),
        &args.column,
        args.date_order,
        "--columns FILE, or --id-column and --column FIELD=COLUMN",
    )?;
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
    super::refuse_existing(&args.out, args.force, "--out")?;
    super::refuse_existing(&rejects, args.force, "--rejects")?;
    if let Some(l) = &lookup {
        super::refuse_existing(l, args.force, "--lookup")?;
    }
    if !(0.0..=1.0).contains(&args.max_reject_rate) {
        return Err(Error::config(
            "--max-reject-rate",
            "the maximum reject rate is a share between 0 and 1 (e.g. 0.5)",
        ));
    }
    let job = EncodeJob {
        max_reject_rate: Some(args.max_reject_rate),
        rejects: rejects.clone(),
        lookup: lookup.clone(),
        read: ReadOptions {
            encoding: args.encoding,
            delimiter: args.delimiter,
            skip_rows: args.skip_rows,
            sheet: args.sheet.clone(),
        },
        batch_rows: args.batch_rows,
        decoys: args.decoys,
        ..EncodeJob::new(&schema, &key, &columns, &agency, &args.input, &args.out)
    };
    let bar = Progress::bytes(args.quiet || args.json, "encoding");
    let summary = super::with_threads(args.threads, || job.run(&|d, t| bar.update(d, t)))?;
    bar.finish();
    let c = &summary.counts;
    let damaged: Vec<(&str, u64)> = Reason::ALL
        .iter()
        .filter(|r| r.is_spreadsheet_damage())
        .filter_map(|r| {
            let n = c.rejected.get(r.code()).copied().unwrap_or(0)
                + c.dropped.get(r.code()).copied().unwrap_or(0);
            (n > 0).then_some((r.code(), n))
        })
        .collect();
    let written = summary.refused.is_none();
    if args.json {
        let v = serde_json::json!({
            "status": if written { "ok" } else { "too_many_rejects" },
            "agency": agency,
            "input": input_name(&args.input),
            "input_format": summary.input_format,
            "rows_read": c.rows_read,
            "rows_encoded": c.rows_encoded,
            "rows_rejected": c.rows_rejected,
            "reject_rate": c.rows_rejected as f64 / c.rows_read.saturating_sub(summary.decoys).max(1) as f64,
            "max_reject_rate": args.max_reject_rate,
            "rejected_by_reason": c.rejected,
            "dropped_by_reason": c.dropped,
            "flagged_by_reason": c.flagged,
            "decoys": summary.decoys,
            "output": written.then(|| args.out.display().to_string()),
            "rejects": rejects.display().to_string(),
            "lookup": lookup.as_ref().filter(|_| written).map(|l| l.display().to_string()),
            "schema_fingerprint": summary.meta.schema_fingerprint,
            "key_fingerprint": summary.meta.key_fingerprint,
            "seconds": summary.seconds,
            "refused": summary.refused,
            "hints": if damaged.is_empty() { vec![] } else { vec![SPREADSHEET_TEXT_HINT] },
        });
        println!("{v:#}");
    } else if !args.quiet {
        print_summary(
            &args,
            &agency,
            &summary,
            &rejects,
            lookup.as_deref(),
            &damaged,
        );
    }
    match summary.refused {
        None => Ok(()),
        Some(why) => Err(Error::TooManyRejects(format!(
            "{why}: no encoded file written; the rejects file {} says which rows and why{}",
            rejects.display(),
            if damaged.is_empty() {
                String::new()
            } else {
                format!(" ({SPREADSHEET_TEXT_HINT})")
            }
        ))),
    }
}

/// The extract's name in the summary (`-` is standard input).
fn input_name(input: &std::path::Path) -> String {
    if input.as_os_str() == "-" {
        crate::extract::source::STDIN_NAME.to_string()
    } else {
        input.display().to_string()
    }
}

fn print_summary(
    args: &EncodeArgs,
    agency: &str,
    summary: &crate::encode::EncodeSummary,
    rejects: &std::path::Path,
    lookup: Option<&std::path::Path>,
    damaged: &[(&str, u64)],
) {
    let c = &summary.counts;
    println!("padan encode — agency {agency}");
    println!(
        "  input        {} ({})",
        input_name(&args.input),
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
    for (code, n) in damaged {
        println!("  spreadsheet  {n} value(s) counted as {code}: {SPREADSHEET_TEXT_HINT}");
    }
    if summary.refused.is_none() {
        println!("  output       {}", args.out.display());
    } else {
        println!("  output       none (too many rows rejected)");
    }
    println!("  rejects      {}", rejects.display());
    if let Some(l) = lookup.filter(|_| summary.refused.is_none()) {
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
}
