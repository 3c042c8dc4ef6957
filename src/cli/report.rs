//! `padan report`.

use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::report::svg::fmt_int;

/// Write the auditors' report of a match set: one self-contained HTML file (no script, no
/// network) with the run summary, weight distribution, threshold sweep, model, waterfalls,
/// clusters, blocking and encode-side rejects. It holds counts, scores and record ids only.
///
/// Examples:
///   padan report out/ --out report.html
///   padan report out/ --out report.html --truth synth/truth.csv
///   padan report out/ --out report.html --decisions sample/review.csv
#[derive(Debug, Args)]
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
    /// Reviewers' verdicts on a labelled random sample (from `padan review export --sample`),
    /// repeatable: the report measures precision and recall per score band from them.
    #[arg(long, value_name = "FILE")]
    pub decisions: Vec<PathBuf>,
}

/// Runs `padan report`.
pub fn run(args: ReportArgs) -> Result<()> {
    if !args.dir.is_dir() {
        return Err(Error::config(
            "padan report DIR",
            format!("{} is not a directory", args.dir.display()),
        ));
    }
    let start = Instant::now();
    let data = crate::report::write_report_with(
        &args.dir,
        args.truth.as_deref(),
        &args.decisions,
        &args.out,
    )?;
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
