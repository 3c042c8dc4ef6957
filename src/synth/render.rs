//! How an agency writes a person down: spelling variants, honorifics, typos, date and code
//! formats, passport OCR slips, NIK mistypes.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::population::lists::{MONTHS_ID, MONTHS_ID_SHORT, PLACES};
use crate::population::person::{days_in_month, Person, Sex, Ymd};

/// How an agency capitalizes names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// `SITI AMINAH`
    Upper,
    /// `Siti Aminah`
    Title,
}

/// How an agency writes dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateFmt {
    /// `07/03/1990`
    DmySlash,
    /// `07-03-1990`
    DmyDash,
    /// `1990-03-07`
    Iso,
    /// `7 Maret 1990` (sometimes `7 Mar 1990`)
    IndoMonth,
    /// `07/03/90`
    DmyShortYear,
    /// `07/03/1990`, some cells exported as spreadsheet serial numbers (`32939`)
    DmySlashSerial,
}

/// How an agency writes regencies and cities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlaceFmt {
    /// Mostly the bare name (`Kupang`), sometimes `Kab. Kupang`.
    Bare,
    /// `Kab. Kupang` / `Kota Kupang`, sometimes bare.
    Short,
    /// `Kabupaten Kupang` / `Kota Kupang`, sometimes bare.
    Long,
}

/// A date as written, possibly partial.
#[derive(Debug, Clone, Copy)]
enum Partial {
    Full(Ymd),
    NoDay(i32, u32),
    YearOnly(i32),
}

/// Upper case of a name (letters with accents keep them).
fn upper(s: &str) -> String {
    s.to_uppercase()
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = c == ' ' || c == '-' || c == '\'';
    }
    // Particles stay lower case.
    out.replace(" Bin ", " bin ").replace(" Binti ", " binti ")
}

/// ASCII folding for systems that drop accents (immigration MRZ-style, police).
pub(crate) fn fold_accents(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'A',
            'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
            'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'O',
            'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
            'Ñ' => 'N',
            'Ç' => 'C',
            other => other,
        })
        .collect()
}

/// QWERTY neighbours of a lower-case letter.
fn neighbours(c: char) -> &'static str {
    match c {
        'q' => "wa",
        'w' => "qes",
        'e' => "wrd",
        'r' => "etf",
        't' => "ryg",
        'y' => "tuh",
        'u' => "yij",
        'i' => "uok",
        'o' => "ipl",
        'p' => "o",
        'a' => "qsz",
        's' => "adw",
        'd' => "sfe",
        'f' => "dgr",
        'g' => "fht",
        'h' => "gjy",
        'j' => "hku",
        'k' => "jli",
        'l' => "ko",
        'z' => "xa",
        'x' => "zc",
        'c' => "xv",
        'v' => "cb",
        'b' => "vn",
        'n' => "bm",
        'm' => "n",
        _ => "",
    }
}

/// One typo in a word: keyboard substitution, deletion, transposition, doubled letter, or a
/// spelling-by-ear slip (f/p, z/j, kh/k, sy/s, dh/d).
pub(crate) fn typo(rng: &mut ChaCha8Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_string();
    }
    // Keep the first letter most of the time, as people do.
    let i = rng.random_range(1..chars.len());
    match rng.random_range(0..6) {
        0 | 1 => {
            let lower = chars[i].to_lowercase().next().unwrap_or(chars[i]);
            let n = neighbours(lower);
            if !n.is_empty() {
                let k = rng.random_range(0..n.len());
                let mut r = n.as_bytes()[k] as char;
                if chars[i].is_uppercase() {
                    r = r.to_ascii_uppercase();
                }
                chars[i] = r;
            }
        }
        2 => {
            chars.remove(i);
        }
        3 => {
            if i + 1 < chars.len() {
                chars.swap(i, i + 1);
            } else {
                chars.swap(i - 1, i);
            }
        }
        4 => {
            let c = chars[i];
            if c.is_alphabetic() {
                chars.insert(i, c);
            }
        }
        _ => {
            let w: String = chars.iter().collect();
            for (a, b) in [
                ("f", "p"),
                ("z", "j"),
                ("kh", "k"),
                ("sy", "s"),
                ("dh", "d"),
                ("v", "f"),
                ("ie", "i"),
                ("u", "o"),
            ] {
                if w.contains(a) {
                    return w.replacen(a, b, 1);
                }
            }
            chars.remove(i);
        }
    }
    chars.into_iter().collect()
}

/// The pre-1972 (and pre-1947) spelling of a modern one: u → oe, j → dj, y → j, c → tj,
/// kh → ch, sy → sj.
fn old_spelling(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        let next = it.peek().copied();
        match (c, next) {
            ('k', Some('h')) => {
                out.push('c');
            }
            ('K', Some('h')) => {
                out.push('C');
            }
            ('s', Some('y')) | ('S', Some('y')) => {
                out.push(c);
                out.push('j');
                it.next();
            }
            ('u', _) => out.push_str("oe"),
            ('U', _) => out.push_str("Oe"),
            ('j', _) => out.push_str("dj"),
            ('J', _) => out.push_str("Dj"),
            ('y', _) => out.push('j'),
            ('Y', _) => out.push('J'),
            ('c', _) => out.push_str("tj"),
            ('C', _) => out.push_str("Tj"),
            _ => out.push(c),
        }
    }
    out
}

fn muhammad(rng: &mut ChaCha8Rng) -> &'static str {
    match rng.random_range(0..100) {
        0..=39 => "Muhammad",
        40..=54 => "Mohammad",
        55..=69 => "Muhamad",
        70..=77 => "Mochammad",
        78..=85 => "Moch.",
        _ => "M.",
    }
}

/// Per-agency name habits.
pub(crate) struct NameStyle {
    pub case: Case,
    pub fold_accents: bool,
    pub honorific_rate: f64,
    pub patronym_rate: f64,
}

/// Renders a person's name as one agency writes it, with `err` the chance of each kind of error.
pub(crate) fn name(rng: &mut ChaCha8Rng, p: &Person, style: &NameStyle, err: f64) -> String {
    let mut tokens: Vec<String> = Vec::with_capacity(p.tokens.len() + 3);
    let skip_prefix = p.balinese_prefix && rng.random_bool(0.35);
    for (i, t) in p.tokens.iter().enumerate() {
        if i == 0 && skip_prefix {
            continue;
        }
        if *t == "Muhammad" {
            tokens.push(muhammad(rng).to_string());
        } else {
            tokens.push((*t).to_string());
        }
    }
    // Siti / Nur / Sri written joined to the next token, or a Nur... name split.
    if tokens.len() >= 2 && matches!(tokens[0].as_str(), "Siti" | "Nur" | "Sri" | "Nurul") {
        if rng.random_bool(0.15) {
            let next = tokens.remove(1).to_lowercase();
            tokens[0].push_str(&next);
        }
    } else if let Some(t) = tokens
        .iter_mut()
        .find(|t| t.starts_with("Nur") && t.len() > 5)
    {
        if rng.random_bool(0.2) {
            let rest = t[3..].to_string();
            let mut cap = rest[..1].to_uppercase();
            cap.push_str(&rest[1..]);
            *t = format!("Nur {cap}");
        }
    }
    let old = if p.old_spelling { 0.6 } else { 0.02 };
    if rng.random_bool(old) {
        for t in tokens.iter_mut() {
            *t = old_spelling(t);
        }
    }
    if p.muslim && rng.random_bool(style.patronym_rate) {
        tokens.push(if p.sex == Sex::Female { "binti" } else { "bin" }.to_string());
        tokens.push(p.father.to_string());
    }
    if tokens.len() >= 3 && rng.random_bool(err * 0.6) {
        let i = rng.random_range(1..tokens.len());
        tokens.remove(i);
    } else if tokens.len() == 2 && rng.random_bool(err * 0.2) {
        tokens.pop();
    }
    if tokens.len() >= 2 && rng.random_bool(err * 0.4) {
        let n = tokens.len();
        tokens.swap(0, n - 1);
    }
    if rng.random_bool(err) {
        let i = rng.random_range(0..tokens.len());
        tokens[i] = typo(rng, &tokens[i]);
        if rng.random_bool(0.2) {
            let j = rng.random_range(0..tokens.len());
            tokens[j] = typo(rng, &tokens[j]);
        }
    }
    let mut s = tokens.join(" ");
    if rng.random_bool(style.honorific_rate) {
        let h = match (p.sex, p.muslim) {
            (Sex::Female, true) => ["Ibu", "Ny.", "Sdri.", "Hj."][rng.random_range(0..4)],
            (Sex::Female, false) => ["Ibu", "Ny.", "Sdri."][rng.random_range(0..3)],
            (Sex::Male, true) => ["Bpk.", "Sdr.", "H."][rng.random_range(0..3)],
            (Sex::Male, false) => ["Bpk.", "Sdr."][rng.random_range(0..2)],
        };
        s = format!("{h} {s}");
    }
    if rng.random_bool(0.01) {
        let d = [", S.Pd.", ", S.E.", ", A.Md.", ", S.Kom.", ", A.Md.Keb."][rng.random_range(0..5)];
        s.push_str(d);
    }
    if style.fold_accents {
        s = fold_accents(&s);
    }
    match rng.random_range(0..100) {
        0 => s.to_lowercase(),
        1 if style.case == Case::Upper => title(&s),
        1 => upper(&s),
        _ => match style.case {
            Case::Upper => upper(&s),
            Case::Title => title(&s),
        },
    }
}

/// Renders a birth date in an agency's format onto `out`, with errors at rate `err` and partial
/// dates at rate `partial`.
pub(crate) fn date(
    rng: &mut ChaCha8Rng,
    dob: Ymd,
    fmt: DateFmt,
    err: f64,
    partial: f64,
    out: &mut String,
) {
    use std::fmt::Write;
    let mut d = dob;
    if rng.random_bool(err) {
        match rng.random_range(0..10) {
            0..=3 if d.d <= 12 && d.d != d.m => std::mem::swap(&mut d.d, &mut d.m),
            0..=6 => d = d.with_year(d.y + if rng.random_bool(0.5) { 1 } else { -1 }),
            _ => {
                let dd = if d.d > 2 && rng.random_bool(0.5) {
                    d.d - rng.random_range(1..=2)
                } else {
                    d.d + rng.random_range(1..=2)
                };
                d.d = dd.min(days_in_month(d.y, d.m));
            }
        }
    }
    let v = if rng.random_bool(partial) {
        if rng.random_bool(0.5) {
            Partial::YearOnly(d.y)
        } else {
            Partial::NoDay(d.y, d.m)
        }
    } else {
        Partial::Full(d)
    };
    let _ = match (fmt, v) {
        (_, Partial::YearOnly(y)) => write!(out, "{y}"),
        (DateFmt::DmySlash | DateFmt::DmySlashSerial, Partial::NoDay(y, m)) => {
            write!(out, "00/{m:02}/{y}")
        }
        (DateFmt::DmySlashSerial, Partial::Full(d)) if rng.random_bool(0.2) => {
            write!(out, "{}", d.spreadsheet_serial())
        }
        (DateFmt::DmySlash | DateFmt::DmySlashSerial, Partial::Full(d)) => {
            write!(out, "{:02}/{:02}/{}", d.d, d.m, d.y)
        }
        (DateFmt::DmyDash, Partial::NoDay(y, m)) => write!(out, "00-{m:02}-{y}"),
        (DateFmt::DmyDash, Partial::Full(d)) => write!(out, "{:02}-{:02}-{}", d.d, d.m, d.y),
        (DateFmt::Iso, Partial::NoDay(y, m)) => write!(out, "{y}-{m:02}-00"),
        (DateFmt::Iso, Partial::Full(d)) => write!(out, "{}-{:02}-{:02}", d.y, d.m, d.d),
        (DateFmt::IndoMonth, Partial::NoDay(y, m)) => {
            write!(out, "{} {y}", MONTHS_ID[m as usize - 1])
        }
        (DateFmt::IndoMonth, Partial::Full(d)) => {
            let month = if rng.random_bool(0.2) {
                MONTHS_ID_SHORT[d.m as usize - 1]
            } else {
                MONTHS_ID[d.m as usize - 1]
            };
            write!(out, "{} {month} {}", d.d, d.y)
        }
        (DateFmt::DmyShortYear, Partial::NoDay(y, m)) => {
            write!(out, "00/{m:02}/{:02}", y.rem_euclid(100))
        }
        (DateFmt::DmyShortYear, Partial::Full(d)) => {
            write!(out, "{:02}/{:02}/{:02}", d.d, d.m, d.y.rem_euclid(100))
        }
    };
}

/// Per-agency passport habits.
pub(crate) struct PassportStyle {
    /// Chance the letter prefix is lost.
    pub lost_prefix: f64,
    /// Chance of `B 1234567` / `B-1234567`.
    pub separated: f64,
}

/// Renders a passport number, with OCR slips and typos at rate `err`.
pub(crate) fn passport(rng: &mut ChaCha8Rng, number: &str, st: &PassportStyle, err: f64) -> String {
    let mut chars: Vec<char> = number.chars().collect();
    if rng.random_bool(err) {
        // OCR slip in the digit part, or a mistyped digit.
        let candidates: Vec<usize> = (1..chars.len())
            .filter(|&i| matches!(chars[i], '0' | '1' | '5' | '8' | '2' | '6'))
            .collect();
        if !candidates.is_empty() && rng.random_bool(0.7) {
            let i = candidates[rng.random_range(0..candidates.len())];
            chars[i] = match chars[i] {
                '0' => 'O',
                '1' => ['I', 'L'][rng.random_range(0..2)],
                '5' => 'S',
                '8' => 'B',
                '2' => 'Z',
                _ => 'G',
            };
        } else {
            let i = rng.random_range(1..chars.len());
            let d = chars[i].to_digit(10).unwrap_or(0);
            chars[i] = char::from_digit((d + rng.random_range(1..10)) % 10, 10).unwrap_or('0');
        }
    }
    let mut prefix: String = chars[..1].iter().collect();
    let digits: String = chars[1..].iter().collect();
    if rng.random_bool(st.lost_prefix) {
        prefix.clear();
    }
    let mut s = if !prefix.is_empty() && rng.random_bool(st.separated) {
        let sep = if rng.random_bool(0.5) { " " } else { "-" };
        format!("{prefix}{sep}{digits}")
    } else {
        format!("{prefix}{digits}")
    };
    if rng.random_bool(0.02) {
        s = s.to_lowercase();
    }
    s
}

/// Renders a NIK, with a one-digit mistype (or a transposition) at rate `err`; `text_marker`
/// is the chance of a leading apostrophe (spreadsheet text marker).
pub(crate) fn nik(rng: &mut ChaCha8Rng, nik: &str, err: f64, text_marker: f64) -> String {
    let mut b: Vec<u8> = nik.as_bytes().to_vec();
    if rng.random_bool(err) {
        let i = rng.random_range(0..b.len() - 1);
        if rng.random_bool(0.3) && b[i] != b[i + 1] {
            b.swap(i, i + 1);
        } else {
            let d = b[i] - b'0';
            b[i] = b'0' + (d + rng.random_range(1..10)) % 10;
        }
    }
    let s = String::from_utf8(b).unwrap_or_default();
    if rng.random_bool(text_marker) {
        format!("'{s}")
    } else {
        s
    }
}

/// Renders a birth place in an agency's style, with typos at rate `err`.
pub(crate) fn place(
    rng: &mut ChaCha8Rng,
    idx: usize,
    fmt: PlaceFmt,
    case: Case,
    err: f64,
) -> String {
    let p = &PLACES[idx];
    let mut name = p.name.to_string();
    if rng.random_bool(err) {
        name = typo(rng, &name);
    }
    let styled = match fmt {
        PlaceFmt::Bare => rng.random_bool(0.8),
        PlaceFmt::Short | PlaceFmt::Long => rng.random_bool(0.15),
    };
    let s = if styled {
        name
    } else {
        let long = match fmt {
            PlaceFmt::Long => rng.random_bool(0.85),
            _ => rng.random_bool(0.15),
        };
        let prefix = match (p.city, long) {
            (true, _) => "Kota",
            (false, true) => "Kabupaten",
            (false, false) => "Kab.",
        };
        format!("{prefix} {name}")
    };
    match case {
        Case::Upper => upper(&s),
        Case::Title => s,
    }
}

/// The sex code an agency uses, with a flipped code at rate `err`.
pub(crate) fn sex(
    rng: &mut ChaCha8Rng,
    s: Sex,
    codes: (&'static str, &'static str),
    err: f64,
) -> &'static str {
    let s = if rng.random_bool(err) {
        match s {
            Sex::Female => Sex::Male,
            Sex::Male => Sex::Female,
        }
    } else {
        s
    };
    match s {
        Sex::Female => codes.0,
        Sex::Male => codes.1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_spelling_maps_modern_to_old() {
        assert_eq!(old_spelling("Sukarni"), "Soekarni");
        assert_eq!(old_spelling("Juminten"), "Djoeminten");
        assert_eq!(old_spelling("Syarifah"), "Sjarifah");
        assert_eq!(old_spelling("Khadijah"), "Chadidjah");
        assert_eq!(old_spelling("Cucu"), "Tjoetjoe");
    }

    #[test]
    fn title_case_keeps_particles() {
        assert_eq!(title("SITI AMINAH BINTI HASAN"), "Siti Aminah binti Hasan");
    }
}
