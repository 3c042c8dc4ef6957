//! The command-line interface: one file per subcommand, each with an `Args` struct and `run`.
//!
//! The binary is glue: arguments are parsed and validated here, turned into library objects, and
//! the library does the work. Errors are printed once, on standard error, and mapped to exit codes
//! (see [`crate::Error::exit_code`]).

use clap::{Parser, Subcommand};

use crate::error::{Result, EXIT_CODES_HELP};

pub mod attack;
pub mod bench;
pub mod completions;
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
#[command(
    name = "padan",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = TOP_HELP
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Shown under `padan --help`.
const TOP_HELP: &str =
    "Start with `padan demo` (the whole job on synthetic data). Each command's --help has examples.

At each agency:   padan keygen (once, one agency) · padan schema · padan encode · padan attack
At the linkage unit (no key):   padan link
Then:   padan evaluate · padan report · padan reveal (at the agency, with its lookup)

Shell completions: padan completions SHELL; manual pages: padan man.
Guide and reference: README.md and docs/ in the repository.";

/// The subcommands. Each one's help (the summary line in `padan --help`, the description, the
/// examples and the exit codes under `padan COMMAND --help`) is its `Args` struct's doc comment
/// and `after_help`: a doc comment here would replace the description, so there is none.
#[allow(missing_docs)]
#[derive(Debug, Subcommand)]
pub enum Command {
    Demo(demo::DemoArgs),
    Keygen(keygen::KeygenArgs),
    Fingerprint(keygen::FingerprintArgs),
    Synth(synth::SynthArgs),
    Schema(schema::SchemaArgs),
    Encode(encode::EncodeArgs),
    Import(import::ImportArgs),
    Link(link::LinkArgs),
    Attack(attack::AttackArgs),
    Bench(bench::BenchArgs),
    Evaluate(evaluate::EvaluateArgs),
    Report(report::ReportArgs),
    Reveal(reveal::RevealArgs),
    Review(review::ReviewArgs),
    Completions(completions::CompletionsArgs),
    Man(completions::ManArgs),
}

/// The text under a command's `--help` (and `-h`): its examples, then the exit codes.
pub fn footer(examples: &str) -> String {
    format!(
        "Examples:\n{}\n\n{EXIT_CODES_HELP}",
        examples.trim_start_matches('\n').trim_end()
    )
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
        Command::Completions(a) => completions::run_completions(a),
        Command::Man(a) => completions::run_man(a),
    }
}

/// The overwrite rule of every command that writes files: an output that already exists is
/// refused (exit code 2) unless `--force` is given. `flag` names the option that chose the path.
pub fn refuse_existing(path: &std::path::Path, force: bool, flag: &str) -> Result<()> {
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(crate::error::Error::config(
            flag,
            format!(
                "{} already exists: give --force to replace it, or choose another name",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// [`refuse_existing`] for an output directory: one that holds anything is refused unless
/// `--force` (which lets the command replace its own files there and leaves the others). A
/// missing or empty directory is fine.
pub fn refuse_nonempty_dir(dir: &std::path::Path, force: bool, flag: &str) -> Result<()> {
    let holds_files = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if !force && holds_files {
        return Err(crate::error::Error::config(
            flag,
            format!(
                "{} already holds files: give --force to replace them, or choose another directory",
                dir.display()
            ),
        ));
    }
    Ok(())
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
