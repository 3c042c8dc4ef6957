//! [`line_chart`]: several series told apart by dash pattern and marker shape.

use std::fmt::Write as _;

use super::*;

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct LineSeries {
    /// Name (legend and direct label at the line's end).
    pub name: String,
    /// Points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// A line chart with a linear y axis.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Chart title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// The lines; series `i` gets colour, dash pattern and marker shape `i`.
    pub series: Vec<LineSeries>,
    /// Fixed y range (e.g. `(0, 1)` for rates); `None` = from the data, starting at 0.
    pub y_range: Option<(f64, f64)>,
    /// Labelled vertical lines.
    pub markers: Vec<Marker>,
}

/// Draws a [`LineChart`].
pub fn line_chart(c: &LineChart) -> String {
    let (w, ht) = (880.0, 360.0);
    let (left, right, top, bottom) = (70.0, 20.0, 80.0, 48.0);
    let mut out = String::new();
    open(&mut out, w, ht, &c.title);
    let pts = || c.series.iter().flat_map(|s| s.points.iter());
    let xmin = pts().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let xmax = pts().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let (ylo, yhi) = c.y_range.unwrap_or_else(|| {
        let m = pts().map(|p| p.1).fold(0.0, f64::max);
        nice_domain(0.0, m.max(1.0), 5)
    });
    let x = LinearScale::new((xmin, xmax), (left, w - right));
    let y = LinearScale::new((ylo, yhi), (ht - bottom, top));
    let (yt, ystep) = y.ticks(5);
    for t in yt {
        let py = y.map(t);
        line(&mut out, left, py, w - right, py, GRID);
        text(
            &mut out,
            left - 6.0,
            py + 4.0,
            "end",
            MUTED,
            &fmt_tick(t, ystep),
        );
    }
    let (xt, xstep) = x.ticks(10);
    for t in xt {
        let px = x.map(t);
        line(&mut out, px, ht - bottom, px, ht - bottom + 4.0, AXIS);
        text(
            &mut out,
            px,
            ht - bottom + 16.0,
            "middle",
            MUTED,
            &fmt_tick(t, xstep),
        );
    }
    line(&mut out, left, ht - bottom, w - right, ht - bottom, AXIS);
    line(&mut out, left, top, left, ht - bottom, AXIS);
    markers(&mut out, &c.markers, &x, top, ht - bottom);
    for (i, s) in c.series.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        let col = PALETTE[i % PALETTE.len()];
        let mut d = String::new();
        for (k, p) in s.points.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1} {:.1}",
                if k == 0 { "M" } else { "L" },
                x.map(p.0),
                y.map(p.1)
            );
        }
        let _ = write!(
            out,
            r#"<path d="{d}" fill="none" stroke="{col}" stroke-width="2" stroke-dasharray="{}"><title>{}</title></path>"#,
            DASHES[i % DASHES.len()],
            esc(&s.name)
        );
        // markers every few points so the shape identifies the series without colour
        let every = (s.points.len() / 8).max(1);
        for p in s.points.iter().skip(i % every).step_by(every) {
            marker_shape(&mut out, i, x.map(p.0), y.map(p.1), col);
        }
    }
    text(
        &mut out,
        (left + w - right) / 2.0,
        ht - 10.0,
        "middle",
        "",
        &c.x_label,
    );
    let _ = write!(
        out,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (top + ht - bottom) / 2.0,
        esc(&c.y_label)
    );
    let names: Vec<String> = c.series.iter().map(|s| s.name.clone()).collect();
    legend(&mut out, &names, &[], w - right, 38.0, true);
    out.push_str("</svg>");
    out
}
