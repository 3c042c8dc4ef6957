//! `padan report`: the auditors' threshold report, one self-contained HTML file.
//!
//! [`load`] reads a match set (`manifest.json`, `pairs.parquet`, `clusters.parquet`, the optional
//! `candidates.parquet`, see `docs/file-formats.md`) and an optional truth file into a
//! [`ReportData`] of counts, scores and record ids only; [`html::render`] turns it into the page;
//! [`svg`] draws the charts. Nothing here reads a filter or a token: the match set holds none, and
//! the report never embeds any string it was not given as an id, a name of a field, agency or
//! level, or a number.
//!
//! The Parquet readers here are minimal and tolerant (Utf8 / LargeUtf8 / dictionary strings,
//! Float32 / Float64, Int32 / Int64) and stream batch by batch, keeping only what the report
//! needs: one weight, probability and decision per pair, the few pairs shown as waterfalls, and
//! per-cluster agency counts.

pub mod html;
pub mod svg;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::types::Int32Type;
use arrow_array::{
    Array, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray,
    RecordBatch, StringArray,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::scoring::probability_from_weight;

/// Pairs shown as waterfalls on each side of each threshold.
pub const WATERFALLS_PER_SIDE: usize = 2;

/// One input file as recorded by `padan link` in `manifest.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InputInfo {
    /// File name of the encoded file.
    pub file: String,
    /// blake3 of the file, hex.
    pub blake3: String,
    /// Agency name.
    pub agency: String,
    /// Records encoded (= rows in the file).
    pub rows: u64,
    /// Rows read from the extract at the agency.
    pub rows_read: Option<u64>,
    /// Rows rejected at the agency.
    pub rows_rejected: Option<u64>,
    /// Encoding format version.
    pub encoding_version: Option<u64>,
    /// Schema fingerprint.
    pub schema_fingerprint: String,
    /// Key fingerprint.
    pub key_fingerprint: String,
    /// Reason code → rows rejected.
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Reason code → values left out (row kept).
    pub dropped_by_reason: BTreeMap<String, u64>,
    /// Reason code → rows kept but flagged.
    pub flags_by_reason: BTreeMap<String, u64>,
}

/// One comparison level of a field in the fitted model.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LevelInfo {
    /// Level index (0 = null, 1 = best …).
    pub index: i64,
    /// Human label ("exact", "dice ≥ 0.9", …).
    pub label: String,
    /// P(level | match).
    pub m: f64,
    /// P(level | non-match).
    pub u: f64,
    /// log2(m/u).
    pub weight: f64,
}

/// One field of the fitted model.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldInfo {
    /// Field name.
    pub name: String,
    /// Levels, best first.
    pub levels: Vec<LevelInfo>,
}

/// How the EM fit went.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EmInfo {
    /// Iterations run.
    pub iterations: u64,
    /// Largest parameter change in the last iteration.
    pub last_change: f64,
    /// Whether EM stopped on its tolerance.
    pub converged: bool,
    /// Final log-likelihood.
    pub log_likelihood: Option<f64>,
}

/// The fitted model as recorded in the manifest.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ModelInfo {
    /// Prior P(match): among all record pairs (`training = "blocks"`) or among candidate pairs
    /// (`"candidates"`, and manifests written before the key existed).
    pub lambda: f64,
    /// How m and λ were trained: `blocks` or `candidates` (empty in older manifests).
    pub training: String,
    /// log2(λ/(1−λ)); computed from λ when absent.
    pub prior_weight: Option<f64>,
    /// Where u came from.
    pub u_source: String,
    /// Random pairs sampled for u.
    pub random_pairs: Option<u64>,
    /// Per-field levels.
    pub fields: Vec<FieldInfo>,
    /// EM convergence.
    pub em: EmInfo,
}

impl ModelInfo {
    /// What λ is the share of, for labels.
    pub fn lambda_scope(&self) -> &'static str {
        if self.training == "blocks" {
            "among all record pairs"
        } else {
            "among candidate pairs"
        }
    }

    /// The prior weight, from the manifest or from λ.
    pub fn prior(&self) -> f64 {
        self.prior_weight.unwrap_or_else(|| {
            if self.lambda > 0.0 && self.lambda < 1.0 {
                (self.lambda / (1.0 - self.lambda)).log2()
            } else {
                0.0
            }
        })
    }
}

/// The two decision thresholds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Match threshold on probability.
    pub match_probability: Option<f64>,
    /// Review threshold on probability.
    pub review_probability: Option<f64>,
    /// Match threshold on match weight.
    pub match_weight: Option<f64>,
    /// Review threshold on match weight.
    pub review_weight: Option<f64>,
}

/// A large block.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BlockInfo {
    /// Block kind.
    pub kind: String,
    /// Records in the block.
    pub size: u64,
}

/// Counts at each stage.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Counts {
    /// Input records.
    pub records: Option<u64>,
    /// Candidate pairs compared.
    pub candidates: Option<u64>,
    /// Candidate pairs per block kind (a pair found by two kinds counts in both).
    pub candidates_by_block: BTreeMap<String, u64>,
    /// 1 − candidates / all possible pairs.
    pub reduction_ratio: Option<f64>,
    /// Largest blocks.
    pub largest_blocks: Vec<BlockInfo>,
    /// Blocks skipped or capped for size.
    pub capped_blocks: Option<u64>,
    /// Pairs decided "review".
    pub pairs_review: Option<u64>,
    /// Pairs decided "match".
    pub pairs_match: Option<u64>,
    /// Clusters (singletons included).
    pub clusters: Option<u64>,
    /// Clusters of two or more records.
    pub clusters_multi: Option<u64>,
    /// Merges refused by the one-record-per-agency rule.
    pub merges_refused: Option<u64>,
    /// Any other count the linker recorded.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `manifest.json` of a match set (tolerant: every member has a default).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Manifest {
    /// `padan-match-set`.
    pub format: String,
    /// Format version.
    pub format_version: u64,
    /// padan version that wrote the match set.
    pub padan_version: String,
    /// The encoded inputs.
    pub inputs: Vec<InputInfo>,
    /// Schema fingerprint shared by the inputs.
    pub schema_fingerprint: String,
    /// Key fingerprint shared by the inputs.
    pub key_fingerprint: String,
    /// The link config as used.
    pub config: Value,
    /// The fitted model.
    pub model: ModelInfo,
    /// Decision thresholds.
    pub thresholds: Thresholds,
    /// Counts.
    pub counts: Counts,
    /// Seconds per stage.
    pub timings: BTreeMap<String, f64>,
    /// Threads used.
    pub threads: Option<u64>,
    /// Instruction set of the comparison kernel.
    pub isa: Option<String>,
}

/// A pair's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decision {
    /// Below the review threshold (only in candidates).
    Below,
    /// Between the thresholds.
    Review,
    /// At or above the match threshold.
    Match,
}

impl Decision {
    /// The word used in files and in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Below => "below review",
            Decision::Review => "review",
            Decision::Match => "match",
        }
    }
}

/// Scores of a set of pairs (all candidates, or the written pairs).
#[derive(Debug, Clone, Default)]
pub struct ScoreSet {
    /// Match weight per pair.
    pub weights: Vec<f64>,
    /// Match probability per pair.
    pub probabilities: Vec<f64>,
    /// Decision per pair.
    pub decisions: Vec<Decision>,
    /// Whether the pair is one person (with `--truth`).
    pub is_true: Option<Vec<bool>>,
}

/// One field's part of a waterfall.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPart {
    /// Field name.
    pub field: String,
    /// Level index.
    pub level: i64,
    /// Level label from the model (or `level N`).
    pub label: String,
    /// Weight the level adds.
    pub weight: f64,
}

/// A pair shown as a waterfall.
#[derive(Debug, Clone, PartialEq)]
pub struct WaterfallPair {
    /// Which threshold it is near and on which side.
    pub near: String,
    /// Left agency.
    pub left_agency: String,
    /// Left record id.
    pub left_id: String,
    /// Right agency.
    pub right_agency: String,
    /// Right record id.
    pub right_id: String,
    /// Match weight (Σ field weights).
    pub match_weight: f64,
    /// Match probability.
    pub match_probability: f64,
    /// Decision.
    pub decision: Decision,
    /// Per-field parts, in field order.
    pub parts: Vec<FieldPart>,
    /// Whether the pair is one person (with `--truth`).
    pub is_true: Option<bool>,
}

/// Cluster statistics.
#[derive(Debug, Clone, Default)]
pub struct ClusterStats {
    /// Records in clusters.parquet.
    pub records: u64,
    /// Clusters.
    pub clusters: u64,
    /// Cluster size → number of clusters.
    pub size_counts: BTreeMap<u64, u64>,
    /// Agencies (manifest order, then any other seen).
    pub agencies: Vec<String>,
    /// Records per agency.
    pub records_by_agency: Vec<u64>,
    /// `shared[a][b]` (a ≠ b): clusters holding records of both agencies; `shared[a][a]`:
    /// clusters holding two or more records of agency a (within-agency duplicates).
    pub shared: Vec<Vec<u64>>,
}

/// What the truth says about the match set.
#[derive(Debug, Clone, Default)]
pub struct TruthStats {
    /// Truth file rows.
    pub truth_rows: u64,
    /// Linked records found in the truth.
    pub records_known: u64,
    /// Linked records not in the truth (ignored).
    pub records_unknown: u64,
    /// Record pairs of one person among the linked records.
    pub true_pairs: u64,
    /// True pairs among the candidates (pair completeness numerator), when candidates exist.
    pub candidate_true_pairs: Option<u64>,
}

/// Everything the report shows.
#[derive(Debug, Clone, Default)]
pub struct ReportData {
    /// The match set's directory (shown by name only).
    pub dir_name: String,
    /// The manifest.
    pub manifest: Manifest,
    /// Field names, model order.
    pub fields: Vec<String>,
    /// Match threshold on weight (from the manifest, or derived from the probability).
    pub match_weight: Option<f64>,
    /// Review threshold on weight.
    pub review_weight: Option<f64>,
    /// The written pairs (≥ review threshold).
    pub pairs: ScoreSet,
    /// All candidates, when `candidates.parquet` exists.
    pub candidates: Option<ScoreSet>,
    /// Pairs near the thresholds.
    pub waterfalls: Vec<WaterfallPair>,
    /// Clusters.
    pub clusters: ClusterStats,
    /// Truth statistics with `--truth`.
    pub truth: Option<TruthStats>,
}

/// Loads a match set (and optional truth CSV `agency,record_id,person_id`) for the report.
pub fn load(dir: &Path, truth: Option<&Path>) -> Result<ReportData> {
    let mpath = dir.join("manifest.json");
    let text = std::fs::read_to_string(&mpath).map_err(|e| Error::io("reading", &mpath, e))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::input_file(&mpath, format!("not a match-set manifest: {e}")))?;
    if !manifest.format.is_empty() && manifest.format != "padan-match-set" {
        return Err(Error::input_file(
            &mpath,
            format!(
                "format is '{}', expected 'padan-match-set'",
                manifest.format
            ),
        ));
    }
    let prior = manifest.model.prior();
    let lambda = manifest.model.lambda;
    let to_weight = |p: f64| {
        let p = p.clamp(1e-15, 1.0 - 1e-15);
        (p / (1.0 - p)).log2() - prior
    };
    let t = &manifest.thresholds;
    let match_weight = t
        .match_weight
        .or_else(|| t.match_probability.map(to_weight));
    let review_weight = t
        .review_weight
        .or_else(|| t.review_probability.map(to_weight));

    let truth_map = truth.map(read_truth).transpose()?;
    let mut data = ReportData {
        dir_name: dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string()),
        fields: manifest
            .model
            .fields
            .iter()
            .map(|f| f.name.clone())
            .collect(),
        match_weight,
        review_weight,
        ..ReportData::default()
    };

    // clusters first: the set of linked records defines the true pairs to find
    let (clusters, persons) =
        read_clusters(&dir.join("clusters.parquet"), &manifest, truth_map.as_ref())?;
    data.clusters = clusters;
    if let (Some(tm), Some(persons)) = (&truth_map, persons) {
        let known = persons.len() as u64;
        data.truth = Some(TruthStats {
            truth_rows: tm.rows,
            records_known: known,
            records_unknown: data.clusters.records - known,
            true_pairs: crate::metrics::true_pair_count(&persons),
            candidate_true_pairs: None,
        });
    }

    let (pairs, waterfalls, fields_seen) = read_pairs(
        &dir.join("pairs.parquet"),
        &manifest.model,
        [match_weight, review_weight],
        truth_map.as_ref(),
    )?;
    if data.fields.is_empty() {
        data.fields = fields_seen;
    }
    data.pairs = pairs;
    data.waterfalls = waterfalls;

    let cpath = dir.join("candidates.parquet");
    if cpath.exists() {
        let decide = |w: f64| match (match_weight, review_weight) {
            (Some(m), _) if w >= m => Decision::Match,
            (_, Some(r)) if w >= r => Decision::Review,
            (None, None) => Decision::Review,
            _ => Decision::Below,
        };
        let cands = read_candidates(&cpath, lambda, decide, truth_map.as_ref())?;
        if let (Some(ts), Some(flags)) = (data.truth.as_mut(), cands.is_true.as_ref()) {
            ts.candidate_true_pairs = Some(flags.iter().filter(|b| **b).count() as u64);
        }
        data.candidates = Some(cands);
    }
    data.manifest = manifest;
    Ok(data)
}

/// Loads a match set and writes the report to `out` (under a temporary name, then renamed).
pub fn write_report(dir: &Path, truth: Option<&Path>, out: &Path) -> Result<ReportData> {
    let data = load(dir, truth)?;
    let page = html::render(&data);
    let tmp: PathBuf = {
        let mut name = out
            .file_name()
            .map(|s| s.to_os_string())
            .unwrap_or_default();
        name.push(".tmp");
        out.with_file_name(name)
    };
    std::fs::write(&tmp, page).map_err(|e| Error::io("writing", &tmp, e))?;
    std::fs::rename(&tmp, out).map_err(|e| Error::io("renaming into place", out, e))?;
    Ok(data)
}

/// Truth: (agency, record id) → person index.
struct TruthMap {
    rows: u64,
    person: HashMap<(String, String), u64>,
}

impl TruthMap {
    fn get(&self, agency: &str, id: &str) -> Option<u64> {
        // avoid allocating a key per lookup for the common miss-free case
        self.person
            .get(&(agency.to_string(), id.to_string()))
            .copied()
    }
}

fn read_truth(path: &Path) -> Result<TruthMap> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| Error::format("reading", path, e))?;
    let headers = rdr
        .headers()
        .map_err(|e| Error::format("reading", path, e))?
        .clone();
    let col =
        |name: &str| {
            headers
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| {
                    Error::input_file(
                path,
                format!("truth file needs columns agency,record_id,person_id (missing '{name}')"),
            )
                })
        };
    let (ca, cr, cp) = (col("agency")?, col("record_id")?, col("person_id")?);
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut person = HashMap::new();
    let mut rows = 0;
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| {
            Error::input(
                crate::error::Location {
                    file: Some(path.to_path_buf()),
                    line: Some(i as u64 + 2),
                    column: None,
                },
                format!("unreadable CSV row ({})", e.kind_name()),
            )
        })?;
        rows += 1;
        let n = ids.len() as u64;
        let p = *ids
            .entry(rec.get(cp).unwrap_or("").to_string())
            .or_insert(n);
        person.insert(
            (
                rec.get(ca).unwrap_or("").to_string(),
                rec.get(cr).unwrap_or("").to_string(),
            ),
            p,
        );
    }
    Ok(TruthMap { rows, person })
}

/// Short names of CSV error kinds (never the row's content).
trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for csv::Error {
    fn kind_name(&self) -> &'static str {
        match self.kind() {
            csv::ErrorKind::Io(_) => "I/O error",
            csv::ErrorKind::Utf8 { .. } => "not UTF-8",
            csv::ErrorKind::UnequalLengths { .. } => "wrong number of fields",
            _ => "malformed",
        }
    }
}

/// Streams the batches of `path`, projected to the columns `want` accepts.
fn for_each_batch(
    path: &Path,
    want: impl Fn(&str) -> bool,
    mut f: impl FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::format("reading (not a Parquet file, or truncated)", path, e))?;
    let idx: Vec<usize> = builder
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| want(f.name()))
        .map(|(i, _)| i)
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), idx);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(16_384)
        .build()
        .map_err(|e| Error::format("reading", path, e))?;
    for batch in reader {
        let batch = batch.map_err(|e| Error::format("reading (corrupt or truncated?)", path, e))?;
        f(&batch)?;
    }
    Ok(())
}

/// A string column of any of the string layouts analysts' tools write.
enum StrCol<'a> {
    Small(&'a StringArray),
    Large(&'a LargeStringArray),
    Dict(&'a DictionaryArray<Int32Type>, &'a StringArray),
}

impl StrCol<'_> {
    fn get(&self, i: usize) -> &str {
        match self {
            StrCol::Small(a) => {
                if a.is_null(i) {
                    ""
                } else {
                    a.value(i)
                }
            }
            StrCol::Large(a) => {
                if a.is_null(i) {
                    ""
                } else {
                    a.value(i)
                }
            }
            StrCol::Dict(d, v) => {
                if d.is_null(i) {
                    ""
                } else {
                    v.value(d.keys().value(i) as usize)
                }
            }
        }
    }
}

fn missing(path: &Path, name: &str) -> Error {
    Error::input_file(
        path,
        format!("column '{name}' is missing or has an unexpected type"),
    )
}

fn str_col<'a>(path: &Path, b: &'a RecordBatch, name: &str) -> Result<StrCol<'a>> {
    let c = b.column_by_name(name).ok_or_else(|| missing(path, name))?;
    let any = c.as_any();
    if let Some(a) = any.downcast_ref::<StringArray>() {
        return Ok(StrCol::Small(a));
    }
    if let Some(a) = any.downcast_ref::<LargeStringArray>() {
        return Ok(StrCol::Large(a));
    }
    if let Some(d) = any.downcast_ref::<DictionaryArray<Int32Type>>() {
        if let Some(v) = d.values().as_any().downcast_ref::<StringArray>() {
            return Ok(StrCol::Dict(d, v));
        }
    }
    Err(missing(path, name))
}

/// A numeric column as f64 (null → NaN).
fn f64_col(path: &Path, b: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    let c = b.column_by_name(name).ok_or_else(|| missing(path, name))?;
    let any = c.as_any();
    let get = |i: usize, v: f64| if c.is_null(i) { f64::NAN } else { v };
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        return Ok((0..a.len()).map(|i| get(i, a.value(i))).collect());
    }
    if let Some(a) = any.downcast_ref::<Float32Array>() {
        return Ok((0..a.len()).map(|i| get(i, a.value(i) as f64)).collect());
    }
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return Ok((0..a.len()).map(|i| get(i, a.value(i) as f64)).collect());
    }
    if let Some(a) = any.downcast_ref::<Int32Array>() {
        return Ok((0..a.len()).map(|i| get(i, a.value(i) as f64)).collect());
    }
    Err(missing(path, name))
}

/// An integer column as i64 (null → 0).
fn i64_col(path: &Path, b: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    let c = b.column_by_name(name).ok_or_else(|| missing(path, name))?;
    let any = c.as_any();
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return Ok((0..a.len())
            .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
            .collect());
    }
    if let Some(a) = any.downcast_ref::<Int32Array>() {
        return Ok((0..a.len())
            .map(|i| if a.is_null(i) { 0 } else { a.value(i) as i64 })
            .collect());
    }
    Err(missing(path, name))
}

/// Best-k pairs near one threshold on one side (kept sorted by distance, first seen wins ties).
struct NearSide {
    threshold: f64,
    above: bool,
    label: String,
    best: Vec<(f64, WaterfallPair)>,
}

impl NearSide {
    fn wants(&self, w: f64) -> Option<f64> {
        let on_side = if self.above {
            w >= self.threshold
        } else {
            w < self.threshold
        };
        if !on_side || !w.is_finite() {
            return None;
        }
        let d = (w - self.threshold).abs();
        if self.best.len() < WATERFALLS_PER_SIDE || d < self.best.last().map_or(f64::MAX, |b| b.0) {
            Some(d)
        } else {
            None
        }
    }

    fn push(&mut self, d: f64, p: WaterfallPair) {
        let at = self.best.partition_point(|b| b.0 <= d);
        self.best.insert(at, (d, p));
        self.best.truncate(WATERFALLS_PER_SIDE);
    }
}

fn parse_decision(s: &str, w: f64, mw: Option<f64>) -> Decision {
    match s {
        "match" => Decision::Match,
        "review" => Decision::Review,
        "" => match mw {
            Some(m) if w >= m => Decision::Match,
            _ => Decision::Review,
        },
        _ => Decision::Below,
    }
}

type PairsOut = (ScoreSet, Vec<WaterfallPair>, Vec<String>);

fn read_pairs(
    path: &Path,
    model: &ModelInfo,
    thresholds: [Option<f64>; 2],
    truth: Option<&TruthMap>,
) -> Result<PairsOut> {
    let names = ["match threshold", "review threshold"];
    let mut sides: Vec<NearSide> = Vec::new();
    for (t, n) in thresholds.iter().zip(names) {
        if let Some(t) = t {
            for above in [true, false] {
                sides.push(NearSide {
                    threshold: *t,
                    above,
                    label: format!("just {} the {n}", if above { "above" } else { "below" }),
                    best: Vec::new(),
                });
            }
        }
    }
    let mut fields: Vec<String> = Vec::new();
    let mut out = ScoreSet {
        is_true: truth.map(|_| Vec::new()),
        ..ScoreSet::default()
    };
    let level_label = |f: &str, level: i64| -> String {
        if level == 0 {
            return "missing".into();
        }
        model
            .fields
            .iter()
            .find(|x| x.name == f)
            .and_then(|x| x.levels.iter().find(|l| l.index == level))
            .map(|l| l.label.clone())
            .unwrap_or_else(|| format!("level {level}"))
    };
    for_each_batch(
        path,
        |n| !n.starts_with("sim_") && n != "cluster_id" && n != "same_cluster",
        |b| {
            if fields.is_empty() {
                fields = b
                    .schema()
                    .fields()
                    .iter()
                    .filter_map(|f| f.name().strip_prefix("weight_").map(str::to_string))
                    .collect();
            }
            let w = f64_col(path, b, "match_weight")?;
            let p = f64_col(path, b, "match_probability")?;
            let dec = str_col(path, b, "decision")?;
            let la = str_col(path, b, "left_agency")?;
            let li = str_col(path, b, "left_id")?;
            let ra = str_col(path, b, "right_agency")?;
            let ri = str_col(path, b, "right_id")?;
            let mut fcols: Option<Vec<(Vec<i64>, Vec<f64>)>> = None;
            for i in 0..b.num_rows() {
                let d = parse_decision(dec.get(i), w[i], thresholds[0]);
                out.weights.push(w[i]);
                out.probabilities.push(p[i]);
                out.decisions.push(d);
                let t = truth.map(|tm| {
                    match (tm.get(la.get(i), li.get(i)), tm.get(ra.get(i), ri.get(i))) {
                        (Some(x), Some(y)) => x == y,
                        _ => false,
                    }
                });
                if let (Some(v), Some(t)) = (out.is_true.as_mut(), t) {
                    v.push(t);
                }
                for side in sides.iter_mut() {
                    let Some(dist) = side.wants(w[i]) else {
                        continue;
                    };
                    if fcols.is_none() {
                        let mut cols = Vec::new();
                        for f in &fields {
                            let lv = i64_col(path, b, &format!("level_{f}"))?;
                            let wt = f64_col(path, b, &format!("weight_{f}"))?;
                            cols.push((lv, wt));
                        }
                        fcols = Some(cols);
                    }
                    let cols = fcols.as_ref().expect("just set");
                    let parts = fields
                        .iter()
                        .zip(cols)
                        .map(|(f, (lv, wt))| FieldPart {
                            field: f.clone(),
                            level: lv[i],
                            label: level_label(f, lv[i]),
                            weight: if wt[i].is_nan() { 0.0 } else { wt[i] },
                        })
                        .collect();
                    let pair = WaterfallPair {
                        near: side.label.clone(),
                        left_agency: la.get(i).to_string(),
                        left_id: li.get(i).to_string(),
                        right_agency: ra.get(i).to_string(),
                        right_id: ri.get(i).to_string(),
                        match_weight: w[i],
                        match_probability: p[i],
                        decision: d,
                        parts,
                        is_true: t,
                    };
                    side.push(dist, pair);
                }
            }
            Ok(())
        },
    )?;
    let mut shown: Vec<WaterfallPair> = Vec::new();
    for s in sides {
        for (_, p) in s.best {
            let dup = shown.iter().any(|q| {
                q.left_agency == p.left_agency
                    && q.left_id == p.left_id
                    && q.right_agency == p.right_agency
                    && q.right_id == p.right_id
            });
            if !dup {
                shown.push(p);
            }
        }
    }
    Ok((out, shown, fields))
}

fn read_candidates(
    path: &Path,
    lambda: f64,
    decide: impl Fn(f64) -> Decision,
    truth: Option<&TruthMap>,
) -> Result<ScoreSet> {
    let mut out = ScoreSet {
        is_true: truth.map(|_| Vec::new()),
        ..ScoreSet::default()
    };
    let need_ids = truth.is_some();
    for_each_batch(
        path,
        |n| n == "match_weight" || (need_ids && (n.ends_with("_agency") || n.ends_with("_id"))),
        |b| {
            let w = f64_col(path, b, "match_weight")?;
            for &x in &w {
                out.weights.push(x);
                out.probabilities.push(probability_from_weight(x, lambda));
                out.decisions.push(decide(x));
            }
            if let (Some(tm), Some(v)) = (truth, out.is_true.as_mut()) {
                let la = str_col(path, b, "left_agency")?;
                let li = str_col(path, b, "left_id")?;
                let ra = str_col(path, b, "right_agency")?;
                let ri = str_col(path, b, "right_id")?;
                for i in 0..b.num_rows() {
                    let t = match (tm.get(la.get(i), li.get(i)), tm.get(ra.get(i), ri.get(i))) {
                        (Some(x), Some(y)) => x == y,
                        _ => false,
                    };
                    v.push(t);
                }
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// Reads clusters.parquet; with a truth map also returns the person of every linked record
/// found in it.
fn read_clusters(
    path: &Path,
    manifest: &Manifest,
    truth: Option<&TruthMap>,
) -> Result<(ClusterStats, Option<Vec<u64>>)> {
    let mut agencies: Vec<String> = Vec::new();
    for i in &manifest.inputs {
        if !agencies.contains(&i.agency) {
            agencies.push(i.agency.clone());
        }
    }
    let mut index: HashMap<String, u16> = agencies
        .iter()
        .enumerate()
        .map(|(i, a)| (a.clone(), i as u16))
        .collect();
    let mut rows: Vec<(i64, u16)> = Vec::new();
    let mut persons = truth.map(|_| Vec::new());
    for_each_batch(
        path,
        |n| n == "cluster_id" || n == "agency" || (truth.is_some() && n == "record_id"),
        |b| {
            let cid = i64_col(path, b, "cluster_id")?;
            let ag = str_col(path, b, "agency")?;
            let rid = if truth.is_some() {
                Some(str_col(path, b, "record_id")?)
            } else {
                None
            };
            for (i, c) in cid.iter().enumerate() {
                let a = ag.get(i);
                let ai = match index.get(a) {
                    Some(x) => *x,
                    None => {
                        let x = agencies.len() as u16;
                        agencies.push(a.to_string());
                        index.insert(a.to_string(), x);
                        x
                    }
                };
                rows.push((*c, ai));
                if let (Some(tm), Some(r), Some(ps)) = (truth, rid.as_ref(), persons.as_mut()) {
                    if let Some(p) = tm.get(a, r.get(i)) {
                        ps.push(p);
                    }
                }
            }
            Ok(())
        },
    )?;
    rows.sort_unstable();
    let n = agencies.len();
    let mut st = ClusterStats {
        records: rows.len() as u64,
        records_by_agency: vec![0; n],
        shared: vec![vec![0; n]; n],
        agencies,
        ..ClusterStats::default()
    };
    let mut per = vec![0u64; n];
    let mut start = 0;
    while start < rows.len() {
        let mut end = start;
        while end < rows.len() && rows[end].0 == rows[start].0 {
            end += 1;
        }
        st.clusters += 1;
        *st.size_counts.entry((end - start) as u64).or_insert(0) += 1;
        let present: Vec<u16> = {
            let mut v: Vec<u16> = rows[start..end].iter().map(|r| r.1).collect();
            v.dedup(); // sorted within a cluster id
            v
        };
        for r in &rows[start..end] {
            per[r.1 as usize] += 1;
            st.records_by_agency[r.1 as usize] += 1;
        }
        for (x, &a) in present.iter().enumerate() {
            if per[a as usize] >= 2 {
                st.shared[a as usize][a as usize] += 1;
            }
            for &b in &present[x + 1..] {
                st.shared[a as usize][b as usize] += 1;
                st.shared[b as usize][a as usize] += 1;
            }
        }
        for &a in &present {
            per[a as usize] = 0;
        }
        start = end;
    }
    Ok((st, persons))
}

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests;
