//! The score sections: match-weight distribution, threshold sweep, pairs near the thresholds.

use std::fmt::Write as _;

use super::*;

pub(super) fn weights(o: &mut String, d: &ReportData) {
    open_section(o, "weights");
    let (s, what) = score_source(d);
    if s.weights.is_empty() {
        o.push_str("<p class=\"note\">No scored pair in the match set.</p></section>\n");
        return;
    }
    let lo = s
        .weights
        .iter()
        .copied()
        .filter(|w| w.is_finite())
        .fold(f64::INFINITY, f64::min);
    let hi = s
        .weights
        .iter()
        .copied()
        .filter(|w| w.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let ts: Vec<f64> = [d.match_weight, d.review_weight]
        .into_iter()
        .flatten()
        .collect();
    let edges = bin_edges(lo, hi, &ts);
    let nb = edges.len() - 1;
    let width = edges[1] - edges[0];
    let kinds = [Decision::Match, Decision::Review, Decision::Below];
    let mut counts = vec![vec![0u64; nb]; 3];
    for (w, dec) in s.weights.iter().zip(&s.decisions) {
        if !w.is_finite() {
            continue;
        }
        let b = (((w - edges[0]) / width).floor().max(0.0) as usize).min(nb - 1);
        let k = kinds.iter().position(|x| x == dec).unwrap_or(2);
        counts[k][b] += 1;
    }
    let mut series = Vec::new();
    let mut colors = Vec::new();
    for (k, c) in kinds.iter().zip(counts) {
        if c.iter().any(|x| *x > 0) {
            let n: u64 = c.iter().sum();
            series.push((format!("{} ({})", k.as_str(), fmt_int(n)), c));
            colors.push(
                match k {
                    Decision::Match => COLOR_MATCH,
                    Decision::Review => COLOR_REVIEW,
                    Decision::Below => COLOR_BELOW,
                }
                .to_string(),
            );
        }
    }
    let chart = svg::histogram(&Histogram {
        title: "Pairs by match weight".into(),
        x_label: "match weight (log2 Bayes factor, prior not included)".into(),
        y_label: "pairs (log scale)".into(),
        edges,
        series,
        markers: threshold_markers(d),
        discrete: false,
        colors,
    });
    figure(
        o,
        &chart,
        &format!(
            "Computed over {what}: {} pairs. Bars are coloured by decision and the two thresholds are dashed lines; bins are aligned so no bin straddles a threshold. The count axis is logarithmic (1, 10, 100 …), so a short bar can still be many pairs.",
            fmt_int(s.weights.len() as u64)
        ),
    );
    o.push_str("</section>\n");
}

pub(super) fn sweep(o: &mut String, d: &ReportData) {
    open_section(o, "sweep");
    let (s, what) = score_source(d);
    if s.weights.is_empty() {
        o.push_str("<p class=\"note\">No scored pair in the match set.</p></section>\n");
        return;
    }
    let lambda = d.manifest.model.lambda;
    let lo = s
        .weights
        .iter()
        .copied()
        .filter(|w| w.is_finite())
        .fold(f64::INFINITY, f64::min);
    let hi = s
        .weights
        .iter()
        .copied()
        .filter(|w| w.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = svg::nice_domain(lo, hi, 10);
    let step = (hi - lo) / 60.0;
    let grid: Vec<f64> = (0..=60).map(|k| lo + k as f64 * step).collect();
    let true_pairs = d.truth.as_ref().map(|t| t.true_pairs);
    let rows = sweep_rows(s, true_pairs, lambda, &grid);
    let mut series = vec![
        LineSeries {
            name: "expected precision".into(),
            points: rows
                .iter()
                .filter_map(|r| r.expected_precision.map(|p| (r.weight, p)))
                .collect(),
        },
        LineSeries {
            name: "expected recall".into(),
            points: rows.iter().map(|r| (r.weight, r.expected_recall)).collect(),
        },
    ];
    if rows.iter().any(|r| r.truth.is_some()) {
        for (k, name) in ["true precision", "true recall", "true F1"]
            .iter()
            .enumerate()
        {
            series.push(LineSeries {
                name: (*name).into(),
                points: rows
                    .iter()
                    .filter_map(|r| r.truth.map(|t| (r.weight, [t.0, t.1, t.2][k])))
                    .collect(),
            });
        }
    }
    let chart = svg::line_chart(&LineChart {
        title: "Precision and recall by match-weight threshold".into(),
        x_label: "threshold on match weight (pairs at or above it are counted as links)".into(),
        y_label: "share".into(),
        series,
        y_range: Some((0.0, 1.0)),
        markers: threshold_markers(d),
    });
    figure(o, &chart, &format!("Over {what}. Expected precision at t is the mean match probability of the pairs with weight ≥ t; expected recall is Σ probability of those pairs ÷ Σ probability of all pairs in the set. Both trust the fitted model.{}", if d.candidates.is_none() { " Without candidates.parquet the pairs below the review threshold are unseen, so expected recall is over the written pairs only (an upper bound)." } else { "" }));
    let counts = svg::line_chart(&LineChart {
        title: "Pairs at or above the threshold".into(),
        x_label: "threshold on match weight".into(),
        y_label: "pairs".into(),
        series: vec![LineSeries {
            name: "pairs ≥ threshold".into(),
            points: rows.iter().map(|r| (r.weight, r.pairs as f64)).collect(),
        }],
        y_range: None,
        markers: threshold_markers(d),
    });
    figure(o, &counts, "How many pairs each threshold would accept.");

    // table: a dozen nice thresholds plus the chosen ones
    let (ticks, _) = svg::nice_ticks(lo, hi, 12);
    let mut ts: Vec<(f64, Option<&str>)> = ticks.into_iter().map(|t| (t, None)).collect();
    if let Some(t) = d.review_weight {
        ts.push((t, Some("review")));
    }
    if let Some(t) = d.match_weight {
        ts.push((t, Some("match")));
    }
    ts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let trows = sweep_rows(
        s,
        true_pairs,
        lambda,
        &ts.iter().map(|t| t.0).collect::<Vec<_>>(),
    );
    let has_truth = trows.iter().any(|r| r.truth.is_some());
    let mut head = vec![
        "#weight ≥",
        "#probability ≥",
        "#pairs",
        "#expected precision",
        "#expected recall",
    ];
    if has_truth {
        head.extend(["#true precision", "#true recall", "#true F1"]);
    }
    head.push("chosen");
    let rows: Vec<(bool, Vec<String>)> = trows
        .iter()
        .zip(&ts)
        .map(|(r, (_, chosen))| {
            let mut c = vec![
                fmt_f(r.weight, 2),
                fmt_prob(r.probability),
                fmt_int(r.pairs),
                r.expected_precision
                    .map(|p| fmt_f(p, 4))
                    .unwrap_or_else(|| "–".into()),
                fmt_f(r.expected_recall, 4),
            ];
            if let Some((p, rc, f)) = r.truth {
                c.extend([fmt_f(p, 4), fmt_f(rc, 4), fmt_f(f, 4)]);
            } else if has_truth {
                c.extend(["–".into(), "–".into(), "–".into()]);
            }
            c.push(
                chosen
                    .map(|s| format!("← {s} threshold"))
                    .unwrap_or_default(),
            );
            (chosen.is_some(), c)
        })
        .collect();
    table(o, &head, &rows);
    if let Some(t) = &d.truth {
        let _ = writeln!(
            o,
            "<p class=\"note\">True figures count record pairs: a pair at or above the threshold is right when the truth file puts both records on one person; recall divides by the {} pairs of one person among the {} linked records found in the truth ({} linked records not in the truth are ignored). They score pairs, not the clusters resolution builds from them.</p>",
            fmt_int(t.true_pairs),
            fmt_int(t.records_known),
            fmt_int(t.records_unknown)
        );
        if t.decoys > 0 {
            let _ = writeln!(
                o,
                "<p class=\"note\">The truth includes {} decoy records from the agencies' lookups, each a person of its own.</p>",
                fmt_int(t.decoys)
            );
        }
        for w in &t.warnings {
            let _ = writeln!(o, "<p class=\"warning\"><b>Warning:</b> {}.</p>", esc(w));
        }
    } else {
        o.push_str("<p class=\"note\">Run with <code>--truth truth.csv</code> to add the true precision, recall and F1.</p>\n");
    }
    o.push_str("</section>\n");
}

pub(super) fn waterfalls(o: &mut String, d: &ReportData) {
    open_section(o, "waterfalls");
    if d.waterfalls.is_empty() {
        o.push_str("<p class=\"note\">No written pair near a threshold.</p></section>\n");
        return;
    }
    let prior = d.manifest.model.prior();
    let _ = writeln!(
        o,
        "<p class=\"note\">For up to {} pairs on each side of each threshold: the bars start at the prior weight ({}), add each field's weight, and end at the posterior log<sub>2</sub> odds = prior + match weight. Dashed lines are the thresholds on the same scale. Record ids only.</p>",
        crate::report::WATERFALLS_PER_SIDE,
        fmt_f(prior, 2)
    );
    for p in &d.waterfalls {
        let truth = match p.is_true {
            Some(true) => " · truth: same person",
            Some(false) => " · truth: different people",
            None => "",
        };
        let _ = writeln!(
            o,
            "<p class=\"pair-h\">{} <span class=\"mono\">{}</span> ↔ {} <span class=\"mono\">{}</span> — {}</p>",
            esc(&p.pair.left_agency),
            esc(&p.pair.left_id),
            esc(&p.pair.right_agency),
            esc(&p.pair.right_id),
            esc(&p.near)
        );
        let mut thresholds = Vec::new();
        if let Some(t) = d.match_weight {
            thresholds.push((t + prior, "match".to_string()));
        }
        if let Some(t) = d.review_weight {
            thresholds.push((t + prior, "review".to_string()));
        }
        let chart = svg::waterfall(&Waterfall {
            title: format!(
                "match weight {} · probability {} · {}",
                fmt_f(p.pair.match_weight, 2),
                fmt_prob(p.pair.match_probability),
                p.pair.decision.as_str()
            ),
            y_label: "log2 odds".into(),
            start_label: "prior".into(),
            start: prior,
            steps: p
                .parts
                .iter()
                .map(|f| Step {
                    label: f.field.clone(),
                    note: f.label.clone(),
                    value: f.weight,
                })
                .collect(),
            end_label: "posterior".into(),
            thresholds,
        });
        figure(
            o,
            &chart,
            &format!(
                "Decision: {}{truth}. Field levels are shown under each bar.",
                p.pair.decision.as_str()
            ),
        );
    }
    o.push_str("</section>\n");
}
