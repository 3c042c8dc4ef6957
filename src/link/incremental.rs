//! `padan link --previous DIR`: link the current set of encoded files against a previous match
//! set, comparing only what changed (docs/file-formats.md §2, "Incremental runs").
//!
//! ```text
//! read inputs + previous match set → classify records (unchanged / added / changed / dropped)
//!   → block only the added and changed records against all → compare, score with the previous
//!   model → carry the previous scored pairs of unchanged records → resolve (scoring::clusters)
//!   → carry person ids forward → write the match set and changes.parquet
//! ```
//!
//! - A record is known by (agency, record id). It is *unchanged* when the previous run held it
//!   with the same `record_hash` (blake3 of its encoded content; a file whose own hash the previous
//!   manifest lists is unchanged as a whole), *changed* when the content differs, *added* when the
//!   previous run did not hold it; a previous record in no input now is *dropped*.
//! - With `--refit` (or inputs with only record-level filters) every pair is compared and the
//!   model fitted again, as a full run; person ids and changes are carried all the same.

use ahash::{AHashMap, AHashSet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::block::{pack, unpack, BlockingStats, PairKey};
use super::compare::Comparator;
use super::config::{BlockingConfig, LinkConfig};
use super::decided::{Decided, ScoredPairs};
use super::pipeline::{self, LinkJob};
use super::records::{Records, TokenColumn};
use crate::error::{Error, Result};
use crate::io::manifest::{Manifest, PreviousRun, RunLog, ThresholdInfo, Timings};
use crate::io::matchset::{
    fold_pairs_par, person_id, read_prev_records, record_ranks, Change, ChangeRef, ChangeSet,
    PrevRecords, RecordHash, RecordIds, StrList, CLUSTERS_FILE, MANIFEST_FILE, PAIRS_FILE,
    PERSON_ID_CONTEXT,
};
use crate::review::Decisions;
use crate::scoring::{self, ClusterOptions};

/// What an incremental run hands to the write stage (a full run: nothing).
#[derive(Debug, Default)]
pub struct Carried {
    /// Each record's `record_hash` (computed by the write stage when `None`).
    pub record_hashes: Option<Vec<RecordHash>>,
    /// Each cluster's carried `person_id` (the content rule when `None`).
    pub person_ids: Option<StrList>,
    /// Each record's rank by (agency, record id) ([`record_ranks`]; computed when `None`).
    pub ranks: Option<Vec<u32>>,
    /// The rows of `changes.parquet` and the previous run's person ids they refer to (not
    /// written when `None`).
    pub changes: Option<(ChangeSet, StrList)>,
}

/// The domain-separation label of [`record_hash`].
const RECORD_HASH_CONTEXT: &str = "padan 2026-12 record_hash v1";

/// blake3 (key-derivation mode under [`RECORD_HASH_CONTEXT`]) of everything record `i` carries in
/// its encoded file — each field's filter, exact token and blocking key and the record filter,
/// with whether each is present — truncated to 16 bytes (written as 32 hex digits). Equal for the
/// same record encoded twice with the same key and schema; it says nothing about the values
/// without the key.
pub fn record_hash(recs: &Records, i: usize) -> RecordHash {
    RecordHasher::new().hash(recs, i)
}

/// [`record_hash`] with its buffer and hasher kept from one record to the next.
struct RecordHasher {
    buf: Vec<u8>,
    hasher: blake3::Hasher,
}

impl RecordHasher {
    fn new() -> RecordHasher {
        RecordHasher {
            buf: Vec::with_capacity(1024),
            hasher: blake3::Hasher::new_derive_key(RECORD_HASH_CONTEXT),
        }
    }

    fn hash(&mut self, recs: &Records, i: usize) -> RecordHash {
        record_bytes(recs, i, &mut self.buf);
        // `reset` keeps the derived key: the same as a fresh hasher.
        self.hasher.reset();
        self.hasher.update(&self.buf);
        let mut out = [0u8; 16];
        out.copy_from_slice(&self.hasher.finalize().as_bytes()[..16]);
        out
    }
}

/// The bytes [`record_hash`] hashes, appended to `buf` (cleared first).
fn record_bytes(recs: &Records, i: usize, buf: &mut Vec<u8>) {
    buf.clear();
    for m in recs.filters.iter().flatten() {
        if m.is_missing(i) {
            buf.push(0);
        } else {
            buf.push(1);
            for w in m.row(i) {
                buf.extend_from_slice(&w.to_le_bytes());
            }
        }
    }
    let tokens = recs.tokens.iter().flatten();
    for t in tokens.chain(recs.block_keys.iter().map(|(_, t)| t)) {
        match t.get(i) {
            Some(v) => {
                buf.push(1);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            None => buf.push(0),
        }
    }
    for w in recs.record_filter.row(i) {
        buf.extend_from_slice(&w.to_le_bytes());
    }
}

/// [`record_hash`] of every record, in parallel.
pub fn record_hashes(recs: &Records) -> Vec<RecordHash> {
    (0..recs.len())
        .into_par_iter()
        .with_min_len(1024)
        .map_init(RecordHasher::new, |h, i| h.hash(recs, i))
        .collect()
}

/// A record's state against the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// In the previous run with the same content.
    Unchanged,
    /// In the previous run with another content.
    Changed,
    /// Not in the previous run.
    Added,
}

/// The previous match set.
pub struct Previous {
    /// Its directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// What the manifest says of the chain.
    pub info: PreviousRun,
}

impl Previous {
    /// Opens the match set in `dir`: its manifest, and the hashes of the files it is made of.
    pub fn open(dir: &Path) -> Result<Previous> {
        let path = dir.join(MANIFEST_FILE);
        if !path.is_file() {
            return Err(Error::config(
                "--previous",
                format!(
                    "{} holds no {MANIFEST_FILE}: name the directory of a match set written by padan link",
                    dir.display()
                ),
            ));
        }
        let manifest = Manifest::read(&path)?;
        for f in [CLUSTERS_FILE, PAIRS_FILE] {
            if !dir.join(f).is_file() {
                return Err(Error::input_file(
                    &dir.join(f),
                    "missing: --previous needs the whole match set",
                ));
            }
        }
        let info = PreviousRun {
            manifest_blake3: crate::io::file_blake3(&path)?,
            clusters_blake3: crate::io::file_blake3(&dir.join(CLUSTERS_FILE))?,
            pairs_blake3: crate::io::file_blake3(&dir.join(PAIRS_FILE))?,
            ..PreviousRun::default()
        };
        Ok(Previous {
            dir: dir.to_path_buf(),
            manifest,
            info,
        })
    }

    /// Refuses a previous match set made with another key, schema or encoding version than the
    /// inputs (exit 4): its pairs, model and record hashes would not mean the same.
    pub fn check_compatible(&self, recs: &Records) -> Result<()> {
        let m = &self.manifest;
        let now = &recs.inputs[0].meta;
        let dir = self.dir.display();
        let differ = |what: &str, a: &str, b: &str| {
            Err(Error::Incompatible(format!(
                "the previous match set {dir} was made with another {what} ({a}) than the inputs ({b}): an incremental run needs the same {what}; link the inputs without --previous"
            )))
        };
        if m.key_fingerprint != now.key_fingerprint {
            return differ("key", &m.key_fingerprint, &now.key_fingerprint);
        }
        if m.schema_fingerprint != now.schema_fingerprint {
            return differ("schema", &m.schema_fingerprint, &now.schema_fingerprint);
        }
        if let Some(v) = m.inputs.first().map(|i| i.encoding_version) {
            if v != now.encoding_version {
                return differ(
                    "encoding version",
                    &v.to_string(),
                    &now.encoding_version.to_string(),
                );
            }
        }
        Ok(())
    }

    /// Refuses to reuse the previous model under a config that compares or blocks otherwise
    /// (exit 2): only `thresholds` and `output` may differ without `--refit`.
    pub fn check_config(&self, cfg: &LinkConfig) -> Result<()> {
        let now = pipeline::config_json(cfg)?;
        // The previous config with this padan's defaults filled in: a key added since (at its
        // default) is no difference.
        let before = serde_json::from_value::<LinkConfig>(self.manifest.config.clone())
            .ok()
            .and_then(|c| pipeline::config_json(&c).ok())
            .unwrap_or_else(|| self.manifest.config.clone());
        let mut differs = Vec::new();
        for k in ["blocking", "comparison", "model", "resolution"] {
            if before.get(k) != now.get(k) {
                differs.push(k);
            }
        }
        if self.manifest.model.training == super::record_level::RECORD_DICE_TRAINING {
            differs.push("model (the previous run was record-level)");
        }
        if differs.is_empty() {
            return Ok(());
        }
        Err(Error::config(
            "--previous",
            format!(
                "the link config differs from the previous run's in [{}]: its model and pairs cannot be reused; pass --refit to compare every pair and fit again",
                differs.join(", ")
            ),
        ))
    }
}

/// The records against the previous run.
pub struct Classified {
    /// State of each current record.
    pub state: Vec<State>,
    /// Index into the previous records of each current record (`u32::MAX`: added).
    pub prev_of: Vec<u32>,
    /// Whether each previous record is in an input now.
    pub prev_present: Vec<bool>,
    /// Each current record's `record_hash`.
    pub hashes: Vec<RecordHash>,
    /// Agencies whose file is byte-identical to a previous input.
    pub unchanged_inputs: Vec<String>,
}

/// The previous records by (agency, record id): for each, its first row in the previous
/// `clusters.parquet`. One map per agency, built in parallel.
pub struct PrevIndex<'a> {
    agencies: &'a [String],
    maps: Vec<AHashMap<&'a str, u32>>,
}

impl<'a> PrevIndex<'a> {
    /// Indexes `prev`.
    pub fn new(prev: &'a PrevRecords) -> PrevIndex<'a> {
        let maps = (0..prev.agencies.len())
            .into_par_iter()
            .map(|a| {
                let a = a as u16;
                let n = prev.agency_of.iter().filter(|&&x| x == a).count();
                let mut m = AHashMap::with_capacity(n);
                for (j, &x) in prev.agency_of.iter().enumerate() {
                    if x == a {
                        m.entry(prev.ids.get(j)).or_insert(j as u32);
                    }
                }
                m
            })
            .collect();
        PrevIndex {
            agencies: &prev.agencies,
            maps,
        }
    }

    /// The previous agency index of agency `name`.
    pub fn agency(&self, name: &str) -> Option<usize> {
        self.agencies.iter().position(|a| a == name)
    }

    /// The first previous row of `id` in previous agency `agency`.
    #[inline]
    pub fn get(&self, agency: usize, id: &str) -> Option<u32> {
        self.maps[agency].get(id).copied()
    }

    /// The first previous row of (agency name, record id).
    pub fn lookup(&self, agency: &str, id: &str) -> Option<u32> {
        self.get(self.agency(agency)?, id)
    }
}

/// Classifies every current record against the previous run's records (`prev`, indexed by
/// `index`).
pub fn classify(
    recs: &Records,
    previous: &Previous,
    prev: &PrevRecords,
    index: &PrevIndex<'_>,
) -> Classified {
    let known: AHashSet<&str> = previous
        .manifest
        .inputs
        .iter()
        .map(|i| i.blake3.as_str())
        .collect();
    let mut unchanged_inputs = Vec::new();
    let mut file_unchanged = vec![false; recs.len()];
    for input in &recs.inputs {
        if known.contains(input.blake3.as_str()) {
            unchanged_inputs.push(input.meta.agency.clone());
            file_unchanged[input.offset..input.offset + input.rows].fill(true);
        }
    }
    let prev_agency: Vec<Option<usize>> = recs.agencies.iter().map(|a| index.agency(a)).collect();
    let out: Vec<(State, u32, RecordHash)> = (0..recs.len())
        .into_par_iter()
        .with_min_len(1024)
        .map_init(RecordHasher::new, |h, i| {
            let found = prev_agency[recs.agency_of[i] as usize]
                .and_then(|a| index.get(a, recs.ids[i].as_str()));
            match found {
                None => (State::Added, u32::MAX, h.hash(recs, i)),
                Some(j) => {
                    let old = prev.hashes[j as usize];
                    if file_unchanged[i] {
                        // The same file as before: the same record (its hash computed only when
                        // the previous match set has none for it).
                        let h = old.unwrap_or_else(|| h.hash(recs, i));
                        return (State::Unchanged, j, h);
                    }
                    let h = h.hash(recs, i);
                    let state = if old == Some(h) {
                        State::Unchanged
                    } else {
                        State::Changed
                    };
                    (state, j, h)
                }
            }
        })
        .collect();
    let mut prev_present = vec![false; prev.len()];
    let mut state = Vec::with_capacity(out.len());
    let mut prev_of = Vec::with_capacity(out.len());
    let mut hashes = Vec::with_capacity(out.len());
    for (s, j, h) in out {
        if j != u32::MAX {
            prev_present[j as usize] = true;
        }
        state.push(s);
        prev_of.push(j);
        hashes.push(h);
    }
    Classified {
        state,
        prev_of,
        prev_present,
        hashes,
        unchanged_inputs,
    }
}

/// One incremental link run: a [`LinkJob`] and the previous match set.
pub struct IncrementalJob {
    /// The link run (all current inputs, unchanged ones too).
    pub job: LinkJob,
    /// The previous match set's directory.
    pub previous: PathBuf,
    /// Compare every pair and fit the model again instead of reusing the previous one.
    pub refit: bool,
}

impl IncrementalJob {
    /// Runs the job; `stage(label)` is called when a stage starts.
    pub fn run(&self, stage: &(dyn Fn(&str) + Sync)) -> Result<Manifest> {
        self.run_with_decisions(stage, &Decisions::default())
    }

    /// [`Self::run`] with reviewers' verdicts (`padan link --previous DIR --decisions FILE`), as
    /// [`LinkJob::run_with_decisions`] applies them.
    pub fn run_with_decisions(
        &self,
        stage: &(dyn Fn(&str) + Sync),
        decisions: &Decisions,
    ) -> Result<Manifest> {
        let t_total = Instant::now();
        let cfg = &self.job.config;
        cfg.validate("link config")?;
        if cfg.blocking.knn_k > 0 && !self.refit {
            return Err(Error::config(
                "blocking.knn_k",
                "meta-blocking ranks each record's neighbours among all records, which an incremental run does not block again; set knn_k = 0, or add --refit to compare every pair",
            ));
        }
        if cfg.output.candidates && !self.refit {
            return Err(Error::config(
                "--write-candidates",
                "an incremental run compares only the pairs with an added or changed record, so it has no full candidates.parquet; add --refit to compare every pair",
            ));
        }
        let mut timings = Timings::default();

        stage("reading");
        let t = Instant::now();
        let previous = Previous::open(&self.previous)?;
        // The inputs and the previous records, side by side (errors in the order of a
        // sequential read: the inputs', the previous set's compatibility, then its records').
        let clusters = previous.dir.join(CLUSTERS_FILE);
        let (recs, prev) = rayon::join(
            || pipeline::read(&self.job.inputs, cfg),
            || read_prev_records(&clusters),
        );
        let recs = recs?;
        previous.check_compatible(&recs)?;
        let slot_cfg = super::slots::adjust_config(&recs.schema, cfg);
        let cfg = slot_cfg.as_ref().unwrap_or(cfg);
        let reuse = !self.refit && recs.has_field_data();
        if reuse && !recs.schema.slots.is_empty() && previous.manifest.model.slots.is_none() {
            return Err(Error::config(
                "--previous",
                "the inputs use salt slots, and the previous manifest holds no slot model (the shared slot sets, and each field given what they bind) to score new pairs with; add --refit to compare every pair and fit again",
            ));
        }
        if reuse {
            previous.check_config(cfg)?;
        }
        let prev = prev?;
        let index = PrevIndex::new(&prev);
        let classified = classify(&recs, &previous, &prev, &index);
        timings.read = t.elapsed().as_secs_f64();

        let (mut decided, compared, carried) = if reuse {
            decide_reusing(
                &recs,
                cfg,
                &previous,
                (&classified, &index),
                stage,
                &mut timings,
            )?
        } else {
            let d = if recs.has_field_data() {
                pipeline::decide(&recs, cfg, stage, &mut timings)?
            } else {
                super::record_level::decide(&recs, cfg, stage, &mut timings)?
            };
            let n = d.stats.candidates;
            (d, n, 0)
        };

        stage("clustering");
        let t = Instant::now();
        let (clustering, decisions_info) = pipeline::resolve(&recs, &mut decided, decisions);
        let ranks = record_ranks(RecordIds {
            agencies: &recs.agencies,
            agency_of: &recs.agency_of,
            ids: &recs.ids,
        });
        drop(index);
        let (persons, changes) =
            carry_person_ids(&recs, &clustering.cluster_of, &classified, &prev, &ranks);
        timings.resolve = t.elapsed().as_secs_f64();

        stage("writing");
        let t = Instant::now();
        let counts = pipeline::counts(&recs, &decided.stats, &decided.scored, &clustering);
        let st = &classified.state;
        let mut info = previous.info.clone();
        info.model = if reuse { "reused" } else { "refit" }.into();
        info.unchanged_inputs = classified.unchanged_inputs.clone();
        info.records_unchanged = st.iter().filter(|&&s| s == State::Unchanged).count() as u64;
        info.records_changed = st.iter().filter(|&&s| s == State::Changed).count() as u64;
        info.records_added = st.iter().filter(|&&s| s == State::Added).count() as u64;
        info.records_dropped = classified.prev_present.iter().filter(|&&p| !p).count() as u64;
        info.pairs_compared = compared;
        info.pairs_carried = carried;
        for r in &changes.rows {
            *info
                .persons_by_change
                .entry(r.change.as_str().to_string())
                .or_insert(0) += 1;
        }
        let mut manifest = Manifest {
            inputs: pipeline::manifest_inputs(&recs)?,
            schema_fingerprint: recs.schema.fingerprint(),
            key_fingerprint: recs.inputs[0].meta.key_fingerprint.clone(),
            config: pipeline::config_json(cfg)?,
            model: decided.model.clone(),
            thresholds: decided.thresholds.clone(),
            counts,
            timings,
            threads: rayon::current_num_threads(),
            isa: decided.isa.clone(),
            warnings: decided.warnings.clone(),
            previous: Some(info),
            decisions: decisions_info,
            ..Manifest::new()
        };
        drop(previous);
        let Classified { hashes, .. } = classified;
        let PrevRecords {
            persons: before, ..
        } = prev;
        pipeline::write(
            &self.job.out_dir,
            &recs,
            &decided,
            (&clustering.cluster_of, decisions),
            &mut manifest,
            [t, t_total],
            Carried {
                record_hashes: Some(hashes),
                person_ids: Some(persons),
                ranks: Some(ranks),
                changes: Some((changes, before)),
            },
        )?;
        RunLog::write(&self.job.out_dir, &manifest)?;
        Ok(manifest)
    }
}

/// Block, compare and score with the previous model: only pairs with an added or changed record
/// are compared; the previous run's scored pairs of two unchanged records are carried. Returns
/// the decisions, the pairs compared and the pairs carried.
fn decide_reusing<'a>(
    recs: &'a Records,
    cfg: &LinkConfig,
    previous: &Previous,
    (c, index): (&Classified, &PrevIndex<'_>),
    stage: &(dyn Fn(&str) + Sync),
    timings: &mut Timings,
) -> Result<(Decided<'a>, u64, u64)> {
    let model = &previous.manifest.model;
    let comparator = Comparator::new(recs, cfg);
    let n_levels = comparator.n_levels();
    let mut weights = Vec::with_capacity(n_levels.len());
    for (f, spec) in recs.schema.fields.iter().enumerate() {
        let fi = model.fields.get(f).filter(|fi| fi.name == spec.name);
        let Some(fi) = fi.filter(|fi| fi.levels.len() == n_levels[f] as usize) else {
            return Err(Error::config(
                "--previous",
                format!(
                    "the previous model has no levels for field '{}' as this config compares it; pass --refit",
                    spec.name
                ),
            ));
        };
        let mut w = vec![0.0];
        w.extend(fi.levels.iter().map(|l| l.weight));
        weights.push(w);
    }
    let prior = model.prior();
    let lambda = model.lambda;
    let th = ThresholdInfo {
        match_probability: cfg.thresholds.match_probability,
        review_probability: cfg.thresholds.review_probability,
        match_weight: scoring::weight_for_probability(cfg.thresholds.match_probability, prior),
        review_weight: scoring::weight_for_probability(cfg.thresholds.review_probability, prior),
    };

    stage("blocking");
    let t = Instant::now();
    let is_new: Vec<bool> = c.state.iter().map(|&s| s != State::Unchanged).collect();
    let caps = &previous.manifest.counts.blocking.effective_max_block_size;
    let (pairs, by_kind) = candidates_with(recs, &cfg.blocking, &is_new, caps);
    timings.block = t.elapsed().as_secs_f64();

    // A slot schema's pairs are weighed by the previous slot model, given the keys they share.
    let slot = match (&model.slots, recs.schema.slots.is_empty()) {
        (Some(sm), false) => {
            let keys = super::slots::PairKeys::new(recs);
            if sm.binding.key_layout != keys.binding.key_layout {
                return Err(Error::config(
                    "--previous",
                    "the previous slot model was fitted by an earlier padan, whose pair keys did not say which slots both records carry; pass --refit",
                ));
            }
            if keys.binding != sm.binding {
                return Err(Error::config(
                    "--previous",
                    "the previous slot model binds other slots or tokens than these inputs carry; pass --refit",
                ));
            }
            Some((sm, keys))
        }
        _ => None,
    };

    stage("comparing");
    let t = Instant::now();
    let nf = comparator.n_fields();
    let mut keep: Vec<(f64, PairKey)> = pairs
        .par_chunks(4096)
        .flat_map_iter(|chunk| {
            let mut lv = vec![0u8; nf];
            let mut out = Vec::new();
            for &p in chunk {
                let (a, b) = unpack(p);
                comparator.levels(a as usize, b as usize, &mut lv);
                let w: f64 = match &slot {
                    Some((sm, keys)) => sm.weight(keys.key(a as usize, b as usize), &lv),
                    None => lv
                        .iter()
                        .enumerate()
                        .map(|(f, &l)| weights[f][l as usize])
                        .sum(),
                };
                if w >= th.review_weight {
                    out.push((w, p));
                }
            }
            out
        })
        .collect();
    timings.compare = t.elapsed().as_secs_f64();

    stage("scoring");
    let t = Instant::now();
    // The previous scored pairs of two unchanged records: same model, same score.
    let mut cur_of_prev = vec![u32::MAX; c.prev_present.len()];
    for (i, &j) in c.prev_of.iter().enumerate() {
        if j != u32::MAX && c.state[i] == State::Unchanged {
            cur_of_prev[j as usize] = i as u32;
        }
    }
    let cur = |agency: &str, id: &str| {
        index
            .lookup(agency, id)
            .map(|j| cur_of_prev[j as usize])
            .filter(|&i| i != u32::MAX)
    };
    let parts = fold_pairs_par(
        &previous.dir.join(PAIRS_FILE),
        |out: &mut Vec<(f64, PairKey)>, r| {
            if r.match_weight >= th.review_weight {
                if let (Some(a), Some(b)) = (
                    cur(r.left_agency, r.left_id),
                    cur(r.right_agency, r.right_id),
                ) {
                    if a != b {
                        out.push((r.match_weight, pack(a.min(b), a.max(b))));
                    }
                }
            }
            Ok(())
        },
    )?;
    let carried: u64 = parts.iter().map(|p| p.len() as u64).sum();
    keep.reserve(carried as usize);
    for p in parts {
        keep.extend(p);
    }
    let scored = ScoredPairs::from_kept(
        keep,
        |w| scoring::probability_from_weight(w, lambda),
        th.match_weight,
    );
    super::budget::check_review(scored.pairs.len() as u64, weights.len(), cfg)?;
    timings.score = t.elapsed().as_secs_f64();

    let compared = pairs.len() as u64;
    let possible = super::block::possible_pairs(recs, cfg.blocking.within_agency);
    let stats = BlockingStats {
        candidates: compared,
        candidates_by_block: by_kind,
        possible_pairs: possible,
        reduction_ratio: if possible > 0 {
            1.0 - compared as f64 / possible as f64
        } else {
            f64::NAN
        },
        ..BlockingStats::default()
    };
    let cluster = ClusterOptions {
        one_to_one: cfg.resolution.one_to_one,
        within_agency: cfg.blocking.within_agency,
        duplicate_min_weight: scoring::weight_for_probability(
            cfg.resolution.duplicate_min_probability,
            prior,
        ),
        review_support: cfg.resolution.review_support,
    };
    let isa = comparator.isa().to_string();
    let decided = Decided {
        comparator,
        weights,
        scored,
        candidates: None,
        stats,
        cluster,
        model: model.clone(),
        thresholds: th,
        isa,
        warnings: Vec::new(),
    };
    Ok((decided, compared, carried))
}

/// Where one blocking kind's key of a record comes from.
enum KeySource<'a> {
    /// An exact token or blocking-key column.
    Token(&'a TokenColumn),
    /// One key per record (slot tags).
    Dense(Vec<Option<u128>>),
    /// An LSH band: the sampled bit positions of the record filter.
    Lsh(Band),
}

impl KeySource<'_> {
    /// Record `i`'s key (`None`: in no block of the kind); `row` is its record filter.
    #[inline]
    fn key(&self, i: usize, row: &[u64], bmi2: bool) -> Option<u128> {
        match self {
            KeySource::Token(t) => t.get(i),
            KeySource::Dense(v) => v[i],
            KeySource::Lsh(band) => {
                let key = band.key(row, bmi2);
                // An all-zero sample says nothing (a near-empty filter): no bucket.
                (key != 0).then_some(u128::from(key))
            }
        }
    }
}

/// One LSH band: its sampled bit positions of the record filter, as (word, mask) pairs by
/// ascending word. A record's key is its sampled bits, packed in ascending position order:
/// two records share a key exactly when they agree on every sampled bit, as with the bits in
/// drawing order of a full run's blocking (the same buckets, other key values).
struct Band {
    words: Vec<(usize, u64)>,
}

impl Band {
    fn new(positions: &[usize]) -> Band {
        let mut masks: BTreeMap<usize, u64> = BTreeMap::new();
        for &p in positions {
            *masks.entry(p / 64).or_insert(0) |= 1u64 << (p % 64);
        }
        Band {
            words: masks.into_iter().collect(),
        }
    }

    /// The key of a record filter `row` (`bmi2`: the CPU has PEXT).
    #[inline]
    fn key(&self, row: &[u64], bmi2: bool) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if bmi2 {
            // SAFETY: the caller checked that the CPU has BMI2.
            return unsafe { band_key_bmi2(row, &self.words) };
        }
        let _ = bmi2;
        band_key(row, &self.words)
    }
}

/// [`Band::key`] bit by bit.
fn band_key(row: &[u64], words: &[(usize, u64)]) -> u64 {
    let mut key = 0u64;
    let mut shift = 0u32;
    for &(w, mask) in words {
        let mut m = mask;
        while m != 0 {
            let b = m.trailing_zeros();
            key |= ((row[w] >> b) & 1) << shift;
            shift += 1;
            m &= m - 1;
        }
    }
    key
}

/// [`Band::key`] with PEXT (the same value as [`band_key`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
unsafe fn band_key_bmi2(row: &[u64], words: &[(usize, u64)]) -> u64 {
    use std::arch::x86_64::_pext_u64;
    let mut key = 0u64;
    let mut shift = 0u32;
    for &(w, mask) in words {
        key |= _pext_u64(row[w], mask) << shift;
        shift += mask.count_ones();
    }
    key
}

/// Whether the CPU has PEXT.
fn has_bmi2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("bmi2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The blocking kinds of [`super::block::Blocks::build`] for these records and config (the same
/// choice of columns, the same LSH bit positions).
fn kinds<'a>(recs: &'a Records, cfg: &BlockingConfig) -> Vec<(String, KeySource<'a>)> {
    let mut out = Vec::new();
    for (name, col) in recs.token_columns() {
        if super::block::blocks_on_token(&recs.schema, cfg, &name) {
            out.push((name, KeySource::Token(col)));
        }
    }
    for (name, keys) in super::slots::slot_keys(recs) {
        if cfg.keys.is_empty() || cfg.keys.contains(&name) {
            let mut v = vec![None; recs.len()];
            for (k, r) in keys {
                v[r as usize] = Some(u128::from(k));
            }
            out.push((name, KeySource::Dense(v)));
        }
    }
    if cfg.lsh_bands > 0 {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.lsh_seed);
        let bits = recs.record_filter.bits();
        for _ in 0..cfg.lsh_bands {
            let positions: Vec<usize> = (0..cfg.lsh_bits)
                .map(|_| rng.random_range(0..bits))
                .collect();
            out.push(("lsh".to_string(), KeySource::Lsh(Band::new(&positions))));
        }
    }
    out
}

/// A bit set over one kind's keys that holds every wanted key: a key whose bit is clear is not
/// wanted, one whose bit is set is looked up. Small (16 bits per wanted key) to stay in cache.
struct KeyFilter {
    bits: Vec<u64>,
    shift: u32,
}

impl KeyFilter {
    fn new(wanted: &AHashSet<u128>) -> KeyFilter {
        let log = (wanted.len() * 16)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(12, 30);
        let mut f = KeyFilter {
            bits: vec![0u64; 1 << (log - 6)],
            shift: 64 - log,
        };
        for &key in wanted {
            let s = f.slot(key);
            f.bits[s / 64] |= 1 << (s % 64);
        }
        f
    }

    #[inline]
    fn slot(&self, key: u128) -> usize {
        let x = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
        let x = (x ^ (x >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        ((x ^ (x >> 29)).wrapping_mul(0x94d0_49bb_1331_11eb) >> self.shift) as usize
    }

    #[inline]
    fn maybe(&self, key: u128) -> bool {
        let s = self.slot(key);
        self.bits[s / 64] >> (s % 64) & 1 != 0
    }
}

/// Candidate pairs with at least one `is_new` record: every block (of the kinds of a full run)
/// that holds a new record, whole, skipped above `max_block_size` or above the previous run's
/// effective cap of its kind (`caps`, from its pair budget). Returns the distinct pairs, ascending,
/// and the pairs per kind before deduplication.
pub fn candidates_with(
    recs: &Records,
    cfg: &BlockingConfig,
    is_new: &[bool],
    caps: &BTreeMap<String, u64>,
) -> (Vec<PairKey>, BTreeMap<String, u64>) {
    let mut pairs: Vec<PairKey> = Vec::new();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let new_ids: Vec<u32> = (0..recs.len() as u32)
        .filter(|&i| is_new[i as usize])
        .collect();
    if new_ids.is_empty() {
        return (pairs, by_kind);
    }
    let cap_of = |name: &str| {
        caps.get(name).map_or(cfg.max_block_size, |&c| {
            (c as usize).min(cfg.max_block_size)
        })
    };
    let bmi2 = has_bmi2();
    let kinds = kinds(recs, cfg);
    let row = |i: usize| recs.record_filter.row(i);
    let wanted: Vec<AHashSet<u128>> = kinds
        .iter()
        .map(|(_, src)| {
            new_ids
                .iter()
                .filter_map(|&i| src.key(i as usize, row(i as usize), bmi2))
                .collect()
        })
        .collect();
    let filters: Vec<KeyFilter> = wanted.iter().map(KeyFilter::new).collect();
    // Every (kind, key, record) whose key a new record has.
    let mut hits: Vec<(u32, u128, u32)> = Vec::new();
    for (k, (_, src)) in kinds.iter().enumerate() {
        if wanted[k].is_empty() {
            continue;
        }
        let (w, f) = (&wanted[k], &filters[k]);
        hits.par_extend(
            (0..recs.len())
                .into_par_iter()
                .with_min_len(4096)
                .filter_map(|i| {
                    src.key(i, row(i), bmi2)
                        .filter(|&key| f.maybe(key) && w.contains(&key))
                        .map(|key| (k as u32, key, i as u32))
                }),
        );
    }
    hits.par_sort_unstable();
    let mut produced = vec![0u64; kinds.len()];
    for block in hits.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        let k = block[0].0 as usize;
        if block.len() > cap_of(&kinds[k].0) {
            continue;
        }
        for &(_, _, a) in block.iter().filter(|&&(_, _, a)| is_new[a as usize]) {
            for &(_, _, b) in block {
                if b == a || (is_new[b as usize] && b < a) {
                    continue;
                }
                if !cfg.within_agency && recs.agency_of[a as usize] == recs.agency_of[b as usize] {
                    continue;
                }
                pairs.push(pack(a.min(b), a.max(b)));
                produced[k] += 1;
            }
        }
    }
    for (k, (name, _)) in kinds.iter().enumerate() {
        if !wanted[k].is_empty() {
            *by_kind.entry(name.clone()).or_insert(0) += produced[k];
        }
    }
    pairs.par_sort_unstable();
    pairs.dedup();
    (pairs, by_kind)
}

/// A new person id for a cluster whose smallest member is (agency, record id), that is not
/// `taken`: the content rule ([`person_id`]), or, when a previous person had it, the same hash
/// with a counter (1, 2, …) until it is free.
fn fresh_id(agency: &str, record_id: &str, taken: impl Fn(&str) -> bool) -> String {
    let id = person_id(agency, record_id);
    if !taken(id.as_str()) {
        return id;
    }
    for n in 1u64.. {
        let mut h = blake3::Hasher::new_derive_key(PERSON_ID_CONTEXT);
        h.update(&(agency.len() as u64).to_le_bytes());
        h.update(agency.as_bytes());
        h.update(record_id.as_bytes());
        h.update(&[0xff]);
        h.update(&n.to_le_bytes());
        let d = h.finalize();
        let hex =
            crate::io::matchset::record_hash_hex(d.as_bytes()[..16].try_into().expect("16 bytes"));
        let id = format!("p-{}", std::str::from_utf8(&hex[..16]).expect("hex"));
        if !taken(id.as_str()) {
            return id;
        }
    }
    unreachable!("a free id within 2^64 tries")
}

/// Whether the ascending `list` holds `s`.
fn sorted_contains(list: &StrList, s: &str) -> bool {
    let (mut lo, mut hi) = (0, list.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        match list.get(mid).cmp(s) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// Carries the previous persons' ids to the new clusters and says what changed
/// (docs/file-formats.md §2): returns each cluster's `person_id` (index = cluster id) and the rows
/// of `changes.parquet` (persons ascending by id, then removed persons by previous id), which
/// refer to the previous persons by their index in `prev.persons`.
///
/// Overlaps (new cluster, previous person) counted in records are matched greedily, largest
/// first (ties: previous id, then the cluster's smallest member by (agency, record id), `ranks`
/// being [`record_ranks`]): each cluster takes at most one previous id and each id goes to at
/// most one cluster. A cluster left without one gets a new id by the content rule, never the id
/// of a previous person.
pub fn carry_person_ids(
    recs: &Records,
    cluster_of: &[u32],
    c: &Classified,
    prev: &PrevRecords,
    ranks: &[u32],
) -> (StrList, ChangeSet) {
    let n_clusters = cluster_of
        .iter()
        .map(|&x| x as usize + 1)
        .max()
        .unwrap_or(0);
    // Previous persons, densely numbered in id order.
    let np = prev.persons.len();
    let mut prev_size = vec![0i64; np];
    let mut prev_dropped = vec![0i64; np];
    for (j, &p) in prev.person_of.iter().enumerate() {
        prev_size[p as usize] += 1;
        if !c.prev_present[j] {
            prev_dropped[p as usize] += 1;
        }
    }
    // Smallest member of each cluster, its size and what it is made of.
    let key = |i: usize| {
        (
            recs.agencies[recs.agency_of[i] as usize].as_str(),
            recs.ids[i].as_str(),
        )
    };
    let mut smallest = vec![u32::MAX; n_clusters];
    let mut size = vec![0i64; n_clusters];
    let mut added = vec![0i64; n_clusters];
    let mut changed = vec![0i64; n_clusters];
    let mut overlaps: Vec<u64> = Vec::with_capacity(cluster_of.len());
    for (i, &cl) in cluster_of.iter().enumerate() {
        let cl = cl as usize;
        size[cl] += 1;
        if smallest[cl] == u32::MAX || ranks[i] < ranks[smallest[cl] as usize] {
            smallest[cl] = i as u32;
        }
        match c.state[i] {
            State::Added => added[cl] += 1,
            State::Changed => changed[cl] += 1,
            State::Unchanged => {}
        }
        if c.prev_of[i] != u32::MAX {
            let p = prev.person_of[c.prev_of[i] as usize];
            overlaps.push(((cl as u64) << 32) | u64::from(p));
        }
    }
    overlaps.par_sort_unstable();
    // (cluster, person, records in both).
    let mut edges: Vec<(u32, u32, i64)> = Vec::new();
    for &x in &overlaps {
        let (cl, p) = ((x >> 32) as u32, x as u32);
        match edges.last_mut() {
            Some(e) if (e.0, e.1) == (cl, p) => e.2 += 1,
            _ => edges.push((cl, p, 1)),
        }
    }
    drop(overlaps);
    // Each cluster's contributors (edges are grouped by cluster) and each person's clusters.
    let mut contrib_start = vec![0usize; n_clusters + 1];
    for e in &edges {
        contrib_start[e.0 as usize + 1] += 1;
    }
    for k in 0..n_clusters {
        contrib_start[k + 1] += contrib_start[k];
    }
    let mut in_clusters = vec![0i64; np];
    for e in &edges {
        in_clusters[e.1 as usize] += e.2;
    }
    // Largest overlap first; ties by person, then by the cluster's smallest member.
    let mut order: Vec<(std::cmp::Reverse<i64>, u32, u32, u32)> = edges
        .iter()
        .enumerate()
        .map(|(k, e)| {
            (
                std::cmp::Reverse(e.2),
                e.1,
                ranks[smallest[e.0 as usize] as usize],
                k as u32,
            )
        })
        .collect();
    order.par_sort_unstable();
    let mut heir = vec![u32::MAX; n_clusters];
    let mut taken_p = vec![false; np];
    for &(_, _, _, k) in &order {
        let (cl, p, _) = edges[k as usize];
        if heir[cl as usize] == u32::MAX && !taken_p[p as usize] {
            heir[cl as usize] = p;
            taken_p[p as usize] = true;
        }
    }
    drop(order);
    let mut persons = StrList::new();
    let mut set = ChangeSet {
        rows: Vec::with_capacity(n_clusters),
        previous_persons: edges.iter().map(|e| e.1).collect(),
    };
    for cl in 0..n_clusters {
        if smallest[cl] == u32::MAX {
            persons.push("");
            continue;
        }
        let contrib = &edges[contrib_start[cl]..contrib_start[cl + 1]];
        if heir[cl] != u32::MAX {
            persons.push(prev.persons.get(heir[cl] as usize));
        } else {
            let (a, id) = key(smallest[cl] as usize);
            persons.push(&fresh_id(a, id, |s| sorted_contains(&prev.persons, s)));
        }
        // The previous person it continues: its heir, else the largest contributor.
        let main = if heir[cl] != u32::MAX {
            Some(heir[cl])
        } else {
            contrib
                .iter()
                .max_by(|x, y| x.2.cmp(&y.2).then(y.1.cmp(&x.1)))
                .map(|e| e.1)
        };
        let change = match contrib.len() {
            0 => Change::New,
            1 => {
                let (_, p, n) = contrib[0];
                let p = p as usize;
                if n < in_clusters[p] {
                    Change::Split
                } else if prev_dropped[p] > 0 {
                    Change::Shrunk
                } else if added[cl] > 0 {
                    Change::Grown
                } else {
                    Change::Unchanged
                }
            }
            _ => Change::Merged,
        };
        set.rows.push(ChangeRef {
            person: Some(cl as u32),
            change,
            previous_person: main,
            previous_persons: (contrib_start[cl] as u32, contrib_start[cl + 1] as u32),
            records: size[cl],
            records_added: added[cl],
            records_changed: changed[cl],
            records_dropped: main.map_or(0, |p| prev_dropped[p as usize]),
            previous_records: main.map_or(0, |p| prev_size[p as usize]),
        });
    }
    set.rows.par_sort_unstable_by(|x, y| {
        let id = |r: &ChangeRef| r.person.map(|cl| persons.get(cl as usize));
        id(x).cmp(&id(y))
    });
    for p in 0..np {
        if in_clusters[p] != 0 {
            continue;
        }
        let at = set.previous_persons.len() as u32;
        set.previous_persons.push(p as u32);
        set.rows.push(ChangeRef {
            person: None,
            change: Change::Removed,
            previous_person: Some(p as u32),
            previous_persons: (at, at + 1),
            records: 0,
            records_added: 0,
            records_changed: 0,
            records_dropped: prev_dropped[p],
            previous_records: prev_size[p],
        });
    }
    (persons, set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_id_is_the_content_rule_unless_a_previous_person_had_it() {
        let mut taken = AHashSet::new();
        let plain = fresh_id("kemlu", "k-1", |s| taken.contains(s));
        assert_eq!(plain, person_id("kemlu", "k-1"));
        taken.insert(plain.clone());
        let next = fresh_id("kemlu", "k-1", |s| taken.contains(s));
        assert_ne!(next, plain);
        assert!(next.len() == 18 && next.starts_with("p-"));
        taken.insert(next.clone());
        let third = fresh_id("kemlu", "k-1", |s| taken.contains(s));
        assert!(third != next && third != plain);
    }

    #[test]
    fn a_band_key_is_the_sampled_bits_in_position_order_with_or_without_pext() {
        // Positions drawn out of order, one twice, over three words.
        let band = Band::new(&[130, 3, 64, 3, 70]);
        assert_eq!(band.words, vec![(0, 1 << 3), (1, 1 | 1 << 6), (2, 1 << 2)]);
        let row = [1u64 << 3, 1 << 6, 1 << 2];
        assert_eq!(band_key(&row, &band.words), 0b1101);
        assert_eq!(band.key(&row, has_bmi2()), 0b1101);
        assert_eq!(band.key(&[0, 1, 0], has_bmi2()), 0b0010);
        assert_eq!(band.key(&[!0, !0, !0], false), 0b1111);
        // Two rows share a key exactly when they agree on every sampled bit.
        let other = [1u64 << 3 | 1 << 4, 1 << 6 | 1 << 9, 1 << 2 | 1];
        assert_eq!(band.key(&row, false), band.key(&other, false));
        assert_ne!(band.key(&row, false), band.key(&[1 << 3, 1, 1 << 2], false));
    }

    #[test]
    fn a_key_filter_lets_every_wanted_key_through_and_few_others() {
        let wanted: AHashSet<u128> = (0..1000u128).map(|k| k * 0x9e37_79b9 + 7).collect();
        let f = KeyFilter::new(&wanted);
        assert!(wanted.iter().all(|&k| f.maybe(k)));
        let others = (0..100_000u128)
            .map(|k| (k << 64) | 0x5555)
            .filter(|&k| f.maybe(k))
            .count();
        assert!(
            others < 20_000,
            "{others} of 100 000 unwanted keys let through"
        );
    }

    #[test]
    fn a_previous_index_gives_the_first_row_of_each_agency_and_id() {
        let prev = PrevRecords {
            agencies: vec!["kemlu".into(), "polri".into()],
            agency_of: vec![0, 1, 0, 0],
            ids: ["k-1", "k-1", "k-2", "k-1"].into_iter().collect(),
            ..PrevRecords::default()
        };
        let index = PrevIndex::new(&prev);
        assert_eq!(index.lookup("kemlu", "k-1"), Some(0));
        assert_eq!(index.lookup("polri", "k-1"), Some(1));
        assert_eq!(index.lookup("kemlu", "k-2"), Some(2));
        assert_eq!(index.lookup("polri", "k-2"), None);
        assert_eq!(index.lookup("bp2mi", "k-1"), None);
    }

    #[test]
    fn sorted_contains_finds_exactly_the_members() {
        let list: StrList = ["p-01", "p-07", "p-10"].into_iter().collect();
        for s in ["p-01", "p-07", "p-10"] {
            assert!(sorted_contains(&list, s));
        }
        for s in ["p-00", "p-02", "p-11", ""] {
            assert!(!sorted_contains(&list, s));
        }
        assert!(!sorted_contains(&StrList::new(), "p-01"));
    }

    #[test]
    fn every_change_round_trips_through_its_string() {
        for c in Change::ALL {
            assert_eq!(Change::parse(c.as_str()), Some(c));
        }
        assert_eq!(Change::parse("moved"), None);
    }
}
