//! `manifest.json`, the description of a match set (docs/file-formats.md §2): one type, written
//! by `padan link` (through [`crate::io::matchset::MatchSetWriter`]) and read by `report`, `reveal` and `evaluate`
//! ([`Manifest::read`]).
//!
//! The format is versioned: [`FORMAT`] and [`FORMAT_VERSION`]; a reader refuses another format
//! or a newer version. Reading is tolerant of members an older writer left out (they take their
//! default) and of `null` numbers: JSON has no NaN or infinity, so serde writes them as `null`,
//! and they read back as NaN (record-level mode has no prior, for example).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::link::block::BlockingStats;
use crate::scoring::{EmReport, KindFit};

/// The `format` member of every manifest.
pub const FORMAT: &str = "padan-match-set";
/// The `format_version` this padan writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The run log beside `manifest.json`: how long the run took and on how many threads. It is
/// the one part of a match set that differs between two runs of the same inputs.
pub const RUN_FILE: &str = "run.json";

/// What [`RUN_FILE`] holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunLog {
    /// Seconds per stage.
    pub timings: Timings,
    /// Rayon threads used.
    pub threads: usize,
}

impl RunLog {
    /// Writes the run log of `manifest` into the match-set directory `dir` (atomically).
    pub fn write(dir: &Path, manifest: &Manifest) -> Result<()> {
        let log = RunLog {
            timings: manifest.timings.clone(),
            threads: manifest.threads,
        };
        let path = dir.join(RUN_FILE);
        let json = serde_json::to_string_pretty(&log)
            .map_err(|e| Error::Internal(format!("run log: {e}")))?;
        let mut f = crate::io::AtomicFile::create(&path)?;
        std::io::Write::write_all(f.file(), json.as_bytes())
            .map_err(|e| Error::io("writing", &path, e))?;
        f.commit()
    }
}

/// Reads a number that may be `null` (NaN or ±∞ when written) as NaN.
pub fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One encoded input of the link run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InputInfo {
    /// File name as given.
    pub file: String,
    /// blake3 of the file, hex.
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LevelInfo {
    /// Level index (1 = best; the null level 0 is not listed).
    pub index: u8,
    /// Label ("exact", "dice ≥ 0.9", …).
    pub label: String,
    /// P(level | match).
    #[serde(deserialize_with = "nan_if_null")]
    pub m: f64,
    /// P(level | non-match).
    #[serde(deserialize_with = "nan_if_null")]
    pub u: f64,
    /// log2(m/u).
    #[serde(deserialize_with = "nan_if_null")]
    pub weight: f64,
}

/// One field of the fitted model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldInfo {
    /// Field name.
    pub name: String,
    /// Field kind.
    pub kind: String,
    /// Whether m/u came from the config rather than the fit.
    pub fixed: bool,
    /// Levels (null excluded: its weight is 0).
    pub levels: Vec<LevelInfo>,
}

/// The fitted model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelInfo {
    /// Prior P(match): among all record pairs (`training = "blocks"` or `"slots"`) or among
    /// candidate pairs (`"candidates"`); NaN in record-level mode.
    #[serde(deserialize_with = "nan_if_null")]
    pub lambda: f64,
    /// log2(λ / (1 − λ)).
    #[serde(deserialize_with = "nan_if_null")]
    pub prior_weight: f64,
    /// Where u came from.
    pub u_source: String,
    /// Random pairs compared for u.
    pub random_pairs: u64,
    /// Fields.
    pub fields: Vec<FieldInfo>,
    /// EM convergence.
    pub em: EmReport,
    /// How m and λ were trained (`blocks`, `candidates`, `slots` for a slot schema, or
    /// `record_dice` in record-level mode).
    pub training: String,
    /// With `blocks`: what EM found on each block kind's pairs.
    pub training_by_kind: Vec<KindFit>,
    /// With `slots`: the whole slot model (per set of shared slots, per token, per field in each
    /// context), so that `link --previous` can score new pairs with it. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots: Option<crate::scoring::slotfit::SlotModel>,
}

impl ModelInfo {
    /// What λ is the share of, for labels.
    pub fn lambda_scope(&self) -> &'static str {
        if self.training == "blocks" || self.training == "slots" {
            "among all record pairs"
        } else {
            "among candidate pairs"
        }
    }

    /// The prior weight as recorded, or from λ when not recorded (0 without a usable λ).
    pub fn prior(&self) -> f64 {
        if self.prior_weight.is_finite() {
            self.prior_weight
        } else if self.lambda > 0.0 && self.lambda < 1.0 {
            (self.lambda / (1.0 - self.lambda)).log2()
        } else {
            0.0
        }
    }
}

/// The decision thresholds in both scales (NaN where a scale does not apply).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ThresholdInfo {
    /// Match threshold on probability.
    #[serde(deserialize_with = "nan_if_null")]
    pub match_probability: f64,
    /// Review threshold on probability.
    #[serde(deserialize_with = "nan_if_null")]
    pub review_probability: f64,
    /// The same on match weight (in record-level mode: on the record Dice).
    #[serde(deserialize_with = "nan_if_null")]
    pub match_weight: f64,
    /// The same on match weight (in record-level mode: on the record Dice).
    #[serde(deserialize_with = "nan_if_null")]
    pub review_weight: f64,
}

/// Counts at each stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
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

/// Seconds per stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
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

impl Timings {
    /// `(stage, seconds)` in run order, total last.
    pub fn stages(&self) -> [(&'static str, f64); 8] {
        [
            ("read", self.read),
            ("block", self.block),
            ("compare", self.compare),
            ("fit", self.fit),
            ("score", self.score),
            ("resolve", self.resolve),
            ("write", self.write),
            ("total", self.total),
        ]
    }
}

/// The match set's manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// padan version.
    pub padan_version: String,
    /// Inputs.
    pub inputs: Vec<InputInfo>,
    /// Shared schema fingerprint.
    pub schema_fingerprint: String,
    /// Shared key fingerprint.
    pub key_fingerprint: String,
    /// The link config as used (`link.toml` as JSON).
    pub config: serde_json::Value,
    /// The fitted model.
    pub model: ModelInfo,
    /// Thresholds.
    pub thresholds: ThresholdInfo,
    /// Counts.
    pub counts: Counts,
    /// Timings. Not written into `manifest.json` (it must be byte-identical for the same inputs,
    /// config and key): they go to [`RUN_FILE`] beside it, and [`Manifest::read`] takes them from
    /// there (an older manifest that holds them still reads).
    #[serde(skip_serializing)]
    pub timings: Timings,
    /// Rayon threads used (in [`RUN_FILE`], like the timings).
    #[serde(skip_serializing)]
    pub threads: usize,
    /// Popcount instruction set used.
    pub isa: String,
    /// Output file names.
    pub outputs: BTreeMap<String, Option<String>>,
    /// Warnings raised during the run (no values).
    pub warnings: Vec<String>,
    /// What `padan link --decisions` did with reviewers' verdicts (absent without decisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decisions: Option<crate::review::decisions::DecisionsInfo>,
    /// The match set this run continued (`padan link --previous`): the audit chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousRun>,
}

/// The previous match set of an incremental run (`padan link --previous`), and what this run
/// took from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PreviousRun {
    /// blake3 (hex) of the previous `manifest.json`: it names the previous run's inputs, model
    /// and outputs, and through its own `previous` the whole chain.
    pub manifest_blake3: String,
    /// blake3 (hex) of the previous `clusters.parquet` (the person ids carried forward).
    pub clusters_blake3: String,
    /// blake3 (hex) of the previous `pairs.parquet` (the pairs carried forward).
    pub pairs_blake3: String,
    /// `reused` (the previous model scored the new pairs) or `refit` (`--refit`: every pair
    /// compared again and the model fitted again).
    pub model: String,
    /// Agencies whose input file is byte-identical to one the previous run read.
    pub unchanged_inputs: Vec<String>,
    /// Records also in the previous run with the same encoded content.
    pub records_unchanged: u64,
    /// Records not in the previous run.
    pub records_added: u64,
    /// Records of the previous run whose encoded content changed.
    pub records_changed: u64,
    /// Records of the previous run in no input now.
    pub records_dropped: u64,
    /// Pairs compared in this run (with `reused`: only pairs with an added or changed record).
    pub pairs_compared: u64,
    /// Scored pairs of unchanged records taken from the previous `pairs.parquet`.
    pub pairs_carried: u64,
    /// Persons by change (`changes.parquet`).
    pub persons_by_change: BTreeMap<String, u64>,
}

impl Manifest {
    /// A manifest of this format and version, everything else empty.
    pub fn new() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            padan_version: crate::VERSION.into(),
            ..Manifest::default()
        }
    }

    /// The agencies of the inputs, in input order.
    pub fn agencies(&self) -> Vec<String> {
        self.inputs.iter().map(|i| i.agency.clone()).collect()
    }

    /// The manifest as pretty JSON (as the match-set writer writes it).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Internal(format!("manifest: {e}")))
    }

    /// Reads and checks `path`: a JSON object of this format (an empty `format`, from a
    /// hand-written manifest, is accepted) and a version this padan reads. The timings and
    /// thread count come from [`RUN_FILE`] beside it when that file is there.
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::input_file(path, format!("not a match-set manifest: {e}")))?;
        if !m.format.is_empty() && m.format != FORMAT {
            return Err(Error::input_file(
                path,
                format!("format is '{}', expected '{FORMAT}'", m.format),
            ));
        }
        if m.format_version > FORMAT_VERSION {
            return Err(Error::input_file(
                path,
                format!(
                    "match-set format version {} is newer than this padan reads ({FORMAT_VERSION})",
                    m.format_version
                ),
            ));
        }
        let mut m = m;
        let run = path.with_file_name(RUN_FILE);
        if run.exists() {
            let text = std::fs::read_to_string(&run).map_err(|e| Error::io("reading", &run, e))?;
            let log: RunLog = serde_json::from_str(&text)
                .map_err(|e| Error::input_file(&run, format!("not a run log: {e}")))?;
            m.timings = log.timings;
            m.threads = log.threads;
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_null_numbers_as_nan() {
        let mut m = Manifest::new();
        m.model.lambda = f64::NAN;
        m.model.prior_weight = 1.5;
        m.thresholds.match_weight = 0.8;
        m.thresholds.match_probability = f64::NAN;
        m.inputs.push(InputInfo {
            agency: "a".into(),
            rows: 3,
            ..InputInfo::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("manifest.json");
        std::fs::write(&p, m.to_json().unwrap()).unwrap();
        let back = Manifest::read(&p).unwrap();
        assert!(back.model.lambda.is_nan());
        assert!(back.thresholds.match_probability.is_nan());
        assert_eq!(back.thresholds.match_weight, 0.8);
        assert_eq!(back.model.prior(), 1.5);
        assert_eq!(back.agencies(), vec!["a".to_string()]);
        assert_eq!(back.to_json().unwrap(), m.to_json().unwrap());
    }

    #[test]
    fn the_prior_of_blocks_and_slot_fits_is_over_all_record_pairs() {
        let mut m = ModelInfo::default();
        for (training, scope) in [
            ("blocks", "among all record pairs"),
            ("slots", "among all record pairs"),
            ("candidates", "among candidate pairs"),
        ] {
            m.training = training.into();
            assert_eq!(m.lambda_scope(), scope, "{training}");
        }
    }

    #[test]
    fn timings_go_to_the_run_log_not_the_manifest() {
        let mut m = Manifest::new();
        m.timings.total = 2.5;
        m.threads = 3;
        let json = m.to_json().unwrap();
        assert!(!json.contains("timings") && !json.contains("threads"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("manifest.json");
        std::fs::write(&p, &json).unwrap();
        assert_eq!(Manifest::read(&p).unwrap().threads, 0);
        RunLog::write(dir.path(), &m).unwrap();
        let back = Manifest::read(&p).unwrap();
        assert_eq!((back.timings.total, back.threads), (2.5, 3));
        // A manifest from before the run log still gives its timings.
        std::fs::remove_file(dir.path().join(RUN_FILE)).unwrap();
        std::fs::write(&p, r#"{"timings": {"total": 1.5}, "threads": 2}"#).unwrap();
        let old = Manifest::read(&p).unwrap();
        assert_eq!((old.timings.total, old.threads), (1.5, 2));
    }

    #[test]
    fn refuses_another_format_or_a_newer_version() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("manifest.json");
        std::fs::write(&p, r#"{"format": "padan-encoded"}"#).unwrap();
        assert!(Manifest::read(&p)
            .unwrap_err()
            .to_string()
            .contains("format"));
        std::fs::write(&p, r#"{"format": "padan-match-set", "format_version": 99}"#).unwrap();
        assert!(Manifest::read(&p)
            .unwrap_err()
            .to_string()
            .contains("newer"));
        std::fs::write(&p, "[1, 2]").unwrap();
        assert!(Manifest::read(&p).is_err());
    }
}
