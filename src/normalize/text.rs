//! Free text: [`fold`](super::fold) — NFKC, lowercase, diacritics removed, punctuation → space,
//! whitespace collapsed — and `None` when nothing is left.

/// Folds free text; `None` when nothing usable remains (empty or punctuation only).
pub fn normalize(raw: &str) -> Option<String> {
    let s = super::fold(raw);
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let rows: &[(&str, Option<&str>)] = &[
            ("", None),
            (" - ", None),
            ("Pelabuhan Tanjung Priok", Some("pelabuhan tanjung priok")),
            ("PT. Maju-Jaya (Tbk)", Some("pt maju jaya tbk")),
            ("Café  No.5", Some("cafe no 5")),
        ];
        for (input, want) in rows {
            assert_eq!(normalize(input).as_deref(), *want, "row {input:?}");
        }
    }

    proptest! {
        #[test]
        fn idempotent(s in "\\PC{0,30}") {
            if let Some(once) = normalize(&s) {
                prop_assert_eq!(normalize(&once), Some(once.clone()));
            }
        }
    }
}
