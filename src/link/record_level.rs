//! Record-level mode: linking inputs that carry only a record-level filter (files written by
//! `padan import clkhash`), the way anonlink links clkhash CLKs.
//!
//! With one comparison per pair a Fellegi–Sunter model is not identifiable (EM cannot tell a
//! match rate from an agreement rate), so no model is fitted. Every pair of records of different
//! agencies is compared by the Dice of the two record filters with the all-pairs kernel while
//! there are at most `blocking.record_all_pairs_max` such pairs (exact, as anonlink); beyond,
//! candidates come from the Hamming LSH bands on the record filter, which miss matches on dense
//! clkhash CLKs. Pairs at or above `thresholds.record_dice` are matches (at or above
//! `record_dice_review`, review). Clusters are built from the match edges strongest first and
//! never hold two records of one agency, so for two inputs they are anonlink's greedy one-to-one
//! solution; pairs inside one agency are therefore not compared (`within_agency` does not
//! apply). In the match set `match_weight` holds the Dice similarity and `match_probability` is
//! NaN. See docs/matching.md, "Record-level mode".

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;

use super::block::{pack, possible_pairs, BlockingStats, Blocks, PairKey};
use super::compare::Comparator;
use super::config::LinkConfig;
use super::decided::{blocking_warnings, Decided, ScoredPairs};
use super::dice::{FilterMatrix, Kernel};
use super::records::Records;
use crate::error::Result;
use crate::io::manifest::{ModelInfo, ThresholdInfo, Timings};
use crate::scoring::{ClusterOptions, EmReport};

/// Kept pairs of a chunk and their Dice.
type Segment = (Vec<PairKey>, Vec<f64>);
/// The `model.training` value written to the manifest in record-level mode.
pub const RECORD_DICE_TRAINING: &str = "record_dice";

/// Dice similarity of record filters `a` and `b` in f64 (as anonlink computes it): `None` when
/// either is missing, 0 when both are empty.
#[inline]
pub fn record_dice(kernel: &Kernel, m: &FilterMatrix, a: usize, b: usize) -> Option<f64> {
    if m.is_missing(a) || m.is_missing(b) {
        return None;
    }
    let s = m.count(a) + m.count(b);
    if s == 0 {
        return Some(0.0);
    }
    let c = kernel.and_popcount(m.row(a), m.row(b));
    Some(f64::from(2 * c) / f64::from(s))
}

/// Every pair of records of different agencies (and of one agency with `within`) whose record
/// Dice is at or above `threshold`, by the all-pairs kernel on each pair of inputs; the Dice
/// recomputed in f64 with [`record_dice`].
fn all_pairs_above(
    kernel: &Kernel,
    recs: &Records,
    threshold: f64,
    within: bool,
) -> Vec<(Vec<PairKey>, Vec<f64>)> {
    let m = &recs.record_filter;
    let w = m.words();
    let sub = |k: usize| {
        let i = &recs.inputs[k];
        FilterMatrix::from_words(w, m.data()[i.offset * w..(i.offset + i.rows) * w].to_vec())
    };
    let mut out = Vec::new();
    for x in 0..recs.inputs.len() {
        let mx = sub(x);
        for y in x..recs.inputs.len() {
            if x == y && !within {
                continue;
            }
            let my = if x == y { None } else { Some(sub(y)) };
            let (ox, oy) = (recs.inputs[x].offset, recs.inputs[y].offset);
            let hits = kernel.all_pairs_above(&mx, my.as_ref().unwrap_or(&mx), threshold);
            let (mut pairs, mut sims) = (Vec::new(), Vec::new());
            for (i, j, _) in hits {
                let (a, b) = (ox + i as usize, oy + j as usize);
                if a >= b || m.is_missing(a) || m.is_missing(b) {
                    continue; // same record, or a pair of one input seen twice
                }
                let d = record_dice(kernel, m, a, b).unwrap_or(f64::NAN);
                if d >= threshold {
                    pairs.push(pack(a as u32, b as u32));
                    sims.push(d);
                }
            }
            out.push((pairs, sims));
        }
    }
    out
}

/// Record-level mode's block, compare and score stages, for inputs that carry no field data
/// (checked by the caller); resolve and write are the pipeline's.
pub(super) fn decide<'a>(
    recs: &'a Records,
    cfg: &LinkConfig,
    stage: &(dyn Fn(&str) + Sync),
    timings: &mut Timings,
) -> Result<Decided<'a>> {
    let (match_dice, review_dice) = (
        cfg.thresholds.record_dice,
        cfg.thresholds.record_dice_review,
    );
    let mut warnings = vec![format!(
        "the inputs carry no field filters, only record-level filters (imported clkhash CLKs): \
         record-level mode, no model fitted; match = record Dice ≥ {match_dice} \
         (thresholds.record_dice), review ≥ {review_dice} (thresholds.record_dice_review)"
    )];
    if cfg.blocking.lsh_bands == 0 {
        warnings
            .push("blocking.lsh_bands = 0: record-level mode has no candidates without LSH".into());
    }

    // Clusters never hold two records of one agency here (see the module docs), so pairs inside
    // an agency are not compared: `within_agency` does not apply.
    let mut blocking = cfg.blocking.clone();
    blocking.within_agency = false;

    stage("blocking");
    let t = Instant::now();
    let possible = possible_pairs(recs, false);
    let all_pairs = possible <= cfg.blocking.record_all_pairs_max;
    let mut blocks = None;
    if !all_pairs {
        let b = Blocks::build_guarded(recs, &blocking, cfg.output.candidates)?;
        warnings.extend(blocking_warnings(&b.stats, &blocking));
        warnings.push(format!(
            "record-level mode: {possible} possible pairs exceed blocking.record_all_pairs_max {}: \
             candidates from LSH bands, which miss matches on dense CLKs (check pair completeness)",
            cfg.blocking.record_all_pairs_max
        ));
        if cfg.blocking.lsh_bands == 0 {
            warnings.push("blocking.lsh_bands = 0: no candidates at all".into());
        }
        blocks = Some(b);
    }
    timings.block = t.elapsed().as_secs_f64();

    stage("comparing");
    let t = Instant::now();
    let kernel = Kernel::detect();
    let m = &recs.record_filter;
    let keep_all = cfg.output.candidates && !all_pairs;
    if cfg.output.candidates && all_pairs {
        warnings.push(
            "output.candidates ignored: record-level mode compared every pair (no blocking)".into(),
        );
    }
    // Chunks of (kept pairs, their Dice).
    let (segments, stats): (Vec<Segment>, BlockingStats) = match &mut blocks {
        None => {
            let segs = all_pairs_above(&kernel, recs, review_dice, false);
            let stats = BlockingStats {
                candidates: possible,
                candidates_by_block: BTreeMap::from([("all_pairs".to_string(), possible)]),
                possible_pairs: possible,
                reduction_ratio: 0.0,
                ..BlockingStats::default()
            };
            (segs, stats)
        }
        Some(blocks) => {
            let segs: Vec<(u64, Vec<PairKey>, Vec<f64>)> = blocks
                .chunks()
                .into_par_iter()
                .map(|range| {
                    let (mut n, mut pairs, mut sims) = (0u64, Vec::new(), Vec::new());
                    for k in range {
                        blocks.for_each_owned(k, |a, b, _| {
                            n += 1;
                            let d =
                                record_dice(&kernel, m, a as usize, b as usize).unwrap_or(f64::NAN);
                            if keep_all || d >= review_dice {
                                pairs.push(pack(a, b));
                                sims.push(d);
                            }
                        });
                    }
                    (n, pairs, sims)
                })
                .collect();
            blocks.set_candidates(segs.iter().map(|s| s.0).sum());
            let segs = segs.into_iter().map(|(_, p, s)| (p, s)).collect();
            (segs, blocks.stats.clone())
        }
    };
    timings.compare = t.elapsed().as_secs_f64();

    stage("scoring");
    let t = Instant::now();
    let keep: Vec<(f64, PairKey)> = segments
        .iter()
        .flat_map(|(p, s)| s.iter().copied().zip(p.iter().copied()))
        .filter(|&(d, _)| d >= review_dice)
        .collect();
    let scored = ScoredPairs::from_kept(keep, |_| f64::NAN, match_dice);
    super::budget::check_scored(
        scored.pairs.len() as u64,
        0,
        (
            "thresholds.record_dice_review",
            cfg.thresholds.record_dice_review,
        ),
        &cfg.blocking,
    )?;
    let candidates = keep_all.then(|| {
        let pairs = segments.iter().flat_map(|s| s.0.iter().copied()).collect();
        let sims = segments.iter().flat_map(|s| s.1.iter().copied()).collect();
        (pairs, sims)
    });
    drop(segments);
    timings.score = t.elapsed().as_secs_f64();

    // The schema's placeholder fields are null on every row: level 0, weight 0.
    let comparator = Comparator::new(recs, cfg);
    let weights = comparator
        .n_levels()
        .iter()
        .map(|&n| vec![0.0; usize::from(n) + 1])
        .collect();
    Ok(Decided {
        comparator,
        weights,
        scored,
        candidates,
        stats,
        // No probability to reach `duplicate_min_probability`: never two records of one agency
        // in a cluster (for two inputs, anonlink's greedy one-to-one solution).
        cluster: ClusterOptions {
            one_to_one: cfg.resolution.one_to_one,
            within_agency: false,
            duplicate_min_weight: f64::INFINITY,
            // Decided on the record Dice alone: a review pair is no evidence to join on.
            review_support: 0,
        },
        model: ModelInfo {
            lambda: f64::NAN,
            prior_weight: f64::NAN,
            u_source: "none: record-level mode decides on the record Dice, no model".into(),
            random_pairs: 0,
            fields: Vec::new(),
            em: EmReport {
                iterations: 0,
                last_change: 0.0,
                converged: false,
                log_likelihood: f64::NAN,
            },
            training: RECORD_DICE_TRAINING.into(),
            training_by_kind: Vec::new(),
            slots: None,
        },
        thresholds: ThresholdInfo {
            match_probability: f64::NAN,
            review_probability: f64::NAN,
            match_weight: match_dice,
            review_weight: review_dice,
        },
        isa: kernel.isa().name().to_string(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::clkhash::write_import;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Two imported inputs of random 256-bit CLKs, some of B near-copies of A.
    fn imported(dir: &std::path::Path) -> Records {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let a: Vec<Vec<u8>> = (0..40)
            .map(|_| (0..32).map(|_| rng.random::<u8>()).collect())
            .collect();
        let b: Vec<Vec<u8>> = (0..30)
            .map(|i| {
                let mut c: Vec<u8> = (0..32).map(|_| rng.random::<u8>()).collect();
                if i % 3 == 0 {
                    c.clone_from(&a[i]);
                    c[i % 32] ^= 0b1010_0101;
                }
                c
            })
            .collect();
        let (pa, pb) = (dir.join("a.padan.parquet"), dir.join("b.padan.parquet"));
        write_import(&pa, "a", &a, None).unwrap();
        write_import(&pb, "b", &b, None).unwrap();
        Records::load(&[pa, pb]).unwrap()
    }

    /// The run's shared write stage records the write and total timings in the manifest it
    /// writes (not only in the one it returns).
    #[test]
    fn the_written_manifest_has_the_run_timings() {
        let dir = tempfile::tempdir().unwrap();
        let recs = imported(dir.path());
        let job = super::super::LinkJob {
            inputs: recs.inputs.iter().map(|i| i.path.clone()).collect(),
            out_dir: dir.path().join("ms"),
            config: LinkConfig::default(),
        };
        let returned = job.run(&|_| {}).unwrap();
        let path = job.out_dir.join(crate::io::matchset::MANIFEST_FILE);
        let written = crate::io::manifest::Manifest::read(&path).unwrap();
        let t = &written.timings;
        assert!(
            t.total > 0.0 && t.write > 0.0 && t.total >= t.write,
            "{t:?}"
        );
        assert!((t.total - returned.timings.total).abs() < 1e-9);
        assert_eq!(written.counts.records, 70);
        assert_eq!(written.model.training, RECORD_DICE_TRAINING);
    }

    #[test]
    fn imported_inputs_carry_no_field_data() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!imported(dir.path()).has_field_data());
    }

    /// The kernel path finds exactly the pairs a brute-force loop over `record_dice` finds: every
    /// cross-agency pair at or above the threshold, and within-agency pairs only when asked.
    #[test]
    fn all_pairs_above_equals_brute_force() {
        let dir = tempfile::tempdir().unwrap();
        let recs = imported(dir.path());
        let kernel = Kernel::detect();
        let m = &recs.record_filter;
        for within in [false, true] {
            for t in [0.5, 0.9] {
                let mut got: Vec<(PairKey, f64)> = all_pairs_above(&kernel, &recs, t, within)
                    .into_iter()
                    .flat_map(|(p, s)| p.into_iter().zip(s))
                    .collect();
                got.sort_by_key(|x| x.0);
                let mut want = Vec::new();
                for a in 0..recs.len() {
                    for b in a + 1..recs.len() {
                        if !within && recs.agency_of[a] == recs.agency_of[b] {
                            continue;
                        }
                        let d = record_dice(&kernel, m, a, b).unwrap();
                        if d >= t {
                            want.push((pack(a as u32, b as u32), d));
                        }
                    }
                }
                assert_eq!(got, want, "within {within}, threshold {t}");
                if t == 0.9 && !within {
                    // The 10 planted near-copies (4 bits of 256 flipped), nothing else.
                    assert_eq!(got.len(), 10);
                }
            }
        }
    }

    #[test]
    fn record_dice_is_twice_the_overlap_over_the_counts() {
        let mut m = FilterMatrix::new(1);
        m.push_words(&[0b1111]);
        m.push_words(&[0b0011_1100]);
        m.push_words(&[0]);
        m.push_missing();
        let k = Kernel::detect();
        assert_eq!(record_dice(&k, &m, 0, 1), Some(2.0 * 2.0 / 8.0));
        assert_eq!(record_dice(&k, &m, 2, 2), Some(0.0));
        assert_eq!(record_dice(&k, &m, 0, 3), None);
    }
}
