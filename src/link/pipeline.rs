//! One whole link run, as named stages: `read` → block → `compare` → `fit` → `score` →
//! `resolve` → `write` the match set. Record-level mode ([`record_level`]) replaces block to
//! score and shares the rest.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::block::{self, pack, unpack, BlockingStats, Blocks, PairKey};
use super::compare::{Comparator, LevelCoder};
use super::config::{LinkConfig, Training};
use super::decided::{Decided, ScoredPairs};
use super::record_level;
use super::records::Records;
use crate::error::{Error, Result};
use crate::io::manifest::{
    Counts, FieldInfo, InputInfo, LevelInfo, Manifest, ModelInfo, RunLog, ThresholdInfo, Timings,
};
use crate::io::matchset::{MatchSetWriter, PairsData, RecordIds};
use crate::review::decisions::{DecisionsInfo, RecordIndex};
use crate::review::Decisions;
use crate::scoring::{self, ClusterOptions, KindPatterns, Model, Patterns};

pub use super::decided::blocking_warnings;

/// A link run.
pub struct LinkJob {
    /// Encoded input files (2..N), one per agency.
    pub inputs: Vec<PathBuf>,
    /// The match-set directory.
    pub out_dir: PathBuf,
    /// The configuration.
    pub config: LinkConfig,
}

impl LinkJob {
    /// Blocks only: reads the inputs, builds the blocks (under the memory guard) and counts the
    /// distinct candidate pairs without comparing them (to size a run or tune blocking). With a
    /// truth, also each block kind's pair completeness. Returns (records, stats, completeness).
    pub fn plan(
        &self,
        truth: Option<&crate::io::truth::Truth>,
    ) -> Result<(u64, BlockingStats, Option<block::PairCompleteness>)> {
        self.config.validate("link config")?;
        let recs = Records::load_within(&self.inputs, Some(&self.config.blocking))?;
        let mut blocks = Blocks::build_guarded(&recs, &self.config.blocking, false)?;
        let completeness = truth.map(|t| {
            let person: Vec<u64> = (0..recs.len())
                .map(|i| {
                    let agency = &recs.agencies[recs.agency_of[i] as usize];
                    match t.lookup(agency, &recs.ids[i]) {
                        Some(x) => t.person[x as usize],
                        // Not in the truth: a person of its own.
                        None => u64::MAX - i as u64,
                    }
                })
                .collect();
            blocks.completeness(&person)
        });
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
        Ok((recs.len() as u64, blocks.stats, completeness))
    }

    /// Runs the job; `stage(label)` is called when a stage starts. Inputs with field data go
    /// through block → compare → fit → score; inputs with only a record-level filter (imported
    /// CLKs) through `record_level::decide`; both then resolve and write.
    pub fn run(&self, stage: &(dyn Fn(&str) + Sync)) -> Result<Manifest> {
        self.run_with_decisions(stage, &Decisions::default())
    }

    /// [`LinkJob::run`] honouring reviewers' verdicts: `match` verdicts become must-links and
    /// `non-match` verdicts cannot-links in clustering ([`scoring::clusters_with`]); verdicts on
    /// records not in this run are counted and listed in the manifest (`decisions`).
    pub fn run_with_decisions(
        &self,
        stage: &(dyn Fn(&str) + Sync),
        decisions: &Decisions,
    ) -> Result<Manifest> {
        let t_total = Instant::now();
        let cfg = &self.config;
        cfg.validate("link config")?;
        let mut timings = Timings::default();

        stage("reading");
        let t = Instant::now();
        let recs = read(&self.inputs, cfg)?;
        let slot_cfg = super::slots::adjust_config(&recs.schema, cfg);
        let cfg = slot_cfg.as_ref().unwrap_or(cfg);
        timings.read = t.elapsed().as_secs_f64();

        let mut decided = if recs.has_field_data() {
            decide(&recs, cfg, stage, &mut timings)?
        } else {
            record_level::decide(&recs, cfg, stage, &mut timings)?
        };

        stage("clustering");
        let t = Instant::now();
        let (clustering, decisions_info) = resolve(&recs, &mut decided, decisions);
        timings.resolve = t.elapsed().as_secs_f64();

        stage("writing");
        let t = Instant::now();
        let counts = counts(&recs, &decided.stats, &decided.scored, &clustering);
        let mut manifest = Manifest {
            inputs: manifest_inputs(&recs)?,
            schema_fingerprint: recs.schema.fingerprint(),
            key_fingerprint: recs.inputs[0].meta.key_fingerprint.clone(),
            config: config_json(cfg)?,
            model: decided.model.clone(),
            thresholds: decided.thresholds.clone(),
            counts,
            timings,
            threads: rayon::current_num_threads(),
            isa: decided.isa.clone(),
            warnings: decided.warnings.clone(),
            decisions: decisions_info,
            ..Manifest::new()
        };
        write(
            &self.out_dir,
            &recs,
            &decided,
            (&clustering.cluster_of, decisions),
            &mut manifest,
            [t, t_total],
            super::incremental::Carried::default(),
        )?;
        RunLog::write(&self.out_dir, &manifest)?;
        Ok(manifest)
    }
}

/// Stage read: loads and checks the inputs.
pub(super) fn read(inputs: &[PathBuf], cfg: &LinkConfig) -> Result<Records> {
    let recs = Records::load_within(inputs, Some(&cfg.blocking))?;
    if recs.is_empty() {
        return Err(Error::input_file(&inputs[0], "the inputs hold no records"));
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
    Ok(recs)
}

/// Field-level mode: block → compare → fit → score.
pub(super) fn decide<'a>(
    recs: &'a Records,
    cfg: &LinkConfig,
    stage: &(dyn Fn(&str) + Sync),
    timings: &mut Timings,
) -> Result<Decided<'a>> {
    let mut warnings = Vec::new();

    stage("blocking");
    let t = Instant::now();
    let mut blocks = Blocks::build_guarded(recs, &cfg.blocking, cfg.output.candidates)?;
    warnings.extend(blocking_warnings(&blocks.stats, &cfg.blocking));
    timings.block = t.elapsed().as_secs_f64();

    stage("comparing");
    let t = Instant::now();
    let comparator = Comparator::new(recs, cfg);
    let compared = compare(&blocks, &comparator)?;
    blocks.set_candidates(compared.segments.iter().map(|s| s.pairs.len() as u64).sum());
    timings.compare = t.elapsed().as_secs_f64();

    stage("fitting");
    let t = Instant::now();
    let fitted = fit(recs, cfg, &blocks, &comparator, &compared, &mut warnings);
    timings.fit = t.elapsed().as_secs_f64();

    stage("scoring");
    let t = Instant::now();
    let th = thresholds(&fitted.model, cfg);
    let weights = fitted.model.weights();
    let (scored, candidates) = score(cfg, &compared, &fitted, &weights, &th);
    drop(compared);
    super::budget::check_review(scored.pairs.len() as u64, weights.len(), cfg)?;
    timings.score = t.elapsed().as_secs_f64();

    let cluster = ClusterOptions {
        one_to_one: cfg.resolution.one_to_one,
        within_agency: cfg.blocking.within_agency,
        duplicate_min_weight: weight_for_probability(
            &fitted.model,
            cfg.resolution.duplicate_min_probability,
        ),
        review_support: cfg.resolution.review_support,
    };
    if cfg.resolution.one_to_one && recs.inputs.len() != 2 {
        warnings.push("resolution.one_to_one applies to exactly two inputs; with more it only forbids within-agency merges".into());
    }
    let isa = comparator.isa().to_string();
    Ok(Decided {
        comparator,
        weights,
        scored,
        candidates,
        stats: blocks.stats,
        cluster,
        model: fitted.info,
        thresholds: th,
        isa,
        warnings,
    })
}

/// What the compare stage found: the candidates with their level codes, and the pairs per code.
struct Compared {
    segments: Vec<Segment>,
    coder: LevelCoder,
    /// Pairs per level code, ascending by code.
    code_counts: Vec<(u32, u64)>,
    /// The levels of each code of `code_counts`, `n_fields` per code.
    decoded: Vec<u8>,
}

/// Stage compare: every candidate pair's comparison levels, as level codes.
fn compare(blocks: &Blocks, comparator: &Comparator<'_>) -> Result<Compared> {
    let nf = comparator.n_fields();
    let coder = LevelCoder::new(&comparator.n_levels()).ok_or_else(|| {
        Error::config(
            "link config",
            "comparison: too many levels in all (more than 2^32 level combinations); use fewer thresholds",
        )
    })?;
    let segments = compare_blocks(blocks, comparator, &coder);
    let code_counts = count_codes(&segments, &coder, None);
    let mut decoded = vec![0u8; code_counts.len() * nf];
    for (i, &(code, _)) in code_counts.iter().enumerate() {
        coder.decode(code, &mut decoded[i * nf..(i + 1) * nf]);
    }
    Ok(Compared {
        segments,
        coder,
        code_counts,
        decoded,
    })
}

/// What the fit stage found.
struct Fitted<'a> {
    model: Model,
    /// The model as the manifest records it.
    info: ModelInfo,
    /// Slot schemas: the pair keys and the weight of every (key, level code) seen.
    slot_weights: Option<SlotWeights<'a>>,
}

/// The pair keys of a slot schema's records and the weight of every (key, level code).
type SlotWeights<'a> = (super::slots::PairKeys<'a>, ahash::AHashMap<(u32, u32), f64>);

/// Stage fit: u from random pairs, then m and λ by EM (over all candidates, or per block kind).
fn fit<'a>(
    recs: &'a Records,
    cfg: &LinkConfig,
    blocks: &Blocks,
    comparator: &Comparator<'_>,
    c: &Compared,
    warnings: &mut Vec<String>,
) -> Fitted<'a> {
    let nf = comparator.n_fields();
    let n_levels = comparator.n_levels();
    let random = random_pairs(
        recs,
        cfg.model.random_pairs,
        cfg.model.seed,
        cfg.blocking.within_agency,
    );
    let random_levels = comparator.levels_of(&random);
    let mut u = scoring::estimate_u(&Patterns::from_levels(&random_levels, nf), &n_levels);
    scoring::cap_exact_u(
        &mut u,
        &comparator.exact_agreement_rates(),
        &comparator.n_exact(),
    );
    scoring::split_exact_u(&mut u, &comparator.exact_shares());
    let fixed: Vec<_> = comparator.comparisons.iter().map(|c| c.fixed()).collect();
    if !recs.schema.slots.is_empty() {
        return fit_slots(recs, cfg, comparator, c, &fixed, random.len(), warnings);
    }
    let kinds = blocks.kinds();
    let uses = blocks.kind_fields(&recs.schema);
    let (model, info) = fit_fields(
        &FitInputs {
            schema: &recs.schema,
            cfg,
            comparator,
            kinds,
            uses: &uses,
            code_counts: &c.code_counts,
            coder: &c.coder,
            u,
            fixed: &fixed,
            possible_pairs: blocks.stats.possible_pairs,
            random_pairs: random.len(),
        },
        |k| count_codes(&c.segments, &c.coder, Some(k)),
        warnings,
    );
    Fitted {
        model,
        info,
        slot_weights: None,
    }
}

/// What [`fit_fields`] fits from: the candidates' level codes (all, and per block kind through
/// its closure), u from random pairs and the blocking facts. Shared by [`LinkJob::run`] and the
/// distributed run ([`super::distributed`]), which counts the codes elsewhere.
pub(super) struct FitInputs<'x> {
    pub schema: &'x crate::schema::Schema,
    pub cfg: &'x LinkConfig,
    pub comparator: &'x Comparator<'x>,
    /// Block kind names, by kind index.
    pub kinds: &'x [String],
    /// Per kind: the fields its key is built from ([`Blocks::kind_fields`]).
    pub uses: &'x [Vec<bool>],
    /// Pairs per level code, ascending by code.
    pub code_counts: &'x [(u32, u64)],
    pub coder: &'x LevelCoder,
    pub u: Vec<Vec<f64>>,
    pub fixed: &'x [Option<scoring::FieldParams>],
    pub possible_pairs: u64,
    pub random_pairs: usize,
}

/// The field-level model (no slots): m and λ by EM over all candidates or per block kind, with u
/// fixed; `kind_counts(k)`: the pairs per level code (ascending) among the candidates a block of
/// kind `k` holds.
pub(super) fn fit_fields(
    x: &FitInputs<'_>,
    kind_counts: impl Fn(u8) -> Vec<(u32, u64)>,
    warnings: &mut Vec<String>,
) -> (Model, ModelInfo) {
    let (cfg, c, u, fixed) = (x.cfg, x, &x.u, x.fixed);
    let nf = x.comparator.n_fields();
    let n_levels = x.comparator.n_levels();
    let mut decoded = vec![0u8; c.code_counts.len() * nf];
    for (i, &(code, _)) in c.code_counts.iter().enumerate() {
        c.coder.decode(code, &mut decoded[i * nf..(i + 1) * nf]);
    }
    let patterns = Patterns::from_counts(
        nf,
        c.code_counts
            .iter()
            .enumerate()
            .map(|(i, &(_, n))| (&decoded[i * nf..(i + 1) * nf], n)),
    );
    let mut kind_fits = Vec::new();
    let model = match cfg.model.training {
        Training::Candidates => scoring::fit(&patterns, &n_levels, u, fixed, &cfg.model.em),
        Training::Blocks => {
            let uses = x.uses;
            let kinds: Vec<KindPatterns> = x
                .kinds
                .iter()
                .enumerate()
                .filter(|(k, _)| *k < 16 && uses[*k].iter().any(|&u| !u))
                .map(|(k, name)| {
                    let counts = kind_counts(k as u8);
                    let mut lv = vec![0u8; nf];
                    let items: Vec<(Vec<u8>, u64)> = counts
                        .iter()
                        .map(|&(code, n)| {
                            c.coder.decode(code, &mut lv);
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
            let names: Vec<String> = x.schema.fields.iter().map(|f| f.name.clone()).collect();
            let trained = scoring::fit_by_blocks(
                &patterns,
                &kinds,
                &names,
                &n_levels,
                u,
                fixed,
                &cfg.model.em,
                x.possible_pairs,
            );
            for &f in &trained.fallback_fields {
                // A field no candidate pair has on both sides has nothing to train.
                if !patterns.iter().any(|(v, _)| v[f] != 0) {
                    continue;
                }
                warnings.push(format!(
                    "field '{f}': every block kind holds it fixed, so no block kind could learn how often true pairs agree on it (its m); it was fitted by one EM over all candidates instead. Usually harmless; to train it by blocks, add to blocking.keys a key that does not use '{f}', or fix its m and u under [comparison.{f}]",
                    f = names[f]
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
    let mut info = manifest_model(x.schema, x.comparator, &model, fixed, x.random_pairs);
    if cfg.model.em.update_u && cfg.model.training == Training::Candidates {
        info.u_source = "random record pairs, then re-estimated by EM among candidates".into();
    }
    info.training = match cfg.model.training {
        Training::Blocks => "blocks".into(),
        Training::Candidates => "candidates".into(),
    };
    info.training_by_kind = kind_fits;
    (model, info)
}

/// Stage fit for a slot schema ([`scoring::slotfit`]): the key of every candidate (shared slots,
/// token levels) with its levels, counted, plus the record pairs never compared (counted by the
/// slots and tokens both carry); the slot model by EM over all record pairs; the weight of every
/// (key, code).
fn fit_slots<'a>(
    recs: &'a Records,
    cfg: &LinkConfig,
    comparator: &Comparator<'_>,
    c: &Compared,
    fixed: &[Option<scoring::FieldParams>],
    random_pairs: usize,
    warnings: &mut Vec<String>,
) -> Fitted<'a> {
    let keys = super::slots::PairKeys::new(recs);
    let counts = mask_code_counts(&c.segments, &keys);
    let fitted = fit_slot_model(
        &SlotFitInputs {
            schema: &recs.schema,
            cfg,
            comparator,
            binding: &keys.binding,
            counts: &counts,
            coder: &c.coder,
            records_by_carried: records_by_carried(recs, &keys),
            fixed,
            random_pairs,
        },
        warnings,
    );
    Fitted {
        model: fitted.model,
        info: fitted.info,
        slot_weights: Some((keys, fitted.weights.into_iter().collect())),
    }
}

/// What [`fit_slot_model`] fits from. Shared by [`LinkJob::run`] and the distributed run
/// ([`super::distributed`]), which counts the candidates and the records elsewhere.
pub(super) struct SlotFitInputs<'x> {
    pub schema: &'x crate::schema::Schema,
    pub cfg: &'x LinkConfig,
    pub comparator: &'x Comparator<'x>,
    /// The keys a pair can share ([`super::slots::PairKeys::binding`]).
    pub binding: &'x scoring::slotfit::Binding,
    /// Candidates per (key, level code), ascending.
    pub counts: &'x [((u32, u32), u64)],
    pub coder: &'x LevelCoder,
    /// Records per (agency, slots and tokens carried: [`super::slots::PairKeys::carried`]).
    pub records_by_carried: BTreeMap<(u16, u16), u64>,
    pub fixed: &'x [Option<scoring::FieldParams>],
    pub random_pairs: usize,
}

/// The slot model of [`fit_slot_model`]: its per-field summary, the manifest's model, and the
/// weight of every (key, level code) of the counts, ascending.
pub(super) struct SlotFitted {
    pub model: Model,
    pub info: ModelInfo,
    pub weights: Vec<((u32, u32), f64)>,
}

/// The slot model from the candidates per (key, level code) and the records per (agency,
/// tokens carried): the record pairs that were never candidates share no key (up to the few a
/// capped block dropped), one item per set of tokens both records carry, every level null; then
/// EM over all record pairs.
pub(super) fn fit_slot_model(x: &SlotFitInputs<'_>, warnings: &mut Vec<String>) -> SlotFitted {
    let (cfg, counts) = (x.cfg, x.counts);
    let nf = x.comparator.n_fields();
    let n_levels = x.comparator.n_levels();
    let mut lv = vec![0u8; nf];
    let mut items: Vec<(u32, Vec<u8>, u64)> = counts
        .iter()
        .map(|&((mask, code), n)| {
            x.coder.decode(code, &mut lv);
            (mask, lv.clone(), n)
        })
        .collect();
    // The record pairs that were never candidates share no key (up to the few a capped block
    // dropped): one item per set of slots and tokens both records carry, every level null.
    let mut cand_by_carried: BTreeMap<u16, u64> = BTreeMap::new();
    for &((key, _), n) in counts {
        let both = super::slots::PairKeys::carried_of(key);
        *cand_by_carried.entry(both).or_insert(0) += n;
    }
    for (both, n) in pairs_by_carried(&x.records_by_carried, cfg.blocking.within_agency) {
        let rest = n.saturating_sub(cand_by_carried.get(&both).copied().unwrap_or(0));
        if rest > 0 {
            items.push((super::slots::PairKeys::apart(both), vec![0; nf], rest));
        }
    }
    let pats = scoring::slotfit::KeyedPatterns::new(nf, items);
    let sm = scoring::slotfit::fit(&pats, x.binding, &n_levels, &cfg.model.em);
    if x.fixed.iter().any(Option::is_some) {
        warnings.push(
            "fixed m/u under [comparison.*] are not used with a slot schema: every field's m and u \
             depend on which slots the pair shares and are fitted among the candidates"
                .into(),
        );
    }
    if !sm.em.converged {
        warnings.push(format!(
            "EM did not converge in {} iterations (last change {:.2e}); raise model.em.max_iterations",
            sm.em.iterations, sm.em.last_change
        ));
    }
    let model = sm.summary(&n_levels);
    let weights: Vec<((u32, u32), f64)> = counts
        .iter()
        .map(|&((key, code), _)| {
            x.coder.decode(code, &mut lv);
            ((key, code), sm.weight(key, &lv))
        })
        .collect();
    let none: Vec<Option<scoring::FieldParams>> = vec![None; nf];
    let mut info = manifest_model(x.schema, x.comparator, &model, &none, x.random_pairs);
    info.u_source = "EM over all record pairs, per field and per set of components the shared \
                     slots and tokens bind (slot schema)"
        .into();
    info.training = "slots".into();
    info.slots = Some(sm);
    SlotFitted {
        model,
        info,
        weights,
    }
}

/// Records per (agency, slots and tokens carried: [`super::slots::PairKeys::carried`]).
pub(super) fn records_by_carried(
    recs: &Records,
    keys: &super::slots::PairKeys<'_>,
) -> BTreeMap<(u16, u16), u64> {
    let mut per: BTreeMap<(u16, u16), u64> = BTreeMap::new();
    for i in 0..recs.len() {
        *per.entry((recs.agency_of[i], keys.carried(i))).or_insert(0) += 1;
    }
    per
}

/// Record pairs (across agencies unless `within`) per set of slots and tokens both records
/// carry, from the records per (agency, slots and tokens carried).
pub(super) fn pairs_by_carried(
    per: &BTreeMap<(u16, u16), u64>,
    within: bool,
) -> BTreeMap<u16, u64> {
    let cells: Vec<((u16, u16), u64)> = per.iter().map(|(&k, &n)| (k, n)).collect();
    let mut out: BTreeMap<u16, u64> = BTreeMap::new();
    for (x, &((ag_a, ca), na)) in cells.iter().enumerate() {
        for &((ag_b, cb), nb) in &cells[x..] {
            let n = if (ag_a, ca) == (ag_b, cb) {
                if within {
                    na * na.saturating_sub(1) / 2
                } else {
                    0
                }
            } else if ag_a == ag_b && !within {
                0
            } else {
                na * nb
            };
            if n > 0 {
                *out.entry(ca & cb).or_insert(0) += n;
            }
        }
    }
    out
}

/// Candidates per (key, level code), ascending.
fn mask_code_counts(
    segments: &[Segment],
    keys: &super::slots::PairKeys<'_>,
) -> Vec<((u32, u32), u64)> {
    let map = segments
        .par_iter()
        .fold(ahash::AHashMap::<(u32, u32), u64>::default, |mut acc, s| {
            for (&p, &code) in s.pairs.iter().zip(&s.codes) {
                let (a, b) = unpack(p);
                *acc.entry((keys.key(a as usize, b as usize), code))
                    .or_insert(0) += 1;
            }
            acc
        })
        .reduce(ahash::AHashMap::default, |mut a, b| {
            for (k, n) in b {
                *a.entry(k).or_insert(0) += n;
            }
            a
        });
    let mut v: Vec<((u32, u32), u64)> = map.into_iter().collect();
    v.sort_unstable();
    v
}

/// All candidates with their weights (when the config asks for candidates.parquet).
type Candidates = Option<(Vec<PairKey>, Vec<f64>)>;

/// Stage score: each candidate's match weight; pairs at or above review, decided.
fn score(
    cfg: &LinkConfig,
    c: &Compared,
    fitted: &Fitted<'_>,
    weights: &[Vec<f64>],
    th: &ThresholdInfo,
) -> (ScoredPairs, Candidates) {
    let nf = weights.len();
    let code_weight: ahash::AHashMap<u32, f64> = c
        .code_counts
        .iter()
        .enumerate()
        .map(|(i, &(code, _))| {
            let lv = &c.decoded[i * nf..(i + 1) * nf];
            let w = lv
                .iter()
                .enumerate()
                .map(|(f, &l)| weights[f][l as usize])
                .sum();
            (code, w)
        })
        .collect();
    // A pair's weight: by its level code, or in a slot schema by its key and code.
    let pair_weight = |p: PairKey, code: &u32| match &fitted.slot_weights {
        None => code_weight[code],
        Some((keys, w)) => {
            let (a, b) = unpack(p);
            w[&(keys.key(a as usize, b as usize), *code)]
        }
    };
    let keep: Vec<(f64, PairKey)> = c
        .segments
        .par_iter()
        .flat_map_iter(|s| {
            s.pairs
                .iter()
                .zip(&s.codes)
                .map(|(&p, c)| (pair_weight(p, c), p))
                .filter(|&(w, _)| w >= th.review_weight)
                .collect::<Vec<_>>()
        })
        .collect();
    let scored = ScoredPairs::from_kept(keep, |w| fitted.model.probability(w), th.match_weight);
    let candidates = cfg.output.candidates.then(|| {
        let pairs: Vec<PairKey> = c
            .segments
            .iter()
            .flat_map(|s| s.pairs.iter().copied())
            .collect();
        let w: Vec<f64> = c
            .segments
            .iter()
            .flat_map(|s| {
                s.pairs
                    .iter()
                    .zip(&s.codes)
                    .map(|(&p, c)| pair_weight(p, c))
            })
            .collect();
        (pairs, w)
    });
    (scored, candidates)
}

/// Stage resolve: clusters from the match edges, strongest first, then from the review edges
/// (`resolution.review_support`), within the verdicts; what
/// the verdicts did (absent without decisions) also goes into the run's warnings.
pub(super) fn resolve(
    recs: &Records,
    d: &mut Decided<'_>,
    decisions: &Decisions,
) -> (scoring::Clustering, Option<DecisionsInfo>) {
    let (constraints, mut info) = verdicts(recs, d, decisions);
    let clustering = scoring::clusters_review(
        &recs.agency_of,
        &d.scored.match_edges(),
        &d.scored.review_edges(),
        &d.cluster,
        &constraints,
    );
    if let Some(info) = info.as_mut() {
        info.refused_by_cannot_link = clustering.refused_by_cannot_link;
        info.conflicts = clustering.conflicts;
        d.warnings.extend(crate::review::decisions::warnings(info));
    }
    (clustering, info)
}

/// The records of a run by (agency, record id), to resolve verdicts.
struct RecordsById<'a>(ahash::AHashMap<(&'a str, &'a str), u32>);

impl RecordIndex for RecordsById<'_> {
    fn index_of(&self, agency: &str, id: &str) -> Option<u32> {
        self.0.get(&(agency, id)).copied()
    }
}

/// The verdicts as clustering constraints (none without decisions).
fn verdicts(
    recs: &Records,
    d: &Decided<'_>,
    decisions: &Decisions,
) -> (scoring::Constraints, Option<DecisionsInfo>) {
    if decisions.files.is_empty() {
        return (scoring::Constraints::default(), None);
    }
    let agency = |i: u32| recs.agencies[recs.agency_of[i as usize] as usize].as_str();
    let by_id = RecordsById(
        (0..recs.len() as u32)
            .map(|i| ((agency(i), recs.ids[i as usize].as_str()), i))
            .collect(),
    );
    let scored = || scored_pair_ids(recs, d).collect();
    let (c, info) = decisions.resolve(&by_id, scored);
    (c, Some(info))
}

/// Each scored pair's stable pair id (`review::pair_id`), with its two records, in pair order.
fn scored_pair_ids<'a>(
    recs: &'a Records,
    d: &'a Decided<'_>,
) -> impl Iterator<Item = (String, (u32, u32))> + 'a {
    let agency = |i: u32| recs.agencies[recs.agency_of[i as usize] as usize].as_str();
    d.scored.pairs.iter().map(move |&p| {
        let (a, b) = unpack(p);
        let id = crate::review::pair_id(
            agency(a),
            &recs.ids[a as usize],
            agency(b),
            &recs.ids[b as usize],
        );
        (id, (a, b))
    })
}

/// The verdict of each scored pair, for the `verdict` column (empty without decisions).
fn pair_verdicts(
    recs: &Records,
    d: &Decided<'_>,
    decisions: &Decisions,
) -> Vec<Option<&'static str>> {
    if decisions.is_empty() {
        return Vec::new();
    }
    scored_pair_ids(recs, d)
        .map(|(id, _)| decisions.pairs.get(&id).map(|v| v.verdict.as_str()))
        .collect()
}

/// Stage write: the match set ([`MatchSetWriter`]); the manifest gets the write and total
/// timings (from `[write start, run start]`) before it is written. `carried`: what an
/// incremental run carries forward (person ids, changes); each record's `record_hash` is
/// computed when it does not bring them.
pub(super) fn write(
    dir: &Path,
    recs: &Records,
    d: &Decided<'_>,
    (cluster_of, decisions): (&[u32], &Decisions),
    manifest: &mut Manifest,
    [t_write, t_total]: [Instant; 2],
    carried: super::incremental::Carried,
) -> Result<()> {
    let ids = RecordIds {
        agencies: &recs.agencies,
        agency_of: &recs.agency_of,
        ids: &recs.ids,
    };
    let mut w = MatchSetWriter::try_new(dir, manifest, ids)?;
    w.set_record_hashes(
        carried
            .record_hashes
            .unwrap_or_else(|| super::incremental::record_hashes(recs)),
    );
    if let Some(p) = carried.person_ids {
        w.set_person_ids(p);
    }
    if let Some(r) = carried.ranks {
        w.set_record_ranks(r);
    }
    // Settled before the files are written side by side.
    w.persons_of(cluster_of);
    let ab: Vec<(u32, u32)> = d.scored.pairs.iter().map(|&p| unpack(p)).collect();
    let names: Vec<String> = recs.schema.fields.iter().map(|f| f.name.clone()).collect();
    let labels: Vec<Vec<String>> = (0..names.len())
        .map(|f| {
            d.comparator
                .comparisons
                .get(f)
                .map(|c| c.labels())
                .unwrap_or_default()
        })
        .collect();
    let verdicts = pair_verdicts(recs, d, decisions);
    let pairs = PairsData {
        pairs: &ab,
        weights: &d.scored.weights,
        probabilities: &d.scored.probabilities,
        is_match: &d.scored.is_match,
        cluster_of,
        fields: &names,
        labels: &labels,
        verdicts: &verdicts,
    };
    let field = |f: usize, a: u32, b: u32| {
        let (l, s) = d.comparator.field(f, a as usize, b as usize);
        (
            (l != 0).then_some(s),
            i64::from(l),
            d.weights[f][l as usize],
        )
    };
    // The files are independent: written side by side (each one the same bytes as alone).
    let (changes, (pairs, clusters)) = rayon::join(
        || match &carried.changes {
            Some((set, before)) => w.write_changes(set, before, cluster_of),
            None => Ok(()),
        },
        || {
            rayon::join(
                || w.write_pairs(&pairs, field),
                || w.write_clusters(cluster_of),
            )
        },
    );
    changes?;
    pairs?;
    clusters?;
    drop(ab);
    if let Some((pairs, weights)) = &d.candidates {
        let ab: Vec<(u32, u32)> = pairs.iter().map(|&p| unpack(p)).collect();
        w.write_candidates(&ab, weights)?;
    }
    manifest.timings.write = t_write.elapsed().as_secs_f64();
    manifest.timings.total = t_total.elapsed().as_secs_f64();
    w.close(manifest)
}

/// The manifest's description of every input, in canonical order.
pub(super) fn manifest_inputs(recs: &Records) -> Result<Vec<InputInfo>> {
    recs.inputs
        .iter()
        .map(|i| {
            Ok(InputInfo {
                file: i.path.display().to_string(),
                blake3: i.blake3.clone(),
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

/// The match weight at which a pair reaches probability `p` under the model's prior.
pub(super) fn weight_for_probability(model: &Model, p: f64) -> f64 {
    scoring::weight_for_probability(p, model.prior_weight())
}

/// Thresholds in probability and weight.
pub(super) fn thresholds(model: &Model, cfg: &LinkConfig) -> ThresholdInfo {
    let w = |p: f64| weight_for_probability(model, p);
    ThresholdInfo {
        match_probability: cfg.thresholds.match_probability,
        review_probability: cfg.thresholds.review_probability,
        match_weight: w(cfg.thresholds.match_probability),
        review_weight: w(cfg.thresholds.review_probability),
    }
}

/// Random record pairs (deterministic for a seed), for u.
pub fn random_pairs(recs: &Records, n: usize, seed: u64, within: bool) -> Vec<PairKey> {
    random_pairs_by(
        recs.len() as u32,
        |i| recs.agency_of[i as usize],
        n,
        seed,
        within,
    )
}

/// [`random_pairs`] over `total` records whose agencies `agency(i)` gives (the distributed run
/// knows them from the inputs' row counts alone).
pub fn random_pairs_by(
    total: u32,
    agency: impl Fn(u32) -> u16,
    n: usize,
    seed: u64,
    within: bool,
) -> Vec<PairKey> {
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
        if a == b || (!within && agency(a) == agency(b)) {
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
) -> Counts {
    let mut by_agency = BTreeMap::new();
    for i in &recs.inputs {
        by_agency.insert(i.meta.agency.clone(), i.rows as u64);
    }
    counts_of(by_agency, &recs.agency_of, stats, scored, clustering)
}

/// [`counts`] from the records per agency and each record's agency.
pub(super) fn counts_of(
    by_agency: BTreeMap<String, u64>,
    agency_of: &[u16],
    stats: &BlockingStats,
    scored: &ScoredPairs,
    clustering: &scoring::Clustering,
) -> Counts {
    let pairs_match = scored.is_match.iter().filter(|&&m| m).count() as u64;
    let pairs_match_within_agency = scored
        .pairs
        .iter()
        .zip(&scored.is_match)
        .filter(|(&p, &m)| {
            let (a, b) = unpack(p);
            m && agency_of[a as usize] == agency_of[b as usize]
        })
        .count() as u64;
    let mut sizes = vec![0u64; clustering.n_clusters as usize];
    let mut seen: std::collections::HashSet<(u32, u16)> = std::collections::HashSet::new();
    let mut dup_clusters = std::collections::HashSet::new();
    for (i, &c) in clustering.cluster_of.iter().enumerate() {
        sizes[c as usize] += 1;
        if !seen.insert((c, agency_of[i])) {
            dup_clusters.insert(c);
        }
    }
    Counts {
        records: agency_of.len() as u64,
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

pub(super) fn manifest_model(
    schema: &crate::schema::Schema,
    comparator: &Comparator<'_>,
    model: &Model,
    fixed: &[Option<scoring::FieldParams>],
    random: usize,
) -> ModelInfo {
    let fields = schema
        .fields
        .iter()
        .enumerate()
        .map(|(f, spec)| {
            let labels = comparator.comparisons[f].labels();
            let p = &model.fields[f];
            let w = p.weights();
            FieldInfo {
                name: spec.name.clone(),
                kind: spec.kind.as_str().into(),
                fixed: fixed[f].is_some(),
                levels: (1..p.m.len())
                    .map(|l| LevelInfo {
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
    ModelInfo {
        lambda: model.lambda,
        prior_weight: model.prior_weight(),
        u_source: "random record pairs".into(),
        random_pairs: random as u64,
        fields,
        em: model.em.clone(),
        training: String::new(),
        training_by_kind: Vec::new(),
        slots: None,
    }
}

/// The link config as recorded in the manifest.
pub(super) fn config_json(cfg: &LinkConfig) -> Result<serde_json::Value> {
    serde_json::to_value(cfg).map_err(|e| Error::Internal(format!("link config as JSON: {e}")))
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
        .fold(ahash::AHashMap::<u32, u64>::default, |mut acc, s| {
            for (i, &c) in s.codes.iter().enumerate() {
                if keep(s, i) {
                    *acc.entry(c).or_insert(0) += 1;
                }
            }
            acc
        })
        .reduce(ahash::AHashMap::default, |mut a, b| {
            for (c, n) in b {
                *a.entry(c).or_insert(0) += n;
            }
            a
        });
    let mut v: Vec<(u32, u64)> = map.into_iter().collect();
    v.sort_unstable();
    v
}
