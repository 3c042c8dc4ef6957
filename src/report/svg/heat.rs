//! [`heat_map`]: a matrix of counts, a number in every cell.

use super::*;

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
