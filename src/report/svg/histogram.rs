//! [`histogram`]: score distributions on a log-count axis, with labelled markers.

use std::fmt::Write as _;

use super::*;

/// A histogram over fixed bin edges, one or more series drawn over each other (largest first,
/// so every series stays visible), on a log count axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Chart title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Bin edges, ascending; `edges.len() == bins + 1`.
    pub edges: Vec<f64>,
    /// Series names and per-bin counts.
    pub series: Vec<(String, Vec<u64>)>,
    /// Labelled vertical lines.
    pub markers: Vec<Marker>,
    /// Integer bins (cluster sizes): tick labels at bin centres instead of edges.
    pub discrete: bool,
    /// Colour per series (`#rrggbb`); empty = the palette in order.
    pub colors: Vec<String>,
}

/// Draws a [`Histogram`].
pub fn histogram(h: &Histogram) -> String {
    let (w, ht) = (880.0, 360.0);
    let (left, right, top, bottom) = (70.0, 20.0, 80.0, 48.0);
    let mut out = String::new();
    open(&mut out, w, ht, &h.title);
    let nb = h.edges.len().saturating_sub(1);
    let max = h
        .series
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .max()
        .unwrap_or(0);
    let y = LogScale::new(max, (ht - bottom, top));
    let (x0, x1) = match (h.edges.first(), h.edges.last()) {
        (Some(a), Some(b)) if nb > 0 => (*a, *b),
        _ => (0.0, 1.0),
    };
    let x = LinearScale::new((x0, x1), (left, w - right));
    // grid and y ticks
    for t in y.ticks() {
        let py = y.map(t as f64);
        line(&mut out, left, py, w - right, py, GRID);
        text(&mut out, left - 6.0, py + 4.0, "end", MUTED, &fmt_int(t));
    }
    // bars: per bin, series drawn tallest first
    for b in 0..nb {
        let mut order: Vec<usize> = (0..h.series.len()).collect();
        order.sort_by_key(|&s| std::cmp::Reverse(h.series[s].1.get(b).copied().unwrap_or(0)));
        for s in order {
            let c = h.series[s].1.get(b).copied().unwrap_or(0);
            if c == 0 {
                continue;
            }
            let (bx0, bx1) = (x.map(h.edges[b]), x.map(h.edges[b + 1]));
            let py = y.map(c as f64);
            let tip = format!(
                r##" stroke="#fff" stroke-width="0.5"><title>{}: {} in [{}, {})</title></rect"##,
                esc(&h.series[s].0),
                fmt_int(c),
                fmt_f(h.edges[b], 2),
                fmt_f(h.edges[b + 1], 2)
            );
            // a rect with a child <title> for hover; written by hand
            let _ = write!(
                out,
                r#"<rect x="{:.1}" y="{py:.1}" width="{:.1}" height="{:.1}" fill="{}"{tip}>"#,
                bx0,
                (bx1 - bx0).max(0.5),
                (ht - bottom - py).max(0.0),
                color(&h.colors, s)
            );
        }
    }
    // x axis and ticks
    line(&mut out, left, ht - bottom, w - right, ht - bottom, AXIS);
    line(&mut out, left, top, left, ht - bottom, AXIS);
    if h.discrete {
        let every = (nb / 20).max(1);
        for b in (0..nb).step_by(every) {
            let cx = (x.map(h.edges[b]) + x.map(h.edges[b + 1])) / 2.0;
            text(
                &mut out,
                cx,
                ht - bottom + 16.0,
                "middle",
                MUTED,
                &fmt_tick((h.edges[b] + h.edges[b + 1]) / 2.0, 1.0),
            );
        }
    } else {
        let (ticks, step) = x.ticks(10);
        for t in ticks {
            let px = x.map(t);
            line(&mut out, px, ht - bottom, px, ht - bottom + 4.0, AXIS);
            text(
                &mut out,
                px,
                ht - bottom + 16.0,
                "middle",
                MUTED,
                &fmt_tick(t, step),
            );
        }
    }
    text(
        &mut out,
        (left + w - right) / 2.0,
        ht - 10.0,
        "middle",
        "",
        &h.x_label,
    );
    let _ = write!(
        out,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (top + ht - bottom) / 2.0,
        esc(&h.y_label)
    );
    markers(&mut out, &h.markers, &x, top, ht - bottom);
    let names: Vec<String> = h.series.iter().map(|s| s.0.clone()).collect();
    legend(&mut out, &names, &h.colors, w - right, 38.0, false);
    out.push_str("</svg>");
    out
}
