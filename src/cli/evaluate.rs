//! `padan evaluate`.

use clap::Args;
use std::io::Write;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::evaluate::{evaluate_with_lookups, render_table};
use crate::io::lookup::Lookup;

/// Measure a match set against known truth (precision, recall, F1, blocking completeness).
///
/// Pairwise and B-cubed precision / recall / F1 of the clusters, precision / recall / F1 of the
/// pair decisions, blocking pair completeness. Only records both in the match set and in the
/// truth are evaluated; the others are counted, and an agency none of whose records is in the
/// truth is named in a warning (pseudonymized? give its --lookup). The output is aggregate-only
/// (no record or person id); it goes to standard output, no file is written.
///
/// With --decisions (a labelled sample from `padan review export --sample`), it measures
/// precision and recall per score band without truth, with 95 % intervals, next to the model's
/// own estimate, and warns where they disagree or the fit looks odd.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct EvaluateArgs {
    /// The match-set directory written by `padan link`.
    pub dir: PathBuf,
    /// The truth: a CSV file with columns agency,record_id,person_id (as `padan synth` writes).
    #[arg(long, required_unless_present = "decisions")]
    pub truth: Option<PathBuf>,
    /// Reviewers' verdicts on a random sample (review file with its decision column filled),
    /// repeatable: measure precision and recall per band without truth.
    #[arg(long, value_name = "FILE")]
    pub decisions: Vec<PathBuf>,
    /// AGENCY=FILE, repeated: that agency encoded with --pseudonymize-ids; its lookup maps the
    /// truth's record ids to pseudonyms, and each of its decoys counts as a person of its own.
    #[arg(long, value_name = "AGENCY=FILE")]
    pub lookup: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

const EXAMPLES: &str = "
  padan evaluate matches --truth fixtures/synth/truth.csv
  padan evaluate matches --truth fixtures/synth/truth.csv --json > quality.json
  padan evaluate matches --truth fixtures/synth/truth.csv --lookup kpppa=kpppa.padan-lookup.csv
  padan evaluate matches --decisions sample/review.csv";

/// Runs `padan evaluate`, printing to standard output.
pub fn run(args: EvaluateArgs) -> Result<()> {
    let stdout = std::io::stdout();
    execute(args, &mut stdout.lock())
}

/// Reads `--lookup AGENCY=FILE` options (of `evaluate` and `report`).
pub fn read_lookups(specs: &[String]) -> Result<Vec<(String, Lookup)>> {
    let mut lookups = Vec::new();
    for spec in specs {
        let Some((agency, file)) = spec
            .split_once('=')
            .filter(|(a, f)| !a.is_empty() && !f.is_empty())
        else {
            return Err(Error::config("--lookup", "expected AGENCY=FILE"));
        };
        lookups.push((
            agency.to_string(),
            Lookup::read(std::path::Path::new(file))?,
        ));
    }
    Ok(lookups)
}

/// Runs `padan evaluate`, writing the table (or JSON) to `out`.
pub fn execute(args: EvaluateArgs, out: &mut dyn Write) -> Result<()> {
    let lookups = read_lookups(&args.lookup)?;
    let measured = if args.decisions.is_empty() {
        None
    } else {
        let d = crate::review::Decisions::read(&args.decisions)?;
        let pop = crate::review::export::Population::read(&args.dir)?;
        Some(crate::review::measure::measure(&pop, &d))
    };
    let e = match &args.truth {
        Some(t) => Some(evaluate_with_lookups(&args.dir, t, &lookups)?),
        None => None,
    };
    if args.json {
        // The table says them itself; with JSON they also go to the log.
        for w in e.iter().flat_map(|e| &e.warnings) {
            eprintln!("warning: {w}");
        }
    }
    let text = if args.json {
        let mut v = match &e {
            Some(e) => serde_json::to_value(e),
            None => Ok(serde_json::json!({})),
        }
        .map_err(|err| Error::Internal(format!("serializing the evaluation: {err}")))?;
        if let Some(m) = &measured {
            v["measured"] = serde_json::to_value(m)
                .map_err(|err| Error::Internal(format!("serializing the measurement: {err}")))?;
        }
        let mut s = serde_json::to_string_pretty(&v)
            .map_err(|err| Error::Internal(format!("serializing the evaluation: {err}")))?;
        s.push('\n');
        s
    } else {
        let mut s = e.as_ref().map(render_table).unwrap_or_default();
        if let Some(m) = &measured {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(&crate::review::measure::render(m));
        }
        s
    };
    out.write_all(text.as_bytes())
        .map_err(|err| Error::io("writing", std::path::Path::new("<stdout>"), err))
}
