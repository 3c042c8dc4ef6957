//! [`bar_chart`]: horizontal grouped bars, negative values to the left of zero.

use super::*;

/// One row of a [`BarChart`]: a label and one value per series.
#[derive(Debug, Clone, PartialEq)]
pub struct BarRow {
    /// Row label (left of the axis).
    pub label: String,
    /// One value per series (may be negative).
    pub values: Vec<f64>,
    /// Text drawn at the end of each bar (same length as `values`).
    pub value_labels: Vec<String>,
}

/// Rows under a heading.
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// Group heading (empty = none).
    pub heading: String,
    /// The rows.
    pub rows: Vec<BarRow>,
}

/// Horizontal grouped bars (Splink's match-weights chart style: positive right of zero,
/// negative left).
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Chart title.
    pub title: String,
    /// Value axis label.
    pub x_label: String,
    /// Series names (legend shown for two or more).
    pub series: Vec<String>,
    /// Groups of rows.
    pub groups: Vec<BarGroup>,
    /// Fixed value range; `None` = from the data, always including 0.
    pub x_range: Option<(f64, f64)>,
}

/// Draws a [`BarChart`].
pub fn bar_chart(c: &BarChart) -> String {
    let ns = c.series.len().max(1);
    let bar_h = 14.0;
    let row_h = bar_h * ns as f64 + 8.0;
    let head_h = 20.0;
    let label_w = 8.0
        + 6.6
            * c.groups
                .iter()
                .flat_map(|g| g.rows.iter().map(|r| r.label.chars().count()))
                .max()
                .unwrap_or(4)
                .clamp(4, 40) as f64;
    let (w, top, bottom) = (880.0, 40.0, 44.0);
    let (left, right) = (label_w + 10.0, 70.0);
    let body: f64 = c
        .groups
        .iter()
        .map(|g| row_h * g.rows.len() as f64 + if g.heading.is_empty() { 0.0 } else { head_h })
        .sum();
    let ht = top + body + bottom;
    let mut out = String::new();
    open(&mut out, w, ht, &c.title);
    let vals = || {
        c.groups
            .iter()
            .flat_map(|g| g.rows.iter().flat_map(|r| r.values.iter().copied()))
    };
    let (lo, hi) = c.x_range.unwrap_or_else(|| {
        let lo = vals().fold(0.0, f64::min);
        let hi = vals().fold(0.0, f64::max);
        nice_domain(lo, if hi > lo { hi } else { lo + 1.0 }, 8)
    });
    let x = LinearScale::new((lo, hi), (left, w - right));
    let (ticks, step) = x.ticks(8);
    for t in &ticks {
        let px = x.map(*t);
        line(&mut out, px, top, px, top + body, GRID);
        text(
            &mut out,
            px,
            top + body + 16.0,
            "middle",
            MUTED,
            &fmt_tick(*t, step),
        );
    }
    let zero = x.map(0.0_f64.clamp(lo, hi));
    let mut yy = top;
    for g in &c.groups {
        if !g.heading.is_empty() {
            text(
                &mut out,
                0.0,
                yy + 15.0,
                "start",
                r#" font-weight="600""#,
                &g.heading,
            );
            yy += head_h;
        }
        for r in &g.rows {
            text(
                &mut out,
                left - 8.0,
                yy + row_h / 2.0 + 4.0,
                "end",
                "",
                &r.label,
            );
            for (s, v) in r.values.iter().enumerate() {
                let by = yy + 4.0 + s as f64 * bar_h;
                let px = x.map(v.clamp(lo, hi));
                let (x0, x1) = if px >= zero { (zero, px) } else { (px, zero) };
                rect(
                    &mut out,
                    x0,
                    by + 1.0,
                    (x1 - x0).max(if *v != 0.0 { 1.0 } else { 0.0 }),
                    bar_h - 2.0,
                    PALETTE[s % PALETTE.len()],
                    "",
                );
                let lab = r.value_labels.get(s).cloned().unwrap_or_default();
                let lab = if ns > 1 {
                    format!("{} {}", c.series[s], lab)
                } else {
                    lab
                };
                let (lx, anchor) = if *v < 0.0 {
                    (x0 - 4.0, "end")
                } else {
                    (x1 + 4.0, "start")
                };
                // keep labels of bars near the left edge inside the plot area
                let (lx, anchor) =
                    if anchor == "end" && lx - 6.0 * lab.chars().count() as f64 <= left {
                        (x1 + 4.0, "start")
                    } else {
                        (lx, anchor)
                    };
                text(
                    &mut out,
                    lx,
                    by + bar_h - 3.0,
                    anchor,
                    r#" font-size="11""#,
                    &lab,
                );
            }
            yy += row_h;
        }
    }
    line(&mut out, zero, top, zero, top + body, AXIS);
    line(&mut out, left, top + body, w - right, top + body, AXIS);
    text(
        &mut out,
        (left + w - right) / 2.0,
        ht - 8.0,
        "middle",
        "",
        &c.x_label,
    );
    legend(&mut out, &c.series, &[], w - right, 16.0, false);
    out.push_str("</svg>");
    out
}
