//! The "Measured quality" section: precision and recall per score band from a labelled sample
//! (`padan report --decisions`), next to the model's own estimate, and the checks of the fit.

use std::fmt::Write as _;

use super::{esc, open_section, table, ReportData};
use crate::review::measure::{fit_warnings, Estimate};

fn est(e: Option<Estimate>) -> String {
    match e {
        Some(e) => format!("{:.3} ({:.3}–{:.3})", e.value, e.lo, e.hi),
        None => "—".into(),
    }
}

fn num(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map_or("—".to_string(), |v| format!("{v:.3}"))
}

pub(super) fn measured(o: &mut String, d: &ReportData) {
    open_section(o, "measured");
    match &d.measured {
        None => o.push_str(
            "<p class=\"note\">No labelled sample. To measure precision and recall without truth: <code>padan link --write-candidates</code>, <code>padan review export DIR --out sample/ --sample 400</code>, let the agencies decide each pair (<code>padan reveal sample/review.csv --extract …</code>), then <code>padan report DIR --decisions sample/review.csv</code>.</p>\n",
        ),
        Some(m) => {
            let _ = writeln!(
                o,
                "<p>From {} reviewers' verdicts on a stratified random sample. Per band: the share judged <em>match</em> with its Wilson 95 % interval, next to the model's estimate (the mean probability of the band's pairs). Recall counts the true pairs among {}.</p>",
                m.verdicts,
                esc(&m.population)
            );
            let rows: Vec<(bool, Vec<String>)> = m
                .bands
                .iter()
                .rev()
                .map(|b| {
                    let off = b
                        .precision
                        .is_some_and(|e| b.model.is_finite() && e.disagrees(b.model));
                    (
                        off,
                        vec![
                            esc(&b.band),
                            if b.is_match { "match".into() } else { String::new() },
                            b.pairs.to_string(),
                            b.labelled.to_string(),
                            b.judged_match.to_string(),
                            esc(&est(b.precision)),
                            num(Some(b.model)),
                            esc(&est(b.recall_from_here)),
                        ],
                    )
                })
                .collect();
            table(
                o,
                &[
                    "band",
                    "decision",
                    "#pairs",
                    "#labelled",
                    "#judged match",
                    "precision (95 %)",
                    "#model",
                    "recall from here (95 %)",
                ],
                &rows,
            );
            let _ = writeln!(
                o,
                "<table><tbody><tr><th>precision of the match decision</th><td>{}</td><td>model {}</td></tr><tr><th>recall</th><td>{}</td><td>model {}</td></tr></tbody></table>",
                esc(&est(m.precision)),
                num(m.model_precision),
                esc(&est(m.recall)),
                num(m.model_recall)
            );
        }
    }
    let warnings: Vec<String> = match &d.measured {
        Some(m) => m.warnings.clone(),
        None => fit_warnings(&d.manifest),
    };
    if warnings.is_empty() {
        o.push_str("<p>Checks of the fit: no stricter level weighs less than a looser one, and no m or u sits on the floor.</p>\n");
    } else {
        o.push_str("<ul class=\"warnings\">");
        for w in &warnings {
            let _ = write!(o, "<li>{}</li>", esc(w));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</section>\n");
}
