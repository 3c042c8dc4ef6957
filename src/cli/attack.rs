//! `padan attack`: the agency's self-test of an encoded file against re-identification attacks.

use clap::Args;
use std::io::Write;
use std::path::PathBuf;

use crate::attack::{AttackJob, AttackReport, Outcome, DEFAULT_MAX_RECORDS};
use crate::error::{Error, Result};
use crate::extract::TextEncoding;
use crate::keys::SecretKey;
use crate::schema::ColumnMap;

/// Attack your own encoded file the way a curious linkage unit with a population list would,
/// before you send it (at the agency: it needs the key and the plaintext extract).
///
/// Runs frequency alignment on the name filters, q-gram / bit-pattern mining on the name filters
/// and frequency alignment on the exact name tokens, and prints the share of records whose name
/// each attack re-identifies: for the file as encoded, and for the same records encoded with
/// hardening off (same key). The attacker's list is the extract's own names and birth years
/// (complete overlap: the worst case) unless --names gives one. Only counts are printed, never a
/// name. With --max-reidentified, exits with code 6 when the file as encoded exceeds it.
///
/// Examples:
///   padan attack --key agency.key --columns kemlu.columns.toml --encoded kemlu.padan.parquet kemlu.csv
///   padan attack --key agency.key --columns kemlu.columns.toml --encoded kemlu.padan.parquet \
///       --max-reidentified 0.01 kemlu.csv
///   padan attack --key agency.key --columns kemlu.columns.toml --encoded kemlu.padan.parquet \
///       --names population-names.txt --json kemlu.csv
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct AttackArgs {
    /// The extract the encoded file was made from (CSV or Parquet).
    pub extract: PathBuf,
    /// The encoded file to attack.
    #[arg(long)]
    pub encoded: PathBuf,
    /// The shared secret key file it was encoded with.
    #[arg(long)]
    pub key: PathBuf,
    /// The agency's column map for the extract.
    #[arg(long)]
    pub columns: PathBuf,
    /// The attacker's name list instead of the extract's names: one name per line (first
    /// comma-separated column; a header `name` is skipped).
    #[arg(long)]
    pub names: Option<PathBuf>,
    /// Fail (exit code 6) when the file as encoded lets the attacks re-identify more than this
    /// share of records (e.g. 0.01).
    #[arg(long)]
    pub max_reidentified: Option<f64>,
    /// Records attacked at most (the first of the file).
    #[arg(long, default_value_t = DEFAULT_MAX_RECORDS)]
    pub max_records: usize,
    /// Text encoding of a CSV extract: auto, utf-8 or windows-1252.
    #[arg(long, default_value = "auto")]
    pub encoding: TextEncoding,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
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
    let key = SecretKey::load(&args.key)?;
    let columns = ColumnMap::load(&args.columns)?;
    let job = AttackJob {
        key: &key,
        columns: &columns,
        encoded: args.encoded.clone(),
        extract: args.extract.clone(),
        names: args.names.clone(),
        encoding: args.encoding,
        max_records: args.max_records,
    };
    let report = crate::attack::run(&job)?;
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Internal(format!("serializing the attack report: {e}")))?;
        s.push('\n');
        s
    } else {
        render(&report)
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("writing", std::path::Path::new("<stdout>"), e))?;
    if let Some(t) = args.max_reidentified {
        let share = report.as_encoded.share();
        if share > t {
            return Err(Error::CheckFailed(format!(
                "the attacks re-identified {:.2} % of the records of {} (at most {:.2} % allowed): harden the schema before sending the file",
                100.0 * share,
                args.encoded.display(),
                100.0 * t
            )));
        }
    }
    Ok(())
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!("{:.2} %", 100.0 * n as f64 / of as f64)
    }
}

/// The report as a table (counts and shares only).
pub fn render(r: &AttackReport) -> String {
    let row = |label: &str, f: fn(&Outcome) -> usize| {
        format!(
            "  {label:<28} {:>10} {:>10}\n",
            pct(f(&r.as_encoded), r.as_encoded.records),
            pct(f(&r.unhardened), r.unhardened.records)
        )
    };
    let mut s = format!(
        "padan attack — field '{}' ({}), {} records attacked, attacker's list {} names\n",
        r.field,
        if r.hardened {
            "hardened"
        } else {
            "not hardened"
        },
        r.as_encoded.records,
        r.list_entries
    );
    if r.unmatched_records > 0 {
        s.push_str(&format!(
            "  ({} records of the file not attacked: not in the extract, or beyond --max-records)\n",
            r.unmatched_records
        ));
    }
    s.push_str(&format!(
        "  {:<28} {:>10} {:>10}\n",
        "re-identified by", "as encoded", "unhardened"
    ));
    s.push_str(&row("frequency (name filters)", |o| o.frequency));
    s.push_str(&row("q-gram pattern mining", |o| o.pattern));
    s.push_str(&row("frequency (name tokens)", |o| o.token));
    s.push_str(&row("any attack", |o| o.any));
    s
}
