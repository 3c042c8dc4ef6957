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

pub use super::fmt::{esc, fmt_f, fmt_i64, fmt_int, fmt_tick};

mod bar;
mod heat;
mod histogram;
mod line;
mod waterfall;

pub use bar::*;
pub use heat::*;
pub use histogram::*;
pub use line::*;
pub use waterfall::*;

/// Colours of the series, calm and distinguishable; series are also told apart by pattern.
pub const PALETTE: [&str; 6] = [
    "#1f5f8b", "#c9822b", "#5b8c5a", "#8a5a9c", "#9aa5b1", "#b5483c",
];

/// Dash patterns of line series, in series order (none = solid).
const DASHES: [&str; 6] = ["", "6 4", "2 3", "10 3 2 3", "1 5", "12 6"];

/// Shared font stack (the HTML page sets the same one; SVG in its own file would use this).
const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

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

#[cfg(test)]
mod tests;
