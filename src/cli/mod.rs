//! The command-line interface: one file per subcommand, each with an `Args` struct and `run`.
//!
//! The binary is glue: arguments are parsed and validated here, turned into library objects, and
//! the library does the work. Errors are printed once, on standard error, and mapped to exit codes
//! (see [`crate::Error::exit_code`]).

use clap::{Parser, Subcommand};

use crate::error::{Result, EXIT_CODES_HELP};

pub mod attack;
pub mod bench;
pub mod demo;
pub mod encode;
pub mod evaluate;
pub mod import;
pub mod keygen;
pub mod link;
pub mod progress;
pub mod report;
pub mod reveal;
pub mod review;
pub mod schema;
pub mod synth;

/// padan — privacy-preserving record linkage for agencies that may not share raw identities.
#[derive(Debug, Parser)]
#[command(name = "padan", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole job on built-in synthetic data and print a summary (start here).
    #[command(after_help = EXIT_CODES_HELP)]
    Demo(demo::DemoArgs),
    /// Make a new secret key file and print its fingerprint.
    #[command(after_help = EXIT_CODES_HELP)]
    Keygen(keygen::KeygenArgs),
    /// Print the fingerprint of a key file.
    #[command(after_help = EXIT_CODES_HELP)]
    Fingerprint(keygen::FingerprintArgs),
    /// Write realistic synthetic agency extracts, their column maps and the truth.
    #[command(after_help = EXIT_CODES_HELP)]
    Synth(synth::SynthArgs),
    /// Print or check a linkage schema.
    #[command(after_help = EXIT_CODES_HELP)]
    Schema(schema::SchemaArgs),
    /// Normalize and encode one agency extract (at the agency).
    #[command(after_help = EXIT_CODES_HELP)]
    Encode(encode::EncodeArgs),
    /// Write clkhash CLKs (base64, one per line) as a padan encoded file.
    #[command(after_help = EXIT_CODES_HELP)]
    Import(import::ImportArgs),
    /// Link 2..N agencies' encoded files into a match set (at the linkage unit).
    #[command(after_help = EXIT_CODES_HELP)]
    Link(link::LinkArgs),
    /// Attack your own encoded file: how many names would a curious linkage unit re-identify?
    #[command(after_help = EXIT_CODES_HELP)]
    Attack(attack::AttackArgs),
    /// Measure padan's kernels (prints a table, or JSON with --json).
    #[command(after_help = EXIT_CODES_HELP)]
    Bench(bench::BenchArgs),
    /// Measure a match set against known truth (precision, recall, F1, blocking completeness).
    #[command(after_help = EXIT_CODES_HELP)]
    Evaluate(evaluate::EvaluateArgs),
    /// Write the auditors' HTML report of a match set.
    #[command(after_help = EXIT_CODES_HELP)]
    Report(report::ReportArgs),
    /// Map a match set back to this agency's own record ids, dropping its decoys (at the agency).
    #[command(after_help = EXIT_CODES_HELP)]
    Reveal(reveal::RevealArgs),
    /// Clerical review: export the uncertain pairs (or a sample) for people to decide.
    #[command(after_help = EXIT_CODES_HELP)]
    Review(review::ReviewArgs),
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Keygen(a) => keygen::run_keygen(a),
        Command::Fingerprint(a) => keygen::run_fingerprint(a),
        Command::Synth(a) => synth::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Encode(a) => encode::run(a),
        Command::Import(a) => import::run(a),
        Command::Link(a) => link::run(a),
        Command::Attack(a) => attack::run(a),
        Command::Bench(a) => bench::run_bench(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Report(a) => report::run(a),
        Command::Reveal(a) => reveal::run(a),
        Command::Review(a) => review::run(a),
    }
}

/// Runs `f` in a rayon pool of `threads` threads (default: all cores).
pub fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> T {
    match threads {
        None => f(),
        Some(n) => match rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
        {
            Ok(pool) => pool.install(f),
            Err(_) => f(),
        },
    }
}
