//! `padan demo`: the whole job on built-in synthetic data, in one go.

use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::progress::Progress;
use crate::encode::EncodeJob;
use crate::error::{Error, Result};
use crate::evaluate::{self, Blocking};
use crate::keys::SecretKey;
use crate::link::{LinkConfig, LinkJob};
use crate::schema::{ColumnMap, Schema};
use crate::synth::{self, SynthConfig};

/// Run the whole job on built-in synthetic data and print a summary (start here).
///
/// synth → keygen → encode (each agency) → link → evaluate → report. Everything is written
/// under --dir (default ./padan-demo), which is replaced when it holds an earlier demo and
/// refused when it holds anything else.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct DemoArgs {
    /// Where to write everything (replaced if it holds an earlier demo).
    #[arg(long, default_value = "padan-demo")]
    pub dir: PathBuf,
    /// Trafficking victims to generate (the migrant-worker agency adds its other workers).
    #[arg(long, default_value_t = 2000)]
    pub people: u64,
    /// Random seed of the synthetic data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

const EXAMPLES: &str = "
  padan demo
  padan demo --people 20000 --dir /tmp/padan-demo";

/// Runs `padan demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    super::with_threads(args.threads, || run_inner(&args))
}

fn clear_demo_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let marker = dir.join(".padan-demo");
        let empty = std::fs::read_dir(dir)
            .map_err(|e| Error::io("reading", dir, e))?
            .next()
            .is_none();
        if !marker.exists() && !empty {
            return Err(Error::config(
                "--dir",
                format!(
                    "{} exists and was not made by padan demo: choose another --dir",
                    dir.display()
                ),
            ));
        }
        std::fs::remove_dir_all(dir).map_err(|e| Error::io("removing", dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    std::fs::write(dir.join(".padan-demo"), "made by padan demo\n")
        .map_err(|e| Error::io("writing", dir, e))
}

fn run_inner(args: &DemoArgs) -> Result<()> {
    let t0 = Instant::now();
    let dir = &args.dir;
    clear_demo_dir(dir)?;
    let data = dir.join("agencies");
    let encoded = dir.join("encoded");
    let matches = dir.join("matches");
    std::fs::create_dir_all(&encoded).map_err(|e| Error::io("creating", &encoded, e))?;
    let mut times: Vec<(&str, f64)> = Vec::new();

    // 1. Synthetic extracts (the agencies' own data, with truth for evaluation).
    let bar = Progress::spinner(false, "synth");
    let t = Instant::now();
    let cfg = SynthConfig {
        people: args.people,
        seed: args.seed,
        ..SynthConfig::default()
    };
    let summary = synth::generate(&cfg, &data)?;
    times.push(("synth", t.elapsed().as_secs_f64()));

    // 2. A key, shared by the agencies (never given to the linkage unit).
    let t = Instant::now();
    let key_path = dir.join("agreement.key");
    let key = SecretKey::generate()?;
    key.save_new(&key_path)?;
    let schema = Schema::default_victims();

    // 3. Each agency encodes its own extract.
    let mut inputs = Vec::new();
    let mut rejected = 0u64;
    for a in &summary.agencies {
        bar.message(&format!("encode {}", a.agency));
        let columns = ColumnMap::load(&a.columns_file)?;
        let out = encoded.join(format!("{}.padan.parquet", a.agency));
        let job = EncodeJob::new(&schema, &key, &columns, &a.agency, &a.file, &out);
        let s = job.run(&|_, _| {})?;
        rejected += s.counts.rows_rejected;
        inputs.push(out);
    }
    times.push(("encode", t.elapsed().as_secs_f64()));

    // 4. The linkage unit links the encoded files (no key).
    let t = Instant::now();
    let mut config = LinkConfig::default();
    config.output.candidates = true;
    let job = LinkJob {
        inputs,
        out_dir: matches.clone(),
        config,
    };
    let manifest = job.run(&|s| bar.message(&format!("link: {s}")))?;
    times.push(("link", t.elapsed().as_secs_f64()));

    // 5. Evaluate against the truth, 6. the auditors' report.
    bar.message("evaluate");
    let t = Instant::now();
    let truth = summary.truth_file.clone();
    let ev = evaluate::evaluate(&matches, &truth)?;
    times.push(("evaluate", t.elapsed().as_secs_f64()));
    bar.message("report");
    let t = Instant::now();
    let report = dir.join("report.html");
    crate::report::write_report(&matches, Some(&truth), &report)?;
    times.push(("report", t.elapsed().as_secs_f64()));
    bar.finish();

    let c = &ev.clusters;
    println!(
        "padan demo — synthetic data, {} agencies",
        summary.agencies.len()
    );
    println!(
        "  records      {} ({} victims, {} other migrant workers); {} rejected at encode",
        summary.records, summary.victims, summary.workers, rejected
    );
    println!(
        "  candidates   {} compared pairs (reduction ratio {:.5})",
        manifest.counts.blocking.candidates, manifest.counts.blocking.reduction_ratio
    );
    println!(
        "  clusters     {} ({} with 2+ records; true people: {})",
        manifest.counts.clusters, manifest.counts.clusters_multi, c.persons
    );
    println!(
        "  quality      pairwise precision {:.4}  recall {:.4}  F1 {:.4}",
        c.pairwise.precision, c.pairwise.recall, c.pairwise.f1
    );
    println!(
        "               B-cubed F1 {:.4}; people reconstructed exactly {:.1} %",
        c.bcubed.f1,
        100.0 * c.exact_share
    );
    if let Blocking::Recorded(b) = &ev.blocking {
        println!(
            "  blocking     pair completeness {:.4} ({} of {} true pairs compared)",
            b.all.completeness, b.all.compared, b.all.true_pairs
        );
    }
    let stages: Vec<String> = times.iter().map(|(s, t)| format!("{s} {t:.2}")).collect();
    println!(
        "  time         {:.2} s ({})",
        t0.elapsed().as_secs_f64(),
        stages.join(", ")
    );
    println!("  files        {}", dir.display());
    println!("    agencies/   extracts, column maps, truth.csv (stay at the agencies)");
    println!("    encoded/    encoded files (what leaves the agencies)");
    println!("    matches/    pairs.parquet, clusters.parquet, candidates.parquet, manifest.json");
    println!("    report.html the auditors' report");
    println!(
        "  next         padan evaluate {} --truth {}",
        matches.display(),
        truth.display()
    );
    Ok(())
}
