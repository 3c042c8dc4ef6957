//! Passport numbers → [`Passport`].
//!
//! Rules:
//!
//! 1. NFKC (full-width characters), upper case; whitespace, `-`, `.`, `/`, `_` removed. Any other
//!    character → `passport_malformed`. Empty → `passport_empty`; fewer than 6 characters →
//!    `passport_too_short`; more than 9 → `passport_too_long`; no digit at all →
//!    `passport_malformed`; one character repeated (`0000000`) → `passport_placeholder`. A number
//!    the way a spreadsheet writes it (`1.23457E+8`, `1234567.0`) or 3–5 digits only (leading
//!    zeros dropped) → `passport_spreadsheet_number`.
//! 2. **Indonesian form:** 1–2 letters + 7 digits (`B1234567`, `AB1234567`). In the 7-digit part,
//!    OCR and typing confusions are folded to digits: `O`/`Q`/`D` → 0, `I`/`L` → 1, `Z` → 2,
//!    `S` → 5, `G` → 6, `B` → 8 — provided at least 4 of the 7 are real digits (so a foreign
//!    alphanumeric number is not mangled).
//! 3. **Lost prefix:** exactly 7 digit-like characters (same folding, same 4-digit guard) are an
//!    Indonesian number whose letter was lost: `prefix = None`, `body` = the 7 digits. Link
//!    compares passports on `body`, so `B1234567` and `1234567` still agree there.
//! 4. **A digit where the letter should be** (8 characters, all digits, the first one a letter
//!    look-alike `8 0 1 5 2 6`): the first digit is read back as its letter (`8`→`B`, `0`→`O`,
//!    `1`→`I`, `5`→`S`, `2`→`Z`, `6`→`G`) and becomes the prefix. Other 8-digit values are kept
//!    whole as a foreign number. Only the 8-character case is read this way: a 9-digit value is
//!    far more often a foreign passport than an Indonesian one with two slipped letters.
//! 5. **Other forms:** `body` = the cleaned upper-case alphanumerics, `prefix = None`.
//!
//! Every rule maps its own output to itself, so normalization is idempotent.

use super::Reason;

/// A normalized passport number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Passport {
    /// The letter prefix of the Indonesian form (1–2 upper-case letters), if present.
    pub prefix: Option<String>,
    /// The 7 digits of the Indonesian form, or the whole cleaned number otherwise.
    pub body: String,
}

impl Passport {
    /// Prefix followed by body (`B1234567`).
    pub fn canonical(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}{}", self.body),
            None => self.body.clone(),
        }
    }
}

/// Reads a digit-position character as a digit (OCR look-alikes folded).
fn ocr_digit(c: u8) -> Option<u8> {
    Some(match c {
        b'0'..=b'9' => c,
        b'O' | b'Q' | b'D' => b'0',
        b'I' | b'L' => b'1',
        b'Z' => b'2',
        b'S' => b'5',
        b'G' => b'6',
        b'B' => b'8',
        _ => return None,
    })
}

/// The 7-digit part with OCR folding, if it qualifies (≥ 4 real digits).
fn digits7(s: &[u8]) -> Option<String> {
    if s.len() != 7 || s.iter().filter(|c| c.is_ascii_digit()).count() < 4 {
        return None;
    }
    s.iter().map(|&c| ocr_digit(c).map(char::from)).collect()
}

/// Normalizes a passport number.
pub fn normalize(raw: &str) -> Result<Passport, Reason> {
    if super::spreadsheet_number(raw) {
        return Err(Reason::PassportSpreadsheetNumber);
    }
    let mut s: Vec<u8> = Vec::with_capacity(raw.len());
    let mut push = |c: char| -> Result<(), Reason> {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_uppercase() as u8);
            Ok(())
        } else if c.is_whitespace() || matches!(c, '-' | '.' | '/' | '_') {
            Ok(())
        } else {
            Err(Reason::PassportMalformed)
        }
    };
    if raw.is_ascii() {
        for c in raw.chars() {
            push(c)?;
        }
    } else {
        use unicode_normalization::UnicodeNormalization;
        for c in raw.nfkc() {
            push(c)?;
        }
    }
    if s.is_empty() {
        return Err(Reason::PassportEmpty);
    }
    if s.len() < 6 {
        // Digits only and too short: a number whose leading zeros a spreadsheet dropped.
        return Err(if s.iter().all(u8::is_ascii_digit) && s.len() >= 3 {
            Reason::PassportSpreadsheetNumber
        } else {
            Reason::PassportTooShort
        });
    }
    if s.len() > 9 {
        return Err(Reason::PassportTooLong);
    }
    if !s.iter().any(u8::is_ascii_digit) {
        return Err(Reason::PassportMalformed);
    }
    if s.iter().all(|&c| c == s[0]) {
        return Err(Reason::PassportPlaceholder);
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let n = s.len();
    // Indonesian form: 1–2 letters + 7 digit-like.
    if n == 8 || n == 9 {
        let (p, d) = s.split_at(n - 7);
        if p.iter().all(u8::is_ascii_alphabetic) {
            if let Some(body) = digits7(d) {
                return Ok(Passport {
                    prefix: Some(text(p)),
                    body,
                });
            }
        }
        if n == 8 && s.iter().all(u8::is_ascii_digit) {
            let letter = match s[0] {
                b'8' => Some(b'B'),
                b'0' => Some(b'O'),
                b'1' => Some(b'I'),
                b'5' => Some(b'S'),
                b'2' => Some(b'Z'),
                b'6' => Some(b'G'),
                _ => None,
            };
            if let Some(l) = letter {
                return Ok(Passport {
                    prefix: Some(char::from(l).to_string()),
                    body: text(d),
                });
            }
        }
    }
    if n == 7 {
        if let Some(body) = digits7(&s) {
            return Ok(Passport { prefix: None, body });
        }
    }
    Ok(Passport {
        prefix: None,
        body: text(&s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        use Reason::*;
        type Parts<'a> = Result<(Option<&'a str>, &'a str), Reason>;
        let rows: &[(&str, Parts)] = &[
            ("B1234567", Ok((Some("B"), "1234567"))),
            ("b1234567", Ok((Some("B"), "1234567"))),
            (" b 123 4567 ", Ok((Some("B"), "1234567"))),
            ("B-123.45/67", Ok((Some("B"), "1234567"))),
            ("AB1234567", Ok((Some("AB"), "1234567"))),
            ("X 1234567", Ok((Some("X"), "1234567"))),
            ("Ｂ１２３４５６７", Ok((Some("B"), "1234567"))),
            // OCR in the digit part
            ("B12345O7", Ok((Some("B"), "1234507"))),
            ("B1234S67", Ok((Some("B"), "1234567"))),
            ("BI234567", Ok((Some("B"), "1234567"))),
            ("B123456Z", Ok((Some("B"), "1234562"))),
            ("B1234G67", Ok((Some("B"), "1234667"))),
            ("B12345B7", Ok((Some("B"), "1234587"))),
            ("B12L4567", Ok((Some("B"), "1214567"))),
            ("B1Q34567", Ok((Some("B"), "1034567"))),
            ("BD234567", Ok((Some("B"), "0234567"))),
            // lost prefix
            ("1234567", Ok((None, "1234567"))),
            ("12345O7", Ok((None, "1234507"))),
            // digit where the letter was
            ("81234567", Ok((Some("B"), "1234567"))),
            ("01234567", Ok((Some("O"), "1234567"))),
            ("31234567", Ok((None, "31234567"))),
            // other forms
            ("C01X00T47", Ok((None, "C01X00T47"))),
            ("AB12345", Ok((None, "AB12345"))),
            ("123456789", Ok((None, "123456789"))),
            ("ABCD12", Ok((None, "ABCD12"))),
            ("BSOSIZG7", Ok((None, "BSOSIZG7"))),
            // rejects
            ("", Err(PassportEmpty)),
            (" - ", Err(PassportEmpty)),
            ("B123", Err(PassportTooShort)),
            ("12", Err(PassportTooShort)),
            ("12345", Err(PassportSpreadsheetNumber)),
            ("1.23457E+8", Err(PassportSpreadsheetNumber)),
            ("1234567.0", Err(PassportSpreadsheetNumber)),
            ("1E+8", Err(PassportSpreadsheetNumber)),
            // scientific notation needs a sign or a decimal mark: these are identifiers
            ("000E0 0", Ok((None, "000E00"))),
            ("000E00", Ok((None, "000E00"))),
            ("12E4567", Ok((None, "12E4567"))),
            ("B12345678901", Err(PassportTooLong)),
            ("TIDAK ADA", Err(PassportMalformed)),
            ("B1234567#", Err(PassportMalformed)),
            ("B12345é7", Err(PassportMalformed)),
            ("0000000", Err(PassportPlaceholder)),
            ("xxxxxxx1", Ok((None, "XXXXXXX1"))),
        ];
        for (input, want) in rows {
            let got = normalize(input);
            let got = got
                .as_ref()
                .map(|p| (p.prefix.as_deref(), p.body.as_str()))
                .map_err(|e| *e);
            assert_eq!(got, *want, "row {input:?}");
        }
        assert_eq!(normalize("b 12345o7").unwrap().canonical(), "B1234507");
        assert_eq!(normalize("1234567").unwrap().canonical(), "1234567");
    }

    proptest! {
        #[test]
        fn idempotent(s in "[A-Za-z0-9OIlSBZGQD .\\-/]{0,14}") {
            if let Ok(p) = normalize(&s) {
                prop_assert_eq!(normalize(&p.canonical()), Ok(p));
            }
        }
    }
}
