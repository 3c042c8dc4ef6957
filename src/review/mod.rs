//! Clerical review: people decide the uncertain pairs, and the decisions flow back.
//!
//! ```text
//! match set ──review export──▶ review.parquet / review.csv (ids, scores, level labels; no identity)
//!                                   │ each agency: padan reveal review.parquet --extract … (locally)
//!                                   ▼
//!                              decisions (decision = match / non-match, reviewer, note)
//!                                   │
//!          ┌────────────────────────┴───────────────────────┐
//!          ▼                                                ▼
//!   padan link --decisions FILE                    padan evaluate / report --decisions FILE
//!   (must-link / cannot-link in clustering)        (measured precision and recall per band)
//! ```
//!
//! - [`pair_id`]: the stable id of a record pair (the key a verdict is kept under across runs).
//! - [`bands`]: the score bands a sample is stratified by.
//! - [`table`]: reading a review or decisions file (CSV or Parquet).
//! - [`decisions`]: verdicts read from files, resolved to records for `padan link`.
//! - [`export`]: `padan review export` (the queue, or a stratified random sample).
//! - [`measure`]: precision and recall per band from a labelled sample, with 95 % intervals,
//!   next to the model's own estimate, and warnings on the fit.
//! - [`reveal`]: an agency opens its own side of each pair of a review file, locally.
//!
//! Nothing here prints a cell of an extract: the review file holds ids, scores and labels only;
//! the revealed file (at an agency, from its own extract) is the one place identities appear.

pub mod bands;
pub mod decisions;
pub mod export;
pub mod measure;
pub mod reveal;
pub mod table;

pub use bands::{Band, Bands};
pub use decisions::{Decisions, Verdict};

/// The domain-separation label of [`pair_id`] (blake3 key-derivation context). Part of the
/// review format: changing it changes every pair id, and decisions would no longer carry over.
pub const PAIR_ID_CONTEXT: &str = "padan 2026-12 pair_id v1";

/// The stable id of the pair of records `(agency_a, id_a)` and `(agency_b, id_b)`, whichever
/// order they come in: `pr-` and 32 hex digits (the first 16 bytes of blake3 in key-derivation
/// mode under [`PAIR_ID_CONTEXT`] over both records in (agency, record id) byte order, each as
/// the agency name's length (u64 little-endian), the agency name, the record id's length and the
/// record id). It depends on the two records only, so a verdict keyed by it holds in later runs.
pub fn pair_id(agency_a: &str, id_a: &str, agency_b: &str, id_b: &str) -> String {
    format_pair_id(pair_key(agency_a, id_a, agency_b, id_b))
}

/// [`pair_id`] as a number (its 32 hex digits), to keep millions of pairs compactly.
pub fn pair_key(agency_a: &str, id_a: &str, agency_b: &str, id_b: &str) -> u128 {
    let (x, y) = if (agency_a, id_a) <= (agency_b, id_b) {
        ((agency_a, id_a), (agency_b, id_b))
    } else {
        ((agency_b, id_b), (agency_a, id_a))
    };
    let mut h = blake3::Hasher::new_derive_key(PAIR_ID_CONTEXT);
    for (agency, id) in [x, y] {
        h.update(&(agency.len() as u64).to_le_bytes());
        h.update(agency.as_bytes());
        h.update(&(id.len() as u64).to_le_bytes());
        h.update(id.as_bytes());
    }
    let d = h.finalize();
    u128::from_be_bytes(d.as_bytes()[..16].try_into().expect("16 bytes"))
}

/// The text form of a [`pair_key`]: `pr-` and 32 hex digits.
pub fn format_pair_id(key: u128) -> String {
    format!("pr-{key:032x}")
}

/// The [`pair_key`] of a pair id's text, if it is one.
pub fn parse_pair_id(s: &str) -> Option<u128> {
    let hex = s.strip_prefix("pr-")?;
    if hex.len() != 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

/// The label of a level in review files and `pairs.parquet`: `missing` for level 0 (a side has
/// no value), else the model's label (`exact`, `dice ≥ 0.84`, `else`).
pub fn level_label(labels: &[String], level: i64) -> String {
    if level <= 0 {
        return "missing".into();
    }
    labels
        .get(level as usize)
        .cloned()
        .unwrap_or_else(|| format!("level {level}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_id_does_not_depend_on_the_order_of_its_records() {
        let a = pair_id("kemlu", "K-1", "polri", "P-9");
        assert_eq!(a, pair_id("polri", "P-9", "kemlu", "K-1"));
        assert_ne!(a, pair_id("kemlu", "K-1", "polri", "P-8"));
        // The boundaries are part of the input.
        assert_ne!(pair_id("ab", "c", "d", "e"), pair_id("a", "bc", "d", "e"));
        assert!(a.len() == 35 && a.starts_with("pr-"));
        assert!(a[3..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(parse_pair_id(&a).map(format_pair_id), Some(a.clone()));
        assert_eq!(parse_pair_id("pr-12"), None);
        // Text order is number order (fixed-width lowercase hex).
        let b = pair_id("x", "1", "y", "2");
        assert_eq!(a < b, parse_pair_id(&a) < parse_pair_id(&b));
    }

    #[test]
    fn pair_id_known_answer() {
        // Pinned: a change here orphans every kept verdict (a format change).
        assert_eq!(pair_id("kemlu", "KML-2022-000001", "polri", "POL-1"), KNOWN);
    }

    const KNOWN: &str = "pr-c0d11e9b89ba238e6c4c2e42e8e3ff22";

    #[test]
    fn levels_have_words() {
        let labels: Vec<String> = ["null", "exact", "dice ≥ 0.84", "else"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(level_label(&labels, 0), "missing");
        assert_eq!(level_label(&labels, 2), "dice ≥ 0.84");
        assert_eq!(level_label(&labels, 3), "else");
    }
}
