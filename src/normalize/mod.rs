//! Domain normalization: raw cell text → a canonical value, or a [`Reason`] it is unusable.
//!
//! One module per field kind ([`name`], [`passport`], [`date`], [`nik`], [`sex`], [`place`],
//! [`text`]); each documents its rules at the top, and `docs/normalization.md` summarizes them.
//! Every normalizer is a pure function of its input (plus options), is idempotent on its own
//! canonical output, and never allocates more than it needs: the encoder's budget is about one
//! million records per second on one core.
//!
//! **Privacy:** nothing here puts a raw value into an error or panic message. A rejected value
//! yields a [`Reason`], a fieldless enum with a stable snake_case [`Reason::code`] that reports
//! count by; the value itself never leaves the function.
//!
//! # Example: clean one row
//!
//! ```
//! use padan::normalize::{self, date, name, nik, passport, sex};
//! use padan::schema::{DateOrder, FieldOptions};
//!
//! let n = name::normalize("Hj. Siti Nurhaliza binti H. Abdoel Rachman, S.Pd.").unwrap();
//! assert_eq!(n.canonical(), "sitinurhaliza");
//! assert_eq!(n.patronym.as_deref(), Some("abdul rakhman"));
//!
//! let p = passport::normalize("b 12345o7").unwrap();
//! assert_eq!(p.canonical(), "B1234507");
//!
//! let d = date::parse("7 Maret 1990", DateOrder::Dmy, &FieldOptions::default()).unwrap();
//! assert_eq!(d.iso(), "1990-03-07");
//!
//! let k = nik::parse("3201014703900001").unwrap();
//! assert_eq!(k.check(Some(&d), Some(sex::Sex::Female)), nik::NikCheck::Consistent);
//!
//! assert_eq!(normalize::fold("  JALAN  Merdéka, No.5 "), "jalan merdeka no 5");
//! assert_eq!(normalize::Reason::DateImpossible.code(), "date_impossible");
//! ```

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

pub mod date;
pub mod name;
pub mod nik;
pub mod passport;
pub mod place;
pub mod sex;
pub mod text;

/// Why a raw value is unusable. Fieldless on purpose: it can never carry the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// Nothing usable remained of a name (empty, only titles, degrees or punctuation).
    NameEmpty,
    /// The passport cell was empty.
    PassportEmpty,
    /// Fewer than 6 letters and digits after cleaning.
    PassportTooShort,
    /// More than 9 letters and digits after cleaning.
    PassportTooLong,
    /// Characters other than letters, digits and separators, or no digit at all.
    PassportMalformed,
    /// A placeholder such as `0000000`: one character repeated.
    PassportPlaceholder,
    /// A spreadsheet turned the passport number into a number: scientific notation, a trailing
    /// `.0`, or leading zeros lost (fewer than 6 digits, digits only). Export the column as text.
    PassportSpreadsheetNumber,
    /// The date cell was empty.
    DateEmpty,
    /// Not a date in any accepted form.
    DateUnparseable,
    /// A date that does not exist (31 February, month 13, Excel's 1900-02-29).
    DateImpossible,
    /// A real date outside the configured `min_year..=max_year`.
    DateOutOfRange,
    /// The NIK cell was empty.
    NikEmpty,
    /// A spreadsheet turned the NIK into a number: scientific notation (`3.20813E+15`) or a
    /// trailing `.0`; its last digits are lost. Export the column as text.
    NikSpreadsheetNumber,
    /// Not 16 digits after removing separators.
    NikMalformed,
    /// The province code (digits 1–2) is not a plausible province (11..=94).
    NikBadRegion,
    /// The embedded birth day or month is invalid.
    NikBadDate,
    /// The sex cell holds no recognised code.
    SexUnknown,
    /// Nothing usable remained of a place.
    PlaceEmpty,
    /// Nothing usable remained of a free-text value.
    TextEmpty,
}

impl Reason {
    /// Every reason, in order (for reports that list all counts, zeros included).
    pub const ALL: [Reason; 19] = [
        Reason::NameEmpty,
        Reason::PassportEmpty,
        Reason::PassportTooShort,
        Reason::PassportTooLong,
        Reason::PassportMalformed,
        Reason::PassportPlaceholder,
        Reason::PassportSpreadsheetNumber,
        Reason::DateEmpty,
        Reason::DateUnparseable,
        Reason::DateImpossible,
        Reason::DateOutOfRange,
        Reason::NikEmpty,
        Reason::NikSpreadsheetNumber,
        Reason::NikMalformed,
        Reason::NikBadRegion,
        Reason::NikBadDate,
        Reason::SexUnknown,
        Reason::PlaceEmpty,
        Reason::TextEmpty,
    ];

    /// The stable snake_case code written to `rejects.csv` and reports.
    pub fn code(self) -> &'static str {
        match self {
            Reason::NameEmpty => "name_empty",
            Reason::PassportEmpty => "passport_empty",
            Reason::PassportTooShort => "passport_too_short",
            Reason::PassportTooLong => "passport_too_long",
            Reason::PassportMalformed => "passport_malformed",
            Reason::PassportPlaceholder => "passport_placeholder",
            Reason::DateEmpty => "date_empty",
            Reason::DateUnparseable => "date_unparseable",
            Reason::DateImpossible => "date_impossible",
            Reason::DateOutOfRange => "date_out_of_range",
            Reason::NikEmpty => "nik_empty",
            Reason::NikSpreadsheetNumber => "nik_spreadsheet_number",
            Reason::PassportSpreadsheetNumber => "passport_spreadsheet_number",
            Reason::NikMalformed => "nik_malformed",
            Reason::NikBadRegion => "nik_bad_region",
            Reason::NikBadDate => "nik_bad_date",
            Reason::SexUnknown => "sex_unknown",
            Reason::PlaceEmpty => "place_empty",
            Reason::TextEmpty => "text_empty",
        }
    }

    /// A human sentence explaining the reason (never contains the value).
    pub fn describe(self) -> &'static str {
        match self {
            Reason::NameEmpty => "the name is empty or holds only titles, degrees or punctuation",
            Reason::PassportEmpty => "the passport number is empty",
            Reason::PassportTooShort => "the passport number has fewer than 6 letters and digits",
            Reason::PassportTooLong => "the passport number has more than 9 letters and digits",
            Reason::PassportMalformed => {
                "the passport number holds unexpected characters or no digit"
            }
            Reason::PassportPlaceholder => {
                "the passport number is a placeholder (one repeated character)"
            }
            Reason::DateEmpty => "the date is empty",
            Reason::DateUnparseable => "the date is in no recognised form",
            Reason::DateImpossible => "the date does not exist (day or month out of range)",
            Reason::DateOutOfRange => "the year is outside the configured range",
            Reason::NikEmpty => "the NIK is empty",
            Reason::NikSpreadsheetNumber => {
                "a spreadsheet turned the NIK into a number (scientific notation or a trailing .0): its last digits are lost"
            }
            Reason::PassportSpreadsheetNumber => {
                "a spreadsheet turned the passport number into a number (scientific notation, a trailing .0 or lost leading zeros)"
            }
            Reason::NikMalformed => "the NIK is not 16 digits",
            Reason::NikBadRegion => "the NIK's province code is not a plausible province",
            Reason::NikBadDate => "the NIK's embedded birth day or month is invalid",
            Reason::SexUnknown => "the sex code is not recognised",
            Reason::PlaceEmpty => "the place is empty",
            Reason::TextEmpty => "the text is empty",
        }
    }
}

impl Reason {
    /// Whether this reason is damage done by a spreadsheet (the summary explains the fix).
    pub fn is_spreadsheet_damage(self) -> bool {
        matches!(
            self,
            Reason::NikSpreadsheetNumber | Reason::PassportSpreadsheetNumber
        )
    }
}

/// How to export a column as text from a spreadsheet, for the encode summary.
pub const SPREADSHEET_TEXT_HINT: &str = "a spreadsheet stored these identifiers as numbers and lost digits: re-export from the source system, or in the spreadsheet format the column as Text before typing or pasting the values (or import the CSV with that column set to Text), then export again";

/// Whether a cell holds a number the way a spreadsheet writes one: scientific notation
/// (`3.20813E+15`, `3,20813E+15`, `3E+15`) or whole digits with a decimal zero
/// (`3201014703900001.0`).
///
/// Scientific notation needs a sign on the exponent or a decimal mark in the mantissa, as
/// spreadsheets and dataframes write it: a bare `000E00` or `12E4567` is an alphanumeric
/// identifier, and is what the passport rules make of `000E0 0`, so normalizing stays idempotent.
pub fn spreadsheet_number(raw: &str) -> bool {
    let t = raw.trim().as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    // mantissa [eE] [+-] exponent
    if let Some(e) = t.iter().position(|&b| b == b'e' || b == b'E') {
        let (m, x) = (&t[..e], &t[e + 1..]);
        let unsigned = x.strip_prefix(b"+").or_else(|| x.strip_prefix(b"-"));
        let signed = unsigned.is_some();
        let x = unsigned.unwrap_or(x);
        let (m_ok, decimal) = match m.iter().position(|&b| b == b'.' || b == b',') {
            Some(p) => (digits(&m[..p]) && digits(&m[p + 1..]), true),
            None => (digits(m), false),
        };
        return m_ok && digits(x) && (signed || decimal);
    }
    match t.iter().position(|&b| b == b'.' || b == b',') {
        Some(p) => digits(&t[..p]) && t.len() > p + 1 && t[p + 1..].iter().all(|&b| b == b'0'),
        None => false,
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Folds text for comparison: NFKC, lowercase, diacritics removed (compatibility decomposition,
/// combining marks dropped), every run of non-alphanumeric characters → one space, trimmed.
///
/// ASCII input takes a fast path with one allocation. The result is a fixed point:
/// `fold(&fold(x)) == fold(x)`.
pub fn fold(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    fold_into(raw, &mut out, false);
    out
}

/// Apostrophe-like characters, dropped (not turned into a space) by name folding:
/// `Ma'ruf` → `maruf`.
pub(crate) fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '`' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{00B4}'
    )
}

/// Appends the fold of `raw` to `out` (words separated by one space, no leading or trailing
/// space relative to what it appends). With `drop_apostrophes`, apostrophes vanish instead of
/// separating words.
pub(crate) fn fold_into(raw: &str, out: &mut String, drop_apostrophes: bool) {
    let start = out.len();
    let mut space = false;
    let mut emit = |c: char, out: &mut String| {
        if c.is_alphanumeric() {
            if space && out.len() > start {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else if !(drop_apostrophes && is_apostrophe(c)) {
            space = true;
        }
    };
    if raw.is_ascii() {
        for b in raw.bytes() {
            emit(b.to_ascii_lowercase() as char, out);
        }
        return;
    }
    for c in raw.chars() {
        if c.is_ascii() {
            emit(c.to_ascii_lowercase(), out);
            continue;
        }
        // lowercase → compatibility decomposition → drop marks, twice over so that characters
        // whose lowercase decomposes further (or whose decomposition has uppercase) settle.
        for l in c.to_lowercase() {
            decompose_compatible(l, |d| {
                if is_combining_mark(d) {
                    return;
                }
                for l2 in d.to_lowercase() {
                    decompose_compatible(l2, |d2| {
                        if !is_combining_mark(d2) {
                            emit(d2, out);
                        }
                    });
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fold_table() {
        let rows: &[(&str, &str)] = &[
            ("", ""),
            ("   ", ""),
            ("Budi", "budi"),
            ("  BUDI   santoso ", "budi santoso"),
            ("Budi,Santoso", "budi santoso"),
            ("Merdéka", "merdeka"),
            ("ÅNGSTRÖM", "angstrom"),
            ("ﬁsh", "fish"),
            ("ＡＢＣ１２３", "abc123"),
            ("São-Paulo", "sao paulo"),
            ("a.b.c.", "a b c"),
            ("x\t\ny", "x y"),
            ("Ma'ruf", "ma ruf"),
            ("İstanbul", "istanbul"),
            ("²", "2"),
            ("Nguyễn Văn", "nguyen van"),
            ("---", ""),
        ];
        for (input, want) in rows {
            assert_eq!(fold(input), *want, "row {input:?}");
        }
    }

    #[test]
    fn reason_codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            let c = r.code();
            assert!(
                c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{c}"
            );
            assert!(seen.insert(c), "duplicate {c}");
            assert!(!r.describe().is_empty());
            assert_eq!(r.to_string(), c);
        }
    }

    proptest! {
        #[test]
        fn fold_is_idempotent(s in "\\PC{0,24}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
        }
    }
}
