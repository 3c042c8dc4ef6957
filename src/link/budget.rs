//! The memory guard: before any pair is compared, estimate what the candidate set will hold and
//! refuse (exit 4, [`Error::TooLarge`]) a run that would not fit, instead of being killed by the
//! kernel half-way.
//!
//! Three estimates from counts known before anything is materialized, and a fourth once the pairs
//! are scored ([`check_scored`]: the pairs at or above review, before pairs.parquet is built):
//!
//! - **the records**, before any row is read: from the files' row counts and the schema, the
//!   bytes a record holds (its filters and tokens twice: as columns and packed row-major for
//!   comparison; its record filter, id and keys), plus the largest file's columns while it is
//!   read ([`check_records`]);
//! - **the block index**, before the blocks are built: one member entry and one slot entry
//!   (4 bytes each) per record and block slot (each token kind, each LSH band);
//! - **the candidate set**, once the blocks are known but before a pair is generated: the pairs
//!   each block kind yields (every LSH band together), summed, times the bytes a compared pair
//!   holds until scoring ([`CANDIDATE_BYTES`], twice that when `output.candidates` keeps every
//!   pair's weight). The sum counts a pair found by two kinds twice, so it is an upper bound of
//!   the distinct candidates; the kinds' own budgets (`pairs_per_record`) keep it close.
//!
//! The budget is `blocking.memory_budget_mb`, or, when 0, [`DEFAULT_MEMORY_SHARE`] of the memory
//! the operating system reports as available (`MemAvailable`), or [`FALLBACK_BUDGET_MB`] where
//! that is unknown.

use super::block::BlockingStats;
use super::config::BlockingConfig;
use crate::error::{Error, Result};

/// Bytes one candidate pair holds from comparison to scoring (pair key 8, level code 4, block
/// kinds 2, rounded up for vector growth).
pub const CANDIDATE_BYTES: u64 = 16;

/// Bytes per record and block slot in the block index (a member entry and a slot entry).
pub const INDEX_BYTES: u64 = 8;

/// Share of the available memory the candidate set may use by default.
pub const DEFAULT_MEMORY_SHARE: f64 = 0.6;

/// Budget in MiB when the available memory cannot be read (not Linux).
pub const FALLBACK_BUDGET_MB: u64 = 4096;

const MIB: u64 = 1 << 20;

/// The memory the operating system reports as available, in bytes (Linux `MemAvailable`).
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo(&text)
}

fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The budget in bytes, and how it was chosen (for the message).
pub fn budget(cfg: &BlockingConfig) -> (u64, String) {
    if cfg.memory_budget_mb > 0 {
        return (
            cfg.memory_budget_mb.saturating_mul(MIB),
            format!("blocking.memory_budget_mb = {} MiB", cfg.memory_budget_mb),
        );
    }
    match available_memory() {
        Some(avail) => {
            let b = (avail as f64 * DEFAULT_MEMORY_SHARE) as u64;
            (
                b,
                format!(
                    "the default budget, {:.0} % of the {} MiB available (blocking.memory_budget_mb = 0)",
                    DEFAULT_MEMORY_SHARE * 100.0,
                    avail / MIB
                ),
            )
        }
        None => (
            FALLBACK_BUDGET_MB * MIB,
            format!(
                "the default budget of {FALLBACK_BUDGET_MB} MiB (available memory unknown; blocking.memory_budget_mb = 0)"
            ),
        ),
    }
}

/// Bytes per record besides its filters and tokens: the id (string and its heap bytes), agency,
/// per-field metadata words and vector growth.
pub const RECORD_OVERHEAD_BYTES: u64 = 96;

/// Bytes one record of `schema` holds once read: filters and exact tokens twice (the columns and
/// the comparator's packed rows), one metadata word per field, the record-level filter, its
/// blocking keys and [`RECORD_OVERHEAD_BYTES`].
pub fn record_bytes(schema: &crate::schema::Schema) -> u64 {
    let mut twice = 0u64;
    let mut keys = 0u64;
    for f in &schema.fields {
        twice += 8;
        if f.kind.has_filter() {
            twice += (f.stored_bits() / 8) as u64;
        }
        if f.exact_token {
            twice += 16;
        }
    }
    // The blocking keys of the version-3 layout (dob+sex, name+year): 16 bytes each.
    if schema.slots.is_empty() {
        keys += 32;
    }
    2 * twice + (schema.record_filter.bits / 8) as u64 + keys + RECORD_OVERHEAD_BYTES
}

/// Refuses records that would not fit: `rows` per input file, of `schema`.
pub fn check_records(
    rows: &[u64],
    schema: &crate::schema::Schema,
    cfg: &BlockingConfig,
) -> Result<()> {
    let per = record_bytes(schema);
    let total: u64 = rows.iter().sum();
    let largest = rows.iter().copied().max().unwrap_or(0);
    // The largest file's Arrow columns while it is read and appended.
    let need = total
        .saturating_mul(per)
        .saturating_add(largest.saturating_mul(per / 2));
    let (limit, how) = budget(cfg);
    if need > limit {
        return Err(Error::TooLarge(format!(
            "the {total} records of the inputs would need about {} MiB once read ({per} bytes per \
             record: its filters and tokens as columns and packed for comparison), more than \
             {how}: link on a machine with more memory, or raise blocking.memory_budget_mb",
            need.div_ceil(MIB)
        )));
    }
    Ok(())
}

/// Refuses a block index that would not fit: `slots` token kinds and LSH bands over `records`.
pub fn check_index(records: usize, token_kinds: usize, cfg: &BlockingConfig) -> Result<()> {
    let knn_bands = if cfg.knn_k > 0 { cfg.knn_bands } else { 0 };
    let slots = (token_kinds + cfg.lsh_bands + knn_bands) as u64;
    let need = (records as u64)
        .saturating_mul(slots)
        .saturating_mul(INDEX_BYTES);
    let (limit, how) = budget(cfg);
    if need > limit {
        return Err(Error::TooLarge(format!(
            "the block index of {records} records in {slots} block slots ({token_kinds} token \
             kinds, {} LSH bands, {knn_bands} weak knn bands) would need about {} MiB, more than \
             {how}: lower blocking.lsh_bands or blocking.knn_bands, or raise \
             blocking.memory_budget_mb",
            cfg.lsh_bands,
            need.div_ceil(MIB)
        )));
    }
    Ok(())
}

/// Refuses a candidate set that would not fit, naming the block kind that yields the most pairs
/// and the settings that shrink it.
pub fn check_candidates(
    stats: &BlockingStats,
    cfg: &BlockingConfig,
    keep_candidates: bool,
) -> Result<()> {
    let per_pair = if keep_candidates {
        2 * CANDIDATE_BYTES
    } else {
        CANDIDATE_BYTES
    };
    let pairs: u64 = stats
        .candidates_by_block
        .values()
        .fold(0u64, |a, &p| a.saturating_add(p));
    let need = pairs.saturating_mul(per_pair);
    let (limit, how) = budget(cfg);
    if need <= limit {
        return Ok(());
    }
    // The kind that yields the most pairs (ties: the first by name).
    let (kind, kind_pairs) = stats
        .candidates_by_block
        .iter()
        .fold(None, |best: Option<(&String, u64)>, (k, &p)| match best {
            Some((_, bp)) if bp >= p => best,
            _ => Some((k, p)),
        })
        .map(|(k, p)| (k.as_str(), p))
        .unwrap_or(("none", 0));
    let budget_hint = if cfg.pairs_per_record > 0.0 {
        format!(
            "lower blocking.pairs_per_record (now {})",
            cfg.pairs_per_record
        )
    } else {
        "set blocking.pairs_per_record (now 0 = no per-kind budget; 10 is the default)".into()
    };
    let fix = if kind == super::block::KNN_KIND {
        format!("lower blocking.knn_k (now {})", cfg.knn_k)
    } else if kind == "lsh" {
        format!(
            "raise blocking.lsh_bits (now {}) or lower blocking.lsh_bands (now {}), {budget_hint}",
            cfg.lsh_bits, cfg.lsh_bands
        )
    } else {
        format!(
            "{budget_hint}, lower blocking.max_block_size (now {}), or leave '{kind}' out of blocking.keys",
            cfg.max_block_size
        )
    };
    Err(Error::TooLarge(format!(
        "the candidate set would need up to {} MiB ({pairs} candidate pairs, {kind_pairs} of them \
         from block kind '{kind}'), more than {how}: {fix}; or raise blocking.memory_budget_mb",
        need.div_ceil(MIB)
    )))
}

/// Bytes one scored pair (at or above review) holds until pairs.parquet is written, besides its
/// fields: ids, weight, probability, decision, cluster and verdict columns.
pub const SCORED_PAIR_BYTES: u64 = 64;

/// Bytes per field of a scored pair: its similarity, level, label and weight columns (measured:
/// 100,401 records, every candidate scored, six fields: about 350 bytes a pair in all).
pub const SCORED_FIELD_BYTES: u64 = 48;

/// Refuses a run whose pairs at or above review (`pairs`, known once scored, before anything is
/// written) would not fit while pairs.parquet is built: a review threshold near 0 makes every
/// candidate a pair to write, several times a candidate's bytes. Checked after scoring, since
/// how many pairs reach review depends on the fitted model.
pub fn check_scored(
    pairs: u64,
    fields: usize,
    (setting, review): (&str, f64),
    cfg: &BlockingConfig,
) -> Result<()> {
    let per = SCORED_PAIR_BYTES + SCORED_FIELD_BYTES * fields as u64;
    let need = pairs.saturating_mul(per);
    let (limit, how) = budget(cfg);
    if need > limit {
        return Err(Error::TooLarge(format!(
            "the {pairs} pairs at or above review would need about {} MiB to write ({per} bytes \
             per pair with {fields} fields), more than {how}: raise {setting} (now {review}), or \
             raise blocking.memory_budget_mb",
            need.div_ceil(MIB)
        )));
    }
    Ok(())
}

/// [`check_scored`] for a run decided by match probability: the pairs at or above
/// `thresholds.review_probability`, with `fields` per-field columns each.
pub fn check_review(pairs: u64, fields: usize, cfg: &super::LinkConfig) -> Result<()> {
    check_scored(
        pairs,
        fields,
        (
            "thresholds.review_probability",
            cfg.thresholds.review_probability,
        ),
        &cfg.blocking,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn stats(kinds: &[(&str, u64)]) -> BlockingStats {
        BlockingStats {
            candidates_by_block: kinds
                .iter()
                .map(|&(k, p)| (k.to_string(), p))
                .collect::<BTreeMap<_, _>>(),
            ..BlockingStats::default()
        }
    }

    fn cfg(mb: u64) -> BlockingConfig {
        BlockingConfig {
            memory_budget_mb: mb,
            ..BlockingConfig::default()
        }
    }

    const REVIEW: &str = "thresholds.review_probability";

    #[test]
    fn scored_pairs_above_the_budget_are_refused_naming_the_review_threshold() {
        // 1 MiB: 2,000 pairs of six fields (352 bytes each, 0.7 MiB) fit, 4,000 do not.
        assert!(check_scored(2_000, 6, (REVIEW, 0.3), &cfg(1)).is_ok());
        let e = check_scored(4_000, 6, (REVIEW, 1e-9), &cfg(1))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("thresholds.review_probability (now 0.000000001)"),
            "{e}"
        );
        assert!(e.contains("4000 pairs at or above review"), "{e}");
        assert!(matches!(
            check_scored(4_000, 6, (REVIEW, 1e-9), &cfg(1)),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn records_are_estimated_from_the_schema_and_refused_above_the_budget() {
        let slots = crate::schema::Schema::default_victims();
        let v3 = crate::schema::Schema::from_toml(crate::schema::V3_SCHEMA_TOML, "v3").unwrap();
        // Slot fields store one segment per slot (two in the default): about twice the bytes of
        // version 3 (1,696 and 896 bytes when written).
        let (s, o) = (record_bytes(&slots), record_bytes(&v3));
        assert!(s > 1500 && s < 2000, "{s}");
        assert!(o > 700 && o < 1100, "{o}");
        // 1 MiB holds a few hundred slot records.
        let fits = MIB / s / 2;
        assert!(check_records(&[fits / 2, fits / 2], &slots, &cfg(1)).is_ok());
        let e = check_records(&[fits * 4, 10], &slots, &cfg(1)).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert!(
            e.to_string().contains("blocking.memory_budget_mb = 1 MiB"),
            "{e}"
        );
    }

    #[test]
    fn meminfo_available_is_read_in_bytes() {
        let t = "MemTotal:       24683792 kB\nMemFree:  10 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(parse_meminfo(t), Some(2048 * 1024));
        assert_eq!(parse_meminfo("MemTotal: 5 kB\n"), None);
    }

    #[test]
    fn a_candidate_set_within_the_budget_passes_and_one_above_is_refused_naming_the_kind() {
        // 1 MiB = 65,536 pairs of 16 bytes.
        let ok = stats(&[("token_name", 30_000), ("lsh", 35_536)]);
        assert!(check_candidates(&ok, &cfg(1), false).is_ok());
        // Keeping every candidate's weight doubles the bytes per pair.
        assert!(check_candidates(&ok, &cfg(1), true).is_err());
        let big = stats(&[("token_name", 30_000), ("lsh", 35_537)]);
        let e = check_candidates(&big, &cfg(1), false).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        let m = e.to_string();
        assert!(
            m.contains("'lsh'") && m.contains("blocking.lsh_bits"),
            "{m}"
        );
        assert!(m.contains("blocking.memory_budget_mb"), "{m}");
        let tok = stats(&[("token_name", 70_000), ("lsh", 10)]);
        let m = check_candidates(&tok, &cfg(1), false)
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("'token_name'") && m.contains("blocking.pairs_per_record"),
            "{m}"
        );
    }

    #[test]
    fn the_block_index_is_checked_before_the_blocks_are_built() {
        let mut c = cfg(1);
        c.lsh_bands = 100;
        c.knn_k = 0;
        // 1000 records × 106 slots × 8 bytes = 848,000 bytes < 1 MiB.
        assert!(check_index(1000, 6, &c).is_ok());
        let e = check_index(2000, 6, &c).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert!(e.to_string().contains("blocking.lsh_bands"));
        // The weak knn bands count too, while knn is on.
        c.knn_k = 10;
        c.knn_bands = 32;
        let e = check_index(1000, 6, &c).unwrap_err();
        assert!(e.to_string().contains("32 weak knn bands"), "{e}");
    }

    #[test]
    fn the_default_budget_comes_from_the_machine() {
        let (b, how) = budget(&cfg(0));
        assert!(b > 0);
        assert!(how.contains("blocking.memory_budget_mb = 0"), "{how}");
        let (b, _) = budget(&cfg(3));
        assert_eq!(b, 3 * MIB);
    }
}
