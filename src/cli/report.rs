//! `padan report`.

use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::report::svg::fmt_int;

/// Write the auditors' HTML report of a match set.
///
/// One self-contained HTML file (no script, no network) with the run summary, weight
/// distribution, threshold sweep, model, waterfalls, clusters, blocking and encode-side rejects.
/// It holds counts, scores and record ids only. With --decisions (a labelled sample from `padan
/// review export --sample`) it measures precision and recall per score band. An existing --out
/// is refused unless --force.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct ReportArgs {
    /// The match-set directory written by `padan link` (manifest.json, pairs.parquet, …).
    pub dir: PathBuf,
    /// The HTML file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Truth CSV (`agency,record_id,person_id`) for true precision, recall, F1 and blocking
    /// pair completeness.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// AGENCY=FILE, repeated: that agency encoded with --pseudonymize-ids; its lookup maps the
    /// truth's record ids to pseudonyms, and each of its decoys counts as a person of its own
    /// (as in `padan evaluate`).
    #[arg(long, value_name = "AGENCY=FILE", requires = "truth")]
    pub lookup: Vec<String>,
    /// Reviewers' verdicts on a labelled random sample (from `padan review export --sample`),
    /// repeatable: the report measures precision and recall per score band from them.
    #[arg(long, value_name = "FILE")]
    pub decisions: Vec<PathBuf>,
    /// Replace --out if it already exists.
    #[arg(long)]
    pub force: bool,
}

const EXAMPLES: &str = "
  padan report matches --out report.html
  padan report matches --out report.html --truth fixtures/synth/truth.csv
  padan report matches --out report.html --truth fixtures/synth/truth.csv \\
      --lookup kpppa=kpppa.padan-lookup.csv
  padan report matches --out report.html --decisions sample/review.csv";

/// Runs `padan report`.
pub fn run(args: ReportArgs) -> Result<()> {
    if !args.dir.is_dir() {
        return Err(Error::config(
            "padan report DIR",
            format!("{} is not a directory", args.dir.display()),
        ));
    }
    super::refuse_existing(&args.out, args.force, "--out")?;
    let start = Instant::now();
    let lookups = super::evaluate::read_lookups(&args.lookup)?;
    let data = crate::report::write_report_with(
        &args.dir,
        args.truth.as_deref(),
        &lookups,
        &args.decisions,
        &args.out,
    )?;
    for w in data.truth.iter().flat_map(|t| &t.warnings) {
        eprintln!("warning: {w}");
    }
    println!(
        "wrote {} ({} pairs, {} clusters, {} waterfalls{}) in {:.1} s",
        args.out.display(),
        fmt_int(data.pairs.weights.len() as u64),
        fmt_int(data.clusters.clusters),
        data.waterfalls.len(),
        if data.truth.is_some() {
            ", with truth"
        } else {
            ""
        },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
