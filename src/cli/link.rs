//! `padan link`: link 2..N agencies' encoded files into a match set.

use clap::Args;
use std::path::PathBuf;

use super::progress::Progress;
use crate::error::{Error, Result};
use crate::link::{LinkConfig, LinkJob, DEFAULT_CONFIG_TOML};

/// Link 2..N agencies' encoded files into a match set (at the linkage unit).
///
/// Runs without the key: blocks, compares, scores, clusters, and writes DIR/pairs.parquet,
/// DIR/clusters.parquet, DIR/manifest.json (and DIR/candidates.parquet with --write-candidates).
/// A DIR that already holds files is refused unless --force.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct LinkArgs {
    /// The link configuration (TOML). Default: the built-in defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The match-set directory to write (required, except with --print-default-config or
    /// --blocking-only).
    #[arg(long, required_unless_present_any = ["print_default_config", "blocking_only"])]
    pub out: Option<PathBuf>,
    /// Encoded files, one per agency.
    #[arg(required_unless_present = "print_default_config")]
    pub inputs: Vec<PathBuf>,
    /// Also write candidates.parquet (every compared pair; for evaluate and report).
    #[arg(long)]
    pub write_candidates: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Block only: print the candidate pairs each block kind yields, without comparing or writing
    /// anything (to size a run or tune blocking).
    #[arg(long, conflicts_with = "out")]
    pub blocking_only: bool,
    /// With --blocking-only: a truth CSV (agency,record_id,person_id, as `padan synth` writes);
    /// prints each block kind's pair completeness (share of true pairs it finds) and the union's.
    #[arg(long, requires = "blocking_only")]
    pub truth: Option<PathBuf>,
    /// With --truth: AGENCY=FILE, repeated, for agencies encoded with --pseudonymize-ids (as
    /// `padan evaluate --lookup`).
    #[arg(long, value_name = "AGENCY=FILE", requires = "truth")]
    pub lookup: Vec<String>,
    /// Print the commented default configuration and exit.
    #[arg(long)]
    pub print_default_config: bool,
    /// Print the summary as JSON on standard output (counts, inputs, thresholds, model, timings,
    /// warnings, output directory); warnings still go to standard error too.
    #[arg(long)]
    pub json: bool,
    /// Reviewers' verdicts (CSV or Parquet with pair_id or left_agency/left_id/right_agency/
    /// right_id, and decision = match / non-match), repeatable; later files win. A match becomes
    /// a must-link and a non-match a cannot-link in clustering.
    #[arg(long, value_name = "FILE")]
    pub decisions: Vec<PathBuf>,
    /// Print only errors and warnings.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write into an --out directory that already holds files, replacing link's own files there.
    #[arg(long)]
    pub force: bool,
    /// The previous match set: link incrementally against it (give all current encoded files,
    /// unchanged ones too). Compares only pairs with an added or changed record, reuses its
    /// model, carries its person_ids forward and writes DIR/changes.parquet.
    #[arg(long, value_name = "DIR", conflicts_with = "blocking_only")]
    pub previous: Option<PathBuf>,
    /// With --previous: compare every pair and fit the model again (a full run that still
    /// carries person_ids forward and writes changes.parquet).
    #[arg(long, requires = "previous")]
    pub refit: bool,
}

const EXAMPLES: &str = "
  padan link --out matches kemlu.padan.parquet polri.padan.parquet bp2mi.padan.parquet
  padan link --config link.toml --out matches *.padan.parquet
  padan link --blocking-only *.padan.parquet
  padan link --print-default-config > link.toml
  padan link --decisions review/review.csv --out matches-reviewed *.padan.parquet
  padan link --previous matches-2026-11 --out matches-2026-12 *.padan.parquet";

/// Runs `padan link`.
pub fn run(args: LinkArgs) -> Result<()> {
    if args.print_default_config {
        print!("{DEFAULT_CONFIG_TOML}");
        return Ok(());
    }
    let mut config = match &args.config {
        Some(p) => LinkConfig::load(p)?,
        None => LinkConfig::default(),
    };
    if args.write_candidates {
        config.output.candidates = true;
    }
    if args.blocking_only {
        let job = LinkJob {
            inputs: args.inputs.clone(),
            out_dir: PathBuf::new(),
            config,
        };
        let truth = match &args.truth {
            Some(path) => {
                let mut t = crate::io::truth::Truth::read(path)?;
                for spec in &args.lookup {
                    let Some((agency, file)) = spec
                        .split_once('=')
                        .filter(|(a, f)| !a.is_empty() && !f.is_empty())
                    else {
                        return Err(Error::config("--lookup", "expected AGENCY=FILE"));
                    };
                    let lookup = crate::io::lookup::Lookup::read(std::path::Path::new(file))?;
                    t.apply_lookup(agency, &lookup)?;
                }
                Some(t)
            }
            None => None,
        };
        let bar = Progress::spinner(args.quiet, "blocking");
        let (records, stats, completeness) =
            super::with_threads(args.threads, || job.plan(truth.as_ref()))?;
        bar.finish();
        for w in crate::link::pipeline::blocking_warnings(&stats, &job.config.blocking) {
            eprintln!("warning: {w}");
        }
        print_blocking(records, &stats, completeness.as_ref());
        return Ok(());
    }
    let out = args
        .out
        .clone()
        .ok_or_else(|| Error::config("--out", "name the match-set directory"))?;
    super::refuse_nonempty_dir(&out, args.force, "--out")?;
    let job = LinkJob {
        inputs: args.inputs.clone(),
        out_dir: out.clone(),
        config,
    };
    let decisions = crate::review::Decisions::read(&args.decisions)?;
    let bar = Progress::spinner(args.quiet || args.json, "linking");
    let manifest = match &args.previous {
        Some(previous) => {
            let job = crate::link::incremental::IncrementalJob {
                job,
                previous: previous.clone(),
                refit: args.refit,
            };
            super::with_threads(args.threads, || {
                job.run_with_decisions(&|s| bar.message(s), &decisions)
            })?
        }
        None => super::with_threads(args.threads, || {
            job.run_with_decisions(&|s| bar.message(s), &decisions)
        })?,
    };
    bar.finish();
    for w in &manifest.warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        let m = serde_json::to_value(&manifest)
            .map_err(|e| Error::Internal(format!("the link summary as JSON: {e}")))?;
        let mut v = serde_json::json!({
            "status": "ok",
            "out": out.display().to_string(),
            "manifest": out.join("manifest.json").display().to_string(),
        });
        for k in [
            "inputs",
            "schema_fingerprint",
            "key_fingerprint",
            "counts",
            "thresholds",
            "model",
            "timings",
            "threads",
            "outputs",
            "warnings",
            "decisions",
            "previous",
        ] {
            v[k] = m[k].clone();
        }
        println!("{v:#}");
        return Ok(());
    }
    if args.quiet {
        return Ok(());
    }
    let c = &manifest.counts;
    let t = &manifest.timings;
    println!(
        "padan link — {} agencies, {} records",
        manifest.inputs.len(),
        c.records
    );
    for i in &manifest.inputs {
        println!("  {:<12} {:>10} records  {}", i.agency, i.rows, i.file);
    }
    println!(
        "  blocking     {} candidate pairs (reduction ratio {:.6})",
        c.blocking.candidates, c.blocking.reduction_ratio
    );
    if manifest.model.training == crate::link::record_level::RECORD_DICE_TRAINING {
        println!("  model        none: record-level mode (inputs carry only record filters)");
        println!(
            "  decisions    {} match (Dice ≥ {:.3}), {} review (Dice ≥ {:.3})",
            c.pairs_match,
            manifest.thresholds.match_weight,
            c.pairs_review,
            manifest.thresholds.review_weight
        );
    } else {
        println!(
            "  model        λ = {}, EM {} iterations{}",
            fmt_lambda(manifest.model.lambda),
            manifest.model.em.iterations,
            if manifest.model.em.converged {
                ""
            } else {
                " (not converged)"
            }
        );
        println!(
            "  decisions    {} match (≥ {:.3}), {} review (≥ {:.3})",
            c.pairs_match,
            manifest.thresholds.match_probability,
            c.pairs_review,
            manifest.thresholds.review_probability
        );
    }
    if let Some(d) = &manifest.decisions {
        println!(
            "  verdicts     {} applied ({} match, {} non-match), {} not in this run; {} merges refused by a non-match",
            d.must_link + d.cannot_link,
            d.must_link,
            d.cannot_link,
            d.not_in_run,
            d.refused_by_cannot_link
        );
    }
    println!(
        "  clusters     {} ({} with 2+ records, {} holding a within-agency duplicate)",
        c.clusters, c.clusters_multi, c.clusters_with_duplicates
    );
    println!(
        "  time         {:.2} s (read {:.2}, block {:.2}, compare {:.2}, fit {:.2}, score {:.2}, resolve {:.2}, write {:.2}); {} threads, {}",
        t.total, t.read, t.block, t.compare, t.fit, t.score, t.resolve, t.write, manifest.threads, manifest.isa
    );
    if let Some(p) = &manifest.previous {
        println!(
            "  previous     model {}; records {} unchanged, {} added, {} changed, {} dropped; pairs {} compared, {} carried",
            p.model,
            p.records_unchanged,
            p.records_added,
            p.records_changed,
            p.records_dropped,
            p.pairs_compared,
            p.pairs_carried
        );
        let n = |k: &str| p.persons_by_change.get(k).copied().unwrap_or(0);
        println!(
            "  persons      {} new, {} unchanged, {} grown, {} shrunk, {} merged, {} split, {} removed (changes.parquet)",
            n("new"),
            n("unchanged"),
            n("grown"),
            n("shrunk"),
            n("merged"),
            n("split"),
            n("removed")
        );
    }
    println!("  output       {}", out.display());
    Ok(())
}

fn print_blocking(
    records: u64,
    s: &crate::link::block::BlockingStats,
    c: Option<&crate::link::block::PairCompleteness>,
) {
    println!("padan link --blocking-only — {records} records");
    println!(
        "  candidate pairs      {:>14}  ({:.1} per record, reduction ratio {:.6})",
        s.candidates,
        s.candidates as f64 / records.max(1) as f64,
        s.reduction_ratio
    );
    let share = |f: u64| f as f64 / c.map_or(0, |c| c.true_pairs).max(1) as f64;
    if let Some(c) = c {
        println!(
            "  pair completeness    {:>14.4}  ({} of {} true pairs)",
            share(c.found),
            c.found,
            c.true_pairs
        );
    }
    println!(
        "  pairs by block kind (before deduplication across kinds; per record{}):",
        if c.is_some() {
            "; pair completeness"
        } else {
            ""
        }
    );
    for (kind, n) in &s.candidates_by_block {
        let per = *n as f64 / records.max(1) as f64;
        let found = c
            .and_then(|c| c.found_by_kind.get(kind))
            .map(|&f| format!("  completeness {:.4}", share(f)))
            .unwrap_or_default();
        let capped = s.capped_by_kind.get(kind).copied().unwrap_or(0)
            + s.purged_by_kind.get(kind).copied().unwrap_or(0);
        if capped > 0 {
            let kept = match s.effective_max_block_size.get(kind) {
                Some(k) => format!("blocks of ≤ {k} records kept"),
                None => "over max_block_size".to_string(),
            };
            println!(
                "    {kind:<20} {n:>14}  {per:>6.1}/record{found}  ({capped} blocks skipped; {kept})"
            );
        } else {
            println!("    {kind:<20} {n:>14}  {per:>6.1}/record{found}");
        }
    }
}

/// The prior λ (share of all record pairs that match): four decimals, or three significant digits
/// in scientific form when it is small (at a million records it is about 10⁻⁶, which `{:.5}`
/// printed as 0.00000).
fn fmt_lambda(l: f64) -> String {
    if l != 0.0 && l.abs() < 1e-3 {
        format!("{l:.2e}")
    } else {
        format!("{l:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_lambda;

    #[test]
    fn lambda_shows_its_digits_at_every_size() {
        assert_eq!(fmt_lambda(0.0123), "0.0123");
        assert_eq!(fmt_lambda(3.14159e-6), "3.14e-6");
        assert_eq!(fmt_lambda(0.0), "0.0000");
    }
}
