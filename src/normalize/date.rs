//! Dates (of birth) → [`PartialDate`].
//!
//! Accepted forms (separators `/ - .`, `,` or spaces, or none):
//!
//! * **Numeric, in the agency's [`DateOrder`]:** `07/03/1990`, `7-3-90`, `07.03.1990`;
//!   8 digits without separators (`07031990` dmy, `03071990` mdy, `19900307` ymd); 6 digits with
//!   a two-digit year (`070390`).
//! * **A four-digit year decides where the year is:** first (`1990-03-07`, ISO, read Y-M-D in every
//!   order) or last (read D-M-Y for `dmy` **and** `ymd`, M-D-Y for `mdy`).
//! * **Month names**, Indonesian and English, full or abbreviated, any case: `7 Maret 1990`,
//!   `07-Mar-1990`, `March 7, 1990`, `7th March 1990`, `1990 Mar 7`, `Maret 1990`. `Mei`/`May`,
//!   `Februari`/`Pebruari`/`Peb`, `Agustus`/`Agu`/`Agt`/`Ags`, `Nopember`/`Nop`, `Desember`/`Des`…
//! * **Timestamps:** anything from the first `:` on is a time and is dropped with its hour
//!   (`1990-03-07T00:00:00`, `1990-03-07 00:00:00`, `07/03/1990 00:00`).
//! * **Spreadsheet serials:** a plain integer of 1, 2, 3 or 5 digits in `1..=73050`, optionally
//!   with a fraction (`32939`, `32939.0`), is a day number in Excel's 1900 date system, including
//!   its phantom 1900-02-29 (serial 60, rejected as impossible). Four-digit integers are years,
//!   never serials.
//! * **Partial dates** stay partial: a year (`1990`), a month and year (`03/1990`, `1990-03`,
//!   `Maret 1990`), or `00` for an unknown day or month (`00/03/1990` → 1990-03, `00/00/1990` →
//!   1990). A known day with an unknown month (`07/00/1990`) keeps only the year.
//!
//! **Two-digit years:** `00..=year_pivot` → 20xx, the others → 19xx (default pivot 30).
//!
//! **No silent swapping:** the order is the agency's promise. `13/25/1990` in a `dmy` extract is
//! month 25 → `date_impossible`, even though `mdy` would read it; a swap would hide a column-map
//! mistake and could mis-link. Days beyond the month (31 February) and months above 12 are
//! `date_impossible`; years outside `min_year..=max_year` are `date_out_of_range`; anything else
//! that is not a date is `date_unparseable`.

use super::Reason;
use crate::schema::{DateOrder, FieldOptions};

/// A date whose day, or day and month, may be unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartialDate {
    /// The year (four digits after the pivot is applied).
    pub year: i32,
    /// The month 1..=12, if known.
    pub month: Option<u8>,
    /// The day 1..=31, only if the month is known too.
    pub day: Option<u8>,
}

impl PartialDate {
    /// Whether year, month and day are all known.
    pub fn is_full(&self) -> bool {
        self.month.is_some() && self.day.is_some()
    }

    /// ISO form: `1990-03-07`, `1990-03` or `1990`.
    pub fn iso(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{:04}-{:02}-{:02}", self.year, m, d),
            (Some(m), None) => format!("{:04}-{:02}", self.year, m),
            _ => format!("{:04}", self.year),
        }
    }
}

/// Days in a month of a (proleptic Gregorian) year.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// One token of a date: a number (value, digit count) or a month name.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Num(u32, u8),
    Month(u8),
}

/// Month names and abbreviations (lowercase), Indonesian and English.
fn month_word(w: &str) -> Option<u8> {
    Some(match w {
        "januari" | "january" | "jan" => 1,
        "februari" | "pebruari" | "february" | "feb" | "peb" | "febr" => 2,
        "maret" | "march" | "mar" | "mrt" => 3,
        "april" | "apr" => 4,
        "mei" | "may" => 5,
        "juni" | "june" | "jun" => 6,
        "juli" | "july" | "jul" => 7,
        "agustus" | "august" | "agu" | "agt" | "ags" | "aug" | "agus" => 8,
        "september" | "sep" | "sept" | "sepember" => 9,
        "oktober" | "october" | "okt" | "oct" => 10,
        "november" | "nopember" | "nov" | "nop" => 11,
        "desember" | "december" | "des" | "dec" => 12,
        _ => return None,
    })
}

/// Splits into at most 4 tokens; `None` when a character or word is not part of a date.
fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let b = s.as_bytes();
    let mut toks = Vec::with_capacity(3);
    let mut i = 0;
    let mut word = [0u8; 12];
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            let st = i;
            let mut v: u32 = 0;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - st >= 9 {
                    return None;
                }
                v = v * 10 + u32::from(b[i] - b'0');
                i += 1;
            }
            toks.push(Tok::Num(v, (i - st) as u8));
        } else if c.is_ascii_alphabetic() {
            let st = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            let len = i - st;
            if len > word.len() {
                return None;
            }
            for (k, &x) in b[st..i].iter().enumerate() {
                word[k] = x.to_ascii_lowercase();
            }
            let w = std::str::from_utf8(&word[..len]).ok()?;
            match month_word(w) {
                Some(m) => toks.push(Tok::Month(m)),
                // ordinal suffixes after a day number: 7th, 1st, 2nd, 3rd
                None if matches!(w, "st" | "nd" | "rd" | "th")
                    && matches!(toks.last(), Some(Tok::Num(_, 1 | 2))) => {}
                None => return None,
            }
        } else if matches!(c, b'/' | b'-' | b'.' | b',' | b' ' | b'\t') {
            i += 1;
        } else {
            return None;
        }
        if toks.len() > 4 {
            return None;
        }
    }
    Some(toks)
}

/// Parses a date cell in the agency's order.
pub fn parse(raw: &str, order: DateOrder, opts: &FieldOptions) -> Result<PartialDate, Reason> {
    let mut s = raw.trim();
    if s.is_empty() {
        return Err(Reason::DateEmpty);
    }
    // Drop a time part: from the hour before the first ':' on.
    if let Some(colon) = s.find(':') {
        let head = s[..colon].trim_end_matches(|c: char| c.is_ascii_digit());
        s = head.trim_end_matches(['T', 't', ' ']).trim_end();
        if s.is_empty() {
            return Err(Reason::DateUnparseable);
        }
    }
    if !s.is_ascii() {
        return Err(Reason::DateUnparseable);
    }
    let toks = tokenize(s).ok_or(Reason::DateUnparseable)?;
    let year2 = |v: u32| -> i32 {
        if v <= opts.year_pivot {
            2000 + v as i32
        } else {
            1900 + v as i32
        }
    };
    let year = |v: u32, n: u8| -> Result<i32, Reason> {
        match n {
            4 => Ok(v as i32),
            1 | 2 => Ok(year2(v)),
            _ => Err(Reason::DateUnparseable),
        }
    };
    let small = |n: u8| n == 1 || n == 2;
    use Tok::*;
    let (y, m, d): (i32, u32, u32) = match toks.as_slice() {
        [] => return Err(Reason::DateUnparseable),
        [Num(v, n)] => match n {
            4 => (*v as i32, 0, 0),
            8 => {
                let (a, b, c) = (v / 1_000_000, v / 10_000 % 100, v % 10_000);
                let (p, q, r) = (v / 10_000, v / 100 % 100, v % 100);
                match order {
                    DateOrder::Dmy => (c as i32, b, a),
                    DateOrder::Mdy => (c as i32, a, b),
                    DateOrder::Ymd => (p as i32, q, r),
                }
            }
            6 => {
                let (a, b, c) = (v / 10_000, v / 100 % 100, v % 100);
                match order {
                    DateOrder::Dmy => (year2(c), b, a),
                    DateOrder::Mdy => (year2(c), a, b),
                    DateOrder::Ymd => (year2(a), b, c),
                }
            }
            1..=3 | 5 => return serial(*v, opts),
            _ => return Err(Reason::DateUnparseable),
        },
        // serial with a fraction: 32939.0, 32939.5
        [Num(v, 5), Num(_, _)] if s.bytes().filter(|&c| c == b'.').count() == 1 => {
            return serial(*v, opts)
        }
        [Num(a, 4), Num(b, nb)] if small(*nb) => (*a as i32, *b, 0),
        [Num(a, na), Num(b, nb)] if order == DateOrder::Ymd && small(*na) && small(*nb) => {
            (year2(*a), *b, 0)
        }
        [Num(a, na), Num(b, nb)] if small(*na) => (year(*b, *nb)?, *a, 0),
        [Num(a, 4), Num(b, nb), Num(c, nc)] if small(*nb) && small(*nc) => (*a as i32, *b, *c),
        [Num(a, na), Num(b, nb), Num(c, nc)] if small(*na) && small(*nb) => {
            let yy = match nc {
                4 => *c as i32,
                1 | 2 if order != DateOrder::Ymd => year2(*c),
                1 | 2 => year2(*a),
                _ => return Err(Reason::DateUnparseable),
            };
            match (order, nc) {
                (DateOrder::Mdy, _) => (yy, *a, *b),
                (DateOrder::Ymd, 1 | 2) => (yy, *b, *c),
                _ => (yy, *b, *a),
            }
        }
        // month names
        [Month(m), Num(y, ny)] => (year(*y, *ny)?, u32::from(*m), 0),
        [Num(y, 4), Month(m)] => (*y as i32, u32::from(*m), 0),
        [Num(d, nd), Month(m), Num(y, ny)] if small(*nd) => (year(*y, *ny)?, u32::from(*m), *d),
        [Num(y, 4), Month(m), Num(d, nd)] if small(*nd) => (*y as i32, u32::from(*m), *d),
        [Month(m), Num(d, nd), Num(y, ny)] if small(*nd) => (year(*y, *ny)?, u32::from(*m), *d),
        _ => return Err(Reason::DateUnparseable),
    };
    finish(y, m, d, opts)
}

/// Validates and builds; `0` month or day means unknown.
fn finish(y: i32, m: u32, d: u32, opts: &FieldOptions) -> Result<PartialDate, Reason> {
    if m > 12 || d > 31 {
        return Err(Reason::DateImpossible);
    }
    let month = (m != 0).then_some(m as u8);
    let day = match month {
        Some(mm) if d != 0 => {
            if d as u8 > days_in_month(y, mm) {
                return Err(Reason::DateImpossible);
            }
            Some(d as u8)
        }
        _ => None,
    };
    if y < opts.min_year || y > opts.max_year {
        return Err(Reason::DateOutOfRange);
    }
    Ok(PartialDate {
        year: y,
        month,
        day,
    })
}

/// Excel 1900 date system: serial 1 = 1900-01-01, 60 = the phantom 1900-02-29.
fn serial(v: u32, opts: &FieldOptions) -> Result<PartialDate, Reason> {
    use chrono::{Datelike, NaiveDate};
    if !(1..=73050).contains(&v) {
        return Err(Reason::DateUnparseable);
    }
    if v == 60 {
        return Err(Reason::DateImpossible);
    }
    let base = if v < 60 {
        NaiveDate::from_ymd_opt(1899, 12, 31)
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30)
    }
    .ok_or(Reason::DateUnparseable)?;
    let date = base
        .checked_add_days(chrono::Days::new(u64::from(v)))
        .ok_or(Reason::DateUnparseable)?;
    finish(date.year(), date.month(), date.day(), opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pd(y: i32, m: Option<u8>, d: Option<u8>) -> PartialDate {
        PartialDate {
            year: y,
            month: m,
            day: d,
        }
    }

    #[test]
    fn table() {
        use DateOrder::*;
        use Reason::*;
        let full = |y, m, d| Ok(pd(y, Some(m), Some(d)));
        let ym = |y, m| Ok(pd(y, Some(m), None));
        let yo = |y| Ok(pd(y, None, None));
        let rows: Vec<(&str, DateOrder, Result<PartialDate, Reason>)> = vec![
            ("07/03/1990", Dmy, full(1990, 3, 7)),
            ("7/3/1990", Dmy, full(1990, 3, 7)),
            ("07-03-1990", Dmy, full(1990, 3, 7)),
            ("07.03.1990", Dmy, full(1990, 3, 7)),
            ("07 03 1990", Dmy, full(1990, 3, 7)),
            ("03/07/1990", Mdy, full(1990, 3, 7)),
            ("1990/03/07", Ymd, full(1990, 3, 7)),
            ("1990-03-07", Dmy, full(1990, 3, 7)),
            ("1990-03-07", Mdy, full(1990, 3, 7)),
            ("07/03/1990", Ymd, full(1990, 3, 7)),
            ("07031990", Dmy, full(1990, 3, 7)),
            ("03071990", Mdy, full(1990, 3, 7)),
            ("19900307", Ymd, full(1990, 3, 7)),
            ("070390", Dmy, full(1990, 3, 7)),
            ("030790", Mdy, full(1990, 3, 7)),
            ("900307", Ymd, full(1990, 3, 7)),
            ("07/03/90", Dmy, full(1990, 3, 7)),
            ("07/03/05", Dmy, full(2005, 3, 7)),
            ("07/03/30", Dmy, full(2030, 3, 7)),
            ("07/03/31", Dmy, full(1931, 3, 7)),
            ("90/03/07", Ymd, full(1990, 3, 7)),
            // month names
            ("7 Maret 1990", Dmy, full(1990, 3, 7)),
            ("7 maret 1990", Mdy, full(1990, 3, 7)),
            ("07-Mar-1990", Dmy, full(1990, 3, 7)),
            ("07-MAR-90", Dmy, full(1990, 3, 7)),
            ("March 7, 1990", Dmy, full(1990, 3, 7)),
            ("7th March 1990", Dmy, full(1990, 3, 7)),
            ("1990 Mar 07", Dmy, full(1990, 3, 7)),
            ("1 Januari 2000", Dmy, full(2000, 1, 1)),
            ("29 Pebruari 2000", Dmy, full(2000, 2, 29)),
            ("3 Peb 1985", Dmy, full(1985, 2, 3)),
            ("3 Feb 1985", Dmy, full(1985, 2, 3)),
            ("1 April 1985", Dmy, full(1985, 4, 1)),
            ("1 Mei 1985", Dmy, full(1985, 5, 1)),
            ("1 May 1985", Dmy, full(1985, 5, 1)),
            ("1 Juni 1985", Dmy, full(1985, 6, 1)),
            ("1 Juli 1985", Dmy, full(1985, 7, 1)),
            ("17 Agustus 1945", Dmy, full(1945, 8, 17)),
            ("17 Agt 1945", Dmy, full(1945, 8, 17)),
            ("17 Ags 1945", Dmy, full(1945, 8, 17)),
            ("17 Agu 1945", Dmy, full(1945, 8, 17)),
            ("17 Aug 1945", Dmy, full(1945, 8, 17)),
            ("1 Sept 1985", Dmy, full(1985, 9, 1)),
            ("1 Okt 1985", Dmy, full(1985, 10, 1)),
            ("1 Oct 1985", Dmy, full(1985, 10, 1)),
            ("10 Nopember 1985", Dmy, full(1985, 11, 10)),
            ("10 Nop 1985", Dmy, full(1985, 11, 10)),
            ("25 Desember 1985", Dmy, full(1985, 12, 25)),
            ("25 Des 1985", Dmy, full(1985, 12, 25)),
            ("25 Dec 1985", Dmy, full(1985, 12, 25)),
            ("Maret 1990", Dmy, ym(1990, 3)),
            // timestamps
            ("1990-03-07T00:00:00", Dmy, full(1990, 3, 7)),
            ("1990-03-07 00:00:00", Dmy, full(1990, 3, 7)),
            ("1990-03-07T00:00:00.000Z", Ymd, full(1990, 3, 7)),
            ("07/03/1990 00:00", Dmy, full(1990, 3, 7)),
            // serials
            ("32939", Dmy, full(1990, 3, 7)),
            ("32939.0", Dmy, full(1990, 3, 7)),
            ("1", Dmy, full(1900, 1, 1)),
            ("59", Dmy, full(1900, 2, 28)),
            ("60", Dmy, Err(DateImpossible)),
            ("61", Dmy, full(1900, 3, 1)),
            ("36526", Dmy, full(2000, 1, 1)),
            ("73050", Dmy, Err(DateOutOfRange)),
            ("99999", Dmy, Err(DateUnparseable)),
            // partial
            ("1990", Dmy, yo(1990)),
            ("00/03/1990", Dmy, ym(1990, 3)),
            ("00/00/1990", Dmy, yo(1990)),
            ("07/00/1990", Dmy, yo(1990)),
            ("03/1990", Dmy, ym(1990, 3)),
            ("03/1990", Mdy, ym(1990, 3)),
            ("1990-03", Dmy, ym(1990, 3)),
            ("1990-03", Ymd, ym(1990, 3)),
            ("90-03", Ymd, ym(1990, 3)),
            ("03/90", Dmy, ym(1990, 3)),
            ("00-00-1990", Dmy, yo(1990)),
            ("00031990", Dmy, ym(1990, 3)),
            // impossible: order is followed, never swapped
            ("31/02/1990", Dmy, Err(DateImpossible)),
            ("29/02/1990", Dmy, Err(DateImpossible)),
            ("29/02/2000", Dmy, full(2000, 2, 29)),
            ("13/25/1990", Dmy, Err(DateImpossible)),
            ("25/13/1990", Mdy, Err(DateImpossible)),
            ("07/13/1990", Dmy, Err(DateImpossible)),
            ("32/01/1990", Dmy, Err(DateImpossible)),
            ("31 April 1990", Dmy, Err(DateImpossible)),
            // out of range
            ("07/03/1850", Dmy, Err(DateOutOfRange)),
            ("07/03/2099", Dmy, Err(DateOutOfRange)),
            ("0000", Dmy, Err(DateOutOfRange)),
            // unparseable
            ("", Dmy, Err(DateEmpty)),
            ("   ", Dmy, Err(DateEmpty)),
            ("kemarin", Dmy, Err(DateUnparseable)),
            ("07/03/1990/5", Dmy, Err(DateUnparseable)),
            ("7 Foo 1990", Dmy, Err(DateUnparseable)),
            ("0", Dmy, Err(DateUnparseable)),
            ("1234567", Dmy, Err(DateUnparseable)),
            ("07/03/199", Dmy, Err(DateUnparseable)),
            ("07#03#1990", Dmy, Err(DateUnparseable)),
            ("07/03/١٩٩٠", Dmy, Err(DateUnparseable)),
            ("12:30", Dmy, Err(DateUnparseable)),
            ("Maret", Dmy, Err(DateUnparseable)),
        ];
        let opts = FieldOptions::default();
        for (input, order, want) in rows {
            assert_eq!(parse(input, order, &opts), want, "row {input:?} {order:?}");
        }
    }

    #[test]
    fn pivot_and_range_follow_options() {
        let opts = FieldOptions {
            year_pivot: 10,
            min_year: 1950,
            max_year: 2010,
            ..Default::default()
        };
        assert_eq!(
            parse("01/01/15", DateOrder::Dmy, &opts),
            Err(Reason::DateOutOfRange)
        );
        assert_eq!(parse("01/01/10", DateOrder::Dmy, &opts).unwrap().year, 2010);
    }

    #[test]
    fn iso_and_full() {
        assert_eq!(pd(1990, Some(3), Some(7)).iso(), "1990-03-07");
        assert_eq!(pd(1990, Some(3), None).iso(), "1990-03");
        assert_eq!(pd(1990, None, None).iso(), "1990");
        assert!(pd(1990, Some(3), Some(7)).is_full());
        assert!(!pd(1990, Some(3), None).is_full());
    }

    proptest! {
        #[test]
        fn iso_round_trips(y in 1900i32..=2030, m in 0u8..=12, d in 0u8..=31) {
            let month = (m != 0).then_some(m);
            let day = month.and_then(|mm| (d != 0 && d <= days_in_month(y, mm)).then_some(d));
            let date = PartialDate { year: y, month, day };
            prop_assert_eq!(parse(&date.iso(), DateOrder::Ymd, &FieldOptions::default()), Ok(date));
            prop_assert_eq!(parse(&date.iso(), DateOrder::Dmy, &FieldOptions::default()), Ok(date));
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = parse(&s, DateOrder::Dmy, &FieldOptions::default());
        }
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    /// Rough timing (`cargo test --release --lib speed -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn dates_per_second() {
        let rows = [
            "07/03/1990",
            "7 Maret 1990",
            "1990-03-07T00:00:00",
            "32939",
            "00/03/1990",
        ];
        let opts = FieldOptions::default();
        let n = 200_000;
        let t = std::time::Instant::now();
        let mut k = 0i64;
        for i in 0..n {
            k +=
                parse(rows[i % rows.len()], DateOrder::Dmy, &opts).map_or(0, |d| i64::from(d.year));
        }
        let per = t.elapsed().as_nanos() as f64 / n as f64;
        println!("date::parse {per:.0} ns/date ({k})");
    }
}
