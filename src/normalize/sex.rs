//! Sex codes → [`Sex`].
//!
//! The cell is folded (case, accents, punctuation) and looked up in a fixed table:
//!
//! | male | female |
//! | --- | --- |
//! | `L`, `M`, `1`, `LK`, `Laki-laki`, `Laki laki`, `Lakilaki`, `Laki`, `Laki2`, `Lelaki`, `Pria`, `Male`, `Man`, `Cowok`, `Co` | `P`, `F`, `W`, `2`, `PR`, `Pr`, `Perempuan`, `Wanita`, `Female`, `Woman`, `Cewek`, `Ce` |
//!
//! Anything else (`X`, `0`, `-`, `tidak diketahui`) is `None` (reason `sex_unknown`).

/// A person's sex as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sex {
    /// Laki-laki.
    Male,
    /// Perempuan.
    Female,
}

impl Sex {
    /// The Indonesian one-letter code: `"L"` (laki-laki) or `"P"` (perempuan).
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "L",
            Sex::Female => "P",
        }
    }
}

/// Recognises a sex code; `None` when the cell holds none of the known codes.
pub fn normalize(raw: &str) -> Option<Sex> {
    let t = raw.trim();
    // Fast path: the common one-character codes.
    if t.len() == 1 {
        return match t.as_bytes()[0].to_ascii_lowercase() {
            b'l' | b'm' | b'1' => Some(Sex::Male),
            b'p' | b'f' | b'w' | b'2' => Some(Sex::Female),
            _ => None,
        };
    }
    match super::fold(t).as_str() {
        "l" | "m" | "1" | "lk" | "laki laki" | "lakilaki" | "laki" | "laki2" | "laki 2"
        | "lelaki" | "pria" | "male" | "man" | "cowok" | "co" => Some(Sex::Male),
        "p" | "f" | "w" | "2" | "pr" | "perempuan" | "wanita" | "female" | "woman" | "cewek"
        | "ce" => Some(Sex::Female),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        use Sex::*;
        let rows: &[(&str, Option<Sex>)] = &[
            ("L", Some(Male)),
            ("l", Some(Male)),
            (" M ", Some(Male)),
            ("1", Some(Male)),
            ("LK", Some(Male)),
            ("Lk.", Some(Male)),
            ("Laki-laki", Some(Male)),
            ("LAKI LAKI", Some(Male)),
            ("laki2", Some(Male)),
            ("Lelaki", Some(Male)),
            ("Pria", Some(Male)),
            ("Male", Some(Male)),
            ("man", Some(Male)),
            ("Cowok", Some(Male)),
            ("P", Some(Female)),
            ("F", Some(Female)),
            ("2", Some(Female)),
            ("PR", Some(Female)),
            ("Perempuan", Some(Female)),
            ("WANITA", Some(Female)),
            ("female", Some(Female)),
            ("Woman", Some(Female)),
            ("W", Some(Female)),
            ("", None),
            ("X", None),
            ("0", None),
            ("-", None),
            ("3", None),
            ("tidak diketahui", None),
            ("L/P", None),
        ];
        for (input, want) in rows {
            assert_eq!(normalize(input), *want, "row {input:?}");
        }
        assert_eq!(Male.code(), "L");
        assert_eq!(Female.code(), "P");
    }
}
