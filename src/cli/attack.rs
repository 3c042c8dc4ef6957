//! `padan attack`: the agency's self-test of encoded files against a key-less linkage unit.

use clap::Args;
use std::io::Write;
use std::path::PathBuf;

use crate::attack::public::DEFAULT_BIRTH_YEARS;
use crate::attack::{AttackJob, Source};
use crate::error::{Error, Result};
use crate::extract::TextEncoding;
use crate::keys::SecretKey;

/// Attack your own encoded files: how many names would a curious linkage unit re-identify?
///
/// The attack works as a linkage unit would — without the key, with public name and place lists —
/// and reports, per field, the share of records whose value it recovers. The attacker pools every file given (the linkage unit holds them all) and uses only the
/// files and the schema embedded in them: the date filter's year bits split the records into
/// year groups (which salt the name), profile matching, trilateration and anchors decode the
/// name filters group by group, the birthplace filters are labelled against the place list, and
/// token classes with few values (sex) are aligned with public shares. The plaintext extracts
/// are read only to score the guesses. Per field it prints the records scored, the share
/// recovered, the share among the attacker's most confident half and the baseline (the field's
/// most common public value guessed for everyone). Only counts, never a value. With --max-reidentified it is a
/// self-test: exit code 6 when more full names than that share are recovered.
///
/// Give the files as a `padan synth` directory and a directory of its encoded files, or as
/// (encoded file, column map, extract) triples: --encoded and --columns repeated in the same order
/// as the extracts.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct AttackArgs {
    /// The extracts the encoded files were made from (CSV or Parquet), in the order of
    /// --encoded (scoring only).
    pub extracts: Vec<PathBuf>,
    /// An encoded file to attack (repeat for several; pooled).
    #[arg(long)]
    pub encoded: Vec<PathBuf>,
    /// The column map of each extract, in the same order (repeat).
    #[arg(long)]
    pub columns: Vec<PathBuf>,
    /// A `padan synth` output directory: extracts and column maps found by the agency of each
    /// encoded file of --encoded-dir.
    #[arg(long, requires = "encoded_dir")]
    pub synth_dir: Option<PathBuf>,
    /// A directory of encoded files (*.padan.parquet), all attacked together.
    #[arg(long, requires = "synth_dir")]
    pub encoded_dir: Option<PathBuf>,
    /// The key, only to map pseudonymized record ids back to extract rows (the attack never uses
    /// it).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// The attacker's public name list (one name per line, repeats give frequencies; a header
    /// `name` is skipped) instead of the built-in lists by naming tradition.
    #[arg(long)]
    pub names: Option<PathBuf>,
    /// The attacker's public place list (one place per line, repeats give frequencies) instead
    /// of the built-in list.
    #[arg(long)]
    pub places: Option<PathBuf>,
    /// The public birth-year range of the population, FROM-TO (default 1968-2008: victims of
    /// 2018–2025 cases aged 16–45).
    #[arg(long, value_parser = parse_years)]
    pub birth_years: Option<(i32, i32)>,
    /// Fail (exit code 6) when the attack recovers more than this share of full names (e.g.
    /// 0.01).
    #[arg(long)]
    pub max_reidentified: Option<f64>,
    /// Text encoding of CSV extracts: auto, utf-8 or windows-1252.
    #[arg(long, default_value = "auto")]
    pub encoding: TextEncoding,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Shown under `padan attack --help`.
const EXAMPLES: &str = "
  padan attack --synth-dir synth --encoded-dir encoded
  padan attack --synth-dir synth --encoded-dir encoded --max-reidentified 0.01 --json
  padan attack --encoded kemlu.padan.parquet --columns kemlu.columns.toml kemlu.csv
  padan attack --encoded kemlu.padan.parquet --columns kemlu.columns.toml \\
      --encoded polri.padan.parquet --columns polri.columns.toml kemlu.csv polri.csv

The files are pooled as the linkage unit holds them; the extracts only score the guesses.
Exit code 6 with --max-reidentified when more full names than that share are recovered.
Method and measured figures: docs/privacy.md (padan attack).";

fn parse_years(s: &str) -> std::result::Result<(i32, i32), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| "expected FROM-TO, e.g. 1968-2008".to_string())?;
    let a: i32 = a
        .trim()
        .parse()
        .map_err(|_| "FROM is not a year".to_string())?;
    let b: i32 = b
        .trim()
        .parse()
        .map_err(|_| "TO is not a year".to_string())?;
    if !(1000..=9999).contains(&a) || !(a..=9999).contains(&b) {
        return Err("expected FROM-TO with FROM ≤ TO, four-digit years".into());
    }
    Ok((a, b))
}

/// Runs `padan attack`.
pub fn run(args: AttackArgs) -> Result<()> {
    if let Some(t) = args.max_reidentified {
        if !(0.0..=1.0).contains(&t) {
            return Err(Error::config(
                "--max-reidentified",
                "must be a share between 0 and 1",
            ));
        }
    }
    let mut sources = match (&args.synth_dir, &args.encoded_dir) {
        (Some(s), Some(e)) => crate::attack::sources_from_dirs(s, e)?,
        _ => Vec::new(),
    };
    if args.encoded.len() != args.columns.len() || args.encoded.len() != args.extracts.len() {
        return Err(Error::config(
            "attack",
            format!(
                "give one --columns and one extract per --encoded file ({} --encoded, {} --columns, {} extracts)",
                args.encoded.len(),
                args.columns.len(),
                args.extracts.len()
            ),
        ));
    }
    for ((e, c), x) in args.encoded.iter().zip(&args.columns).zip(&args.extracts) {
        sources.push(Source {
            encoded: e.clone(),
            extract: x.clone(),
            columns: c.clone(),
        });
    }
    if sources.is_empty() {
        return Err(Error::config(
            "attack",
            "nothing to attack: give --synth-dir and --encoded-dir, or --encoded, --columns and an extract",
        ));
    }
    let key = args.key.as_deref().map(SecretKey::load).transpose()?;
    let job = AttackJob {
        sources,
        key,
        names: args.names.clone(),
        places: args.places.clone(),
        years: args.birth_years.unwrap_or(DEFAULT_BIRTH_YEARS),
        encoding: args.encoding,
    };
    let report = crate::attack::run(&job)?;
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Internal(format!("serializing the attack report: {e}")))?;
        s.push('\n');
        s
    } else {
        report.render()
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("writing", std::path::Path::new("<stdout>"), e))?;
    if let Some(t) = args.max_reidentified {
        let share = report.full_name().map_or(0.0, |f| f.share());
        if share > t {
            return Err(Error::CheckFailed(format!(
                "the attack recovered {:.2} % of full names ({:.2} % allowed): harden the schema before sending the files",
                100.0 * share,
                100.0 * t
            )));
        }
    }
    Ok(())
}
