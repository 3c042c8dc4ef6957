//! Blocking: candidate pairs from the union of keyed-token blocks and Hamming LSH bands on the
//! record-level filter.
//!
//! - **Token blocks**: records sharing a keyed exact token (passport digits, NIK, name, full date)
//!   or a keyed blocking key (date of birth + sex, phonetic name + birth year) form a block.
//! - **LSH**: for each of `lsh_bands` bands, `lsh_bits` bit positions of the record filter are
//!   sampled (seeded, so deterministic); records whose sampled bits are all equal share a bucket.
//!   Two filters agreeing on a fraction `s` of their bits collide in one band with probability
//!   `s^bits`, in at least one band with `1 − (1 − s^bits)^bands`.
//!
//! A block larger than `max_block_size` is skipped and counted (a warning names its kind and size,
//! never its key): such a block is too common to tell people apart. Pairs inside one agency are
//! kept only when `within_agency` is on. Candidates are deduplicated across blocks and sorted, so
//! the result does not depend on the thread count.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

use super::config::BlockingConfig;
use super::data::{Records, TokenColumn};

/// A candidate pair of global record indices, `a < b`, packed as `a << 32 | b`.
pub type PairKey = u64;

/// Packs a pair.
#[inline]
pub fn pack(a: u32, b: u32) -> PairKey {
    ((a as u64) << 32) | b as u64
}

/// Unpacks a pair.
#[inline]
pub fn unpack(k: PairKey) -> (u32, u32) {
    ((k >> 32) as u32, k as u32)
}

/// A large block, for the stats (kind and size only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
pub struct BlockSize {
    /// Block kind (column name, or `lsh`).
    pub kind: String,
    /// Records in it.
    pub size: u64,
}

/// What blocking did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BlockingStats {
    /// Distinct candidate pairs.
    pub candidates: u64,
    /// Pairs each block kind produced (before deduplication across kinds).
    pub candidates_by_block: BTreeMap<String, u64>,
    /// All pairs that could be compared (under the within-agency setting).
    pub possible_pairs: u64,
    /// 1 − candidates / possible pairs.
    pub reduction_ratio: f64,
    /// The largest blocks compared.
    pub largest_blocks: Vec<BlockSize>,
    /// Blocks skipped for exceeding `max_block_size`.
    pub capped_blocks: u64,
    /// Blocks skipped for exceeding `max_block_size`, by kind.
    pub capped_by_kind: BTreeMap<String, u64>,
    /// The largest skipped block's size, by kind.
    pub capped_largest: BTreeMap<String, u64>,
}

/// Candidate pairs and their stats.
pub struct Candidates {
    /// Sorted, distinct pairs.
    pub pairs: Vec<PairKey>,
    /// Stats.
    pub stats: BlockingStats,
}

/// Runs blocking over all records.
pub fn candidates(recs: &Records, cfg: &BlockingConfig) -> Candidates {
    let mut kinds: Vec<(String, Vec<(u128, u32)>)> = Vec::new();
    for (name, col) in recs.token_columns() {
        let chosen = if cfg.keys.is_empty() {
            // By default every token but those of sex fields (two values: no blocking power).
            !recs.schema.fields.iter().any(|f| {
                f.kind == crate::schema::FieldKind::Sex && name == format!("token_{}", f.name)
            })
        } else {
            cfg.keys.contains(&name)
        };
        if !chosen {
            continue;
        }
        kinds.push((name, keyed(col)));
    }
    if cfg.lsh_bands > 0 {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.lsh_seed);
        let bits = recs.record_filter.bits();
        for band in 0..cfg.lsh_bands {
            let positions: Vec<usize> = (0..cfg.lsh_bits)
                .map(|_| rng.random_range(0..bits))
                .collect();
            let keys: Vec<(u128, u32)> = (0..recs.len())
                .into_par_iter()
                .with_min_len(4096)
                .filter_map(|i| {
                    let row = recs.record_filter.row(i);
                    let mut key = 0u64;
                    for (k, &p) in positions.iter().enumerate() {
                        key |= ((row[p / 64] >> (p % 64)) & 1) << k;
                    }
                    // An all-zero sample says nothing (a near-empty filter): no bucket.
                    (key != 0).then_some((((band as u128) << 64) | key as u128, i as u32))
                })
                .collect();
            match kinds.iter_mut().find(|(n, _)| n == "lsh") {
                Some((_, v)) => v.extend(keys),
                None => kinds.push(("lsh".to_string(), keys)),
            }
        }
    }
    let mut stats = BlockingStats::default();
    let mut all: Vec<PairKey> = Vec::new();
    let mut sizes: Vec<BlockSize> = Vec::new();
    for (name, mut keys) in kinds {
        keys.par_sort_unstable();
        let runs = runs(&keys);
        let mut produced = 0u64;
        let mut pairs: Vec<Vec<PairKey>> = runs
            .par_iter()
            .filter(|r| r.1 - r.0 >= 2 && r.1 - r.0 <= cfg.max_block_size)
            .map(|&(s, e)| block_pairs(&keys[s..e], &recs.agency_of, cfg.within_agency))
            .collect();
        for &(s, e) in &runs {
            let size = (e - s) as u64;
            if e - s > cfg.max_block_size {
                stats.capped_blocks += 1;
                *stats.capped_by_kind.entry(name.clone()).or_insert(0) += 1;
                let l = stats.capped_largest.entry(name.clone()).or_insert(0);
                *l = (*l).max(size);
            } else if size >= 2 {
                sizes.push(BlockSize {
                    kind: name.clone(),
                    size,
                });
                if sizes.len() > 4096 {
                    sizes.sort_by(|a, b| b.size.cmp(&a.size).then(a.cmp(b)));
                    sizes.truncate(16);
                }
            }
        }
        for p in pairs.iter_mut() {
            produced += p.len() as u64;
            all.append(p);
        }
        stats.candidates_by_block.insert(name, produced);
    }
    all.par_sort_unstable();
    all.dedup();
    sizes.sort_by(|a, b| b.size.cmp(&a.size).then(a.cmp(b)));
    sizes.truncate(10);
    stats.largest_blocks = sizes;
    stats.candidates = all.len() as u64;
    stats.possible_pairs = possible_pairs(recs, cfg.within_agency);
    stats.reduction_ratio = if stats.possible_pairs == 0 {
        0.0
    } else {
        1.0 - stats.candidates as f64 / stats.possible_pairs as f64
    };
    Candidates { pairs: all, stats }
}

fn keyed(col: &TokenColumn) -> Vec<(u128, u32)> {
    col.values
        .iter()
        .zip(&col.valid)
        .enumerate()
        .filter(|(_, (_, &v))| v)
        .map(|(i, (&t, _))| (t, i as u32))
        .collect()
}

/// Runs of equal keys in a sorted list: (start, end).
fn runs(keys: &[(u128, u32)]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut s = 0;
    for i in 1..=keys.len() {
        if i == keys.len() || keys[i].0 != keys[s].0 {
            out.push((s, i));
            s = i;
        }
    }
    out
}

fn block_pairs(block: &[(u128, u32)], agency_of: &[u16], within: bool) -> Vec<PairKey> {
    let mut v = Vec::with_capacity(block.len() * (block.len() - 1) / 2);
    for (x, &(_, a)) in block.iter().enumerate() {
        for &(_, b) in &block[x + 1..] {
            if a == b {
                continue;
            }
            if !within && agency_of[a as usize] == agency_of[b as usize] {
                continue;
            }
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            v.push(pack(lo, hi));
        }
    }
    v
}

/// The number of pairs that could be compared.
pub fn possible_pairs(recs: &Records, within: bool) -> u64 {
    let n = recs.len() as u64;
    let all = n * n.saturating_sub(1) / 2;
    if within {
        return all;
    }
    let same: u64 = recs
        .inputs
        .iter()
        .map(|i| (i.rows as u64) * (i.rows as u64).saturating_sub(1) / 2)
        .sum();
    all - same
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_and_sorts_by_a_then_b() {
        assert_eq!(unpack(pack(3, 9)), (3, 9));
        assert!(pack(1, 100) < pack(2, 0));
    }

    #[test]
    fn runs_and_block_pairs_respect_agencies() {
        let keys = vec![(1u128, 0u32), (1, 1), (1, 2), (2, 3), (3, 4), (3, 5)];
        assert_eq!(runs(&keys), vec![(0, 3), (3, 4), (4, 6)]);
        let agency = [0u16, 0, 1, 1, 0, 1];
        let within = block_pairs(&keys[0..3], &agency, true);
        assert_eq!(within, vec![pack(0, 1), pack(0, 2), pack(1, 2)]);
        let across = block_pairs(&keys[0..3], &agency, false);
        assert_eq!(across, vec![pack(0, 2), pack(1, 2)]);
    }
}
