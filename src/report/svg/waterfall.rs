//! [`waterfall`]: how per-field weights add up from the prior to the posterior.

use std::fmt::Write as _;

use super::*;

/// One step of a [`Waterfall`].
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Label under the bar (field name).
    pub label: String,
    /// Second line under the bar (level label).
    pub note: String,
    /// Weight added (may be negative).
    pub value: f64,
}

/// How per-field weights add up from a start (the prior) to a total (the posterior log-odds).
#[derive(Debug, Clone, PartialEq)]
pub struct Waterfall {
    /// Chart title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Label of the starting bar.
    pub start_label: String,
    /// Starting value (drawn from 0).
    pub start: f64,
    /// Steps added in order.
    pub steps: Vec<Step>,
    /// Label of the final bar (drawn from 0 to start + Σ steps).
    pub end_label: String,
    /// Labelled horizontal lines (thresholds, in the same units as the bars).
    pub thresholds: Vec<(f64, String)>,
}

/// Draws a [`Waterfall`]: floating bars, positive steps in the first colour, negative in the
/// second, each labelled with its signed value.
pub fn waterfall(wf: &Waterfall) -> String {
    let n = wf.steps.len() + 2;
    let (w, ht) = (880.0, 270.0);
    let (left, right, top, bottom) = (62.0, 110.0, 34.0, 48.0);
    let mut out = String::new();
    open(&mut out, w, ht, &wf.title);
    let mut run = wf.start;
    let mut lo = wf.start.min(0.0);
    let mut hi = wf.start.max(0.0);
    for s in &wf.steps {
        run += s.value;
        lo = lo.min(run);
        hi = hi.max(run);
    }
    for (t, _) in &wf.thresholds {
        lo = lo.min(*t);
        hi = hi.max(*t);
    }
    let (lo, hi) = nice_domain(lo, hi, 6);
    let y = LinearScale::new((lo, hi), (ht - bottom, top));
    let (ticks, step) = y.ticks(6);
    for t in ticks {
        let py = y.map(t);
        line(&mut out, left, py, w - right, py, GRID);
        text(
            &mut out,
            left - 6.0,
            py + 4.0,
            "end",
            MUTED,
            &fmt_tick(t, step),
        );
    }
    let slot = (w - right - left) / n as f64;
    let bw = slot * 0.62;
    let bar = |out: &mut String,
               k: usize,
               a: f64,
               b: f64,
               fill: &str,
               lab: &str,
               note: &str,
               val: &str| {
        let cx = left + slot * (k as f64 + 0.5);
        let (ya, yb) = (y.map(a), y.map(b));
        rect(
            out,
            cx - bw / 2.0,
            ya.min(yb),
            bw,
            (ya - yb).abs().max(1.0),
            fill,
            "",
        );
        let vy = ya.min(yb) - 4.0;
        text(
            out,
            cx,
            vy,
            "middle",
            r#" font-size="11" font-weight="600""#,
            val,
        );
        text(out, cx, ht - bottom + 15.0, "middle", "", lab);
        text(
            out,
            cx,
            ht - bottom + 29.0,
            "middle",
            r##" font-size="10" fill="#4a5560""##,
            note,
        );
    };
    bar(
        &mut out,
        0,
        0.0,
        wf.start,
        PALETTE[4],
        &wf.start_label,
        "",
        &fmt_f(wf.start, 2),
    );
    // thin connectors carry each running total to the next bar
    let connect = |out: &mut String, k: usize, v: f64| {
        let x0 = left + slot * (k as f64 + 0.5) + bw / 2.0;
        let py = y.map(v);
        line(
            out,
            x0,
            py,
            x0 + slot - bw,
            py,
            r##"stroke="#4a5560" stroke-width="1""##,
        );
    };
    connect(&mut out, 0, wf.start);
    let mut run = wf.start;
    for (k, s) in wf.steps.iter().enumerate() {
        let fill = if s.value >= 0.0 {
            PALETTE[0]
        } else {
            PALETTE[5]
        };
        let sign = if s.value > 0.0 { "+" } else { "" };
        bar(
            &mut out,
            k + 1,
            run,
            run + s.value,
            fill,
            &s.label,
            &s.note,
            &format!("{sign}{}", fmt_f(s.value, 2)),
        );
        run += s.value;
        connect(&mut out, k + 1, run);
    }
    bar(
        &mut out,
        n - 1,
        0.0,
        run,
        "#1b2733",
        &wf.end_label,
        "",
        &fmt_f(run, 2),
    );
    let zy = y.map(0.0);
    line(&mut out, left, zy, w - right, zy, AXIS);
    for (t, lab) in &wf.thresholds {
        let py = y.map(*t);
        line(&mut out, left, py, w - right, py, MARK);
        text(
            &mut out,
            w - right + 4.0,
            py + 4.0,
            "start",
            r#" font-size="11""#,
            lab,
        );
    }
    let _ = write!(
        out,
        r#"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (top + ht - bottom) / 2.0,
        esc(&wf.y_label)
    );
    out.push_str("</svg>");
    out
}
