//! One whole link run: read → block → compare → fit → score → resolve → write the match set.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::block::{self, pack, unpack, BlockingStats, Blocks, PairKey};
use super::compare::{Comparator, LevelCoder};
use super::config::{LinkConfig, Training};
use super::data::Records;
use super::output;
use crate::error::{Error, Result};
use crate::scoring::{
    self, ClusterOptions, Edge, EmReport, KindFit, KindPatterns, Model, Patterns,
};

/// A link run.
pub struct LinkJob {
    /// Encoded input files (2..N), one per agency.
    pub inputs: Vec<PathBuf>,
    /// The match-set directory.
    pub out_dir: PathBuf,
    /// The configuration.
    pub config: LinkConfig,
}

/// One input as recorded in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestInput {
    /// File name as given.
    pub file: String,
    /// blake3 of the file.
    pub blake3: String,
    /// Agency.
    pub agency: String,
    /// Records in the file.
    pub rows: u64,
    /// Rows the agency read.
    pub rows_read: u64,
    /// Rows the agency rejected.
    pub rows_rejected: u64,
    /// Encoding format version.
    pub encoding_version: u32,
    /// Schema fingerprint.
    pub schema_fingerprint: String,
    /// Key fingerprint.
    pub key_fingerprint: String,
    /// Rejected rows by reason.
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Dropped values by reason.
    pub dropped_by_reason: BTreeMap<String, u64>,
    /// Flags by reason.
    pub flags_by_reason: BTreeMap<String, u64>,
}

/// One level of a field in the fitted model.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestLevel {
    /// Level index (1 = best).
    pub index: u8,
    /// Label.
    pub label: String,
    /// P(level | match).
    pub m: f64,
    /// P(level | non-match).
    pub u: f64,
    /// log2(m/u).
    pub weight: f64,
}

/// One field of the fitted model.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestField {
    /// Field name.
    pub name: String,
    /// Field kind.
    pub kind: String,
    /// Whether m/u came from the config rather than the fit.
    pub fixed: bool,
    /// Levels (null excluded: its weight is 0).
    pub levels: Vec<ManifestLevel>,
}

/// The fitted model.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestModel {
    /// Prior P(match) among candidate pairs.
    pub lambda: f64,
    /// log2(λ / (1 − λ)).
    pub prior_weight: f64,
    /// Where u came from.
    pub u_source: String,
    /// Random pairs compared for u.
    pub random_pairs: u64,
    /// Fields.
    pub fields: Vec<ManifestField>,
    /// EM convergence.
    pub em: EmReport,
    /// How m and λ were trained (`blocks` or `candidates`).
    pub training: String,
    /// With `blocks`: what EM found on each block kind's pairs.
    pub training_by_kind: Vec<KindFit>,
}

/// Thresholds in both scales.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestThresholds {
    /// Match threshold on probability.
    pub match_probability: f64,
    /// Review threshold on probability.
    pub review_probability: f64,
    /// The same on match weight.
    pub match_weight: f64,
    /// The same on match weight.
    pub review_weight: f64,
}

/// Counts at each stage.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestCounts {
    /// Records linked.
    pub records: u64,
    /// Records per agency.
    pub records_by_agency: BTreeMap<String, u64>,
    /// Blocking stats.
    #[serde(flatten)]
    pub blocking: BlockingStats,
    /// Pairs decided review.
    pub pairs_review: u64,
    /// Pairs decided match.
    pub pairs_match: u64,
    /// Match pairs inside one agency.
    pub pairs_match_within_agency: u64,
    /// Clusters (singletons included).
    pub clusters: u64,
    /// Clusters of two or more records.
    pub clusters_multi: u64,
    /// Clusters holding two records of one agency.
    pub clusters_with_duplicates: u64,
    /// Match edges the agency constraint refused.
    pub merges_refused: u64,
}

/// Timings in seconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Reading inputs.
    pub read: f64,
    /// Blocking.
    pub block: f64,
    /// Comparing candidates.
    pub compare: f64,
    /// Estimating u and fitting m, λ.
    pub fit: f64,
    /// Scoring and deciding.
    pub score: f64,
    /// Clustering.
    pub resolve: f64,
    /// Writing outputs.
    pub write: f64,
    /// Total.
    pub total: f64,
}

/// The match set's manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// `padan-match-set`.
    pub format: String,
    /// Format version.
    pub format_version: u32,
    /// padan version.
    pub padan_version: String,
    /// Inputs.
    pub inputs: Vec<ManifestInput>,
    /// Shared schema fingerprint.
    pub schema_fingerprint: String,
    /// Shared key fingerprint.
    pub key_fingerprint: String,
    /// The config as used.
    pub config: LinkConfig,
    /// The fitted model.
    pub model: ManifestModel,
    /// Thresholds.
    pub thresholds: ManifestThresholds,
    /// Counts.
    pub counts: ManifestCounts,
    /// Timings.
    pub timings: Timings,
    /// Rayon threads used.
    pub threads: usize,
    /// Popcount instruction set used.
    pub isa: String,
    /// Output file names.
    pub outputs: BTreeMap<String, Option<String>>,
    /// Warnings raised during the run (no values).
    pub warnings: Vec<String>,
}

/// Scored pairs above the review threshold, in output order.
pub struct ScoredPairs {
    /// The pairs.
    pub pairs: Vec<PairKey>,
    /// Their match weights.
    pub weights: Vec<f64>,
    /// Their probabilities.
    pub probabilities: Vec<f64>,
    /// Whether decided match (else review).
    pub is_match: Vec<bool>,
}

impl ScoredPairs {
    /// The pairs decided `match`, as clustering edges weighted by their score.
    pub fn match_edges(&self) -> Vec<Edge> {
        self.pairs
            .iter()
            .zip(&self.weights)
            .zip(&self.is_match)
            .filter(|(_, &m)| m)
            .map(|((&p, &w), _)| {
                let (a, b) = unpack(p);
                Edge { a, b, weight: w }
            })
            .collect()
    }
}

/// Everything a run computed, for the writers.
pub struct LinkOutcome<'a> {
    /// All records.
    pub recs: &'a Records,
    /// The comparator (for per-field similarities).
    pub comparator: &'a Comparator<'a>,
    /// Weight tables.
    pub weights: Vec<Vec<f64>>,
    /// Pairs at or above review.
    pub scored: ScoredPairs,
    /// All candidates with their weights (when written).
    pub candidates: Option<(Vec<PairKey>, Vec<f64>)>,
    /// Cluster of each record.
    pub cluster_of: Vec<u32>,
}

impl LinkJob {
    /// Blocks only: reads the inputs, builds the blocks and counts the distinct candidate pairs
    /// without comparing them (to size a run or tune blocking). Returns (records, stats).
    pub fn plan(&self) -> Result<(u64, BlockingStats)> {
        self.config.validate("link config")?;
        let recs = Records::load(&self.inputs)?;
        let mut blocks = Blocks::build(&recs, &self.config.blocking);
        let n: u64 = blocks
            .chunks()
            .into_par_iter()
            .map(|range| {
                let mut c = 0u64;
                for k in range {
                    blocks.for_each_owned(k, |_, _, _| c += 1);
                }
                c
            })
            .sum();
        blocks.set_candidates(n);
        Ok((recs.len() as u64, blocks.stats))
    }

    /// Runs the job; `stage(label)` is called when a stage starts.
    pub fn run(&self, stage: &(dyn Fn(&str) + Sync)) -> Result<Manifest> {
        let t_total = Instant::now();
        let cfg = &self.config;
        cfg.validate("link config")?;
        let mut timings = Timings::default();
        let mut warnings = Vec::new();

        stage("reading");
        let t = Instant::now();
        let recs = Records::load(&self.inputs)?;
        let slot_cfg = super::slots::adjust_config(&recs.schema, cfg, &mut warnings);
        let cfg = slot_cfg.as_ref().unwrap_or(cfg);
        if recs.is_empty() {
            return Err(Error::input_file(
                &self.inputs[0],
                "the inputs hold no records",
            ));
        }
        if recs.len() > u32::MAX as usize {
            return Err(Error::config("inputs", "more than 4 294 967 295 records"));
        }
        for name in cfg.comparison.keys() {
            if recs.schema.field(name).is_none() {
                return Err(Error::config(
                    "link config",
                    format!("comparison.{name}: the schema has no field '{name}'"),
                ));
            }
        }
        timings.read = t.elapsed().as_secs_f64();
        if !recs.has_field_data() {
            // Imported clkhash CLKs: only the record-level filter to compare.
            return super::record::run(self, recs, timings, stage, t_total);
        }

        stage("blocking");
        let t = Instant::now();
        let mut blocks = block::Blocks::build_guarded(&recs, &cfg.blocking, cfg.output.candidates)?;
        warnings.extend(blocking_warnings(&blocks.stats, &cfg.blocking));
        timings.block = t.elapsed().as_secs_f64();

        stage("comparing");
        let t = Instant::now();
        let comparator = Comparator::new(&recs, cfg);
        let nf = comparator.n_fields();
        let n_levels = comparator.n_levels();
        let coder = LevelCoder::new(&n_levels).ok_or_else(|| {
            Error::config(
                "link config",
                "comparison: too many levels in all (more than 2^32 level combinations); use fewer thresholds",
            )
        })?;
        let segments = compare_blocks(&blocks, &comparator, &coder);
        let n_candidates: u64 = segments.iter().map(|s| s.pairs.len() as u64).sum();
        blocks.set_candidates(n_candidates);
        let code_counts = count_codes(&segments, &coder, None);
        timings.compare = t.elapsed().as_secs_f64();

        stage("fitting");
        let t = Instant::now();
        let random = random_pairs(
            &recs,
            cfg.model.random_pairs,
            cfg.model.seed,
            cfg.blocking.within_agency,
        );
        let random_levels = comparator.levels_of(&random);
        let u = scoring::estimate_u(&Patterns::from_levels(&random_levels, nf), &n_levels);
        let fixed: Vec<_> = comparator.comparisons.iter().map(|c| c.fixed()).collect();
        let mut decoded = vec![0u8; code_counts.len() * nf];
        for (i, &(code, _)) in code_counts.iter().enumerate() {
            coder.decode(code, &mut decoded[i * nf..(i + 1) * nf]);
        }
        let patterns = Patterns::from_counts(
            nf,
            code_counts
                .iter()
                .enumerate()
                .map(|(i, &(_, n))| (&decoded[i * nf..(i + 1) * nf], n)),
        );
        let mut kind_fits = Vec::new();
        let model = match cfg.model.training {
            Training::Candidates => scoring::fit(&patterns, &n_levels, &u, &fixed, &cfg.model.em),
            Training::Blocks => {
                let uses = blocks.kind_fields(&recs.schema);
                let kinds: Vec<KindPatterns> = blocks
                    .kinds()
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k < 16 && uses[*k].iter().any(|&u| !u))
                    .map(|(k, name)| {
                        let counts = count_codes(&segments, &coder, Some(k as u8));
                        let mut lv = vec![0u8; nf];
                        let items: Vec<(Vec<u8>, u64)> = counts
                            .iter()
                            .map(|&(code, n)| {
                                coder.decode(code, &mut lv);
                                (lv.clone(), n)
                            })
                            .collect();
                        KindPatterns {
                            kind: name.clone(),
                            uses: uses[k].clone(),
                            patterns: Patterns::from_counts(
                                nf,
                                items.iter().map(|(v, n)| (v.as_slice(), *n)),
                            ),
                        }
                    })
                    .collect();
                let names: Vec<String> =
                    recs.schema.fields.iter().map(|f| f.name.clone()).collect();
                let trained = scoring::fit_by_blocks(
                    &patterns,
                    &kinds,
                    &names,
                    &n_levels,
                    &u,
                    &fixed,
                    &cfg.model.em,
                    blocks.stats.possible_pairs,
                );
                for &f in &trained.fallback_fields {
                    // A field no candidate pair has on both sides has nothing to train.
                    if !patterns.iter().any(|(v, _)| v[f] != 0) {
                        continue;
                    }
                    warnings.push(format!(
                        "no block kind leaves field '{}' free to train its m: it was fitted by one EM over all candidates",
                        names[f]
                    ));
                }
                kind_fits = trained.kinds;
                trained.model
            }
        };
        if !model.em.converged {
            warnings.push(format!(
                "EM did not converge in {} iterations (last change {:.2e}); raise model.em.max_iterations or fix m/u",
                model.em.iterations, model.em.last_change
            ));
        }
        timings.fit = t.elapsed().as_secs_f64();

        stage("scoring");
        let t = Instant::now();
        let weights = model.weights();
        let code_weight: rustc_hash::FxHashMap<u32, f64> = code_counts
            .iter()
            .enumerate()
            .map(|(i, &(code, _))| {
                let lv = &decoded[i * nf..(i + 1) * nf];
                let w = lv
                    .iter()
                    .enumerate()
                    .map(|(f, &l)| weights[f][l as usize])
                    .sum();
                (code, w)
            })
            .collect();
        let th = thresholds(&model, cfg);
        let mut keep: Vec<(f64, PairKey)> = segments
            .par_iter()
            .flat_map_iter(|s| {
                s.pairs
                    .iter()
                    .zip(&s.codes)
                    .map(|(&p, c)| (code_weight[c], p))
                    .filter(|&(w, _)| w >= th.review_weight)
                    .collect::<Vec<_>>()
            })
            .collect();
        keep.par_sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        let scored = ScoredPairs {
            pairs: keep.iter().map(|&(_, p)| p).collect(),
            weights: keep.iter().map(|&(w, _)| w).collect(),
            probabilities: keep.iter().map(|&(w, _)| model.probability(w)).collect(),
            is_match: keep.iter().map(|&(w, _)| w >= th.match_weight).collect(),
        };
        drop(keep);
        let candidates = cfg.output.candidates.then(|| {
            let pairs: Vec<PairKey> = segments
                .iter()
                .flat_map(|s| s.pairs.iter().copied())
                .collect();
            let w: Vec<f64> = segments
                .iter()
                .flat_map(|s| s.codes.iter().map(|c| code_weight[c]))
                .collect();
            (pairs, w)
        });
        drop(segments);
        timings.score = t.elapsed().as_secs_f64();

        stage("clustering");
        let t = Instant::now();
        let edges = scored.match_edges();
        let opts = ClusterOptions {
            one_to_one: cfg.resolution.one_to_one,
            within_agency: cfg.blocking.within_agency,
            duplicate_min_weight: weight_for_probability(
                &model,
                cfg.resolution.duplicate_min_probability,
            ),
        };
        if cfg.resolution.one_to_one && recs.inputs.len() != 2 {
            warnings.push("resolution.one_to_one applies to exactly two inputs; with more it only forbids within-agency merges".into());
        }
        let clustering = scoring::clusters(&recs.agency_of, &edges, &opts);
        timings.resolve = t.elapsed().as_secs_f64();

        stage("writing");
        let t = Instant::now();
        let counts = counts(&recs, &blocks.stats, &scored, &clustering);
        let outcome = LinkOutcome {
            recs: &recs,
            comparator: &comparator,
            weights,
            scored,
            candidates,
            cluster_of: clustering.cluster_of,
        };
        let mut manifest_model = manifest_model(&recs, &comparator, &model, &fixed, random.len());
        if cfg.model.em.update_u && cfg.model.training == Training::Candidates {
            manifest_model.u_source =
                "random record pairs, then re-estimated by EM among candidates".into();
        }
        manifest_model.training = match cfg.model.training {
            Training::Blocks => "blocks".into(),
            Training::Candidates => "candidates".into(),
        };
        manifest_model.training_by_kind = kind_fits;
        let mut manifest = Manifest {
            format: "padan-match-set".into(),
            format_version: 1,
            padan_version: crate::VERSION.into(),
            inputs: Vec::new(),
            schema_fingerprint: recs.schema.fingerprint(),
            key_fingerprint: recs.inputs[0].meta.key_fingerprint.clone(),
            config: cfg.clone(),
            model: manifest_model,
            thresholds: th,
            counts,
            timings: Timings::default(),
            threads: rayon::current_num_threads(),
            isa: comparator.isa().to_string(),
            outputs: BTreeMap::new(),
            warnings,
        };
        manifest.inputs = manifest_inputs(&recs)?;
        manifest.timings = timings;
        prepare_out_dir(&self.out_dir)?;
        output::write_match_set(&self.out_dir, &outcome, &mut manifest, t, t_total)?;
        Ok(manifest)
    }
}

/// The manifest's description of every input (hashes each file).
pub(super) fn manifest_inputs(recs: &Records) -> Result<Vec<ManifestInput>> {
    recs.inputs
        .iter()
        .map(|i| {
            Ok(ManifestInput {
                file: i.path.display().to_string(),
                blake3: crate::io::file_blake3(&i.path)?,
                agency: i.meta.agency.clone(),
                rows: i.rows as u64,
                rows_read: i.meta.rows_read,
                rows_rejected: i.meta.rows_rejected,
                encoding_version: i.meta.encoding_version,
                schema_fingerprint: i.meta.schema_fingerprint.clone(),
                key_fingerprint: i.meta.key_fingerprint.clone(),
                rejects_by_reason: i.meta.rejects_by_reason.clone(),
                dropped_by_reason: i.meta.dropped_by_reason.clone(),
                flags_by_reason: i.meta.flags_by_reason.clone(),
            })
        })
        .collect()
}

/// Warnings for skipped blocks: kind and sizes, never a key.
pub fn blocking_warnings(
    stats: &BlockingStats,
    cfg: &super::config::BlockingConfig,
) -> Vec<String> {
    let mut w = Vec::new();
    for (kind, n) in &stats.capped_by_kind {
        w.push(format!(
            "{n} block(s) of kind '{kind}' skipped: larger than max_block_size {} (largest {} records)",
            cfg.max_block_size,
            stats.capped_largest.get(kind).copied().unwrap_or(0)
        ));
    }
    for (kind, n) in &stats.purged_by_kind {
        w.push(format!(
            "{n} block(s) of kind '{kind}' skipped to keep within pairs_per_record {}: blocks of more than {} records",
            cfg.pairs_per_record,
            stats.effective_max_block_size.get(kind).copied().unwrap_or(0)
        ));
    }
    w
}

/// Thresholds in probability and weight.
/// The match weight at which a pair reaches probability `p` under the model's prior.
fn weight_for_probability(model: &Model, p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).log2() - model.prior_weight()
}

fn thresholds(model: &Model, cfg: &LinkConfig) -> ManifestThresholds {
    let w = |p: f64| weight_for_probability(model, p);
    ManifestThresholds {
        match_probability: cfg.thresholds.match_probability,
        review_probability: cfg.thresholds.review_probability,
        match_weight: w(cfg.thresholds.match_probability),
        review_weight: w(cfg.thresholds.review_probability),
    }
}

/// Random record pairs (deterministic for a seed), for u.
pub fn random_pairs(recs: &Records, n: usize, seed: u64, within: bool) -> Vec<PairKey> {
    let total = recs.len() as u32;
    if total < 2 {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    let mut tries = 0usize;
    while out.len() < n && tries < n.saturating_mul(20) {
        tries += 1;
        let a = rng.random_range(0..total);
        let b = rng.random_range(0..total);
        if a == b || (!within && recs.agency_of[a as usize] == recs.agency_of[b as usize]) {
            continue;
        }
        out.push(block::pack(a.min(b), a.max(b)));
    }
    out
}

pub(super) fn counts(
    recs: &Records,
    stats: &BlockingStats,
    scored: &ScoredPairs,
    clustering: &scoring::Clustering,
) -> ManifestCounts {
    let mut by_agency = BTreeMap::new();
    for i in &recs.inputs {
        by_agency.insert(i.meta.agency.clone(), i.rows as u64);
    }
    let pairs_match = scored.is_match.iter().filter(|&&m| m).count() as u64;
    let pairs_match_within_agency = scored
        .pairs
        .iter()
        .zip(&scored.is_match)
        .filter(|(&p, &m)| {
            let (a, b) = unpack(p);
            m && recs.agency_of[a as usize] == recs.agency_of[b as usize]
        })
        .count() as u64;
    let mut sizes = vec![0u64; clustering.n_clusters as usize];
    let mut seen: std::collections::HashSet<(u32, u16)> = std::collections::HashSet::new();
    let mut dup_clusters = std::collections::HashSet::new();
    for (i, &c) in clustering.cluster_of.iter().enumerate() {
        sizes[c as usize] += 1;
        if !seen.insert((c, recs.agency_of[i])) {
            dup_clusters.insert(c);
        }
    }
    ManifestCounts {
        records: recs.len() as u64,
        records_by_agency: by_agency,
        blocking: stats.clone(),
        pairs_review: scored.is_match.len() as u64 - pairs_match,
        pairs_match,
        pairs_match_within_agency,
        clusters: clustering.n_clusters as u64,
        clusters_multi: sizes.iter().filter(|&&s| s >= 2).count() as u64,
        clusters_with_duplicates: dup_clusters.len() as u64,
        merges_refused: clustering.merges_refused,
    }
}

fn manifest_model(
    recs: &Records,
    comparator: &Comparator<'_>,
    model: &Model,
    fixed: &[Option<scoring::FieldParams>],
    random: usize,
) -> ManifestModel {
    let fields = recs
        .schema
        .fields
        .iter()
        .enumerate()
        .map(|(f, spec)| {
            let labels = comparator.comparisons[f].labels();
            let p = &model.fields[f];
            let w = p.weights();
            ManifestField {
                name: spec.name.clone(),
                kind: spec.kind.as_str().into(),
                fixed: fixed[f].is_some(),
                levels: (1..p.m.len())
                    .map(|l| ManifestLevel {
                        index: l as u8,
                        label: labels.get(l).cloned().unwrap_or_default(),
                        m: p.m[l],
                        u: p.u[l],
                        weight: w[l],
                    })
                    .collect(),
            }
        })
        .collect();
    ManifestModel {
        lambda: model.lambda,
        prior_weight: model.prior_weight(),
        u_source: "random record pairs".into(),
        random_pairs: random as u64,
        fields,
        em: model.em.clone(),
        training: String::new(),
        training_by_kind: Vec::new(),
    }
}

/// The default output directory check: refuses a path that is a file.
pub fn prepare_out_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::config(
            "--out",
            format!("{} exists and is not a directory", dir.display()),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))
}

/// Candidates of a run of blocks: pairs in block order and their level codes.
struct Segment {
    pairs: Vec<PairKey>,
    codes: Vec<u32>,
    /// Kinds of the blocks holding both records (bit mask by kind index).
    kinds: Vec<u16>,
}

/// Compares every candidate pair block by block, in parallel over fixed chunks of blocks; the
/// segments come back in block order whatever the thread count.
fn compare_blocks(
    blocks: &Blocks,
    comparator: &Comparator<'_>,
    coder: &LevelCoder,
) -> Vec<Segment> {
    let nf = comparator.n_fields();
    blocks
        .chunks()
        .into_par_iter()
        .map(|range| {
            let mut seg = Segment {
                pairs: Vec::new(),
                codes: Vec::new(),
                kinds: Vec::new(),
            };
            let mut lv = vec![0u8; nf];
            for k in range {
                blocks.for_each_owned(k, |a, b, kinds| {
                    comparator.levels(a as usize, b as usize, &mut lv);
                    seg.pairs.push(pack(a, b));
                    seg.codes.push(coder.encode(&lv));
                    seg.kinds.push(kinds);
                });
            }
            seg.pairs.shrink_to_fit();
            seg.codes.shrink_to_fit();
            seg.kinds.shrink_to_fit();
            seg
        })
        .collect()
}

/// Pairs per level code, ascending by code.
fn count_codes(segments: &[Segment], coder: &LevelCoder, kind: Option<u8>) -> Vec<(u32, u64)> {
    let keep = |s: &Segment, i: usize| kind.is_none_or(|k| s.kinds[i] & (1 << k) != 0);
    const DENSE: u64 = 1 << 20;
    if coder.space() <= DENSE {
        let counts = segments
            .par_iter()
            .fold(
                || vec![0u64; coder.space() as usize],
                |mut acc, s| {
                    for (i, &c) in s.codes.iter().enumerate() {
                        if keep(s, i) {
                            acc[c as usize] += 1;
                        }
                    }
                    acc
                },
            )
            .reduce(
                || vec![0u64; coder.space() as usize],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        return counts
            .into_iter()
            .enumerate()
            .filter(|&(_, n)| n > 0)
            .map(|(c, n)| (c as u32, n))
            .collect();
    }
    let map = segments
        .par_iter()
        .fold(rustc_hash::FxHashMap::<u32, u64>::default, |mut acc, s| {
            for (i, &c) in s.codes.iter().enumerate() {
                if keep(s, i) {
                    *acc.entry(c).or_insert(0) += 1;
                }
            }
            acc
        })
        .reduce(rustc_hash::FxHashMap::default, |mut a, b| {
            for (c, n) in b {
                *a.entry(c).or_insert(0) += n;
            }
            a
        });
    let mut v: Vec<(u32, u64)> = map.into_iter().collect();
    v.sort_unstable();
    v
}
