//! Number and text formatting shared by the page and the charts: escaping, thousands separators,
//! fixed decimals, and the small "–" conventions for values a manifest does not record.

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

/// The text, or "–" when empty (not recorded).
pub fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "–"
    } else {
        s
    }
}

/// A ratio to 6 decimals ("–" when NaN: not recorded).
pub fn ratio(r: f64) -> String {
    if r.is_nan() {
        "–".into()
    } else {
        fmt_f(r, 6)
    }
}

/// The first `n` characters, escaped (short hashes).
pub fn short(h: &str, n: usize) -> String {
    esc(&h.chars().take(n).collect::<String>())
}

/// "yes" or "no".
pub fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// A probability to 4 decimals, or in scientific form near 0 and 1.
pub fn fmt_prob(p: f64) -> String {
    if p > 0.9999 && p < 1.0 {
        format!("1 − {:.1e}", 1.0 - p)
    } else if p < 1e-4 && p > 0.0 {
        format!("{p:.1e}")
    } else {
        fmt_f(p, 4)
    }
}

/// A number to 3 decimals, or in scientific form when tiny.
pub fn fmt_small(p: f64) -> String {
    if p != 0.0 && p.abs() < 0.001 {
        format!("{p:.1e}")
    } else {
        fmt_f(p, 3)
    }
}
