//! NIK (Nomor Induk Kependudukan, the 16-digit national id) → [`Nik`].
//!
//! Rules:
//!
//! 1. A leading apostrophe (spreadsheets' "keep as text" mark), whitespace, `.` and `-` are
//!    removed; empty → `nik_empty`; anything but exactly 16 ASCII digits → `nik_malformed`
//!    A number the way a spreadsheet writes it (`3.20813E+15`, `3201014703900001.0`) →
//!    `nik_spreadsheet_number`: its last digits are lost, and the summary says how to export it
//!    as text.
//! 2. Digits 1–6 are the region: province (11..=94 plausible, else `nik_bad_region`), regency,
//!    district. Digits 7–8 are the birth day, **plus 40 for women**; 9–10 the month; 11–12 the
//!    year modulo 100; 13–16 a serial (`0000` → `nik_malformed`).
//! 3. Day (after removing 40) must be 1..=31 and within the month (29 February is allowed: the
//!    century is unknown), month 1..=12, else `nik_bad_date`.
//!
//! [`Nik::check`] cross-checks the decoded date and sex against the row's date of birth (only the
//! parts known: a partial date compares year, or year and month) and sex.

use super::date::{days_in_month, PartialDate};
use super::sex::Sex;
use super::Reason;

/// A decoded NIK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nik {
    /// The 16 digits.
    pub digits: String,
    /// Region code, 6 digits: province (2), regency (2), district (2).
    pub region: String,
    /// Birth day 1..=31 (40 already removed for women).
    pub birth_day: u8,
    /// Birth month 1..=12.
    pub birth_month: u8,
    /// Birth year modulo 100.
    pub birth_yy: u8,
    /// Sex decoded from the day field (day > 40 → female).
    pub sex: Sex,
}

/// How a NIK agrees with the row's own date of birth and sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NikCheck {
    /// Everything known agrees.
    Consistent,
    /// The date disagrees (sex agrees or is unknown).
    DateMismatch,
    /// The sex disagrees (date agrees or is unknown).
    SexMismatch,
    /// Both disagree.
    BothMismatch,
    /// Neither a date of birth nor a sex to compare with.
    Unchecked,
}

impl NikCheck {
    /// A stable snake_case code for reports.
    pub fn code(self) -> &'static str {
        match self {
            NikCheck::Consistent => "consistent",
            NikCheck::DateMismatch => "date_mismatch",
            NikCheck::SexMismatch => "sex_mismatch",
            NikCheck::BothMismatch => "both_mismatch",
            NikCheck::Unchecked => "unchecked",
        }
    }
}

impl Nik {
    /// Province code (digits 1–2).
    pub fn province(&self) -> &str {
        &self.region[..2]
    }

    /// Compares the NIK's date and sex with the row's (`None` = unknown, not compared).
    pub fn check(&self, dob: Option<&PartialDate>, sex: Option<Sex>) -> NikCheck {
        if dob.is_none() && sex.is_none() {
            return NikCheck::Unchecked;
        }
        let date_bad = dob.is_some_and(|d| {
            d.year.rem_euclid(100) as u8 != self.birth_yy
                || d.month.is_some_and(|m| m != self.birth_month)
                || d.day.is_some_and(|dd| dd != self.birth_day)
        });
        let sex_bad = sex.is_some_and(|s| s != self.sex);
        match (date_bad, sex_bad) {
            (false, false) => NikCheck::Consistent,
            (true, false) => NikCheck::DateMismatch,
            (false, true) => NikCheck::SexMismatch,
            (true, true) => NikCheck::BothMismatch,
        }
    }
}

/// Parses and decodes a NIK.
pub fn parse(raw: &str) -> Result<Nik, Reason> {
    if super::spreadsheet_number(raw) {
        return Err(Reason::NikSpreadsheetNumber);
    }
    let t = raw.trim();
    let t = t.strip_prefix(['\'', '\u{2019}']).unwrap_or(t);
    let mut d = [0u8; 16];
    let mut n = 0usize;
    for c in t.bytes() {
        match c {
            b'0'..=b'9' => {
                if n == 16 {
                    return Err(Reason::NikMalformed);
                }
                d[n] = c - b'0';
                n += 1;
            }
            b' ' | b'\t' | b'.' | b'-' => {}
            _ => return Err(Reason::NikMalformed),
        }
    }
    if n == 0 {
        return Err(if t.is_empty() {
            Reason::NikEmpty
        } else {
            Reason::NikMalformed
        });
    }
    if n != 16 {
        return Err(Reason::NikMalformed);
    }
    let two = |i: usize| d[i] * 10 + d[i + 1];
    let province = two(0);
    if !(11..=94).contains(&province) {
        return Err(Reason::NikBadRegion);
    }
    if d[12..].iter().all(|&x| x == 0) {
        return Err(Reason::NikMalformed);
    }
    let (raw_day, month, yy) = (two(6), two(8), two(10));
    let (day, sex) = if raw_day > 40 {
        (raw_day - 40, Sex::Female)
    } else {
        (raw_day, Sex::Male)
    };
    // 2000 is a leap year: allows 29 February whatever the century.
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(2000, month) {
        return Err(Reason::NikBadDate);
    }
    let digits: String = d.iter().map(|&x| char::from(b'0' + x)).collect();
    Ok(Nik {
        region: digits[..6].to_owned(),
        digits,
        birth_day: day,
        birth_month: month,
        birth_yy: yy,
        sex,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        use Reason::*;
        use Sex::*;
        // (input, Ok((region, day, month, yy, sex)) | Err)
        type Decoded<'a> = Result<(&'a str, u8, u8, u8, Sex), Reason>;
        let rows: &[(&str, Decoded)] = &[
            ("3201010703900001", Ok(("320101", 7, 3, 90, Male))),
            ("3201014703900001", Ok(("320101", 7, 3, 90, Female))),
            ("'3201014703900001", Ok(("320101", 7, 3, 90, Female))),
            ("3201 0147 0390 0001", Ok(("320101", 7, 3, 90, Female))),
            ("32.01.01.470390.0001", Ok(("320101", 7, 3, 90, Female))),
            ("3201-0147-0390-0001", Ok(("320101", 7, 3, 90, Female))),
            ("1101013112050002", Ok(("110101", 31, 12, 5, Male))),
            ("9471017112000003", Ok(("947101", 31, 12, 0, Female))),
            ("3578016902040001", Ok(("357801", 29, 2, 4, Female))),
            ("", Err(NikEmpty)),
            ("  ", Err(NikEmpty)),
            ("'", Err(NikEmpty)),
            ("320101070390000", Err(NikMalformed)),
            ("32010107039000011", Err(NikMalformed)),
            ("3.20101E+15", Err(NikSpreadsheetNumber)),
            ("3,20813E+15", Err(NikSpreadsheetNumber)),
            ("3.2010147039e15", Err(NikSpreadsheetNumber)),
            ("3201014703900001.0", Err(NikSpreadsheetNumber)),
            ("3201014703900001,00", Err(NikSpreadsheetNumber)),
            ("32010107O3900001", Err(NikMalformed)),
            ("abc", Err(NikMalformed)),
            ("3201010703900000", Err(NikMalformed)),
            ("0001010703900001", Err(NikBadRegion)),
            ("9901010703900001", Err(NikBadRegion)),
            ("1001010703900001", Err(NikBadRegion)),
            ("3201010013900001", Err(NikBadDate)),
            ("3201013203900001", Err(NikBadDate)),
            ("3201017203900001", Err(NikBadDate)),
            ("3201014003900001", Err(NikBadDate)),
            ("3201013002900001", Err(NikBadDate)),
            ("3201010700900001", Err(NikBadDate)),
            ("3201010713900001", Err(NikBadDate)),
        ];
        for (input, want) in rows {
            let got = parse(input).map(|k| {
                (
                    k.region.clone(),
                    k.birth_day,
                    k.birth_month,
                    k.birth_yy,
                    k.sex,
                )
            });
            let got = got
                .as_ref()
                .map(|(r, a, b, c, s)| (r.as_str(), *a, *b, *c, *s))
                .map_err(|e| *e);
            assert_eq!(got, *want, "row {input:?}");
        }
    }

    #[test]
    fn check_table() {
        let k = parse("3201014703900001").unwrap(); // 7 March (19)90, female
        let d = |y, m, dd| PartialDate {
            year: y,
            month: m,
            day: dd,
        };
        let rows: Vec<(Option<PartialDate>, Option<Sex>, NikCheck)> = vec![
            (
                Some(d(1990, Some(3), Some(7))),
                Some(Sex::Female),
                NikCheck::Consistent,
            ),
            (Some(d(1990, Some(3), Some(7))), None, NikCheck::Consistent),
            (None, Some(Sex::Female), NikCheck::Consistent),
            (
                Some(d(1990, Some(3), None)),
                Some(Sex::Female),
                NikCheck::Consistent,
            ),
            (
                Some(d(1990, None, None)),
                Some(Sex::Female),
                NikCheck::Consistent,
            ),
            (Some(d(2090, None, None)), None, NikCheck::Consistent),
            (
                Some(d(1990, Some(3), Some(8))),
                Some(Sex::Female),
                NikCheck::DateMismatch,
            ),
            (Some(d(1990, Some(4), None)), None, NikCheck::DateMismatch),
            (
                Some(d(1991, None, None)),
                Some(Sex::Female),
                NikCheck::DateMismatch,
            ),
            (
                Some(d(1990, Some(3), Some(7))),
                Some(Sex::Male),
                NikCheck::SexMismatch,
            ),
            (None, Some(Sex::Male), NikCheck::SexMismatch),
            (
                Some(d(1990, Some(7), Some(3))),
                Some(Sex::Male),
                NikCheck::BothMismatch,
            ),
            (None, None, NikCheck::Unchecked),
        ];
        for (dob, sex, want) in rows {
            assert_eq!(k.check(dob.as_ref(), sex), want, "row {dob:?} {sex:?}");
        }
        assert_eq!(k.province(), "32");
        assert_eq!(NikCheck::BothMismatch.code(), "both_mismatch");
    }
}
