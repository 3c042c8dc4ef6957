//! `padan synth`.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Instant;

use crate::error::Result;
use crate::synth::{generate, SynthConfig, SynthFormat};

/// Write realistic synthetic agency extracts, their column maps and the truth.
///
/// One extract per agency, each in that agency's own layout, with the column map to encode it
/// and truth.csv (agency, record_id, person_id) for evaluate and report. The output directory
/// must be empty unless --force.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct SynthArgs {
    /// The output directory (created if missing; must be empty unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// How many agencies, 1..=7 (kemlu, kpppa, imigrasi, kemensos, polri, kejaksaan, bp2mi).
    #[arg(long, default_value_t = 7)]
    pub agencies: usize,
    /// How many trafficking victims (BP2MI adds non-victim workers on top).
    #[arg(long, default_value_t = 2000)]
    pub people: u64,
    /// The random seed (same seed, same files).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output format of the extracts.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    pub format: FormatArg,
    /// Write into a non-empty directory, replacing files of the same name.
    #[arg(long)]
    pub force: bool,
    /// Share of persons with a second record in one agency.
    #[arg(long, default_value_t = 0.05)]
    pub duplicate_rate: f64,
    /// Non-victim migrant workers known only to BP2MI, per victim.
    #[arg(long, default_value_t = 2.0)]
    pub workers_per_victim: f64,
    /// Multiplies every agency's error rate (0 = clean data).
    #[arg(long, default_value_t = 1.0)]
    pub error_scale: f64,
    /// Multiplies every agency's missing-value rate.
    #[arg(long, default_value_t = 1.0)]
    pub missing_scale: f64,
}

const EXAMPLES: &str = "
  padan synth --out demo/
  padan synth --out fixtures/synth --people 300 --seed 7
  padan synth --out big/ --people 4000000 --format parquet";

/// `--format`: the output file format of the agency extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// CSV in each agency's own dialect (delimiter, encoding, line ends).
    Csv,
    /// Parquet, one UTF-8 string column per agency column, zstd-compressed.
    Parquet,
}

impl From<FormatArg> for SynthFormat {
    fn from(f: FormatArg) -> SynthFormat {
        match f {
            FormatArg::Csv => SynthFormat::Csv,
            FormatArg::Parquet => SynthFormat::Parquet,
        }
    }
}

/// Runs `padan synth`.
pub fn run(args: SynthArgs) -> Result<()> {
    let cfg = SynthConfig {
        agencies: args.agencies,
        people: args.people,
        seed: args.seed,
        format: args.format.into(),
        force: args.force,
        duplicate_rate: args.duplicate_rate,
        bp2mi_workers_per_victim: args.workers_per_victim,
        error_scale: args.error_scale,
        missing_scale: args.missing_scale,
        ..SynthConfig::default()
    };
    let start = Instant::now();
    let s = generate(&cfg, &args.out)?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "wrote {} records ({} victims, {} BP2MI-only workers) to {} in {:.1} s",
        s.records,
        s.victims,
        s.workers,
        args.out.display(),
        secs
    );
    for a in &s.agencies {
        println!(
            "  {:<10} {:>10} records  {}",
            a.agency,
            a.records,
            a.file.display()
        );
    }
    println!("  truth      {}", s.truth_file.display());
    println!("  summary    {}", s.readme_file.display());
    Ok(())
}
