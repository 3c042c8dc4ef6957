//! What each normalized value contributes: filter tokens (q-grams or date parts), its exact token
//! text, and the parts of blocking keys.
//!
//! Filter tokens are prefixed by nothing: the subkey is per field, so the same q-gram in two fields
//! lands on unrelated bits.
//!
//! | kind | filter tokens |
//! | --- | --- |
//! | name | q-grams of each token padded with `_`, tokens sorted (order-insensitive) |
//! | passport | `p` + the letter prefix (if any), q-grams of the padded digit body |
//! | date | `y1990` `h995` `o995` (year and the two half-year buckets, so a ±1-year slip shares one), `m03`, `d07`, `s03.07` (day and month as an unordered pair: a swap still shares it), `p03.07` (month.day), `f1990.03.07`; a partial date gives only the parts it has |
//! | nik | q-grams of the 16 padded digits |
//! | place, text | q-grams of each padded word |
//! | sex | none (exact token only) |

use crate::normalize::date::PartialDate;
use crate::normalize::name::Name;
use crate::normalize::nik::Nik;
use crate::normalize::passport::Passport;
use crate::normalize::sex::Sex;

/// A normalized field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A name.
    Name(Name),
    /// A passport number.
    Passport(Passport),
    /// A (possibly partial) date.
    Date(PartialDate),
    /// A NIK.
    Nik(Nik),
    /// Sex.
    Sex(Sex),
    /// A place (canonical lowercase).
    Place(String),
    /// Folded text.
    Text(String),
}

/// A reusable buffer of byte tokens.
#[derive(Debug, Default)]
pub struct Tokens {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Tokens {
    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    fn push_parts(&mut self, parts: &[&[u8]]) {
        for p in parts {
            self.bytes.extend_from_slice(p);
        }
        self.ends.push(self.bytes.len());
    }

    /// The tokens.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&e| {
            let t = &self.bytes[start..e];
            start = e;
            t
        })
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Pushes the q-grams of `word` padded with `_` on both sides (by chars, so non-ASCII letters stay
/// whole).
pub fn push_qgrams(word: &str, q: usize, out: &mut Tokens) {
    if word.is_empty() {
        return;
    }
    if word.is_ascii() {
        let mut padded = [0u8; 130];
        if word.len() + 2 <= padded.len() {
            padded[0] = b'_';
            padded[1..=word.len()].copy_from_slice(word.as_bytes());
            padded[word.len() + 1] = b'_';
            let p = &padded[..word.len() + 2];
            if p.len() < q {
                out.push_parts(&[p]);
            } else {
                for w in p.windows(q) {
                    out.push_parts(&[w]);
                }
            }
            return;
        }
    }
    let chars: Vec<char> = std::iter::once('_')
        .chain(word.chars())
        .chain(std::iter::once('_'))
        .collect();
    let mut buf = [0u8; 4];
    let mut tok = Vec::with_capacity(q * 4);
    if chars.len() < q {
        for c in &chars {
            tok.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        out.push_parts(&[&tok]);
        return;
    }
    for w in chars.windows(q) {
        tok.clear();
        for c in w {
            tok.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        out.push_parts(&[&tok]);
    }
}

/// A short key naming a date's filter tokens (year, month, day; 0 for an unknown part).
pub fn date_key(d: &PartialDate) -> [u8; 6] {
    let y = d.year.to_le_bytes();
    [
        y[0],
        y[1],
        y[2],
        y[3],
        d.month.unwrap_or(0),
        d.day.unwrap_or(0),
    ]
}

fn two(n: u8) -> [u8; 2] {
    [b'0' + n / 10, b'0' + n % 10]
}

/// The filter tokens of a value.
pub fn filter_tokens(value: &Value, q: usize, out: &mut Tokens) {
    match value {
        Value::Name(n) => {
            let mut toks: Vec<&str> = n.tokens.iter().map(String::as_str).collect();
            toks.sort_unstable();
            toks.dedup();
            for t in toks {
                push_qgrams(t, q, out);
            }
        }
        Value::Passport(p) => {
            if let Some(pre) = &p.prefix {
                out.push_parts(&[b"p", pre.as_bytes()]);
            }
            push_qgrams(&p.body, q, out);
        }
        Value::Date(d) => date_tokens(d, out),
        Value::Nik(n) => push_qgrams(&n.digits, q, out),
        Value::Place(s) | Value::Text(s) => {
            for w in s.split(' ').filter(|w| !w.is_empty()) {
                push_qgrams(w, q, out);
            }
        }
        Value::Sex(_) => {}
    }
}

/// The filter tokens of a date (see the module table).
pub fn date_tokens(d: &PartialDate, out: &mut Tokens) {
    let y = d.year.to_string();
    let h = d.year.div_euclid(2).to_string();
    let o = (d.year + 1).div_euclid(2).to_string();
    out.push_parts(&[b"y", y.as_bytes()]);
    out.push_parts(&[b"h", h.as_bytes()]);
    out.push_parts(&[b"o", o.as_bytes()]);
    if let Some(m) = d.month {
        out.push_parts(&[b"m", &two(m)]);
        if let Some(day) = d.day {
            out.push_parts(&[b"d", &two(day)]);
            let (a, b) = if day <= m { (day, m) } else { (m, day) };
            out.push_parts(&[b"s", &two(a), b".", &two(b)]);
            out.push_parts(&[b"p", &two(m), b".", &two(day)]);
            out.push_parts(&[b"f", y.as_bytes(), b".", &two(m), b".", &two(day)]);
        }
    }
}

/// The text of a value's exact token, or `None` when the value is too partial to be exact (a
/// partial date).
pub fn exact_text(value: &Value) -> Option<String> {
    match value {
        Value::Name(n) => Some(n.sorted_key()),
        // Compared on the body so a lost letter prefix still agrees.
        Value::Passport(p) => Some(p.body.clone()),
        Value::Date(d) => d.is_full().then(|| d.iso()),
        Value::Nik(n) => Some(n.digits.clone()),
        Value::Sex(s) => Some(s.code().to_string()),
        Value::Place(s) | Value::Text(s) => Some(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(t: &Tokens) -> Vec<String> {
        t.iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn qgrams_are_padded() {
        let mut t = Tokens::default();
        push_qgrams("ani", 2, &mut t);
        assert_eq!(collect(&t), ["_a", "an", "ni", "i_"]);
        t.clear();
        push_qgrams("é", 3, &mut t);
        assert_eq!(collect(&t), ["_é_"]);
    }

    #[test]
    fn date_swap_and_year_slip_share_tokens_a_different_date_does_not() {
        let toks = |y, m, d| {
            let mut t = Tokens::default();
            date_tokens(
                &PartialDate {
                    year: y,
                    month: Some(m),
                    day: Some(d),
                },
                &mut t,
            );
            collect(&t)
        };
        let share = |a: &[String], b: &[String]| a.iter().filter(|x| b.contains(x)).count();
        let base = toks(1990, 3, 7);
        assert_eq!(base.len(), 8);
        assert_eq!(share(&base, &toks(1990, 7, 3)), 4); // y h o s
        assert_eq!(share(&base, &toks(1991, 3, 7)), 5); // one of h/o, m d s p
        assert_eq!(share(&base, &toks(1989, 3, 7)), 5);
        assert_eq!(share(&base, &toks(1975, 11, 21)), 0);
    }
}
