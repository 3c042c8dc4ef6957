//! The run summary: inputs, thresholds, model, counts, timings and the configuration.

use std::fmt::Write as _;

use super::*;

/// The blocks blocking skipped, by block kind, as a table (nothing when none was skipped).
fn skipped_blocks(o: &mut String, b: &crate::link::block::BlockingStats) {
    let mut kinds: Vec<&String> = b
        .capped_by_kind
        .keys()
        .chain(b.purged_by_kind.keys())
        .collect();
    kinds.sort();
    kinds.dedup();
    let n = |m: &std::collections::BTreeMap<String, u64>, k: &String| {
        m.get(k).map(|&v| fmt_int(v)).unwrap_or_else(|| "–".into())
    };
    let rows: Vec<(bool, Vec<String>)> = kinds
        .into_iter()
        .filter(|k| {
            b.capped_by_kind.get(*k).copied().unwrap_or(0)
                + b.purged_by_kind.get(*k).copied().unwrap_or(0)
                > 0
        })
        .map(|k| {
            (
                false,
                vec![
                    esc(k),
                    n(&b.capped_by_kind, k),
                    n(&b.capped_largest, k),
                    n(&b.purged_by_kind, k),
                    n(&b.effective_max_block_size, k),
                ],
            )
        })
        .collect();
    if rows.is_empty() {
        o.push_str("<p class=\"note\">No block was skipped: every block within the size limits was compared.</p>\n");
        return;
    }
    o.push_str("<h3>Blocks skipped, by block kind</h3>\n");
    table(
        o,
        &[
            "block kind",
            "#over max_block_size",
            "#largest skipped (records)",
            "#skipped for the pair budget",
            "#largest kept (records)",
        ],
        &rows,
    );
}

pub(super) fn summary(o: &mut String, d: &ReportData) {
    let m = &d.manifest;
    open_section(o, "summary");
    let c = &m.counts;
    kv(
        o,
        &[
            (fmt_int(d.clusters.records.max(c.records)), "records linked"),
            (fmt_int(c.blocking.candidates), "candidate pairs compared"),
            (fmt_int(c.pairs_match), "pairs decided match"),
            (fmt_int(c.pairs_review), "pairs for review"),
            (
                fmt_int(if c.clusters > 0 {
                    c.clusters
                } else {
                    d.clusters.clusters
                }),
                "clusters (people)",
            ),
            (fmt_int(c.clusters_multi), "clusters of 2+ records"),
        ],
    );
    o.push_str("<h3>Inputs</h3>\n");
    // fingerprints and encoding version are shared by compatible inputs: said once, unless
    // they differ (then per input)
    let same = |f: &dyn Fn(&crate::io::manifest::InputInfo) -> String| {
        let first = m.inputs.first().map(f);
        first.filter(|x| m.inputs.iter().all(|i| f(i) == *x))
    };
    let schema_fp = same(&|i| i.schema_fingerprint.clone());
    let key_fp = same(&|i| i.key_fingerprint.clone());
    let enc = same(&|i| i.encoding_version.to_string());
    let mono = |s: &str| format!("<span class=\"mono\">{}</span>", esc(s));
    let rows: Vec<(bool, Vec<String>)> = m
        .inputs
        .iter()
        .map(|i| {
            let mut r = vec![
                esc(&i.agency),
                mono(&i.file),
                fmt_int(i.rows_read),
                fmt_int(i.rows),
                fmt_int(i.rows_rejected),
                format!("<span class=\"mono\">{}</span>", short(&i.blake3, 12)),
            ];
            if schema_fp.is_none() {
                r.push(mono(&i.schema_fingerprint));
            }
            if key_fp.is_none() {
                r.push(mono(&i.key_fingerprint));
            }
            if enc.is_none() {
                r.push(fmt_int(u64::from(i.encoding_version)));
            }
            (false, r)
        })
        .collect();
    let mut head = vec![
        "agency",
        "file",
        "#rows read",
        "#rows encoded",
        "#rejected",
        "blake3 (first 12 hex)",
    ];
    if schema_fp.is_none() {
        head.push("schema fingerprint");
    }
    if key_fp.is_none() {
        head.push("key fingerprint");
    }
    if enc.is_none() {
        head.push("#encoding version");
    }
    table(o, &head, &rows);
    let mut shared = Vec::new();
    if let Some(f) = &schema_fp {
        shared.push(format!("schema fingerprint {}", mono(f)));
    }
    if let Some(f) = &key_fp {
        shared.push(format!("key fingerprint {}", mono(f)));
    }
    if let Some(v) = enc.as_deref().filter(|v| !v.is_empty()) {
        shared.push(format!("encoding version {}", esc(v)));
    }
    if !shared.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"note\">All inputs: {}.</p>",
            shared.join(" · ")
        );
    }
    o.push_str("<h3>Thresholds and model</h3>\n");
    let t = &m.thresholds;
    let pr = |v: f64| {
        if v.is_nan() {
            "–".into()
        } else {
            fmt_f(v, 4)
        }
    };
    let wt = |v: Option<f64>| v.map(|x| fmt_f(x, 2)).unwrap_or_else(|| "–".into());
    table(
        o,
        &["decision", "#match probability ≥", "#match weight ≥"],
        &[
            (
                false,
                vec!["match".into(), pr(t.match_probability), wt(d.match_weight)],
            ),
            (
                false,
                vec![
                    "review".into(),
                    pr(t.review_probability),
                    wt(d.review_weight),
                ],
            ),
        ],
    );
    table(
        o,
        &["model", "value"],
        &[
            (
                false,
                vec![
                    format!("prior λ = P(match) {}", m.model.lambda_scope()),
                    format!("{:.3e}", m.model.lambda),
                ],
            ),
            (
                false,
                vec![
                    "prior weight log2(λ/(1−λ))".into(),
                    fmt_f(m.model.prior(), 3),
                ],
            ),
            (
                false,
                vec!["u estimated from".into(), esc(or_dash(&m.model.u_source))],
            ),
            (
                false,
                vec![
                    "random pairs sampled for u".into(),
                    fmt_int(m.model.random_pairs),
                ],
            ),
            (
                false,
                vec![
                    "EM iterations".into(),
                    fmt_int(u64::from(m.model.em.iterations)),
                ],
            ),
            (
                false,
                vec!["EM converged".into(), yes_no(m.model.em.converged).into()],
            ),
        ],
    );
    o.push_str("<h3>Counts at each stage</h3>\n");
    let mut rows: Vec<(bool, Vec<String>)> = Vec::new();
    let mut push = |k: &str, v: String| rows.push((false, vec![esc(k), v]));
    push("records (all inputs)", fmt_int(c.records));
    push("record pairs possible", fmt_int(c.blocking.possible_pairs));
    push("candidate pairs (blocking)", fmt_int(c.blocking.candidates));
    push("reduction ratio", ratio(c.blocking.reduction_ratio));
    push("blocks skipped for size", fmt_int(c.blocking.capped_blocks));
    push("pairs for review", fmt_int(c.pairs_review));
    push("pairs decided match", fmt_int(c.pairs_match));
    push(
        "pairs decided match within one agency",
        fmt_int(c.pairs_match_within_agency),
    );
    push("merges refused (agency rule)", fmt_int(c.merges_refused));
    push("clusters", fmt_int(c.clusters));
    push("clusters of two or more records", fmt_int(c.clusters_multi));
    push(
        "clusters holding two records of one agency",
        fmt_int(c.clusters_with_duplicates),
    );
    // Any count a later linker records that this report does not know yet: its name in words,
    // numbers only (a per-agency or per-kind breakdown is shown in its own table).
    const SHOWN: [&str; 19] = [
        "records",
        "records_by_agency",
        "candidates",
        "candidates_by_block",
        "possible_pairs",
        "reduction_ratio",
        "largest_blocks",
        "capped_blocks",
        "capped_by_kind",
        "capped_largest",
        "purged_by_kind",
        "effective_max_block_size",
        "pairs_review",
        "pairs_match",
        "pairs_match_within_agency",
        "clusters",
        "clusters_multi",
        "clusters_with_duplicates",
        "merges_refused",
    ];
    if let Ok(Value::Object(all)) = serde_json::to_value(c) {
        for (k, v) in all.iter().filter(|(k, _)| !SHOWN.contains(&k.as_str())) {
            if matches!(v, Value::Number(_) | Value::Bool(_)) {
                push(&k.replace('_', " "), scalar(v));
            }
        }
    }
    table(o, &["stage", "#count"], &rows);
    skipped_blocks(o, &c.blocking);
    o.push_str("<h3>Timings</h3>\n");
    let rows: Vec<(bool, Vec<String>)> = m
        .timings
        .stages()
        .into_iter()
        .map(|(k, v)| (k == "total", vec![esc(k), fmt_f(v, 2)]))
        .collect();
    table(o, &["stage", "#seconds"], &rows);
    let run = format!(
        "padan {} · match-set format {} · {} threads · comparison kernel {}",
        or_dash(&m.padan_version),
        m.format_version,
        m.threads,
        or_dash(&m.isa)
    );
    let _ = writeln!(o, "<p class=\"note\">{}</p>", esc(&run));
    o.push_str("<h3>Configuration as used</h3>\n");
    let mut flat = Vec::new();
    flatten("", &m.config, &mut flat);
    let rows: Vec<(bool, Vec<String>)> = flat
        .into_iter()
        .map(|(k, v)| {
            (
                false,
                vec![format!("<span class=\"mono\">{}</span>", esc(&k)), esc(&v)],
            )
        })
        .collect();
    if rows.is_empty() {
        o.push_str("<p class=\"note\">The manifest records no configuration.</p>\n");
    } else {
        table(o, &["key", "value"], &rows);
    }
    o.push_str("</section>\n");
}
