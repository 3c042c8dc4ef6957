//! The report page: one self-contained HTML5 file (inline CSS and SVG, no script, no network).
//!
//! Every string that comes from the match set (agency, record id, field and level labels, config
//! keys and values, reason codes) goes through [`esc`]. Numbers are right-aligned with thousands
//! separators.

use std::fmt::Write as _;

use serde_json::Value;

use super::svg::{
    self, esc, fmt_f, fmt_int, BarChart, BarGroup, BarRow, HeatMap, Histogram, LineChart,
    LineSeries, Marker, Step, Waterfall,
};
use super::{Decision, ReportData, ScoreSet};

/// Section ids, in page order, with their headings (the table of contents).
pub const SECTIONS: [(&str, &str); 8] = [
    ("summary", "Run summary"),
    ("weights", "Match-weight distribution"),
    ("sweep", "Threshold sweep"),
    ("model", "The model"),
    ("waterfalls", "Pairs near the thresholds"),
    ("clusters", "Clusters"),
    ("blocking", "Blocking"),
    ("rejects", "Encode-side rejects"),
];

const COLOR_MATCH: &str = "#1f5f8b";
const COLOR_REVIEW: &str = "#c9822b";
const COLOR_BELOW: &str = "#9aa5b1";

const CSS: &str = r#"
:root { --ink:#1b2733; --muted:#4a5560; --rule:#d5dbe1; --band:#f4f6f8; --accent:#1f5f8b; }
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: #fff; font-size: 14px; line-height: 1.45; }
body { margin: 0; }
header.top { background: var(--ink); color: #fff; padding: 22px 32px 18px; }
header.top h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; letter-spacing: .01em; }
header.top p { margin: 0; color: #c9d3dc; font-size: 13px; }
main { max-width: 960px; margin: 0 auto; padding: 8px 32px 48px; }
nav.toc { border: 1px solid var(--rule); background: var(--band); padding: 10px 16px; margin: 20px 0 8px; }
nav.toc h2 { font-size: 13px; margin: 0 0 4px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); border: 0; padding: 0; }
nav.toc ol { margin: 0; padding-left: 20px; columns: 2; }
nav.toc a { color: var(--accent); text-decoration: none; }
section { margin-top: 30px; }
h2 { font-size: 18px; font-weight: 600; border-bottom: 2px solid var(--ink); padding-bottom: 4px; margin: 0 0 10px; }
h3 { font-size: 15px; font-weight: 600; margin: 20px 0 6px; }
p.note, figcaption { color: var(--muted); font-size: 12.5px; max-width: 82ch; }
figure { margin: 12px 0 18px; break-inside: avoid; page-break-inside: avoid; }
svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td:last-child { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.chosen td { background: #eaf1f7; font-weight: 600; }
.mono { white-space: nowrap; }
code, .mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; }
.kv { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px; margin: 8px 0 14px; }
.kv div { border: 1px solid var(--rule); padding: 6px 10px; }
.kv b { display: block; font-size: 18px; font-variant-numeric: tabular-nums; }
.kv span { color: var(--muted); font-size: 12px; }
.pair-h { font-size: 13.5px; font-weight: 600; margin: 16px 0 2px; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule); margin-top: 36px; padding-top: 8px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  html { font-size: 10.5pt; }
  header.top { background: #fff; color: var(--ink); border-bottom: 2px solid var(--ink); padding: 0 0 6px; }
  header.top p { color: var(--muted); }
  main { max-width: none; padding: 0; }
  nav.toc { break-after: page; }
  section { break-before: page; margin-top: 0; }
  section#summary { break-before: auto; }
  table, .kv div { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// Renders the whole page.
pub fn render(d: &ReportData) -> String {
    let mut o = String::with_capacity(256 * 1024);
    let m = &d.manifest;
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"padan {}\">\n<title>padan linkage report — {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(crate::VERSION),
        esc(&d.dir_name)
    );
    let agencies: Vec<&str> = m.inputs.iter().map(|i| i.agency.as_str()).collect();
    let _ = write!(
        o,
        "<header class=\"top\"><h1>Linkage report: {}</h1><p>{} agencies ({}) · {} records · written by padan {} · report by padan {}</p></header>\n<main>\n",
        esc(&d.dir_name),
        agencies.len(),
        esc(&agencies.join(", ")),
        fmt_int(d.clusters.records.max(m.counts.records)),
        esc(or_dash(&m.padan_version)),
        esc(crate::VERSION)
    );
    o.push_str("<nav class=\"toc\" aria-label=\"Contents\"><h2>Contents</h2><ol>");
    for (id, title) in SECTIONS {
        let _ = write!(o, "<li><a href=\"#{id}\">{}</a></li>", esc(title));
    }
    o.push_str("</ol></nav>\n<p class=\"note\">This report holds counts, scores, field and level names and record ids only — no identifier value, Bloom filter or token. Weights are log<sub>2</sub> Bayes factors (match weight = Σ field weights, prior not included); probabilities use the fitted prior λ.</p>\n");
    summary(&mut o, d);
    weights(&mut o, d);
    sweep(&mut o, d);
    model(&mut o, d);
    waterfalls(&mut o, d);
    clusters(&mut o, d);
    blocking(&mut o, d);
    rejects(&mut o, d);
    let _ = write!(
        o,
        "<footer>Generated by <code>padan report</code> {} from the match set <code>{}</code>. Self-contained: no script, no network access.</footer>\n</main>\n</body>\n</html>\n",
        esc(crate::VERSION),
        esc(&d.dir_name)
    );
    o
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "–"
    } else {
        s
    }
}

fn open_section(o: &mut String, id: &str) {
    let title = SECTIONS
        .iter()
        .find(|s| s.0 == id)
        .map(|s| s.1)
        .unwrap_or(id);
    let _ = write!(o, "<section id=\"{id}\">\n<h2>{}</h2>\n", esc(title));
}

fn figure(o: &mut String, svg: &str, caption: &str) {
    let _ = writeln!(
        o,
        "<figure>{svg}<figcaption>{}</figcaption></figure>",
        esc(caption)
    );
}

/// A table: header cells (a leading `#` marks a numeric column) and rows of already-escaped
/// cells; `chosen` rows are highlighted.
fn table(o: &mut String, head: &[&str], rows: &[(bool, Vec<String>)]) {
    let num: Vec<bool> = head.iter().map(|h| h.starts_with('#')).collect();
    o.push_str("<table><thead><tr>");
    for (h, n) in head.iter().zip(&num) {
        let h = h.trim_start_matches('#');
        let _ = write!(
            o,
            "<th{}>{}</th>",
            if *n { " class=\"num\"" } else { "" },
            esc(h)
        );
    }
    o.push_str("</tr></thead><tbody>");
    for (chosen, r) in rows {
        o.push_str(if *chosen {
            "<tr class=\"chosen\">"
        } else {
            "<tr>"
        });
        for (i, c) in r.iter().enumerate() {
            let n = num.get(i).copied().unwrap_or(false);
            let _ = write!(o, "<td{}>{c}</td>", if n { " class=\"num\"" } else { "" });
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>\n");
}

/// A ratio to 6 decimals ("–" when NaN: not recorded).
fn ratio(r: f64) -> String {
    if r.is_nan() {
        "–".into()
    } else {
        fmt_f(r, 6)
    }
}

fn short(h: &str, n: usize) -> String {
    esc(&h.chars().take(n).collect::<String>())
}

fn kv(o: &mut String, items: &[(String, &str)]) {
    o.push_str("<div class=\"kv\">");
    for (v, k) in items {
        let _ = write!(o, "<div><b>{v}</b><span>{}</span></div>", esc(k));
    }
    o.push_str("</div>\n");
}

fn summary(o: &mut String, d: &ReportData) {
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
    push("candidate pairs (blocking)", fmt_int(c.blocking.candidates));
    push("reduction ratio", ratio(c.blocking.reduction_ratio));
    push("blocks capped for size", fmt_int(c.blocking.capped_blocks));
    push("pairs for review", fmt_int(c.pairs_review));
    push("pairs decided match", fmt_int(c.pairs_match));
    push("merges refused (agency rule)", fmt_int(c.merges_refused));
    push("clusters", fmt_int(c.clusters));
    push("clusters of two or more records", fmt_int(c.clusters_multi));
    // Every other count the linker recorded, by name.
    const SHOWN: [&str; 11] = [
        "records",
        "candidates",
        "candidates_by_block",
        "reduction_ratio",
        "largest_blocks",
        "capped_blocks",
        "pairs_review",
        "pairs_match",
        "clusters",
        "clusters_multi",
        "merges_refused",
    ];
    if let Ok(Value::Object(all)) = serde_json::to_value(c) {
        let mut extra: Vec<(&String, &Value)> = all
            .iter()
            .filter(|(k, _)| !SHOWN.contains(&k.as_str()))
            .collect();
        extra.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in extra {
            push(k, scalar(v));
        }
    }
    table(o, &["stage", "#count"], &rows);
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

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(u) => fmt_int(u),
            None => n.as_f64().map(|f| fmt_f(f, 4)).unwrap_or_default(),
        },
        Value::String(s) => esc(s),
        Value::Bool(b) => yes_no(*b).into(),
        Value::Null => "–".into(),
        other => esc(&other.to_string()),
    }
}

/// Flattens a JSON config into dotted keys and scalar values.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            let items: Vec<String> = a
                .iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    o => o.to_string(),
                })
                .collect();
            out.push((prefix.to_string(), format!("[{}]", items.join(", "))));
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        Value::Null if prefix.is_empty() => {}
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The set the distribution and sweep are computed on: all candidates when written, else pairs.
fn score_source(d: &ReportData) -> (&ScoreSet, &'static str) {
    match &d.candidates {
        Some(c) => (c, "all candidate pairs (candidates.parquet)"),
        None => (
            &d.pairs,
            "pairs at or above the review threshold (pairs.parquet)",
        ),
    }
}

fn threshold_markers(d: &ReportData) -> Vec<Marker> {
    let mut v = Vec::new();
    if let Some(t) = d.review_weight {
        v.push(Marker {
            x: t,
            label: format!("review ≥ {}", fmt_f(t, 2)),
        });
    }
    if let Some(t) = d.match_weight {
        v.push(Marker {
            x: t,
            label: format!("match ≥ {}", fmt_f(t, 2)),
        });
    }
    v
}

/// Bin edges over `[lo, hi]` with both thresholds on edges when possible (about 50 bins).
pub fn bin_edges(lo: f64, hi: f64, thresholds: &[f64]) -> Vec<f64> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let target = (hi - lo) / 50.0;
    let (base, width) = match thresholds {
        [a, b, ..] if (a - b).abs() > 1e-9 => {
            let delta = (a - b).abs();
            let k = (delta / target).round().max(1.0);
            (a.min(*b), delta / k)
        }
        [a, ..] => (*a, svg::nice_ticks(0.0, target * 10.0, 10).1),
        [] => (0.0, svg::nice_ticks(0.0, target * 10.0, 10).1),
    };
    let width = width.max((hi - lo) / 400.0);
    let first = ((lo - base) / width).floor() as i64;
    let last = ((hi - base) / width).floor() as i64 + 1;
    (first..=last).map(|k| base + k as f64 * width).collect()
}

fn weights(o: &mut String, d: &ReportData) {
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

/// One row of the threshold sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Threshold on match weight.
    pub weight: f64,
    /// Corresponding probability.
    pub probability: f64,
    /// Pairs at or above it.
    pub pairs: u64,
    /// Expected precision: mean probability of those pairs (None when there are none).
    pub expected_precision: Option<f64>,
    /// Expected recall: Σ probability of those pairs / Σ probability of all.
    pub expected_recall: f64,
    /// True (precision, recall, F1) with `--truth`.
    pub truth: Option<(f64, f64, f64)>,
}

/// Sweeps thresholds over a score set (see docs/report.md for the estimators).
pub fn sweep_rows(s: &ScoreSet, true_pairs: Option<u64>, lambda: f64, ts: &[f64]) -> Vec<SweepRow> {
    let mut idx: Vec<usize> = (0..s.weights.len())
        .filter(|&i| s.weights[i].is_finite())
        .collect();
    idx.sort_by(|&a, &b| s.weights[b].total_cmp(&s.weights[a]));
    // prefix sums in descending weight order
    let mut cum_p = Vec::with_capacity(idx.len() + 1);
    let mut cum_t = Vec::with_capacity(idx.len() + 1);
    cum_p.push(0.0);
    cum_t.push(0u64);
    for &i in &idx {
        let p = s.probabilities[i];
        cum_p.push(cum_p.last().copied().unwrap_or(0.0) + if p.is_finite() { p } else { 0.0 });
        let t = s.is_true.as_ref().is_some_and(|v| v[i]);
        cum_t.push(cum_t.last().copied().unwrap_or(0) + u64::from(t));
    }
    let total_p = cum_p.last().copied().unwrap_or(0.0);
    ts.iter()
        .map(|&t| {
            let n = idx.partition_point(|&i| s.weights[i] >= t);
            let truth = match (&s.is_true, true_pairs) {
                (Some(_), Some(tp)) => {
                    let hit = cum_t[n] as f64;
                    let p = if n == 0 { 1.0 } else { hit / n as f64 };
                    let r = if tp == 0 {
                        1.0
                    } else {
                        (hit / tp as f64).min(1.0)
                    };
                    let f = if p + r > 0.0 {
                        2.0 * p * r / (p + r)
                    } else {
                        0.0
                    };
                    Some((p, r, f))
                }
                _ => None,
            };
            SweepRow {
                weight: t,
                probability: crate::scoring::probability_from_weight(t, lambda),
                pairs: n as u64,
                expected_precision: (n > 0).then(|| cum_p[n] / n as f64),
                expected_recall: if total_p > 0.0 {
                    cum_p[n] / total_p
                } else {
                    0.0
                },
                truth,
            }
        })
        .collect()
}

fn sweep(o: &mut String, d: &ReportData) {
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
    } else {
        o.push_str("<p class=\"note\">Run with <code>--truth truth.csv</code> to add the true precision, recall and F1.</p>\n");
    }
    o.push_str("</section>\n");
}

fn fmt_prob(p: f64) -> String {
    if p > 0.9999 && p < 1.0 {
        format!("1 − {:.1e}", 1.0 - p)
    } else if p < 1e-4 && p > 0.0 {
        format!("{p:.1e}")
    } else {
        fmt_f(p, 4)
    }
}

fn model(o: &mut String, d: &ReportData) {
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

fn fmt_small(p: f64) -> String {
    if p != 0.0 && p.abs() < 0.001 {
        format!("{p:.1e}")
    } else {
        fmt_f(p, 3)
    }
}

fn waterfalls(o: &mut String, d: &ReportData) {
    open_section(o, "waterfalls");
    if d.waterfalls.is_empty() {
        o.push_str("<p class=\"note\">No written pair near a threshold.</p></section>\n");
        return;
    }
    let prior = d.manifest.model.prior();
    let _ = writeln!(
        o,
        "<p class=\"note\">For up to {} pairs on each side of each threshold: the bars start at the prior weight ({}), add each field's weight, and end at the posterior log<sub>2</sub> odds = prior + match weight. Dashed lines are the thresholds on the same scale. Record ids only.</p>",
        super::WATERFALLS_PER_SIDE,
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
            esc(&p.left_agency),
            esc(&p.left_id),
            esc(&p.right_agency),
            esc(&p.right_id),
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
                fmt_f(p.match_weight, 2),
                fmt_prob(p.match_probability),
                p.decision.as_str()
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
                p.decision.as_str()
            ),
        );
    }
    o.push_str("</section>\n");
}

fn clusters(o: &mut String, d: &ReportData) {
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

fn blocking(o: &mut String, d: &ReportData) {
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

fn rejects(o: &mut String, d: &ReportData) {
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
