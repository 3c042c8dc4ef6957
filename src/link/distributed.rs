//! The link run cut into stages a cluster engine (Spark, through the Python package's
//! `padan.spark`) distributes: each stage here works on one Arrow batch of records or pairs, or
//! on counts the engine aggregated, and gives the same values as [`super::pipeline::LinkJob`].
//!
//! - [`Plan::new`] (driver): the inputs' metadata checked and put in canonical order, record
//!   index offsets, the block slots (token kinds, a salt-slot schema's slots with their own pair
//!   budget, LSH band positions) and the random pairs for u.
//!   It travels to the workers as JSON ([`Plan::to_json`], [`Plan::from_json`]).
//! - [`Plan::block_keys`] (workers, per batch of records): `(slot, key, record)` rows.
//! - [`Plan::caps`] (driver): per slot, the largest block size kept (`max_block_size` and the
//!   pair budget), from the histogram of block sizes, and the blocking stats.
//! - [`Plan::compare_blocks`] (workers, per batch of block members sorted by block): every pair a
//!   block *owns* (no earlier slot holds both records, [`super::block::Blocks::for_each_owned`]'s
//!   rule, so each pair is emitted once), compared: its level code, its block kinds and, with a
//!   salt-slot schema, its key of the slot model ([`super::slots::PairKeys::key`]).
//! - [`Plan::fit`] (driver): the model from the code counts and the random pairs' code counts;
//!   with a salt-slot schema, the slot model ([`crate::scoring::slotfit`]) from the counts per
//!   (key, code) and the records per (agency, tokens carried) ([`Plan::carried_counts`]), from
//!   which the record pairs that share no key are counted without enumerating them.
//! - [`Fit::score`] (workers, per batch of candidates): match weights (by level code, or by key
//!   and code with the slot model), pairs at or above review.
//! - [`Fit::resolve_components`] (workers, per batch of scored edges, match and review, sorted
//!   by connected component): [`scoring::clusters_review`] on each component; the clusters of
//!   the whole run are the union, since no edge joins two components and the rule visits edges
//!   (and pairs of clusters) in a total order.
//! - [`Plan::write`] (driver): the match set with the one writer ([`MatchSetWriter`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, Float64Array, Int32Array, Int64Array, RecordBatch,
};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::block::{self, pack, unpack, BlockSize, BlockingStats, PairKey};
use super::compare::{Comparator, LevelCoder, TermFrequencies};
use super::config::LinkConfig;
use super::decided::ScoredPairs;
use super::dice::FilterMatrix;
use super::pipeline;
use super::records::{Records, TokenColumn};
use crate::error::{Error, Result};
use crate::io::encoded::{ColumnRole, EncodedFile, Layout, TOKEN_BYTES};
use crate::io::manifest::{InputInfo, Manifest, ModelInfo, RunLog, ThresholdInfo, Timings};
use crate::io::matchset::{MatchSetWriter, PairsData, RecordHash, RecordIds};
use crate::schema::Schema;
use crate::scoring::{self, ClusterOptions, Clustering, Edge};

/// Where a block slot's keys come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SlotSource {
    /// A token or blocking-key column, by name.
    Token(String),
    /// An LSH band: the sampled bit positions of the record filter.
    Lsh(Vec<usize>),
    /// A salt slot of the schema, by index: its 64-bit tags ([`super::slots::slot_keys`]).
    Tag(usize),
}

/// One block slot (a record is in at most one block per slot), in slot order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotDef {
    /// Its block kind's name.
    pub kind: String,
    /// Its kind's index (bit of the kinds masks).
    pub kind_index: u8,
    /// Its keys.
    pub source: SlotSource,
    /// Its pair budget (0 = none).
    pub budget: u64,
}

/// What travels from the driver to the workers.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PlanData {
    inputs: Vec<InputInfo>,
    paths: Vec<PathBuf>,
    offsets: Vec<u64>,
    schema_json: String,
    /// As TOML: its floats (Dice thresholds, fixed m and u) come back to the bit, which a JSON
    /// number does not promise.
    #[serde(with = "config_as_toml")]
    config: LinkConfig,
    slots: Vec<SlotDef>,
    kinds: Vec<String>,
    /// Per schema field whose exact level is split by term frequency: its frequencies over the
    /// whole run, set by the driver from the engine's counts ([`Plan::set_token_counts`]).
    #[serde(default)]
    frequencies: BTreeMap<usize, TermFrequencies>,
}

/// A distributed link run's plan: see the module docs.
pub struct Plan {
    data: PlanData,
    schema: Schema,
    layout: Layout,
    records: u64,
}

/// The block kind of the LSH bands.
const LSH_KIND: &str = "lsh";

impl Plan {
    /// Checks the inputs' metadata and the config as `padan link` does and plans the slots
    /// (a salt-slot schema's config adjusted as `padan link` adjusts it:
    /// [`super::slots::adjust_config`]). Refuses what the distributed run does not do (yet):
    /// top-k meta-blocking (`knn_k`), `output.candidates`.
    pub fn new(paths: &[impl AsRef<Path>], config: LinkConfig) -> Result<Plan> {
        config.validate("link config")?;
        let inputs = Records::canonical_inputs(paths)?;
        let first = &inputs[0];
        let schema =
            Schema::from_canonical_json(&first.1.schema_json, &first.0.display().to_string())?;
        if schema.fingerprint() != first.1.schema_fingerprint {
            return Err(Error::input_file(
                &first.0,
                "the embedded schema does not match its fingerprint (file altered?)",
            ));
        }
        let refuse = |what: &str| {
            Err(Error::config(
                "link config",
                format!("{what} is not supported by the distributed run; use padan link"),
            ))
        };
        let config = super::slots::adjust_config(&schema, &config).unwrap_or(config);
        if config.blocking.knn_k > 0 {
            return refuse("blocking.knn_k (top-k meta-blocking)");
        }
        if config.output.candidates {
            return refuse("output.candidates");
        }
        for name in config.comparison.keys() {
            if schema.field(name).is_none() {
                return Err(Error::config(
                    "link config",
                    format!("comparison.{name}: the schema has no field '{name}'"),
                ));
            }
        }
        let layout = Layout::for_schema(&schema);
        let mut offsets = Vec::new();
        let mut n = 0u64;
        for (_, m, _) in &inputs {
            offsets.push(n);
            n += m.rows_encoded;
        }
        if n == 0 {
            return Err(Error::input_file(
                &inputs[0].0,
                "the inputs hold no records",
            ));
        }
        if n > u64::from(u32::MAX) {
            return Err(Error::config("inputs", "more than 4 294 967 295 records"));
        }
        let cfg = &config.blocking;
        let budget = (cfg.pairs_per_record * n as f64) as u64;
        let mut kinds: Vec<String> = Vec::new();
        let mut kind_index = |name: &str| -> u8 {
            let k = kinds.iter().position(|k| k == name).unwrap_or_else(|| {
                kinds.push(name.to_string());
                kinds.len() - 1
            });
            u8::try_from(k).unwrap_or(u8::MAX)
        };
        let mut slots = Vec::new();
        for name in token_columns(&schema, &layout) {
            if block::blocks_on_token(&schema, cfg, &name) {
                slots.push(SlotDef {
                    kind_index: kind_index(&name),
                    kind: name.clone(),
                    source: SlotSource::Token(name),
                    budget,
                });
            }
        }
        // The salt slots, after the tokens (as `Blocks::build` orders its kinds), with their own
        // pair budget.
        let slot_budget = (cfg.slot_pairs_per_record * n as f64) as u64;
        for (si, s) in schema.slots.iter().enumerate() {
            let name = format!("slot_{}", s.name);
            if cfg.keys.is_empty() || cfg.keys.contains(&name) {
                slots.push(SlotDef {
                    kind_index: kind_index(&name),
                    kind: name,
                    source: SlotSource::Tag(si),
                    budget: slot_budget,
                });
            }
        }
        if cfg.lsh_bands > 0 {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.lsh_seed);
            let bits = FilterMatrix::new(schema.record_filter.bits / 64).bits();
            let band_budget = match budget {
                0 => 0,
                b => (b / cfg.lsh_bands as u64).max(1),
            };
            for _ in 0..cfg.lsh_bands {
                slots.push(SlotDef {
                    kind: LSH_KIND.into(),
                    kind_index: kind_index(LSH_KIND),
                    source: SlotSource::Lsh(block::band_positions(&mut rng, bits, cfg.lsh_bits)),
                    budget: band_budget,
                });
            }
        }
        let data = PlanData {
            inputs: inputs
                .iter()
                .map(|(p, m, h)| InputInfo {
                    file: p.display().to_string(),
                    blake3: h.clone(),
                    agency: m.agency.clone(),
                    rows: m.rows_encoded,
                    rows_read: m.rows_read,
                    rows_rejected: m.rows_rejected,
                    encoding_version: m.encoding_version,
                    schema_fingerprint: m.schema_fingerprint.clone(),
                    key_fingerprint: m.key_fingerprint.clone(),
                    rejects_by_reason: m.rejects_by_reason.clone(),
                    dropped_by_reason: m.dropped_by_reason.clone(),
                    flags_by_reason: m.flags_by_reason.clone(),
                })
                .collect(),
            paths: inputs.iter().map(|(p, _, _)| p.clone()).collect(),
            offsets,
            schema_json: first.1.schema_json.clone(),
            config,
            slots,
            kinds,
            frequencies: BTreeMap::new(),
        };
        Ok(Plan {
            data,
            schema,
            layout,
            records: n,
        })
    }

    /// The plan as JSON, for the workers.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(&self.data).map_err(|e| Error::Internal(format!("plan as JSON: {e}")))
    }

    /// A plan from [`Plan::to_json`].
    pub fn from_json(text: &str) -> Result<Plan> {
        let data: PlanData = serde_json::from_str(text)
            .map_err(|e| Error::Internal(format!("plan from JSON: {e}")))?;
        let schema = Schema::from_canonical_json(&data.schema_json, "plan")?;
        let layout = Layout::for_schema(&schema);
        let records = data.inputs.iter().map(|i| i.rows).sum();
        Ok(Plan {
            data,
            schema,
            layout,
            records,
        })
    }

    /// The input files in canonical order with the global index of their first record.
    pub fn inputs(&self) -> Vec<(PathBuf, u64)> {
        self.data
            .paths
            .iter()
            .cloned()
            .zip(self.data.offsets.iter().copied())
            .collect()
    }

    /// The columns of an encoded file (after `record_id`), by name.
    pub fn columns(&self) -> Vec<String> {
        self.layout.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// The block slots.
    pub fn slots(&self) -> &[SlotDef] {
        &self.data.slots
    }

    /// The config.
    pub fn config(&self) -> &LinkConfig {
        &self.data.config
    }

    /// Records in all inputs.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Whether the inputs use a salt-slot schema: the model is then the slot model
    /// ([`crate::scoring::slotfit`]), fitted from the candidates per (key, level code) and the
    /// records per (agency, tokens carried) ([`Plan::carried_counts`]), without random pairs.
    pub fn has_slots(&self) -> bool {
        !self.schema.slots.is_empty()
    }

    /// The agency index of global record `i`.
    pub fn agency_of(&self, i: u32) -> u16 {
        let i = u64::from(i);
        (self.data.offsets.partition_point(|&o| o <= i) - 1) as u16
    }

    /// The random record pairs u is estimated from (those of `padan link`).
    pub fn random_pairs(&self) -> Vec<PairKey> {
        let m = &self.data.config.model;
        pipeline::random_pairs_by(
            self.records as u32,
            |i| self.agency_of(i),
            m.random_pairs,
            m.seed,
            self.data.config.blocking.within_agency,
        )
    }

    /// The records of a batch (columns `idx`, the record's global index, and the encoded file's
    /// columns by name; `record_id` optional) and their global indices.
    pub fn batch_records(&self, batch: &RecordBatch) -> Result<(Records, Vec<u32>)> {
        let idx = int64_column(batch, "idx")?;
        let mut recs = Records::empty(&self.schema, &self.layout);
        recs.agencies = self.data.inputs.iter().map(|i| i.agency.clone()).collect();
        let global: Vec<u32> = idx.iter().map(|&i| i as u32).collect();
        recs.agency_of = global.iter().map(|&i| self.agency_of(i)).collect();
        recs.ids = match batch.column_by_name("record_id") {
            Some(col) => {
                let col = arrow_cast_utf8(col)?;
                (0..col.len()).map(|i| col.value(i).to_string()).collect()
            }
            None => vec![String::new(); global.len()],
        };
        for c in &self.layout.columns {
            let col = batch
                .column_by_name(&c.name)
                .ok_or_else(|| Error::Internal(format!("batch without the column '{}'", c.name)))?;
            let rows = binary_rows(col, &c.name, c.width)?;
            match c.role {
                ColumnRole::FieldFilter(fi) => {
                    let m = recs.filters[fi].as_mut().expect("filter field");
                    rows.iter().for_each(|r| match r {
                        Some(b) => m.push(b),
                        None => m.push_missing(),
                    });
                }
                ColumnRole::RecordFilter => rows.iter().for_each(|r| match r {
                    Some(b) => recs.record_filter.push(b),
                    None => recs.record_filter.push_missing(),
                }),
                ColumnRole::Token(fi) => {
                    push_tokens(recs.tokens[fi].as_mut().expect("token field"), &rows)
                }
                ColumnRole::Block(_) => {
                    let (_, t) = recs
                        .block_keys
                        .iter_mut()
                        .find(|(name, _)| *name == c.name)
                        .expect("block column");
                    push_tokens(t, &rows);
                }
            }
        }
        Ok((recs, global))
    }

    /// The block keys of a batch of records: `(slot, key, idx)` rows (a record without a token,
    /// or with an LSH key of 0, is in no block of that slot).
    pub fn block_keys(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let (recs, global) = self.batch_records(batch)?;
        let mut slot = Vec::new();
        let mut key: Vec<[u8; 16]> = Vec::new();
        let mut idx = Vec::new();
        let columns = recs.token_columns();
        let tags = if self.has_slots() {
            super::slots::slot_keys(&recs)
        } else {
            Vec::new()
        };
        for (s, def) in self.data.slots.iter().enumerate() {
            match &def.source {
                SlotSource::Token(name) => {
                    let col = columns
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, c)| *c)
                        .expect("token column of the schema");
                    for (i, &g) in global.iter().enumerate() {
                        if let Some(t) = col.get(i) {
                            slot.push(s as i32);
                            key.push(t.to_le_bytes());
                            idx.push(i64::from(g));
                        }
                    }
                }
                SlotSource::Lsh(positions) => {
                    for (i, &g) in global.iter().enumerate() {
                        let k = block::band_key(&recs, i, positions);
                        if k != 0 {
                            slot.push(s as i32);
                            key.push(u128::from(k).to_le_bytes());
                            idx.push(i64::from(g));
                        }
                    }
                }
                SlotSource::Tag(si) => {
                    // The records carrying the slot (tag 0: lacks it, in no block).
                    for &(t, i) in &tags[*si].1 {
                        slot.push(s as i32);
                        key.push(u128::from(t).to_le_bytes());
                        idx.push(i64::from(global[i as usize]));
                    }
                }
            }
        }
        batch_of(vec![
            ("slot", Arc::new(Int32Array::from(slot)) as ArrayRef),
            (
                "key",
                Arc::new(BinaryArray::from_iter_values(key.iter())) as ArrayRef,
            ),
            ("idx", Arc::new(Int64Array::from(idx)) as ArrayRef),
        ])
    }

    /// Per slot, the largest block size kept, and the blocking stats, from the histogram of the
    /// blocks that yield pairs: `(slot, size, blocks, pairs)` rows (pairs under the agency
    /// rule). The same caps and stats as [`block::Blocks::build`].
    pub fn caps(&self, hist: &[(usize, u64, u64, u64)]) -> (Vec<u64>, BlockingStats) {
        let cfg = &self.data.config.blocking;
        let max = cfg.max_block_size;
        let mut stats = BlockingStats::default();
        let mut sizes: Vec<BlockSize> = Vec::new();
        let mut caps = Vec::new();
        for (s, def) in self.data.slots.iter().enumerate() {
            let mut rows: Vec<(u64, u64, u64)> = hist
                .iter()
                .filter(|r| r.0 == s && r.2 > 0)
                .map(|&(_, size, blocks, pairs)| (size, blocks, pairs))
                .collect();
            rows.sort_unstable();
            let mut cap = max;
            if def.budget > 0 {
                let mut by_size: BTreeMap<usize, u64> = BTreeMap::new();
                for &(size, _, pairs) in &rows {
                    if size as usize <= max && pairs > 0 {
                        *by_size.entry(size as usize).or_insert(0) += pairs;
                    }
                }
                cap = block::budget_cap(&by_size, max, def.budget);
            }
            let name = &def.kind;
            let mut produced = 0u64;
            for &(size, blocks, pairs) in &rows {
                if pairs == 0 {
                    continue;
                }
                if size as usize > cap {
                    let over = if size as usize > max {
                        &mut stats.capped_by_kind
                    } else {
                        &mut stats.purged_by_kind
                    };
                    *over.entry(name.clone()).or_insert(0) += blocks;
                    stats.capped_blocks += blocks;
                    let l = stats.capped_largest.entry(name.clone()).or_insert(0);
                    *l = (*l).max(size);
                } else {
                    produced += pairs;
                    for _ in 0..blocks.min(10) {
                        sizes.push(BlockSize {
                            kind: name.clone(),
                            size,
                        });
                    }
                }
            }
            if cap < max {
                let c = stats
                    .effective_max_block_size
                    .entry(name.clone())
                    .or_insert(cap as u64);
                *c = (*c).min(cap as u64);
            }
            *stats.candidates_by_block.entry(name.clone()).or_insert(0) += produced;
            caps.push(cap as u64);
        }
        sizes.sort_by(|a, b| b.size.cmp(&a.size).then(a.cmp(b)));
        sizes.truncate(10);
        stats.largest_blocks = sizes;
        stats.possible_pairs = self.possible_pairs();
        (caps, stats)
    }

    fn possible_pairs(&self) -> u64 {
        let n = self.records;
        let all = n * n.saturating_sub(1) / 2;
        if self.data.config.blocking.within_agency {
            return all;
        }
        all - self
            .data
            .inputs
            .iter()
            .map(|i| i.rows * i.rows.saturating_sub(1) / 2)
            .sum::<u64>()
    }

    /// The comparator of a batch's records. A field whose tokens are counted
    /// ([`Plan::frequency_columns`]) takes the run's frequencies from the plan; with frequency
    /// bands, each record's token count from the batch's `tf_<field>` column (`padan.spark` adds
    /// it; an error when absent). `batch` is `None` for the driver's empty records.
    fn comparator<'r>(
        &self,
        recs: &'r Records,
        batch: Option<&RecordBatch>,
    ) -> Result<Comparator<'r>> {
        Comparator::with_frequencies(recs, &self.data.config, |f, t, c| {
            let name = &self.schema.fields[f].name;
            let table = self.data.frequencies.get(&f).ok_or_else(|| {
                Error::Internal(format!(
                    "the token counts of field '{name}' were not set on the plan (set_token_counts)"
                ))
            })?;
            // Each record's count places it in a frequency band; without bands only the
            // run's histogram is used.
            let counts = match batch {
                _ if c.bands_in_use.is_empty() => Vec::new(),
                Some(b) => tf_counts(b, name, t.values.len())?,
                None => vec![0; t.values.len()],
            };
            Ok((table.clone(), counts))
        })
    }

    /// The fields whose tokens are counted over the run (their exact level's u is bounded by the
    /// counts, and split by them with frequency bands): `(field, token column, per record)`. The
    /// engine counts each token's records and hands the plan the histogram of those counts
    /// ([`Plan::set_token_counts`]); when `per record` (the field has frequency bands), it also
    /// gives each record its token's count as the column `tf_<field>`.
    pub fn frequency_columns(&self) -> Vec<(String, String, bool)> {
        let empty = Records::empty(&self.schema, &self.layout);
        let slotted = super::slots::FieldSlots::of(&self.schema);
        self.layout
            .columns
            .iter()
            .filter_map(|c| match c.role {
                ColumnRole::Token(f) => {
                    let spec = &self.schema.fields[f];
                    let cmp = self.data.config.comparison_for(spec);
                    (empty.tokens[f].is_some() && super::compare::counts_tokens(&cmp, &slotted[f]))
                        .then(|| {
                            let per_record = super::compare::uses_bands(&cmp, &slotted[f]);
                            (spec.name.clone(), c.name.clone(), per_record)
                        })
                }
                _ => None,
            })
            .collect()
    }

    /// Sets a field's term frequencies from the histogram of its token counts: `(count, tokens)`,
    /// how many distinct tokens are held by exactly `count` records (over every record).
    pub fn set_token_counts(&mut self, field: &str, hist: &[(u64, u64)]) -> Result<()> {
        let f = self
            .schema
            .fields
            .iter()
            .position(|s| s.name == field)
            .ok_or_else(|| Error::Internal(format!("no field '{field}' in the schema")))?;
        let mut cmp = self.data.config.comparison_for(&self.schema.fields[f]);
        super::compare::activate_bands(&mut cmp, &super::slots::FieldSlots::of(&self.schema)[f]);
        self.data
            .frequencies
            .insert(f, TermFrequencies::from_histogram(&cmp, hist));
        Ok(())
    }

    fn coder(&self, comparator: &Comparator<'_>) -> Result<LevelCoder> {
        LevelCoder::new(&comparator.n_levels()).ok_or_else(|| {
            Error::config(
                "link config",
                "comparison: too many levels in all (more than 2^32 level combinations); use fewer thresholds",
            )
        })
    }

    /// Compares the pairs of a batch of block members: rows sorted by `block_id` (Int64; one
    /// block's rows together, any order inside), with `idx` and the record's columns. With
    /// `owned` (candidates), each row also has `slot` (Int32) and `sig` (the record's kept
    /// blocks: a list of structs `slot`, `block_id`), a pair across agencies only unless
    /// `within_agency`, and a pair is emitted only by its owner block (the first slot holding
    /// both), with the kinds of every block holding both. Without (random or scored pairs), each
    /// block is one pair, compared as is. Rows `(a, b, kinds, code, key)`, `a < b`; `key` is
    /// the pair's key of the slot model ([`super::slots::PairKeys::key`]) with a salt-slot
    /// schema, else 0.
    pub fn compare_blocks(&self, batch: &RecordBatch, owned: bool) -> Result<RecordBatch> {
        let (recs, global) = self.batch_records(batch)?;
        let comparator = self.comparator(&recs, Some(batch))?;
        let pair_keys = self.has_slots().then(|| super::slots::PairKeys::new(&recs));
        let coder = self.coder(&comparator)?;
        let bid = int64_column(batch, "block_id")?;
        let within = self.data.config.blocking.within_agency;
        let (slot, sigs) = if owned {
            (int32_column(batch, "slot")?, signatures(batch)?)
        } else {
            (Vec::new(), Vec::new())
        };
        let mut lv = vec![0u8; comparator.n_fields()];
        let (mut out_a, mut out_b, mut out_k, mut out_c) = (vec![], vec![], vec![], vec![]);
        let mut out_key = Vec::new();
        let mut s = 0;
        while s < bid.len() {
            let mut e = s + 1;
            while e < bid.len() && bid[e] == bid[s] {
                e += 1;
            }
            for x in s..e {
                for y in x + 1..e {
                    let (gx, gy) = (global[x], global[y]);
                    if gx == gy {
                        continue;
                    }
                    let (i, j) = if gx < gy { (x, y) } else { (y, x) };
                    let mut kinds = 0u16;
                    if owned {
                        if !within && recs.agency_of[i] == recs.agency_of[j] {
                            continue;
                        }
                        match self.owned_kinds(&sigs[i], &sigs[j], slot[s] as u16) {
                            Some(k) => kinds = k,
                            None => continue,
                        }
                    }
                    comparator.levels(i, j, &mut lv);
                    out_a.push(i64::from(global[i]));
                    out_b.push(i64::from(global[j]));
                    out_k.push(i32::from(kinds));
                    out_c.push(i64::from(coder.encode(&lv)));
                    out_key.push(pair_keys.as_ref().map_or(0, |p| i64::from(p.key(i, j))));
                }
            }
            s = e;
        }
        batch_of(vec![
            ("a", Arc::new(Int64Array::from(out_a)) as ArrayRef),
            ("b", Arc::new(Int64Array::from(out_b)) as ArrayRef),
            ("kinds", Arc::new(Int32Array::from(out_k)) as ArrayRef),
            ("code", Arc::new(Int64Array::from(out_c)) as ArrayRef),
            ("key", Arc::new(Int64Array::from(out_key)) as ArrayRef),
        ])
    }

    /// Records of a batch per (agency, slots and tokens carried: [`super::slots::PairKeys::carried`]):
    /// rows `(agency, carried, n)`, what the slot model counts the record pairs by.
    pub fn carried_counts(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let (recs, _) = self.batch_records(batch)?;
        let keys = super::slots::PairKeys::new(&recs);
        let per = super::pipeline::records_by_carried(&recs, &keys);
        batch_of(vec![
            (
                "agency",
                Arc::new(Int32Array::from_iter_values(
                    per.keys().map(|k| i32::from(k.0)),
                )) as ArrayRef,
            ),
            (
                "carried",
                Arc::new(Int32Array::from_iter_values(
                    per.keys().map(|k| i32::from(k.1)),
                )) as ArrayRef,
            ),
            (
                "n",
                Arc::new(Int64Array::from_iter_values(
                    per.values().map(|&n| n as i64),
                )) as ArrayRef,
            ),
        ])
    }

    /// The per-field levels and similarities of the pairs of a batch (rows as in
    /// [`Plan::compare_blocks`] without ownership): rows `(a, b, levels, similarities)`, the
    /// levels one byte per field, the similarities one little-endian f32 per field.
    pub fn compare_fields(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let (recs, global) = self.batch_records(batch)?;
        let comparator = self.comparator(&recs, Some(batch))?;
        let nf = comparator.n_fields();
        let bid = int64_column(batch, "block_id")?;
        let (mut out_a, mut out_b, mut lv, mut sv) = (vec![], vec![], vec![], vec![]);
        let mut s = 0;
        while s < bid.len() {
            let mut e = s + 1;
            while e < bid.len() && bid[e] == bid[s] {
                e += 1;
            }
            if e - s == 2 && global[s] != global[s + 1] {
                let (i, j) = if global[s] < global[s + 1] {
                    (s, s + 1)
                } else {
                    (s + 1, s)
                };
                let mut l = Vec::with_capacity(nf);
                let mut v = Vec::with_capacity(4 * nf);
                for f in 0..nf {
                    let (level, sim) = comparator.field(f, i, j);
                    l.push(level);
                    v.extend_from_slice(&sim.to_le_bytes());
                }
                out_a.push(i64::from(global[i]));
                out_b.push(i64::from(global[j]));
                lv.push(l);
                sv.push(v);
            }
            s = e;
        }
        batch_of(vec![
            ("a", Arc::new(Int64Array::from(out_a)) as ArrayRef),
            ("b", Arc::new(Int64Array::from(out_b)) as ArrayRef),
            (
                "levels",
                Arc::new(BinaryArray::from_iter_values(lv.iter())) as ArrayRef,
            ),
            (
                "sims",
                Arc::new(BinaryArray::from_iter_values(sv.iter())) as ArrayRef,
            ),
        ])
    }

    /// The record hashes of a batch of records (`link --previous` uses them): rows
    /// `(idx, record_id, hash)`.
    pub fn record_hashes(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let (recs, global) = self.batch_records(batch)?;
        let hashes = super::incremental::record_hashes(&recs);
        batch_of(vec![
            (
                "idx",
                Arc::new(Int64Array::from_iter_values(
                    global.iter().map(|&i| i64::from(i)),
                )) as ArrayRef,
            ),
            (
                "record_id",
                Arc::new(arrow_array::StringArray::from_iter_values(recs.ids.iter())) as ArrayRef,
            ),
            (
                "hash",
                Arc::new(BinaryArray::from_iter_values(hashes.iter())) as ArrayRef,
            ),
        ])
    }

    /// Whether block `slot` owns the pair of two records with these kept blocks (sorted by
    /// slot): `None` when an earlier slot holds both, else the kinds of every block holding
    /// both.
    fn owned_kinds(&self, x: &[(u16, i64)], y: &[(u16, i64)], slot: u16) -> Option<u16> {
        let (mut i, mut j) = (0, 0);
        let mut mask = 0u16;
        while i < x.len() && j < y.len() {
            match x[i].0.cmp(&y[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    if x[i].1 == y[j].1 {
                        if x[i].0 < slot {
                            return None;
                        }
                        let kind = self.data.slots[x[i].0 as usize].kind_index;
                        if kind < 16 {
                            mask |= 1 << kind;
                        }
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        Some(mask)
    }

    /// The model, fitted as `padan link` fits it, from the candidates' pairs per (level code,
    /// kinds mask, key) and the random pairs' per level code (each any order, rows may repeat).
    /// With a salt-slot schema, the slot model from the candidates per (key, level code) and
    /// `carried`, the records per (agency, tokens carried) ([`Plan::carried_counts`]); the
    /// random pairs are not used (their count is the plan's).
    pub fn fit(
        &self,
        candidates: &[(u32, u16, u32, u64)],
        random: &[(u32, u64)],
        carried: &[(u16, u16, u64)],
        stats: &BlockingStats,
    ) -> Result<Fit> {
        if self.has_slots() {
            return self.fit_slots(candidates, carried, stats);
        }
        let empty = Records::empty(&self.schema, &self.layout);
        let comparator = self.comparator(&empty, None)?;
        let coder = self.coder(&comparator)?;
        let cfg = &self.data.config;
        let nf = comparator.n_fields();
        let n_levels = comparator.n_levels();
        let by_code = |kind: Option<u8>| -> Vec<(u32, u64)> {
            let mut m: BTreeMap<u32, u64> = BTreeMap::new();
            for &(code, kinds, _, n) in candidates {
                if kind.is_none_or(|k| kinds & (1 << k) != 0) {
                    *m.entry(code).or_insert(0) += n;
                }
            }
            m.into_iter().filter(|&(_, n)| n > 0).collect()
        };
        let mut lv = vec![0u8; nf];
        let random_items: Vec<(Vec<u8>, u64)> = random
            .iter()
            .map(|&(code, n)| {
                coder.decode(code, &mut lv);
                (lv.clone(), n)
            })
            .collect();
        let random_pairs: u64 = random.iter().map(|r| r.1).sum();
        let mut u = scoring::estimate_u(
            &scoring::Patterns::from_counts(
                nf,
                random_items.iter().map(|(v, n)| (v.as_slice(), *n)),
            ),
            &n_levels,
        );
        scoring::cap_exact_u(
            &mut u,
            &comparator.exact_agreement_rates(),
            &comparator.n_exact(),
        );
        scoring::split_exact_u(&mut u, &comparator.exact_shares());
        let fixed: Vec<_> = comparator.comparisons.iter().map(|c| c.fixed()).collect();
        let uses = block::kind_fields(&self.data.kinds, &self.schema);
        let code_counts = by_code(None);
        let mut warnings = super::decided::blocking_warnings(stats, &cfg.blocking);
        let (model, info) = pipeline::fit_fields(
            &pipeline::FitInputs {
                schema: &self.schema,
                cfg,
                comparator: &comparator,
                kinds: &self.data.kinds,
                uses: &uses,
                code_counts: &code_counts,
                coder: &coder,
                u,
                fixed: &fixed,
                possible_pairs: stats.possible_pairs,
                random_pairs: random_pairs as usize,
            },
            |k| by_code(Some(k)),
            &mut warnings,
        );
        Ok(self.fit_of(&comparator, model, info, warnings, None))
    }

    /// [`Plan::fit`] of a salt-slot schema: [`pipeline::fit_slot_model`] on the counts.
    fn fit_slots(
        &self,
        candidates: &[(u32, u16, u32, u64)],
        carried: &[(u16, u16, u64)],
        stats: &BlockingStats,
    ) -> Result<Fit> {
        let empty = Records::empty(&self.schema, &self.layout);
        let comparator = self.comparator(&empty, None)?;
        let coder = self.coder(&comparator)?;
        let cfg = &self.data.config;
        // The binding depends on the schema and the layout only, not on the records.
        let binding = super::slots::PairKeys::new(&empty).binding;
        let mut by_key: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        for &(code, _, key, n) in candidates {
            *by_key.entry((key, code)).or_insert(0) += n;
        }
        let counts: Vec<((u32, u32), u64)> = by_key.into_iter().filter(|&(_, n)| n > 0).collect();
        let mut records_by_carried: BTreeMap<(u16, u16), u64> = BTreeMap::new();
        for &(agency, c, n) in carried {
            *records_by_carried.entry((agency, c)).or_insert(0) += n;
        }
        let held: u64 = records_by_carried.values().sum();
        if held != self.records {
            return Err(Error::Internal(format!(
                "records counted by the tokens they carry: {held} of {}",
                self.records
            )));
        }
        let fixed: Vec<_> = comparator.comparisons.iter().map(|c| c.fixed()).collect();
        let mut warnings = super::decided::blocking_warnings(stats, &cfg.blocking);
        let fitted = pipeline::fit_slot_model(
            &pipeline::SlotFitInputs {
                schema: &self.schema,
                cfg,
                comparator: &comparator,
                binding: &binding,
                counts: &counts,
                coder: &coder,
                records_by_carried,
                fixed: &fixed,
                random_pairs: self.random_pairs().len(),
            },
            &mut warnings,
        );
        Ok(self.fit_of(
            &comparator,
            fitted.model,
            fitted.info,
            warnings,
            Some(fitted.weights),
        ))
    }

    /// The fit the workers get, from the model and what the manifest records.
    fn fit_of(
        &self,
        comparator: &Comparator<'_>,
        model: scoring::Model,
        info: ModelInfo,
        mut warnings: Vec<String>,
        slot_weights: Option<Vec<((u32, u32), f64)>>,
    ) -> Fit {
        let cfg = &self.data.config;
        let nf = comparator.n_fields();
        let n_levels = comparator.n_levels();
        let thresholds = pipeline::thresholds(&model, cfg);
        let cluster = ClusterOptions {
            one_to_one: cfg.resolution.one_to_one,
            within_agency: cfg.blocking.within_agency,
            duplicate_min_weight: pipeline::weight_for_probability(
                &model,
                cfg.resolution.duplicate_min_probability,
            ),
            review_support: cfg.resolution.review_support,
        };
        if cfg.resolution.one_to_one && self.data.inputs.len() != 2 {
            warnings.push("resolution.one_to_one applies to exactly two inputs; with more it only forbids within-agency merges".into());
        }
        let labels = (0..nf)
            .map(|f| comparator.comparisons[f].labels())
            .collect();
        Fit {
            weights: model.weights(),
            lambda: model.lambda,
            n_levels,
            thresholds,
            cluster,
            info,
            warnings,
            labels,
            isa: comparator.isa().to_string(),
            slot_weights,
        }
    }

    /// Writes the match set as `padan link` does, from what the workers computed: `scored`,
    /// the pairs at or above review with their weights; `fields`, their per-field levels and
    /// similarities ([`Plan::compare_fields`]); `roots`, each clustered record's smallest
    /// record ([`Fit::resolve_components`], records not listed are alone); `ids` and `hashes`
    /// of every record by global index.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &self,
        out_dir: &Path,
        fit: &Fit,
        stats: &BlockingStats,
        scored: Vec<(f64, PairKey)>,
        fields: &std::collections::HashMap<PairKey, (Vec<u8>, Vec<f32>)>,
        roots: &[(u32, u32)],
        merges_refused: u64,
        ids: Vec<String>,
        hashes: Vec<RecordHash>,
        timings: Timings,
    ) -> Result<Manifest> {
        let n = self.records as usize;
        if ids.len() != n || hashes.len() != n {
            return Err(Error::Internal(format!(
                "{} record ids and {} hashes for {n} records",
                ids.len(),
                hashes.len()
            )));
        }
        let t_write = std::time::Instant::now();
        let cfg = &self.data.config;
        let lambda = fit.lambda;
        let scored = ScoredPairs::from_kept(
            scored,
            |w| scoring::probability_from_weight(w, lambda),
            fit.thresholds.match_weight,
        );
        let clustering = clustering_from_roots(n, roots, merges_refused);
        let agency_of: Vec<u16> = (0..n as u32).map(|i| self.agency_of(i)).collect();
        let by_agency = self
            .data
            .inputs
            .iter()
            .map(|i| (i.agency.clone(), i.rows))
            .collect();
        let counts = pipeline::counts_of(by_agency, &agency_of, stats, &scored, &clustering);
        let mut stats_counts = counts;
        stats_counts.blocking = stats.clone();
        // As `Blocks::set_candidates` computes it (a ratio read back from JSON may be one unit
        // in the last place off).
        let b = &mut stats_counts.blocking;
        b.reduction_ratio = if b.possible_pairs == 0 {
            0.0
        } else {
            1.0 - b.candidates as f64 / b.possible_pairs as f64
        };
        let mut manifest = Manifest {
            inputs: self.data.inputs.clone(),
            schema_fingerprint: self.schema.fingerprint(),
            key_fingerprint: self.data.inputs[0].key_fingerprint.clone(),
            config: pipeline::config_json(cfg)?,
            model: fit.info.clone(),
            thresholds: fit.thresholds.clone(),
            counts: stats_counts,
            timings,
            threads: rayon::current_num_threads(),
            isa: fit.isa.clone(),
            warnings: fit.warnings.clone(),
            decisions: None,
            ..Manifest::new()
        };
        let agencies: Vec<String> = self.data.inputs.iter().map(|i| i.agency.clone()).collect();
        let records = RecordIds {
            agencies: &agencies,
            agency_of: &agency_of,
            ids: &ids,
        };
        let mut w = MatchSetWriter::try_new(out_dir, &manifest, records)?;
        w.set_record_hashes(hashes);
        w.persons_of(&clustering.cluster_of);
        let ab: Vec<(u32, u32)> = scored.pairs.iter().map(|&p| unpack(p)).collect();
        let names: Vec<String> = self.schema.fields.iter().map(|f| f.name.clone()).collect();
        for p in &scored.pairs {
            if !fields.contains_key(p) {
                return Err(Error::Internal(
                    "a scored pair without its field comparison".into(),
                ));
            }
        }
        let pairs = PairsData {
            pairs: &ab,
            weights: &scored.weights,
            probabilities: &scored.probabilities,
            is_match: &scored.is_match,
            cluster_of: &clustering.cluster_of,
            fields: &names,
            labels: &fit.labels,
            verdicts: &[],
        };
        let field = |f: usize, a: u32, b: u32| {
            let (levels, sims) = &fields[&pack(a, b)];
            let l = levels[f];
            (
                (l != 0).then_some(sims[f]),
                i64::from(l),
                fit.weights[f][l as usize],
            )
        };
        let (pairs, clusters) = rayon::join(
            || w.write_pairs(&pairs, field),
            || w.write_clusters(&clustering.cluster_of),
        );
        pairs?;
        clusters?;
        manifest.timings.write = t_write.elapsed().as_secs_f64();
        manifest.timings.total += manifest.timings.write;
        w.close(&mut manifest)?;
        RunLog::write(out_dir, &manifest)?;
        Ok(manifest)
    }

    /// The paths, for error messages.
    pub fn first_path(&self) -> &Path {
        &self.data.paths[0]
    }
}

/// The fitted model as the workers need it, and what the manifest records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fit {
    /// Weight of each level of each field.
    pub weights: Vec<Vec<f64>>,
    /// λ.
    pub lambda: f64,
    /// Non-null levels per field.
    pub n_levels: Vec<u8>,
    /// Match and review thresholds.
    pub thresholds: ThresholdInfo,
    /// Clustering constraints.
    pub cluster: ClusterOptions,
    /// The model for the manifest.
    pub info: ModelInfo,
    /// Warnings (no values).
    pub warnings: Vec<String>,
    /// Level labels per field.
    pub labels: Vec<Vec<String>>,
    /// The comparison kernel.
    pub isa: String,
    /// A salt-slot schema's model: the weight of every (key, level code) of the candidates,
    /// ascending (travels as bits, in [`ExactFloats`]).
    #[serde(skip)]
    pub slot_weights: Option<Vec<((u32, u32), f64)>>,
}

impl Fit {
    /// The fit as JSON, for the workers. The floats the workers compute with travel as their
    /// bits too (a JSON number may come back one unit in the last place off), so a worker's
    /// weights and thresholds are the driver's to the bit.
    pub fn to_json(&self) -> Result<String> {
        let exact = ExactFloats::of(self);
        serde_json::to_string(&(self, exact))
            .map_err(|e| Error::Internal(format!("fit as JSON: {e}")))
    }

    /// A fit from [`Fit::to_json`].
    pub fn from_json(text: &str) -> Result<Fit> {
        let (mut fit, exact): (Fit, ExactFloats) = serde_json::from_str(text)
            .map_err(|e| Error::Internal(format!("fit from JSON: {e}")))?;
        exact.restore(&mut fit);
        Ok(fit)
    }

    /// The match weight of each candidate of a batch (`a`, `b`, `code`, and `key` with a
    /// salt-slot schema), the same as `padan link`'s; rows `(a, b, weight)` of the pairs at or
    /// above review.
    pub fn score(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let a = int64_column(batch, "a")?;
        let b = int64_column(batch, "b")?;
        let code = int64_column(batch, "code")?;
        if let Some(w) = &self.slot_weights {
            let key = int64_column(batch, "key")?;
            let (mut oa, mut ob, mut ow) = (vec![], vec![], vec![]);
            for i in 0..a.len() {
                let k = (key[i] as u32, code[i] as u32);
                let x = w.binary_search_by(|e| e.0.cmp(&k)).map_err(|_| {
                    Error::Internal(
                        "a candidate whose key and level code the fit did not count".into(),
                    )
                })?;
                if w[x].1 >= self.thresholds.review_weight {
                    oa.push(a[i]);
                    ob.push(b[i]);
                    ow.push(w[x].1);
                }
            }
            return batch_of(vec![
                ("a", Arc::new(Int64Array::from(oa)) as ArrayRef),
                ("b", Arc::new(Int64Array::from(ob)) as ArrayRef),
                ("weight", Arc::new(Float64Array::from(ow)) as ArrayRef),
            ]);
        }
        let coder = LevelCoder::new(&self.n_levels)
            .ok_or_else(|| Error::Internal("level codes out of range".into()))?;
        let mut cache: ahash::AHashMap<u32, f64> = ahash::AHashMap::default();
        let mut lv = vec![0u8; self.n_levels.len()];
        let (mut oa, mut ob, mut ow) = (vec![], vec![], vec![]);
        for i in 0..a.len() {
            let c = code[i] as u32;
            let w = *cache.entry(c).or_insert_with(|| {
                coder.decode(c, &mut lv);
                lv.iter()
                    .enumerate()
                    .map(|(f, &l)| self.weights[f][l as usize])
                    .sum()
            });
            if w >= self.thresholds.review_weight {
                oa.push(a[i]);
                ob.push(b[i]);
                ow.push(w);
            }
        }
        batch_of(vec![
            ("a", Arc::new(Int64Array::from(oa)) as ArrayRef),
            ("b", Arc::new(Int64Array::from(ob)) as ArrayRef),
            ("weight", Arc::new(Float64Array::from(ow)) as ArrayRef),
        ])
    }

    /// Clusters each connected component of a batch of scored edges (`comp`, `a`, `b`,
    /// `weight`; rows sorted by `comp`, one component's rows together; the components of match
    /// and review edges alike) with `padan link`'s rule ([`scoring::clusters_review`]: edges at or
    /// above the match weight, then the review edges); `agency_of(i)` gives a record's agency. Rows `(idx, root,
    /// refused)`: each record of the components with the smallest record of its cluster, and on
    /// one row per component the merges the agency rule refused in it (0 on the others).
    pub fn resolve_components(
        &self,
        batch: &RecordBatch,
        agency_of: impl Fn(u32) -> u16,
    ) -> Result<RecordBatch> {
        let comp = int64_column(batch, "comp")?;
        let a = int64_column(batch, "a")?;
        let b = int64_column(batch, "b")?;
        let w = batch
            .column_by_name("weight")
            .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
            .ok_or_else(|| Error::Internal("batch without a Float64 column 'weight'".into()))?;
        let (mut oi, mut or, mut of) = (vec![], vec![], vec![]);
        let mut s = 0;
        while s < comp.len() {
            let mut e = s + 1;
            while e < comp.len() && comp[e] == comp[s] {
                e += 1;
            }
            let mut members: Vec<u32> = (s..e).flat_map(|i| [a[i] as u32, b[i] as u32]).collect();
            members.sort_unstable();
            members.dedup();
            let local = |g: u32| members.binary_search(&g).expect("member") as u32;
            // Match edges, and review edges (below the match weight) for `review_support`.
            let (edges, review): (Vec<Edge>, Vec<Edge>) = (s..e)
                .map(|i| Edge {
                    a: local(a[i] as u32),
                    b: local(b[i] as u32),
                    weight: w.value(i),
                })
                .partition(|e| e.weight >= self.thresholds.match_weight);
            let agencies: Vec<u16> = members.iter().map(|&g| agency_of(g)).collect();
            let c = scoring::clusters_review(
                &agencies,
                &edges,
                &review,
                &self.cluster,
                &scoring::Constraints::default(),
            );
            // Clusters are numbered by their smallest member: the first member of each.
            let mut first: Vec<u32> = vec![u32::MAX; c.n_clusters as usize];
            for (l, &k) in c.cluster_of.iter().enumerate() {
                if first[k as usize] == u32::MAX {
                    first[k as usize] = members[l];
                }
                oi.push(i64::from(members[l]));
                or.push(i64::from(first[k as usize]));
                of.push(if l == 0 { c.merges_refused as i64 } else { 0 });
            }
            s = e;
        }
        batch_of(vec![
            ("idx", Arc::new(Int64Array::from(oi)) as ArrayRef),
            ("root", Arc::new(Int64Array::from(or)) as ArrayRef),
            ("refused", Arc::new(Int64Array::from(of)) as ArrayRef),
        ])
    }
}

/// The bits of the floats a worker computes with.
#[derive(Serialize, Deserialize)]
struct ExactFloats {
    weights: Vec<Vec<u64>>,
    lambda: u64,
    match_weight: u64,
    review_weight: u64,
    duplicate_min_weight: u64,
    #[serde(default)]
    slot_weights: Option<Vec<(u32, u32, u64)>>,
}

impl ExactFloats {
    fn of(f: &Fit) -> ExactFloats {
        ExactFloats {
            weights: f
                .weights
                .iter()
                .map(|w| w.iter().map(|x| x.to_bits()).collect())
                .collect(),
            lambda: f.lambda.to_bits(),
            match_weight: f.thresholds.match_weight.to_bits(),
            review_weight: f.thresholds.review_weight.to_bits(),
            duplicate_min_weight: f.cluster.duplicate_min_weight.to_bits(),
            slot_weights: f.slot_weights.as_ref().map(|w| {
                w.iter()
                    .map(|&((key, code), x)| (key, code, x.to_bits()))
                    .collect()
            }),
        }
    }

    fn restore(&self, f: &mut Fit) {
        f.weights = self
            .weights
            .iter()
            .map(|w| w.iter().map(|&x| f64::from_bits(x)).collect())
            .collect();
        f.lambda = f64::from_bits(self.lambda);
        f.thresholds.match_weight = f64::from_bits(self.match_weight);
        f.thresholds.review_weight = f64::from_bits(self.review_weight);
        f.cluster.duplicate_min_weight = f64::from_bits(self.duplicate_min_weight);
        f.slot_weights = self.slot_weights.as_ref().map(|w| {
            w.iter()
                .map(|&(key, code, x)| ((key, code), f64::from_bits(x)))
                .collect()
        });
    }
}

mod config_as_toml {
    use super::LinkConfig;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(cfg: &LinkConfig, s: S) -> Result<S::Ok, S::Error> {
        let text = toml::to_string(cfg).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<LinkConfig, D::Error> {
        let text = String::deserialize(d)?;
        toml::from_str(&text).map_err(serde::de::Error::custom)
    }
}

/// The clustering of `n` records from each clustered record's smallest cluster member
/// (records not listed are alone), numbered as [`scoring::clusters`] numbers them: in order of
/// each cluster's smallest record.
pub fn clustering_from_roots(n: usize, roots: &[(u32, u32)], merges_refused: u64) -> Clustering {
    let mut root: Vec<u32> = (0..n as u32).collect();
    for &(i, r) in roots {
        root[i as usize] = r;
    }
    let mut id = vec![u32::MAX; n];
    let mut cluster_of = vec![0u32; n];
    let mut next = 0u32;
    for i in 0..n {
        let r = root[i] as usize;
        if id[r] == u32::MAX {
            id[r] = next;
            next += 1;
        }
        cluster_of[i] = id[r];
    }
    Clustering {
        cluster_of,
        n_clusters: next,
        merges_refused,
        refused_by_cannot_link: 0,
        conflicts: 0,
    }
}

/// The `tf_<field>` column of a batch: each record's token count (a record without the token
/// may hold anything there: its count is never read).
fn tf_counts(batch: &RecordBatch, field: &str, rows: usize) -> Result<Vec<u64>> {
    let name = format!("tf_{field}");
    let col = int64_column(batch, &name)
        .map_err(|e| Error::Internal(format!("{e} (each record's token count)")))?;
    if col.len() != rows {
        return Err(Error::Internal(format!(
            "column '{name}': {} rows, the batch has {rows}",
            col.len()
        )));
    }
    Ok(col.into_iter().map(|v| v.max(0) as u64).collect())
}

/// The token and blocking-key columns of a layout, in [`Records::token_columns`] order.
fn token_columns(schema: &Schema, layout: &Layout) -> Vec<String> {
    let mut v: Vec<String> = schema
        .fields
        .iter()
        .filter(|f| f.exact_token)
        .map(|f| format!("token_{}", f.name))
        .collect();
    v.extend(
        layout
            .columns
            .iter()
            .filter(|c| matches!(c.role, ColumnRole::Block(_)))
            .map(|c| c.name.clone()),
    );
    v
}

fn push_tokens(t: &mut TokenColumn, rows: &[Option<&[u8]>]) {
    for r in rows {
        match r {
            Some(b) => {
                let mut a = [0u8; TOKEN_BYTES];
                a.copy_from_slice(b);
                t.values.push(u128::from_le_bytes(a));
                t.valid.push(true);
            }
            None => {
                t.values.push(0);
                t.valid.push(false);
            }
        }
    }
}

/// The rows of a binary column (Binary, LargeBinary or FixedSizeBinary), each `width` bytes.
fn binary_rows<'c>(col: &'c ArrayRef, name: &str, width: usize) -> Result<Vec<Option<&'c [u8]>>> {
    let rows: Vec<Option<&[u8]>> = match col.data_type() {
        DataType::Binary => col.as_binary::<i32>().iter().collect(),
        DataType::LargeBinary => col.as_binary::<i64>().iter().collect(),
        DataType::FixedSizeBinary(_) => col.as_fixed_size_binary().iter().collect(),
        t => {
            return Err(Error::Internal(format!(
                "column '{name}' is {t}, not binary"
            )))
        }
    };
    if let Some(i) = rows
        .iter()
        .position(|r| r.is_some_and(|b| b.len() != width))
    {
        return Err(Error::Internal(format!(
            "column '{name}', row {i}: not {width} bytes"
        )));
    }
    Ok(rows)
}

fn arrow_cast_utf8(col: &ArrayRef) -> Result<arrow_array::StringArray> {
    match col.data_type() {
        DataType::Utf8 => Ok(col.as_string::<i32>().clone()),
        DataType::LargeUtf8 => Ok(col
            .as_string::<i64>()
            .iter()
            .map(|v| v.unwrap_or(""))
            .map(Some)
            .collect()),
        DataType::Utf8View => Ok(col
            .as_string_view()
            .iter()
            .map(|v| Some(v.unwrap_or("")))
            .collect()),
        t => Err(Error::Internal(format!(
            "column 'record_id' is {t}, not text"
        ))),
    }
}

fn int64_column(batch: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::Internal(format!("batch without the column '{name}'")))?;
    match col.data_type() {
        DataType::Int64 => Ok(col.as_primitive::<Int64Type>().values().to_vec()),
        DataType::Int32 => Ok(col
            .as_primitive::<Int32Type>()
            .values()
            .iter()
            .map(|&v| i64::from(v))
            .collect()),
        t => Err(Error::Internal(format!(
            "column '{name}' is {t}, not an integer"
        ))),
    }
}

fn int32_column(batch: &RecordBatch, name: &str) -> Result<Vec<i32>> {
    Ok(int64_column(batch, name)?
        .into_iter()
        .map(|v| v as i32)
        .collect())
}

/// Each row's kept blocks from the `sig` column (list of struct `slot`, `block_id`), sorted by
/// slot.
fn signatures(batch: &RecordBatch) -> Result<Vec<Vec<(u16, i64)>>> {
    let col = batch
        .column_by_name("sig")
        .ok_or_else(|| Error::Internal("batch without the column 'sig'".into()))?;
    let list = col
        .as_list_opt::<i32>()
        .ok_or_else(|| Error::Internal("column 'sig' is not a list".into()))?;
    let values = list
        .values()
        .as_struct_opt()
        .ok_or_else(|| Error::Internal("column 'sig' is not a list of structs".into()))?;
    let inner = RecordBatch::from(values.clone());
    let slots = int64_column(&inner, "slot")?;
    let ids = int64_column(&inner, "block_id")?;
    let offsets = list.value_offsets();
    Ok((0..list.len())
        .map(|r| {
            let (s, e) = (offsets[r] as usize, offsets[r + 1] as usize);
            let mut v: Vec<(u16, i64)> = (s..e).map(|k| (slots[k] as u16, ids[k])).collect();
            v.sort_unstable();
            v
        })
        .collect())
}

fn batch_of(cols: Vec<(&str, ArrayRef)>) -> Result<RecordBatch> {
    let schema = ArrowSchema::new(
        cols.iter()
            .map(|(n, c)| Field::new(*n, c.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|(_, c)| c).collect())
        .map_err(|e| Error::Internal(format!("building a batch: {e}")))
}

/// The encoded file's rows as one batch with `idx` (global index from `offset`), for tests and
/// for engines that read files themselves.
pub fn file_batch(path: &Path, offset: u64) -> Result<RecordBatch> {
    let f = EncodedFile::read(path)?;
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        (
            "idx",
            Arc::new(Int64Array::from_iter_values(
                (0..f.len() as i64).map(|i| i + offset as i64),
            )),
        ),
        (
            "record_id",
            Arc::new(arrow_array::StringArray::from_iter_values(f.ids.iter())),
        ),
    ];
    for (c, buf) in f.layout.columns.iter().zip(&f.columns) {
        cols.push((
            c.name.as_str(),
            Arc::new(BinaryArray::from_iter((0..buf.len()).map(|i| buf.get(i)))),
        ));
    }
    batch_of(cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three synthetic fixture extracts encoded with the hardened field schema.
    fn fixture_paths(dir: &Path) -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let schema = Schema::load(&root.join("fixtures/kat/schema-hardened.toml")).expect("schema");
        encode_fixtures(dir, &schema, &["kemlu", "polri", "bp2mi"])
    }

    /// The synthetic fixture extracts of `agencies` encoded with `schema`.
    fn encode_fixtures(dir: &Path, schema: &Schema, agencies: &[&str]) -> Vec<PathBuf> {
        use crate::encode::EncodeJob;
        use crate::keys::SecretKey;
        use crate::schema::ColumnMap;
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let fixtures = root.join("fixtures/synth");
        let key = SecretKey::from_bytes([7; 32]);
        agencies
            .iter()
            .map(|&name| {
                let columns = ColumnMap::load(&fixtures.join(format!("{name}.columns.toml")))
                    .expect("column map");
                let output = dir.join(format!("{name}.padan.parquet"));
                let input = fixtures.join(format!("{name}.csv"));
                EncodeJob::new(schema, &key, &columns, name, &input, &output)
                    .run(&|_, _| {})
                    .expect("encode");
                output
            })
            .collect()
    }

    /// The pairs of a block of these records under the plan's agency rule.
    fn block_pairs(plan: &Plan, m: &[i64]) -> u64 {
        let n = m.len() as u64;
        let mut p = n * n.saturating_sub(1) / 2;
        if !plan.config().blocking.within_agency {
            let mut per: BTreeMap<u16, u64> = BTreeMap::new();
            m.iter()
                .for_each(|&r| *per.entry(plan.agency_of(r as u32)).or_insert(0) += 1);
            p -= per.values().map(|c| c * (c - 1) / 2).sum::<u64>();
        }
        p
    }

    /// Every block's members by (slot, key), from the keys of each batch of records as the
    /// engine computes them, and the histogram of the sizes of the blocks with pairs.
    #[allow(clippy::type_complexity)]
    fn keys_and_hist(
        plan: &Plan,
        batches: &[RecordBatch],
    ) -> (
        BTreeMap<(i32, Vec<u8>), Vec<i64>>,
        Vec<(usize, u64, u64, u64)>,
    ) {
        let mut keys: BTreeMap<(i32, Vec<u8>), Vec<i64>> = BTreeMap::new();
        for b in batches {
            let k = plan.block_keys(b).expect("keys");
            let (s, key, idx) = (
                int64_column(&k, "slot").expect("slot"),
                k.column(1).as_binary::<i32>().clone(),
                int64_column(&k, "idx").expect("idx"),
            );
            for i in 0..s.len() {
                keys.entry((s[i] as i32, key.value(i).to_vec()))
                    .or_default()
                    .push(idx[i]);
            }
        }
        let mut hist: BTreeMap<(usize, u64), (u64, u64)> = BTreeMap::new();
        for ((s, _), m) in &keys {
            let p = block_pairs(plan, m);
            if p > 0 {
                let e = hist.entry((*s as usize, m.len() as u64)).or_insert((0, 0));
                e.0 += 1;
                e.1 += p;
            }
        }
        let hist = hist
            .into_iter()
            .map(|((s, z), (b, p))| (s, z, b, p))
            .collect();
        (keys, hist)
    }

    /// The blocks, caps and stats from the distributed stages equal [`block::Blocks::build`]'s
    /// owned pairs (with their kinds) and stats, with a field schema and the default (salt-slot)
    /// schema.
    #[test]
    fn distributed_stages_equal_the_single_process_blocks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = fixture_paths(dir.path());
        let default_dir = dir.path().join("default");
        std::fs::create_dir_all(&default_dir).expect("dir");
        let slotted = encode_fixtures(
            &default_dir,
            &Schema::default_victims(),
            &["kemlu", "polri", "bp2mi"],
        );
        for paths in [paths, slotted] {
            same_blocks(&paths);
        }
    }

    fn same_blocks(paths: &[PathBuf]) {
        let cfg = LinkConfig::default();
        let plan = Plan::new(paths, cfg.clone()).expect("plan");
        let plan = Plan::from_json(&plan.to_json().expect("json")).expect("from json");
        let recs = Records::load(paths).expect("records");
        let cfg = super::super::slots::adjust_config(&recs.schema, &cfg).unwrap_or(cfg);
        assert_eq!(plan.config(), &cfg, "the config comes back as it went");
        let blocks = block::Blocks::build(&recs, &cfg.blocking);
        let batches: Vec<RecordBatch> = plan
            .inputs()
            .iter()
            .map(|(p, off)| file_batch(p, *off).expect("batch"))
            .collect();
        let within = cfg.blocking.within_agency;
        let (keys, hist) = keys_and_hist(&plan, &batches);
        let pairs_of = |m: &[i64]| block_pairs(&plan, m);
        let (caps, stats) = plan.caps(&hist);
        assert_eq!(stats.candidates_by_block, blocks.stats.candidates_by_block);
        assert_eq!(stats.capped_by_kind, blocks.stats.capped_by_kind);
        assert_eq!(stats.purged_by_kind, blocks.stats.purged_by_kind);
        assert_eq!(stats.largest_blocks, blocks.stats.largest_blocks);
        assert_eq!(stats.possible_pairs, blocks.stats.possible_pairs);
        // Kept blocks, their ids, and each record's signature.
        let mut sig: BTreeMap<i64, Vec<(u16, i64)>> = BTreeMap::new();
        let mut kept: Vec<(i64, i32, Vec<i64>)> = Vec::new();
        for (id, ((s, _), m)) in keys.iter().enumerate() {
            if pairs_of(m) > 0 && m.len() as u64 <= caps[*s as usize] {
                for &r in m {
                    sig.entry(r).or_default().push((*s as u16, id as i64));
                }
                kept.push((id as i64, *s, m.clone()));
            }
        }
        let ours: std::collections::BTreeSet<(u32, u32, u16)> = {
            let mut out = std::collections::BTreeSet::new();
            let all = arrow_select::concat::concat_batches(&batches[0].schema(), &batches)
                .expect("concat");
            let (_, global) = plan.batch_records(&all).expect("records");
            for (_, s, m) in &kept {
                for (x, &a) in m.iter().enumerate() {
                    for &b in &m[x + 1..] {
                        let (a, b) = (a.min(b), a.max(b));
                        if !within && plan.agency_of(a as u32) == plan.agency_of(b as u32) {
                            continue;
                        }
                        if let Some(k) = plan.owned_kinds(&sig[&a], &sig[&b], *s as u16) {
                            assert!(out.insert((a as u32, b as u32, k)), "a pair emitted twice");
                        }
                    }
                }
            }
            assert_eq!(global.len(), recs.len());
            out
        };
        let mut theirs = std::collections::BTreeSet::new();
        for range in blocks.chunks() {
            for k in range {
                blocks.for_each_owned(k, |a, b, kinds| {
                    theirs.insert((a, b, kinds));
                });
            }
        }
        assert_eq!(ours, theirs);
    }

    /// A batch with these extra columns.
    fn with_columns(batch: &RecordBatch, extra: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let mut cols: Vec<(&str, ArrayRef)> = batch
            .schema_ref()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| (f.name().as_str(), c.clone()))
            .collect();
        cols.extend(extra);
        batch_of(cols).expect("batch")
    }

    /// The rows of `all` (every record, row = global index) at `idx`, with `block_id`.
    fn rows_of(all: &RecordBatch, idx: &[i64], block_id: &[i64]) -> RecordBatch {
        let take = arrow_array::UInt32Array::from_iter_values(idx.iter().map(|&i| i as u32));
        let rows = arrow_select::take::take_record_batch(all, &take).expect("take");
        with_columns(
            &rows,
            vec![(
                "block_id",
                Arc::new(Int64Array::from(block_id.to_vec())) as ArrayRef,
            )],
        )
    }

    /// Every distributed stage run in this process, the engine's part (grouping, joins, sorts,
    /// connected components) done by hand as `padan.spark` has Spark do it, and the match set
    /// written to `out`.
    fn run_stages(paths: &[PathBuf], cfg: LinkConfig, out: &Path) -> Manifest {
        use arrow_array::{ListArray, StructArray};
        use arrow_buffer::OffsetBuffer;
        let mut driver = Plan::new(paths, cfg).expect("plan");
        let mut inputs: Vec<RecordBatch> = driver
            .inputs()
            .iter()
            .map(|(p, off)| file_batch(p, *off).expect("batch"))
            .collect();
        let mut all =
            arrow_select::concat::concat_batches(&inputs[0].schema(), &inputs).expect("concat");
        // Term frequencies: each token's records counted over every batch, the histogram to the
        // plan, each record's count as `tf_<field>`.
        for (field, col, per_record) in driver.frequency_columns() {
            let tokens = binary_rows(all.column_by_name(&col).expect("token column"), &col, 16)
                .expect("tokens");
            let mut count: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
            for t in tokens.iter().flatten() {
                *count.entry(t.to_vec()).or_insert(0) += 1;
            }
            let mut hist: BTreeMap<u64, u64> = BTreeMap::new();
            for &k in count.values() {
                *hist.entry(k).or_insert(0) += 1;
            }
            let hist: Vec<(u64, u64)> = hist.into_iter().collect();
            driver
                .set_token_counts(&field, &hist)
                .expect("token counts");
            if !per_record {
                continue;
            }
            let tf = |b: &RecordBatch| {
                let rows =
                    binary_rows(b.column_by_name(&col).expect("token"), &col, 16).expect("tokens");
                let v: Vec<Option<i64>> = rows.iter().map(|t| t.map(|t| count[t] as i64)).collect();
                with_columns(
                    b,
                    vec![(
                        format!("tf_{field}").as_str(),
                        Arc::new(Int64Array::from(v)) as ArrayRef,
                    )],
                )
            };
            inputs = inputs.iter().map(&tf).collect();
            all = tf(&all);
        }
        // The workers' plan, from JSON.
        let plan = Plan::from_json(&driver.to_json().expect("json")).expect("from json");
        // Keys, blocks and the size histogram.
        let (keys, hist) = keys_and_hist(&plan, &inputs);
        let pairs_of = |m: &[i64]| block_pairs(&plan, m);
        let (caps, mut stats) = driver.caps(&hist);
        // Kept blocks (ids in key order), each record's signature, the member rows by block.
        let mut sig: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
        let (mut m_idx, mut m_bid, mut m_slot) = (vec![], vec![], vec![]);
        for (id, ((s, _), m)) in keys.iter().enumerate() {
            if pairs_of(m) > 0 && m.len() as u64 <= caps[*s as usize] {
                for &r in m {
                    sig.entry(r).or_default().push((i64::from(*s), id as i64));
                    m_idx.push(r);
                    m_bid.push(id as i64);
                    m_slot.push(*s);
                }
            }
        }
        let fields = arrow_schema::Fields::from(vec![
            Field::new("slot", DataType::Int64, false),
            Field::new("block_id", DataType::Int64, false),
        ]);
        let (mut ss, mut sb, mut lens) = (vec![], vec![], vec![]);
        for r in &m_idx {
            let v = &sig[r];
            lens.push(v.len());
            ss.extend(v.iter().map(|x| x.0));
            sb.extend(v.iter().map(|x| x.1));
        }
        let values = StructArray::new(
            fields.clone(),
            vec![
                Arc::new(Int64Array::from(ss)) as ArrayRef,
                Arc::new(Int64Array::from(sb)) as ArrayRef,
            ],
            None,
        );
        let list = ListArray::new(
            Arc::new(Field::new("item", DataType::Struct(fields), true)),
            OffsetBuffer::from_lengths(lens),
            Arc::new(values),
            None,
        );
        let members = with_columns(
            &rows_of(&all, &m_idx, &m_bid),
            vec![
                ("slot", Arc::new(Int32Array::from(m_slot)) as ArrayRef),
                ("sig", Arc::new(list) as ArrayRef),
            ],
        );
        // Compare (one batch: every block whole), count.
        let cands = plan.compare_blocks(&members, true).expect("compare");
        let (ca, ck, cc, ckey) = (
            int64_column(&cands, "a").expect("a"),
            int64_column(&cands, "kinds").expect("kinds"),
            int64_column(&cands, "code").expect("code"),
            int64_column(&cands, "key").expect("key"),
        );
        let mut counts: BTreeMap<(u32, u16, u32), u64> = BTreeMap::new();
        for i in 0..ca.len() {
            *counts
                .entry((cc[i] as u32, ck[i] as u16, ckey[i] as u32))
                .or_insert(0) += 1;
        }
        let counts: Vec<(u32, u16, u32, u64)> = counts
            .into_iter()
            .map(|((c, k, key), n)| (c, k, key, n))
            .collect();
        // Random pairs (field schemas) or records by tokens carried (slot schemas).
        let mut random = Vec::new();
        let mut carried = Vec::new();
        if driver.has_slots() {
            for b in &inputs {
                let c = plan.carried_counts(b).expect("carried");
                let (ag, cr, n) = (
                    int64_column(&c, "agency").expect("agency"),
                    int64_column(&c, "carried").expect("carried"),
                    int64_column(&c, "n").expect("n"),
                );
                for i in 0..ag.len() {
                    carried.push((ag[i] as u16, cr[i] as u16, n[i] as u64));
                }
            }
        } else {
            let rp = driver.random_pairs();
            let idx: Vec<i64> = rp
                .iter()
                .flat_map(|&p| {
                    let (a, b) = unpack(p);
                    [i64::from(a), i64::from(b)]
                })
                .collect();
            let bid: Vec<i64> = (0..rp.len() as i64).flat_map(|i| [i, i]).collect();
            let r = plan
                .compare_blocks(&rows_of(&all, &idx, &bid), false)
                .expect("random");
            let mut m: BTreeMap<u32, u64> = BTreeMap::new();
            for c in int64_column(&r, "code").expect("code") {
                *m.entry(c as u32).or_insert(0) += 1;
            }
            random = m.into_iter().collect();
        }
        stats.candidates = ca.len() as u64;
        stats.reduction_ratio = 1.0 - stats.candidates as f64 / stats.possible_pairs as f64;
        let fit = driver.fit(&counts, &random, &carried, &stats).expect("fit");
        // Score on the workers' copy of the fit.
        let worker_fit = Fit::from_json(&fit.to_json().expect("json")).expect("fit back");
        let scored = worker_fit.score(&cands).expect("score");
        let (sa, sb, sw) = (
            int64_column(&scored, "a").expect("a"),
            int64_column(&scored, "b").expect("b"),
            scored
                .column_by_name("weight")
                .expect("weight")
                .as_primitive::<arrow_array::types::Float64Type>()
                .values()
                .to_vec(),
        );
        // Components of the scored edges (smallest record of each), edges sorted by component.
        let n = plan.records() as usize;
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn find(p: &mut [u32], x: u32) -> u32 {
            let mut r = x;
            while p[r as usize] != r {
                r = p[r as usize];
            }
            p[x as usize] = r;
            r
        }
        // Components of every scored edge (match and review: `review_support`).
        let edges: Vec<usize> = (0..sa.len()).collect();
        for &i in &edges {
            let (x, y) = (
                find(&mut parent, sa[i] as u32),
                find(&mut parent, sb[i] as u32),
            );
            parent[x.max(y) as usize] = x.min(y);
        }
        let mut by_comp: Vec<(i64, usize)> = edges
            .iter()
            .map(|&i| (i64::from(find(&mut parent, sa[i] as u32)), i))
            .collect();
        by_comp.sort_unstable();
        let comp_batch = batch_of(vec![
            (
                "comp",
                Arc::new(Int64Array::from_iter_values(by_comp.iter().map(|x| x.0))) as ArrayRef,
            ),
            (
                "a",
                Arc::new(Int64Array::from_iter_values(
                    by_comp.iter().map(|x| sa[x.1]),
                )) as ArrayRef,
            ),
            (
                "b",
                Arc::new(Int64Array::from_iter_values(
                    by_comp.iter().map(|x| sb[x.1]),
                )) as ArrayRef,
            ),
            (
                "weight",
                Arc::new(Float64Array::from_iter_values(
                    by_comp.iter().map(|x| sw[x.1]),
                )) as ArrayRef,
            ),
        ])
        .expect("edges");
        let roots = worker_fit
            .resolve_components(&comp_batch, |i| plan.agency_of(i))
            .expect("resolve");
        let (ri, rr, rf) = (
            int64_column(&roots, "idx").expect("idx"),
            int64_column(&roots, "root").expect("root"),
            int64_column(&roots, "refused").expect("refused"),
        );
        let roots: Vec<(u32, u32)> = ri
            .iter()
            .zip(&rr)
            .map(|(&i, &r)| (i as u32, r as u32))
            .collect();
        let refused: u64 = rf.iter().map(|&x| x as u64).sum();
        // The scored pairs' fields, every record's id and hash.
        let idx: Vec<i64> = (0..sa.len()).flat_map(|i| [sa[i], sb[i]]).collect();
        let bid: Vec<i64> = (0..sa.len() as i64).flat_map(|i| [i, i]).collect();
        let f = plan
            .compare_fields(&rows_of(&all, &idx, &bid))
            .expect("fields");
        let (fa, fb) = (
            int64_column(&f, "a").expect("a"),
            int64_column(&f, "b").expect("b"),
        );
        let (lv, sv) = (
            f.column_by_name("levels")
                .expect("levels")
                .as_binary::<i32>(),
            f.column_by_name("sims").expect("sims").as_binary::<i32>(),
        );
        let mut fields = std::collections::HashMap::new();
        for i in 0..fa.len() {
            let sims = sv
                .value(i)
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            fields.insert(
                pack(fa[i] as u32, fb[i] as u32),
                (lv.value(i).to_vec(), sims),
            );
        }
        let mut ids = vec![String::new(); n];
        let mut hashes = vec![[0u8; 16]; n];
        for b in &inputs {
            let h = plan.record_hashes(b).expect("hashes");
            let hi = int64_column(&h, "idx").expect("idx");
            let rid = h
                .column_by_name("record_id")
                .expect("id")
                .as_string::<i32>();
            let hv = h.column_by_name("hash").expect("hash").as_binary::<i32>();
            for k in 0..hi.len() {
                ids[hi[k] as usize] = rid.value(k).to_string();
                hashes[hi[k] as usize].copy_from_slice(hv.value(k));
            }
        }
        let kept: Vec<(f64, PairKey)> = (0..sa.len())
            .map(|i| (sw[i], pack(sa[i] as u32, sb[i] as u32)))
            .collect();
        driver
            .write(
                out,
                &fit,
                &stats,
                kept,
                &fields,
                &roots,
                refused,
                ids,
                hashes,
                Timings::default(),
            )
            .expect("write")
    }

    /// The match set of the distributed stages equals `padan link`'s: the same clusters and
    /// pairs files, byte for byte, and the same counts, thresholds and model in the manifest.
    fn assert_stages_equal_the_pipeline(paths: &[PathBuf], cfg: LinkConfig, dir: &Path) {
        let (ours, theirs) = (dir.join("stages"), dir.join("link"));
        let m1 = run_stages(paths, cfg.clone(), &ours);
        let m2 = pipeline::LinkJob {
            inputs: paths.to_vec(),
            out_dir: theirs.clone(),
            config: cfg,
        }
        .run(&|_| {})
        .expect("padan link");
        assert!(m2.counts.clusters_multi > 50, "{:?}", m2.counts);
        for name in ["clusters.parquet", "pairs.parquet"] {
            let (a, b) = (
                std::fs::read(ours.join(name)).expect("ours"),
                std::fs::read(theirs.join(name)).expect("theirs"),
            );
            assert!(a == b, "{name} differs");
        }
        let json = |v: &dyn erased::Ser| v.json();
        assert_eq!(json(&m1.counts), json(&m2.counts));
        assert_eq!(json(&m1.thresholds), json(&m2.thresholds));
        assert_eq!(json(&m1.model), json(&m2.model));
        assert_eq!(json(&m1.config), json(&m2.config));
        assert_eq!(m1.warnings, m2.warnings);
    }

    /// Serialization of the manifest's parts, for comparing them.
    mod erased {
        pub trait Ser {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Ser for T {
            fn json(&self) -> String {
                serde_json::to_string(self).expect("json")
            }
        }
    }

    /// The default schema (salt slots): the slot kinds block with their own budget, the slot
    /// model is fitted from counts on the driver, and the match set is `padan link`'s.
    #[test]
    fn distributed_stages_on_the_default_slot_schema_equal_padan_link() {
        let dir = tempfile::tempdir().expect("temp dir");
        let schema = Schema::default_victims();
        assert!(!schema.slots.is_empty());
        let paths = encode_fixtures(dir.path(), &schema, &crate::synth::AGENCY_NAMES);
        let plan = Plan::new(&paths, LinkConfig::default()).expect("plan");
        let kinds: Vec<&str> = plan.slots().iter().map(|s| s.kind.as_str()).collect();
        assert!(kinds.contains(&"slot_dmy") && kinds.contains(&"slot_name_place"));
        let within = dir.path().join("within");
        assert_stages_equal_the_pipeline(&paths, LinkConfig::default(), &within);
        // Across agencies only, and a slot budget that bites.
        let mut cfg = LinkConfig::default();
        cfg.blocking.within_agency = false;
        cfg.blocking.slot_pairs_per_record = 0.2;
        let across = dir.path().join("across");
        assert_stages_equal_the_pipeline(&paths, cfg, &across);
        let m: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(across.join("stages/manifest.json")).expect("manifest"),
        )
        .expect("json");
        assert!(
            m["counts"]["effective_max_block_size"]
                .as_object()
                .is_some_and(|o| o.keys().any(|k| k.starts_with("slot_"))),
            "the slot budget bit: {}",
            m["counts"]
        );
        assert_eq!(m["model"]["training"], "slots");
        assert!(m["model"]["slots"].is_object());
    }

    /// A field schema through every stage too.
    #[test]
    fn distributed_stages_on_a_field_schema_equal_padan_link() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let schema = Schema::load(&root.join("fixtures/kat/schema-hardened.toml")).expect("schema");
        let paths = encode_fixtures(dir.path(), &schema, &crate::synth::AGENCY_NAMES);
        assert_stages_equal_the_pipeline(&paths, LinkConfig::default(), &dir.path().join("o"));
    }

    #[test]
    fn a_fit_travels_to_the_workers_to_the_bit() {
        let w = 0.1f64 + 0.2 + 1e-17 * 3.0;
        let fit = Fit {
            weights: vec![vec![0.0, w, -w / 3.0]],
            lambda: 1.0 / 3.0,
            n_levels: vec![2],
            thresholds: ThresholdInfo {
                match_probability: 0.8,
                review_probability: 0.3,
                match_weight: 31.408444658224653,
                review_weight: -1.0 / 7.0,
            },
            cluster: ClusterOptions {
                one_to_one: false,
                within_agency: true,
                duplicate_min_weight: 2.0f64.sqrt(),
                review_support: 2,
            },
            info: ModelInfo::default(),
            warnings: vec![],
            labels: vec![],
            isa: String::new(),
            slot_weights: Some(vec![((3, 1), w), ((3, 2), -w / 7.0)]),
        };
        let back = Fit::from_json(&fit.to_json().expect("json")).expect("back");
        let bits = |f: &Fit| {
            let e = ExactFloats::of(f);
            (
                e.weights,
                e.lambda,
                e.match_weight,
                e.review_weight,
                e.duplicate_min_weight,
                e.slot_weights,
            )
        };
        assert_eq!(bits(&back), bits(&fit));
    }

    #[test]
    fn clusters_from_roots_are_numbered_by_smallest_record() {
        let c = clustering_from_roots(5, &[(1, 1), (3, 1), (4, 2), (2, 2)], 3);
        assert_eq!(c.cluster_of, vec![0, 1, 2, 1, 2]);
        assert_eq!(c.n_clusters, 3);
        assert_eq!(c.merges_refused, 3);
    }
}
