//! The fitted model: λ, EM, and m, u and the weight of every level of every field.

use super::*;

pub(super) fn model(o: &mut String, d: &ReportData) {
    open_section(o, "model");
    let mo = &d.manifest.model;
    kv(
        o,
        &[
            (fmt_int(u64::from(mo.em.iterations)), "EM iterations"),
            (
                format!("{:.2e}", mo.em.last_change),
                "largest change, last iteration",
            ),
            (yes_no(mo.em.converged).into(), "converged"),
            (
                if mo.em.log_likelihood.is_nan() {
                    "–".into()
                } else {
                    fmt_f(mo.em.log_likelihood, 1)
                },
                "log-likelihood",
            ),
            (format!("{:.3e}", mo.lambda), "prior λ"),
            (fmt_f(mo.prior(), 2), "prior weight"),
        ],
    );
    if mo.fields.is_empty() {
        o.push_str("<p class=\"note\">The manifest records no model.</p></section>\n");
        return;
    }
    let groups: Vec<BarGroup> = mo
        .fields
        .iter()
        .map(|f| BarGroup {
            heading: f.name.clone(),
            rows: f
                .levels
                .iter()
                .map(|l| BarRow {
                    label: l.label.clone(),
                    values: vec![l.weight],
                    value_labels: vec![format!(
                        "{}{}",
                        if l.weight > 0.0 { "+" } else { "" },
                        fmt_f(l.weight, 2)
                    )],
                })
                .collect(),
        })
        .collect();
    let chart = svg::bar_chart(&BarChart {
        title: "Match weight of each comparison level".into(),
        x_label: "weight = log2(m / u); right of zero is evidence for a match, left against".into(),
        series: vec!["weight".into()],
        groups,
        x_range: None,
    });
    figure(o, &chart, "Each field adds the weight of the level its comparison falls in; a missing value (level 0) adds nothing.");
    let groups: Vec<BarGroup> = mo
        .fields
        .iter()
        .map(|f| BarGroup {
            heading: f.name.clone(),
            rows: f
                .levels
                .iter()
                .map(|l| BarRow {
                    label: l.label.clone(),
                    values: vec![l.m, l.u],
                    value_labels: vec![fmt_small(l.m), fmt_small(l.u)],
                })
                .collect(),
        })
        .collect();
    let chart = svg::bar_chart(&BarChart {
        title: "m and u of each comparison level".into(),
        x_label: "probability of the level among true matches (m) and among non-matches (u)".into(),
        series: vec!["m".into(), "u".into()],
        groups,
        x_range: Some((0.0, 1.0)),
    });
    figure(o, &chart, "m = P(level | same person), u = P(level | different people), each given the field is present on both records.");
    let mut rows = Vec::new();
    for f in &mo.fields {
        for l in &f.levels {
            rows.push((
                false,
                vec![
                    esc(&f.name),
                    fmt_int(u64::from(l.index)),
                    esc(&l.label),
                    fmt_small(l.m),
                    fmt_small(l.u),
                    fmt_f(l.weight, 3),
                ],
            ));
        }
    }
    table(
        o,
        &["field", "#level", "label", "#m", "#u", "#weight"],
        &rows,
    );
    o.push_str("</section>\n");
}
