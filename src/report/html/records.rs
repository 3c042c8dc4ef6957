//! The record sections: clusters, blocking and encode-side rejects.

use std::fmt::Write as _;

use super::*;

pub(super) fn clusters(o: &mut String, d: &ReportData) {
    open_section(o, "clusters");
    let c = &d.clusters;
    kv(
        o,
        &[
            (fmt_int(c.records), "records"),
            (fmt_int(c.clusters), "clusters (people)"),
            (
                fmt_int(
                    c.size_counts
                        .iter()
                        .filter(|(s, _)| **s > 1)
                        .map(|(_, n)| *n)
                        .sum(),
                ),
                "clusters of 2+ records",
            ),
            (
                fmt_int(c.size_counts.keys().max().copied().unwrap_or(0)),
                "largest cluster",
            ),
        ],
    );
    if !c.size_counts.is_empty() {
        let max = *c.size_counts.keys().max().unwrap_or(&1);
        let edges: Vec<f64> = (0..=max).map(|s| s as f64 + 0.5).collect();
        let counts: Vec<u64> = (1..=max)
            .map(|s| c.size_counts.get(&s).copied().unwrap_or(0))
            .collect();
        let chart = svg::histogram(&Histogram {
            title: "Cluster sizes".into(),
            x_label: "records in the cluster".into(),
            y_label: "clusters (log scale)".into(),
            edges,
            series: vec![("clusters".into(), counts)],
            markers: vec![],
            discrete: true,
            colors: vec![COLOR_MATCH.into()],
        });
        figure(
            o,
            &chart,
            "Size 1 = a record linked to no other. Count axis logarithmic.",
        );
        let rows: Vec<(bool, Vec<String>)> = c
            .size_counts
            .iter()
            .map(|(s, n)| (false, vec![fmt_int(*s), fmt_int(*n), fmt_int(s * n)]))
            .collect();
        table(o, &["#cluster size", "#clusters", "#records"], &rows);
    }
    if c.agencies.len() > 1 {
        let chart = svg::heat_map(&HeatMap {
            title: "People two agencies share".into(),
            rows: c.agencies.clone(),
            cols: c.agencies.clone(),
            values: c.shared.clone(),
        });
        figure(o, &chart, "Off the diagonal: clusters holding records of both agencies. On the diagonal: clusters holding two or more records of that one agency (within-agency duplicates). Darker cells hold more; the number is the count.");
    }
    o.push_str("</section>\n");
}

pub(super) fn blocking(o: &mut String, d: &ReportData) {
    open_section(o, "blocking");
    let c = &d.manifest.counts;
    let n = if c.records > 0 {
        c.records
    } else {
        d.clusters.records
    };
    let all = n.saturating_mul(n.saturating_sub(1)) / 2;
    kv(
        o,
        &[
            (fmt_int(c.blocking.candidates), "candidate pairs"),
            (fmt_int(all), "all possible pairs"),
            (ratio(c.blocking.reduction_ratio), "reduction ratio"),
            (fmt_int(c.blocking.capped_blocks), "blocks capped for size"),
        ],
    );
    if let Some(t) = &d.truth {
        match t.candidate_true_pairs {
            Some(found) => {
                let pc = if t.true_pairs == 0 {
                    1.0
                } else {
                    found as f64 / t.true_pairs as f64
                };
                let _ = writeln!(
                    o,
                    "<p>Pair completeness (true pairs that blocking made candidates): <b>{}</b> = {} of {} true pairs.</p>",
                    fmt_f(pc, 4),
                    fmt_int(found),
                    fmt_int(t.true_pairs)
                );
            }
            None => o.push_str("<p class=\"note\">Pair completeness needs candidates.parquet (link with <code>--write-candidates</code>).</p>\n"),
        }
    } else {
        o.push_str("<p class=\"note\">Run with <code>--truth</code> (and link with <code>--write-candidates</code>) to measure pair completeness.</p>\n");
    }
    if !c.blocking.candidates_by_block.is_empty() {
        let mut kinds: Vec<(&String, &u64)> = c.blocking.candidates_by_block.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let chart = svg::bar_chart(&BarChart {
            title: "Candidate pairs by block kind".into(),
            x_label: "candidate pairs (a pair found by several kinds counts in each)".into(),
            series: vec!["pairs".into()],
            groups: vec![BarGroup {
                heading: String::new(),
                rows: kinds
                    .iter()
                    .map(|(k, v)| BarRow {
                        label: (*k).clone(),
                        values: vec![**v as f64],
                        value_labels: vec![fmt_int(**v)],
                    })
                    .collect(),
            }],
            x_range: None,
        });
        figure(
            o,
            &chart,
            "Which blocking keys proposed the compared pairs.",
        );
    }
    if !c.blocking.largest_blocks.is_empty() {
        let rows: Vec<(bool, Vec<String>)> = c
            .blocking
            .largest_blocks
            .iter()
            .map(|b| (false, vec![esc(&b.kind), fmt_int(b.size)]))
            .collect();
        o.push_str("<h3>Largest blocks</h3>\n");
        table(o, &["block kind", "#records"], &rows);
    }
    o.push_str("</section>\n");
}

pub(super) fn rejects(o: &mut String, d: &ReportData) {
    open_section(o, "rejects");
    o.push_str("<p class=\"note\">Recorded by each agency's <code>padan encode</code> in the encoded file's metadata. <em>Rejected</em>: row left out; <em>dropped</em>: one value left out, row kept; <em>flagged</em>: row kept, marked. Reason codes only — the rejects file with line numbers stays at the agency.</p>\n");
    let mut groups = Vec::new();
    let mut rows = Vec::new();
    for i in &d.manifest.inputs {
        let mut g = BarGroup {
            heading: i.agency.clone(),
            rows: Vec::new(),
        };
        let mut totals = [0u64; 3];
        for (k, (outcome, map)) in [
            ("rejected", &i.rejects_by_reason),
            ("dropped", &i.dropped_by_reason),
            ("flagged", &i.flags_by_reason),
        ]
        .into_iter()
        .enumerate()
        {
            for (reason, n) in map {
                if *n == 0 {
                    continue;
                }
                totals[k] += n;
                g.rows.push(BarRow {
                    label: format!("{outcome}: {reason}"),
                    values: vec![*n as f64],
                    value_labels: vec![fmt_int(*n)],
                });
            }
        }
        rows.push((
            false,
            vec![
                esc(&i.agency),
                fmt_int(i.rows_read),
                fmt_int(i.rows),
                fmt_int(i.rows_rejected),
                fmt_int(totals[1]),
                fmt_int(totals[2]),
            ],
        ));
        if !g.rows.is_empty() {
            groups.push(g);
        }
    }
    table(
        o,
        &[
            "agency",
            "#rows read",
            "#rows encoded",
            "#rows rejected",
            "#values dropped",
            "#rows flagged",
        ],
        &rows,
    );
    if groups.is_empty() {
        o.push_str("<p>No row was rejected, dropped or flagged at encoding.</p>\n");
    } else {
        let chart = svg::bar_chart(&BarChart {
            title: "Rows and values left out at encoding, by agency and reason".into(),
            x_label: "rows (rejected, flagged) or values (dropped)".into(),
            series: vec!["count".into()],
            groups,
            x_range: None,
        });
        figure(
            o,
            &chart,
            "Grouped by agency; the reason codes are those of padan encode (docs/file-formats.md).",
        );
    }
    o.push_str("</section>\n");
}
