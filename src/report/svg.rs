//! A small, dependency-free SVG chart module for the auditors' report.
//!
//! Five chart kinds, each returning one `<svg>` element as a string, ready to inline in HTML:
//! [`histogram`] (log-count axis, several series, labelled vertical markers), [`line_chart`]
//! (several series told apart by dash pattern and marker shape, not only by colour),
//! [`bar_chart`] (horizontal grouped bars, negative values to the left of zero), [`heat_map`]
//! (numbers in every cell) and [`waterfall`] (how per-field weights add up).
//!
//! Every chart has a title, axis labels, tick labels and text labels on the marks, so it reads in
//! black and white. Every string drawn is HTML/XML-escaped with [`esc`]. Coordinates are written
//! with one decimal, so the output is deterministic and compact.

use std::fmt::Write as _;

/// Colours of the series, calm and distinguishable; series are also told apart by pattern.
pub const PALETTE: [&str; 6] = [
    "#1f5f8b", "#c9822b", "#5b8c5a", "#8a5a9c", "#9aa5b1", "#b5483c",
];
/// Dash patterns of line series, in series order (none = solid).
const DASHES: [&str; 6] = ["", "6 4", "2 3", "10 3 2 3", "1 5", "12 6"];
/// Shared font stack (the HTML page sets the same one; SVG in its own file would use this).
const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An integer with thin thousands separators (`1,234,567`).
pub fn fmt_int(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed integer with thousands separators.
pub fn fmt_i64(v: i64) -> String {
    if v < 0 {
        format!("−{}", fmt_int(v.unsigned_abs()))
    } else {
        fmt_int(v as u64)
    }
}

/// A tick or value label: integers with separators, otherwise as few decimals as the step needs.
pub fn fmt_tick(v: f64, step: f64) -> String {
    let v = if v.abs() < step.abs() * 1e-9 { 0.0 } else { v };
    if step >= 1.0 && (v - v.round()).abs() < 1e-9 {
        return fmt_i64(v.round() as i64);
    }
    let decimals = (-step.abs().log10().floor()).clamp(0.0, 6.0) as usize;
    let s = format!("{v:.decimals$}");
    s.replace('-', "−")
}

/// A real number with `decimals` decimals and a proper minus sign.
pub fn fmt_f(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    let s = format!("{v:.decimals$}");
    let s = if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    };
    s.replace('-', "−")
}

/// A linear map from a data interval to a pixel interval (either may be reversed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearScale {
    /// Data interval.
    pub domain: (f64, f64),
    /// Pixel interval.
    pub range: (f64, f64),
}

impl LinearScale {
    /// A scale; a degenerate domain is widened by one unit each side.
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        let (mut a, mut b) = domain;
        if !(a.is_finite() && b.is_finite()) {
            a = 0.0;
            b = 1.0;
        }
        if (b - a).abs() < 1e-12 {
            a -= 1.0;
            b += 1.0;
        }
        LinearScale {
            domain: (a, b),
            range,
        }
    }

    /// Pixel position of `v`.
    pub fn map(&self, v: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        r0 + (v - d0) / (d1 - d0) * (r1 - r0)
    }

    /// "Nice" ticks (steps of 1, 2 or 5 × 10^k) inside the domain, about `n` of them.
    pub fn ticks(&self, n: usize) -> (Vec<f64>, f64) {
        nice_ticks(self.domain.0, self.domain.1, n)
    }
}

/// Ticks at multiples of a step of 1, 2 or 5 × 10^k, about `n` of them, inside `[lo, hi]`.
/// Returns the ticks and the step.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> (Vec<f64>, f64) {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let span = (hi - lo).max(1e-12);
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|f| f * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    let ticks = (first..=last).map(|k| k as f64 * step).collect();
    (ticks, step)
}

/// A domain widened to whole multiples of a nice step (so the axis ends on a tick).
pub fn nice_domain(lo: f64, hi: f64, n: usize) -> (f64, f64) {
    let (_, step) = nice_ticks(lo, hi, n);
    ((lo / step).floor() * step, (hi / step).ceil() * step)
}

/// A base-10 logarithmic map for counts. Zero counts have no position: [`LogScale::map`]
/// returns the baseline for them. The domain starts at 0.5 so a count of 1 gets a visible bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogScale {
    /// Largest decade shown (10^top ≥ the largest count).
    pub top_decade: u32,
    /// Pixel interval (baseline, top).
    pub range: (f64, f64),
}

impl LogScale {
    /// Lower end of the domain.
    pub const FLOOR: f64 = 0.5;

    /// A scale whose top is the first power of ten ≥ `max_count` (at least 10).
    pub fn new(max_count: u64, range: (f64, f64)) -> Self {
        let mut top = 1u32;
        while 10f64.powi(top as i32) < max_count as f64 {
            top += 1;
        }
        LogScale {
            top_decade: top,
            range,
        }
    }

    /// Pixel position of `count` (the baseline for 0).
    pub fn map(&self, count: f64) -> f64 {
        let (r0, r1) = self.range;
        if count <= Self::FLOOR {
            return r0;
        }
        let lo = Self::FLOOR.log10();
        let hi = self.top_decade as f64;
        r0 + (count.log10() - lo) / (hi - lo) * (r1 - r0)
    }

    /// Ticks at 1, 10, 100, … up to the top decade.
    pub fn ticks(&self) -> Vec<u64> {
        (0..=self.top_decade).map(|k| 10u64.pow(k)).collect()
    }
}

/// Opens an `<svg>` element with a title (also its accessible name) drawn at the top left.
fn open(out: &mut String, width: f64, height: f64, title: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="{t}" font-family="{FONT}" font-size="12"><title>{t}</title><text x="0" y="16" font-size="14" font-weight="600" fill="#1b2733">{t}</text>"##,
        t = esc(title)
    );
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, extra: &str, s: &str) {
    let _ = write!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}"{extra}>{}</text>"#,
        esc(s)
    );
}

fn line(out: &mut String, x1: f64, y1: f64, x2: f64, y2: f64, style: &str) {
    let _ = write!(
        out,
        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {style}/>"#
    );
}

fn rect(out: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
    let _ = write!(
        out,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}"{extra}/>"#,
        w.max(0.0),
        h.max(0.0)
    );
}

const AXIS: &str = r##"stroke="#4a5560" stroke-width="1""##;
const GRID: &str = r##"stroke="#e3e7eb" stroke-width="1""##;
const MARK: &str = r##"stroke="#1b2733" stroke-width="1.5" stroke-dasharray="5 3""##;
const MUTED: &str = r##" fill="#4a5560""##;

/// A vertical marker line with a label (a threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Position on the x axis (data units).
    pub x: f64,
    /// Label drawn at the top of the line.
    pub label: String,
}

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

/// Draws labelled vertical markers; labels alternate rows so close markers do not collide.
fn markers(out: &mut String, ms: &[Marker], x: &LinearScale, top: f64, bottom: f64) {
    let (lo, hi) = (x.range.0.min(x.range.1), x.range.0.max(x.range.1));
    let mut order: Vec<&Marker> = ms.iter().collect();
    order.sort_by(|a, b| a.x.total_cmp(&b.x));
    let n = order.len();
    for (i, m) in order.into_iter().enumerate() {
        let px = x.map(m.x);
        if !(lo - 0.5..=hi + 0.5).contains(&px) {
            continue;
        }
        line(out, px, top - 4.0, px, bottom, MARK);
        // the leftmost label reads leftwards from its line, the rightmost rightwards, so two
        // close thresholds keep their labels apart; labels that would leave the plot flip
        let width = 7.0 * m.label.chars().count() as f64;
        let mut end = if n >= 2 { i == 0 } else { px > (lo + hi) / 2.0 };
        if end && px - width < lo {
            end = false;
        } else if !end && px + width > hi {
            end = true;
        }
        let row = if n > 2 { (i % 2) as f64 } else { 0.0 };
        let ly = top - 8.0 - 13.0 * row;
        let (anchor, dx) = if end { ("end", -4.0) } else { ("start", 4.0) };
        text(
            out,
            px + dx,
            ly,
            anchor,
            r##" font-weight="600" fill="#1b2733""##,
            &m.label,
        );
    }
}

/// A legend of swatches (or line samples) right-aligned at `right`.
fn legend(out: &mut String, names: &[String], colors: &[String], right: f64, y: f64, lines: bool) {
    if names.len() < 2 && !lines {
        return;
    }
    let widths: Vec<f64> = names
        .iter()
        .map(|n| 42.0 + 6.5 * n.chars().count() as f64)
        .collect();
    let mut x = right - widths.iter().sum::<f64>();
    for (i, n) in names.iter().enumerate() {
        let c = color(colors, i);
        if lines {
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{c}" stroke-width="2" stroke-dasharray="{}"/>"#,
                y - 4.0,
                x + 18.0,
                y - 4.0,
                DASHES[i % DASHES.len()]
            );
            marker_shape(out, i, x + 9.0, y - 4.0, c);
        } else {
            rect(out, x, y - 10.0, 12.0, 12.0, c, "");
        }
        text(out, x + 22.0, y, "start", "", n);
        x += widths[i];
    }
}

/// Colour of series `i`: the given list, else the palette.
fn color(colors: &[String], i: usize) -> &str {
    colors
        .get(i)
        .map(String::as_str)
        .unwrap_or(PALETTE[i % PALETTE.len()])
}

/// Draws the marker shape of series `i` (circle, square, triangle, diamond, cross, plus).
fn marker_shape(out: &mut String, i: usize, x: f64, y: f64, c: &str) {
    let _ = match i % 6 {
        0 => write!(
            out,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.2" fill="{c}"/>"#
        ),
        1 => write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="6" height="6" fill="{c}"/>"#,
            x - 3.0,
            y - 3.0
        ),
        2 => write!(
            out,
            r#"<path d="M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z" fill="{c}"/>"#,
            y - 4.0,
            x + 4.0,
            y + 3.0,
            x - 4.0,
            y + 3.0
        ),
        3 => write!(
            out,
            r#"<path d="M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z" fill="{c}"/>"#,
            y - 4.0,
            x + 4.0,
            y + 4.0,
            x - 4.0
        ),
        4 => write!(
            out,
            r#"<path d="M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}" stroke="{c}" stroke-width="1.8"/>"#,
            x - 3.0,
            y - 3.0,
            x + 3.0,
            y + 3.0,
            x - 3.0,
            y + 3.0,
            x + 3.0,
            y - 3.0
        ),
        _ => write!(
            out,
            r#"<path d="M{:.1} {y:.1}L{:.1} {y:.1}M{x:.1} {:.1}L{x:.1} {:.1}" stroke="{c}" stroke-width="1.8"/>"#,
            x - 4.0,
            x + 4.0,
            y - 4.0,
            y + 4.0
        ),
    };
}

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

/// A matrix of counts with the number written in every cell.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    /// Chart title.
    pub title: String,
    /// Row labels (top to bottom).
    pub rows: Vec<String>,
    /// Column labels (left to right).
    pub cols: Vec<String>,
    /// `values[row][col]`.
    pub values: Vec<Vec<u64>>,
}

/// Draws a [`HeatMap`] (darker = more; the number in the cell is the value).
pub fn heat_map(h: &HeatMap) -> String {
    let label_w = 16.0 + 8.0 * h.rows.iter().map(|r| r.chars().count()).max().unwrap_or(4) as f64;
    let cell_w = 76.0;
    let cell_h = 30.0;
    let top = 70.0;
    let w = label_w + cell_w * h.cols.len() as f64 + 10.0;
    let ht = top + cell_h * h.rows.len() as f64 + 10.0;
    let mut out = String::new();
    open(&mut out, w.max(300.0), ht, &h.title);
    let max = h.values.iter().flatten().copied().max().unwrap_or(0).max(1);
    for (j, c) in h.cols.iter().enumerate() {
        text(
            &mut out,
            label_w + cell_w * (j as f64 + 0.5),
            top - 8.0,
            "middle",
            r#" font-weight="600""#,
            c,
        );
    }
    for (i, r) in h.rows.iter().enumerate() {
        let y = top + cell_h * i as f64;
        text(
            &mut out,
            label_w - 8.0,
            y + cell_h / 2.0 + 4.0,
            "end",
            r#" font-weight="600""#,
            r,
        );
        for j in 0..h.cols.len() {
            let v = h
                .values
                .get(i)
                .and_then(|row| row.get(j))
                .copied()
                .unwrap_or(0);
            let t = if v == 0 {
                0.0
            } else {
                0.12 + 0.88 * ((v as f64).ln_1p() / (max as f64).ln_1p())
            };
            let fill = blend("#f4f6f8", "#1f5f8b", t);
            let x = label_w + cell_w * j as f64;
            rect(
                &mut out,
                x,
                y,
                cell_w,
                cell_h,
                &fill,
                r##" stroke="#ffffff" stroke-width="2""##,
            );
            let ink = if t > 0.55 { "#ffffff" } else { "#1b2733" };
            text(
                &mut out,
                x + cell_w / 2.0,
                y + cell_h / 2.0 + 4.0,
                "middle",
                &format!(r#" fill="{ink}""#),
                &fmt_int(v),
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Linear blend of two `#rrggbb` colours.
fn blend(a: &str, b: &str, t: f64) -> String {
    let p =
        |s: &str, i: usize| u8::from_str_radix(&s[1 + 2 * i..3 + 2 * i], 16).unwrap_or(0) as f64;
    let t = t.clamp(0.0, 1.0);
    let c: Vec<u8> = (0..3)
        .map(|i| (p(a, i) + (p(b, i) - p(a, i)) * t).round() as u8)
        .collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(999), "999");
        assert_eq!(fmt_int(1000), "1,000");
        assert_eq!(fmt_int(1234567), "1,234,567");
        assert_eq!(fmt_i64(-12345), "−12,345");
        assert_eq!(fmt_f(-0.0001, 2), "0.00");
        assert_eq!(fmt_f(-1.5, 1), "−1.5");
    }

    #[test]
    fn linear_scale_maps_ends_and_reverses() {
        let s = LinearScale::new((0.0, 10.0), (100.0, 0.0));
        assert_eq!(s.map(0.0), 100.0);
        assert_eq!(s.map(10.0), 0.0);
        assert_eq!(s.map(5.0), 50.0);
        // degenerate domain does not divide by zero
        let d = LinearScale::new((3.0, 3.0), (0.0, 10.0));
        assert!(d.map(3.0).is_finite());
        assert_eq!(d.map(3.0), 5.0);
    }

    #[test]
    fn nice_ticks_use_1_2_5_steps() {
        let (t, s) = nice_ticks(0.0, 1.0, 5);
        assert_eq!(s, 0.2);
        assert_eq!(t.len(), 6);
        assert!((t[5] - 1.0).abs() < 1e-12);
        let (t, s) = nice_ticks(-7.3, 22.1, 6);
        assert_eq!(s, 5.0);
        assert_eq!(t.first().copied(), Some(-5.0));
        assert_eq!(t.last().copied(), Some(20.0));
        assert_eq!(nice_domain(-7.3, 22.1, 6), (-10.0, 25.0));
        assert_eq!(fmt_tick(0.30000000000000004, 0.1), "0.3");
        assert_eq!(fmt_tick(-5.0, 5.0), "−5");
        assert_eq!(fmt_tick(20000.0, 5000.0), "20,000");
    }

    #[test]
    fn log_scale_handles_zero_and_decades() {
        let s = LogScale::new(1234, (300.0, 0.0));
        assert_eq!(s.top_decade, 4);
        assert_eq!(s.ticks(), vec![1, 10, 100, 1000, 10000]);
        assert_eq!(s.map(0.0), 300.0); // zero sits on the baseline, no NaN
        let one = s.map(1.0);
        assert!(one < 300.0 && one > 0.0, "a count of 1 is visible: {one}");
        assert!((s.map(10000.0) - 0.0).abs() < 1e-9);
        // equal steps per decade
        let d1 = s.map(1.0) - s.map(10.0);
        let d2 = s.map(100.0) - s.map(1000.0);
        assert!((d1 - d2).abs() < 1e-9);
        assert_eq!(LogScale::new(0, (1.0, 0.0)).top_decade, 1);
    }

    fn balanced(svg: &str) {
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count());
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn histogram_with_zero_bins_and_markers() {
        let h = Histogram {
            title: "Weights <all>".into(),
            x_label: "match weight".into(),
            y_label: "pairs (log)".into(),
            edges: vec![0.0, 1.0, 2.0, 3.0, 4.0],
            series: vec![
                ("below".into(), vec![0, 100, 0, 0]),
                ("match".into(), vec![0, 0, 1, 5]),
            ],
            markers: vec![Marker {
                x: 2.0,
                label: "match ≥ 2".into(),
            }],
            discrete: false,
            colors: vec![],
        };
        let s = histogram(&h);
        balanced(&s);
        assert!(s.contains("Weights &lt;all&gt;"));
        assert!(s.contains("match ≥ 2"));
        assert!(s.contains(">100<") || s.contains(">1,000<"));
        // three non-empty bars (zero bins drawn as nothing)
        assert_eq!(s.matches("<title>").count(), 1 + 3);
        // all zero: still a valid chart
        let mut e = h.clone();
        e.series = vec![("x".into(), vec![0, 0, 0, 0])];
        balanced(&histogram(&e));
    }

    #[test]
    fn line_chart_and_bars_and_heat_map_and_waterfall_are_well_formed() {
        let l = line_chart(&LineChart {
            title: "Sweep".into(),
            x_label: "threshold".into(),
            y_label: "rate".into(),
            series: vec![
                LineSeries {
                    name: "precision".into(),
                    points: vec![(0.0, 0.5), (1.0, 0.9)],
                },
                LineSeries {
                    name: "recall".into(),
                    points: vec![(0.0, 1.0), (1.0, 0.7)],
                },
            ],
            y_range: Some((0.0, 1.0)),
            markers: vec![],
        });
        balanced(&l);
        assert!(l.contains(">precision<") && l.contains(">recall<"));
        assert!(
            l.contains("stroke-dasharray=\"6 4\""),
            "second series is dashed"
        );

        let b = bar_chart(&BarChart {
            title: "Weights".into(),
            x_label: "log2(m/u)".into(),
            series: vec!["weight".into()],
            groups: vec![BarGroup {
                heading: "name".into(),
                rows: vec![
                    BarRow {
                        label: "exact".into(),
                        values: vec![9.5],
                        value_labels: vec!["+9.50".into()],
                    },
                    BarRow {
                        label: "else".into(),
                        values: vec![-4.0],
                        value_labels: vec!["−4.00".into()],
                    },
                ],
            }],
            x_range: None,
        });
        balanced(&b);
        assert!(b.contains(">+9.50<") && b.contains(">−4.00<") && b.contains(">name<"));

        let h = heat_map(&HeatMap {
            title: "Shared".into(),
            rows: vec!["a".into(), "b".into()],
            cols: vec!["a".into(), "b".into()],
            values: vec![vec![0, 1234], vec![1234, 0]],
        });
        balanced(&h);
        assert_eq!(h.matches(">1,234<").count(), 2);

        let w = waterfall(&Waterfall {
            title: "Pair".into(),
            y_label: "log2 odds".into(),
            start_label: "prior".into(),
            start: -6.6,
            steps: vec![
                Step {
                    label: "name".into(),
                    note: "exact".into(),
                    value: 9.8,
                },
                Step {
                    label: "dob".into(),
                    note: "else".into(),
                    value: -3.0,
                },
            ],
            end_label: "final".into(),
            thresholds: vec![(6.6, "match".into())],
        });
        balanced(&w);
        assert!(w.contains(">+9.80<") && w.contains(">−3.00<") && w.contains(">0.20<"));
    }

    #[test]
    fn blend_is_endpoint_exact() {
        assert_eq!(blend("#000000", "#ffffff", 0.0), "#000000");
        assert_eq!(blend("#000000", "#ffffff", 1.0), "#ffffff");
    }
}
