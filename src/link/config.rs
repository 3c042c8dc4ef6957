//! The link configuration (`link.toml`): blocking, comparison levels, model, thresholds,
//! resolution, output. Every key has a documented default; `padan link --print-default-config`
//! prints them with comments.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::schema::{FieldKind, FieldSpec};
use crate::scoring::{EmOptions, FieldParams};

/// Default records in a block above which the block is skipped (with a warning).
pub const DEFAULT_MAX_BLOCK_SIZE: usize = 200;
/// Default pair budget per block kind and input record.
pub const DEFAULT_PAIRS_PER_RECORD: f64 = 10.0;
/// Default pair budget per salt-slot block kind, per record (see
/// [`BlockingConfig::slot_pairs_per_record`]).
pub const DEFAULT_SLOT_PAIRS_PER_RECORD: f64 = 40.0;
/// Default number of LSH bands on the record-level filter.
pub const DEFAULT_LSH_BANDS: usize = 24;
/// Default bits sampled per LSH band.
pub const DEFAULT_LSH_BITS: usize = 40;
/// Most LSH bands a config may ask for (each band is a block slot of every record).
pub const MAX_LSH_BANDS: usize = 4096;
/// Default neighbours each record keeps by record-filter Dice (meta-blocking, 0 = off).
pub const DEFAULT_KNN_K: usize = 0;
/// Default number of weak LSH bands that propose neighbours for the top-k.
pub const DEFAULT_KNN_BANDS: usize = 48;
/// Default bits sampled per weak LSH band.
pub const DEFAULT_KNN_BITS: usize = 28;
/// Default largest weak bucket (records) whose members are proposed as neighbours.
pub const DEFAULT_KNN_MAX_BUCKET: usize = 50;
/// Default random record pairs used to estimate u.
pub const DEFAULT_RANDOM_PAIRS: usize = 200_000;

/// How the model is trained (see [`ModelConfig::training`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Training {
    /// m per field from the block kinds that do not use it; λ over all record pairs.
    Blocks,
    /// One EM over all candidate pairs; λ among candidates.
    Candidates,
}

/// The whole link configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LinkConfig {
    /// Candidate generation.
    pub blocking: BlockingConfig,
    /// Per-field comparison levels (fields not listed get their kind's defaults).
    pub comparison: BTreeMap<String, ComparisonConfig>,
    /// Model fitting.
    pub model: ModelConfig,
    /// Decision thresholds.
    pub thresholds: Thresholds,
    /// Cluster resolution.
    pub resolution: ResolutionConfig,
    /// What to write.
    pub output: OutputConfig,
}

/// Blocking: the union of keyed-token blocks and Hamming LSH bands on the record filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockingConfig {
    /// Token / blocking-key columns to block on; empty = every one the files carry.
    pub keys: Vec<String>,
    /// LSH bands on the record-level filter (0 = no LSH).
    pub lsh_bands: usize,
    /// Bits sampled per band (more bits = fewer, surer candidates).
    pub lsh_bits: usize,
    /// Seed for the sampled bit positions.
    pub lsh_seed: u64,
    /// Blocks with more records than this are skipped, with a warning naming the block kind.
    pub max_block_size: usize,
    /// Pair budget per block kind, per record: a kind (each token or key column; all LSH bands
    /// together) yields at most this many pairs per input record. Its largest blocks are skipped
    /// until it fits (block purging), so candidates grow linearly with the records. 0 = no budget.
    pub pairs_per_record: f64,
    /// The same budget for each salt-slot kind (`slot_<name>`). A slot's blocks are the only
    /// candidates for many true pairs (a pair can be compared only inside a slot it shares), and
    /// at a million records a birth date is shared by dozens of records: the slot kinds get a
    /// larger budget than token and LSH kinds. 0 = no budget.
    pub slot_pairs_per_record: f64,
    /// Also compare records of the same agency (finds within-agency duplicates).
    pub within_agency: bool,
    /// Record-level mode only (inputs with no field filters, e.g. imported clkhash CLKs): compare
    /// every pair with the all-pairs Dice kernel while the possible pairs are at most this many
    /// (exact, as anonlink); above it, candidates come from the LSH bands. 0 = always LSH.
    pub record_all_pairs_max: u64,
    /// Memory the block index and the candidate set may use, in MiB; padan refuses (exit 4) a
    /// run whose estimate is above it, before comparing. 0 = 60 % of the memory the machine
    /// reports as available (see `link::budget`).
    pub memory_budget_mb: u64,
    /// Meta-blocking: each record keeps its `knn_k` nearest neighbours by record-filter Dice
    /// among the records proposed by the weak LSH bands and by the token blocks skipped for size
    /// or budget; the union of every record's top k joins the candidates (0 = off).
    pub knn_k: usize,
    /// Weak LSH bands (on the record-level filter) that propose neighbours for the top-k.
    pub knn_bands: usize,
    /// Bits sampled per weak band (fewer than `lsh_bits`: they propose, the Dice decides).
    pub knn_bits: usize,
    /// Weak buckets (and skipped token blocks) larger than this propose no neighbours.
    pub knn_max_bucket: usize,
}

impl Default for BlockingConfig {
    fn default() -> Self {
        BlockingConfig {
            keys: Vec::new(),
            lsh_bands: DEFAULT_LSH_BANDS,
            lsh_bits: DEFAULT_LSH_BITS,
            lsh_seed: 1,
            max_block_size: DEFAULT_MAX_BLOCK_SIZE,
            pairs_per_record: DEFAULT_PAIRS_PER_RECORD,
            slot_pairs_per_record: DEFAULT_SLOT_PAIRS_PER_RECORD,
            within_agency: true,
            record_all_pairs_max: DEFAULT_RECORD_ALL_PAIRS_MAX,
            memory_budget_mb: 0,
            knn_k: DEFAULT_KNN_K,
            knn_bands: DEFAULT_KNN_BANDS,
            knn_bits: DEFAULT_KNN_BITS,
            knn_max_bucket: DEFAULT_KNN_MAX_BUCKET,
        }
    }
}

/// One field's comparison: Dice thresholds of the levels below "exact".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonConfig {
    /// Descending Dice thresholds: level 2 is `≥ t[0]`, level 3 `≥ t[1]` … after level 1
    /// (exact: equal tokens, or Dice = 1 without a token); the last level is "else".
    #[serde(default)]
    pub thresholds: Vec<f64>,
    /// Fixed m per level (exact, thresholds…, else); overrides the fit with `u`.
    #[serde(default)]
    pub m: Option<Vec<f64>>,
    /// Fixed u per level; overrides the estimate with `m`.
    #[serde(default)]
    pub u: Option<Vec<f64>>,
    /// Exact agreement split by how common the agreed value is (term frequency, counted on the
    /// keyed tokens of the run): descending edges, in bits, on `log2(u_exact / share)`, where
    /// `share` is the share of records holding the value and `u_exact` the chance that two
    /// random records agree exactly (Splink's term-frequency adjustment). `[1, 0, -1]` gives
    /// four exact levels: a value at least twice rarer than average, rarer, commoner, and at
    /// least twice commoner. Each level gets its own m and u, so agreeing on a rare name weighs
    /// more than agreeing on a common one. Absent: the kind's default (`[1, 0, -1]` for names,
    /// none for other kinds); `[]`: one exact level. Applies to a field with a keyed token
    /// outside salt slots whose m and u are not fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_bands: Option<Vec<f64>>,
    /// The edges in use (set by the comparator: empty when the field cannot use them).
    #[serde(skip)]
    pub bands_in_use: Vec<f64>,
}

impl ComparisonConfig {
    /// The default comparison for a field kind (see docs/matching.md for the reasoning: the
    /// Dice of two unrelated half-full filters is about 0.45, so levels live between 0.6 and 1).
    pub fn default_for(kind: FieldKind) -> ComparisonConfig {
        let thresholds = match kind {
            FieldKind::Name => vec![0.92, 0.84, 0.74, 0.66, 0.6],
            FieldKind::Passport => vec![0.85, 0.72],
            FieldKind::Date => vec![0.78, 0.66, 0.58],
            FieldKind::Nik => vec![0.88, 0.75],
            FieldKind::Place => vec![0.85, 0.72],
            FieldKind::Text => vec![0.88, 0.75],
            FieldKind::Sex => vec![],
        };
        ComparisonConfig {
            thresholds,
            m: None,
            u: None,
            frequency_bands: Some(Self::default_bands(kind)),
            bands_in_use: Vec::new(),
        }
    }

    /// The default frequency edges of a field kind (see [`ComparisonConfig::frequency_bands`]):
    /// names only. Measured on `padan synth` without hardening (10,057 records), pairs that
    /// agree on the name token and on nothing else were 92 % true for a name at least twice
    /// rarer than average and 9 % true for one twice commoner.
    pub fn default_bands(kind: FieldKind) -> Vec<f64> {
        match kind {
            FieldKind::Name => vec![1.0, 0.0, -1.0],
            _ => Vec::new(),
        }
    }

    /// Exact levels: one, or one per frequency band in use.
    pub fn n_exact(&self) -> u8 {
        if self.bands_in_use.is_empty() {
            1
        } else {
            (self.bands_in_use.len() + 1) as u8
        }
    }

    /// The exact level of a value whose term-frequency adjustment is `bits` (see
    /// [`ComparisonConfig::frequency_bands`]): 1 for the rarest band.
    pub fn exact_level(&self, bits: f64) -> u8 {
        1 + self.bands_in_use.iter().take_while(|&&e| bits < e).count() as u8
    }

    /// Number of non-null levels: exact (one per frequency band), one per threshold, else.
    pub fn n_levels(&self) -> u8 {
        (self.thresholds.len() + 1) as u8 + self.n_exact()
    }

    /// Level labels, index 0 = null.
    pub fn labels(&self) -> Vec<String> {
        let mut v = vec!["null".to_string()];
        match (self.bands_in_use.first(), self.bands_in_use.last()) {
            (Some(first), Some(last)) => {
                v.push(format!("exact, value rare (tf ≥ {first:+} bits)"));
                for w in self.bands_in_use.windows(2) {
                    v.push(format!("exact (tf {:+} to {:+} bits)", w[1], w[0]));
                }
                v.push(format!("exact, value common (tf < {last:+} bits)"));
            }
            _ => v.push("exact".to_string()),
        }
        for t in &self.thresholds {
            v.push(format!("dice ≥ {t}"));
        }
        v.push("else".into());
        v
    }

    /// The level of a similarity (`exact` already decided by the caller).
    #[inline]
    pub fn level(&self, sim: f32) -> u8 {
        let s = sim as f64;
        for (i, &t) in self.thresholds.iter().enumerate() {
            if s >= t {
                return i as u8 + 1 + self.n_exact();
            }
        }
        self.n_levels()
    }

    /// Fixed parameters, when both m and u are given.
    pub fn fixed(&self) -> Option<FieldParams> {
        match (&self.m, &self.u) {
            (Some(m), Some(u)) => {
                let mut mm = vec![1.0];
                mm.extend(m);
                let mut uu = vec![1.0];
                uu.extend(u);
                Some(FieldParams { m: mm, u: uu })
            }
            _ => None,
        }
    }
}

/// Model fitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// How m and λ are trained: `blocks` (m of each field by EM on the pairs of the block kinds
    /// that do not use it, u from random pairs, λ over all record pairs) or `candidates` (one EM
    /// over all candidate pairs, λ among candidates).
    pub training: Training,
    /// Random record pairs compared to estimate u.
    pub random_pairs: usize,
    /// Seed for the random pairs.
    pub seed: u64,
    /// EM options.
    pub em: EmOptions,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            training: Training::Blocks,
            random_pairs: DEFAULT_RANDOM_PAIRS,
            seed: 42,
            // u is re-estimated among the candidate pairs: blocking on names makes name agreement
            // common among non-matching candidates, and the random-pair u (the starting point)
            // would overstate what a name agreement proves there.
            em: EmOptions {
                update_u: true,
                ..EmOptions::default()
            },
        }
    }
}

/// Default largest number of possible pairs compared exhaustively in record-level mode (about 10 s
/// on two cores at 200 M comparisons/s).
pub const DEFAULT_RECORD_ALL_PAIRS_MAX: u64 = 2_000_000_000;

/// Default Dice threshold of a match in record-level mode (measured on the Febrl4 clkhash CLKs:
/// see docs/matching.md, "Record-level mode").
pub const DEFAULT_RECORD_DICE: f64 = 0.78;

/// Default Dice threshold of a review pair in record-level mode.
pub const DEFAULT_RECORD_DICE_REVIEW: f64 = 0.76;

/// Decision thresholds on match probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Pairs at or above this probability are `match`.
    pub match_probability: f64,
    /// Pairs at or above this probability (and below `match`) are `review`.
    pub review_probability: f64,
    /// Record-level mode only (inputs that carry no field filters, e.g. imported clkhash CLKs):
    /// pairs whose record-filter Dice is at or above this are `match`.
    pub record_dice: f64,
    /// Record-level mode only: pairs at or above this Dice (and below `record_dice`) are
    /// `review`.
    pub record_dice_review: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            match_probability: 0.8,
            review_probability: 0.3,
            record_dice: DEFAULT_RECORD_DICE,
            record_dice_review: DEFAULT_RECORD_DICE_REVIEW,
        }
    }
}

/// Cluster resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResolutionConfig {
    /// For exactly two inputs: strict one-to-one (no within-agency merges at all).
    pub one_to_one: bool,
    /// Allow a cluster to hold two records of one agency when the pair of them scores at least
    /// this (each such pair a merge creates).
    pub duplicate_min_probability: f64,
    /// Join two clusters the match edges left apart when this many distinct review pairs link
    /// them and no agency is then held twice (0: review pairs never join clusters).
    pub review_support: u32,
}

impl Default for ResolutionConfig {
    fn default() -> Self {
        ResolutionConfig {
            one_to_one: false,
            duplicate_min_probability: 0.9,
            review_support: 2,
        }
    }
}

/// Output options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Also write candidates.parquet (every compared pair with its weight).
    pub candidates: bool,
}

impl LinkConfig {
    /// Parses and validates a config; errors name the key.
    pub fn from_toml(text: &str, source: &str) -> Result<LinkConfig> {
        let c: LinkConfig = toml::from_str(text).map_err(|e| {
            let msg = crate::error::redact_parser_message(e.message());
            Error::config(source, msg)
        })?;
        c.validate(source)?;
        Ok(c)
    }

    /// Reads a config file.
    pub fn load(path: &Path) -> Result<LinkConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
        LinkConfig::from_toml(&text, &path.display().to_string())
    }

    /// Checks ranges.
    pub fn validate(&self, source: &str) -> Result<()> {
        let err = |k: &str, m: String| Err(Error::config(source, format!("{k}: {m}")));
        let t = &self.thresholds;
        if !(0.0..=1.0).contains(&t.match_probability)
            || !(0.0..=1.0).contains(&t.review_probability)
        {
            return err("thresholds", "probabilities must be in 0..=1".into());
        }
        if t.review_probability > t.match_probability {
            return err(
                "thresholds.review_probability",
                "must not be above match_probability".into(),
            );
        }
        if !(0.0..=1.0).contains(&t.record_dice) || !(0.0..=1.0).contains(&t.record_dice_review) {
            return err("thresholds", "record_dice values must be in 0..=1".into());
        }
        if t.record_dice_review > t.record_dice {
            return err(
                "thresholds.record_dice_review",
                "must not be above record_dice".into(),
            );
        }
        let b = &self.blocking;
        if b.lsh_bands > 0 && !(1..=64).contains(&b.lsh_bits) {
            return err("blocking.lsh_bits", "must be 1..=64".into());
        }
        if !(b.pairs_per_record >= 0.0 && b.pairs_per_record.is_finite()) {
            return err(
                "blocking.pairs_per_record",
                "must be a number ≥ 0 (0 = no budget)".into(),
            );
        }
        if !(b.slot_pairs_per_record >= 0.0 && b.slot_pairs_per_record.is_finite()) {
            return err(
                "blocking.slot_pairs_per_record",
                "must be a number ≥ 0 (0 = no budget)".into(),
            );
        }
        if b.lsh_bands > MAX_LSH_BANDS {
            return err(
                "blocking.lsh_bands",
                format!("must be at most {MAX_LSH_BANDS}"),
            );
        }
        if b.knn_k > 0 && b.knn_bands > 0 && !(1..=64).contains(&b.knn_bits) {
            return err("blocking.knn_bits", "must be 1..=64".into());
        }
        if b.knn_bands > MAX_LSH_BANDS {
            return err(
                "blocking.knn_bands",
                format!("must be at most {MAX_LSH_BANDS}"),
            );
        }
        if b.knn_k > 1000 {
            return err("blocking.knn_k", "must be at most 1000".into());
        }
        if b.max_block_size < 2 {
            return err("blocking.max_block_size", "must be at least 2".into());
        }
        for (name, c) in &self.comparison {
            if c.thresholds.windows(2).any(|w| w[0] <= w[1])
                || c.thresholds.iter().any(|t| !(0.0..=1.0).contains(t))
            {
                return err(
                    &format!("comparison.{name}.thresholds"),
                    "must be strictly descending values in 0..=1".into(),
                );
            }
            if let Some(e) = &c.frequency_bands {
                if e.windows(2).any(|w| w[0] <= w[1]) || e.iter().any(|x| !x.is_finite()) {
                    return err(
                        &format!("comparison.{name}.frequency_bands"),
                        "must be strictly descending finite values (bits)".into(),
                    );
                }
            }
            let n = c.n_levels() as usize;
            for (k, v) in [("m", &c.m), ("u", &c.u)] {
                if let Some(v) = v {
                    if v.len() != n {
                        return err(
                            &format!("comparison.{name}.{k}"),
                            format!("needs {n} values (exact, one per threshold, else)"),
                        );
                    }
                    if v.iter().any(|x| !(*x > 0.0 && *x <= 1.0)) {
                        return err(
                            &format!("comparison.{name}.{k}"),
                            "values must be in (0, 1]".into(),
                        );
                    }
                }
            }
            if c.m.is_some() != c.u.is_some() {
                return err(
                    &format!("comparison.{name}"),
                    "give both m and u to fix a field's parameters".into(),
                );
            }
        }
        Ok(())
    }

    /// The comparison for a schema field (configured or default).
    pub fn comparison_for(&self, f: &FieldSpec) -> ComparisonConfig {
        let mut c = self
            .comparison
            .get(&f.name)
            .cloned()
            .unwrap_or_else(|| ComparisonConfig::default_for(f.kind));
        c.frequency_bands
            .get_or_insert_with(|| ComparisonConfig::default_bands(f.kind));
        c
    }
}

/// The commented default config printed by `padan link --print-default-config`.
pub const DEFAULT_CONFIG_TOML: &str = r#"# padan link configuration. Every key is optional; these are the defaults.

[blocking]
# Keyed-token columns to block on; empty = all the encoded files carry
# (token_passport, token_nik, token_name, token_dob, block_dob_sex, block_name_year, ...).
keys = []
lsh_bands = 24          # Hamming LSH on the record-level filter: bands ...
lsh_bits = 40           # ... of this many sampled bits (0 bands = no LSH)
lsh_seed = 1
max_block_size = 200    # larger blocks are skipped with a warning (they are too common to help)
pairs_per_record = 10.0 # per block kind (all LSH bands together): at most this many pairs per
                        # record; the kind's largest blocks are skipped until it fits, so work
                        # grows linearly with the records (0 = no budget)
slot_pairs_per_record = 40.0  # the same for each salt-slot kind (slot_<name>): a pair can only
                        # be compared inside a slot it shares, so skipping a slot's blocks loses
                        # its pairs for good (at 1 M records: completeness 0.787 at 10, 0.901 at 40)
within_agency = true    # also compare records of one agency: finds duplicates inside an agency
record_all_pairs_max = 2000000000  # record-level mode (imported clkhash CLKs) only: compare every
                        # pair exactly up to this many possible pairs, else LSH (dense CLKs make
                        # bit-sampling LSH miss matches: see docs/matching.md)
memory_budget_mb = 0    # refuse (exit 4) before comparing when the candidate set could need more
                        # memory than this, naming the block kind; 0 = 60 % of available memory
knn_k = 0               # meta-blocking (off by default): with k > 0 each record also keeps its k
                        # nearest records by record-filter Dice among those proposed by the weak
                        # bands below and the token blocks skipped for size; finds noisy pairs
                        # (k = 10: completeness +0.015 to +0.044 without hardening) at up to 5x
                        # the link CPU at a million records, for F1 +0.003 at most today
knn_bands = 48          # weak Hamming LSH bands that propose the neighbours ...
knn_bits = 28           # ... of this many sampled bits
knn_max_bucket = 50     # weak buckets larger than this propose nothing

# Per-field comparison levels: exact (equal keyed tokens, or Dice = 1), then one level per
# descending Dice threshold, then "else"; missing on either side is the neutral null level.
# Fields not listed use their kind's defaults. Two unrelated half-full filters have Dice ≈ 0.45.
# [comparison.name]
# thresholds = [0.92, 0.84, 0.74, 0.66, 0.6]
# frequency_bands = [1, 0, -1]  # split exact agreement by how common the value is (term
#                               # frequency of its keyed token, in bits of log2(u / share)): a rare
#                               # name weighs more than a common one; the default for names, none
#                               # for other kinds; [] = one exact level; not with slots or fixed m/u
# m = [0.80, 0.10, 0.04, 0.02, 0.015, 0.01, 0.015]   # fix m and u to skip fitting this field
# u = [0.001, 0.004, 0.02, 0.05, 0.08, 0.1, 0.745]

[model]
training = "blocks"     # m of each field by EM on the pairs of block kinds that do not use it,
                        # u from random pairs, λ over all record pairs (robust to blocking);
                        # "candidates" = one EM over all candidate pairs (small, clean inputs);
                        # neither applies to a salt-slot schema (the default schema), whose
                        # model is fitted per set of shared slots (training "slots" in the
                        # manifest, docs/matching.md)
random_pairs = 200000   # random record pairs compared to estimate u (non-match agreement rates)
seed = 42

[model.em]
max_iterations = 500
tolerance = 1e-6
initial_lambda = 0.1
update_u = true         # start from u of random pairs, re-estimate it among candidates
floor = 1e-6

[thresholds]
match_probability = 0.8    # at or above: decision = match (and clustered)
review_probability = 0.3   # at or above (below match): decision = review
# Record-level mode, only for inputs that carry no field filters (imported clkhash CLKs): no
# model is fitted (one comparison cannot identify one); pairs are decided on the Dice of their
# record-level filters, as anonlink does.
record_dice = 0.78         # at or above: decision = match
record_dice_review = 0.76  # at or above (below record_dice): decision = review

[resolution]
one_to_one = false                  # two inputs only: strict one-to-one, no within-agency merges
duplicate_min_probability = 0.9     # a cluster may hold two records of one agency only when the pair of them
                                    # scores at least this (a duplicate inside an agency, on its own evidence)
review_support = 2                  # two clusters join when this many review pairs link them and no agency is held
                                    # twice (0 = review pairs never join clusters)

[output]
candidates = false      # also write candidates.parquet (every compared pair; for evaluate/report)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_text_equals_the_defaults() {
        let c = LinkConfig::from_toml(DEFAULT_CONFIG_TOML, "default").unwrap();
        assert_eq!(c, LinkConfig::default());
    }

    /// The error message of a config that does not load.
    fn load_error(toml: &str) -> String {
        LinkConfig::from_toml(toml, "l.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_the_key() {
        let e = load_error("[thresholds]\nmatch_probability = 0.2\n");
        assert!(e.contains("review_probability"), "{e}");
        let e = load_error("[comparison.name]\nthresholds = [0.5, 0.9]\n");
        assert!(e.contains("comparison.name.thresholds"), "{e}");
        let e = load_error("[comparison.name]\nfrequency_bands = [0.0, 1.0]\n");
        assert!(e.contains("comparison.name.frequency_bands"), "{e}");
        // A field section without frequency_bands keeps its kind's bands; [] turns them off.
        let c = LinkConfig::from_toml("[comparison.name]\nthresholds = [0.9]\n", "l.toml").unwrap();
        let schema = crate::schema::Schema::default_victims();
        let name = schema
            .fields
            .iter()
            .find(|f| f.name == "name")
            .expect("name field");
        assert_eq!(name.kind, FieldKind::Name);
        assert_eq!(
            c.comparison_for(name).frequency_bands,
            Some(vec![1.0, 0.0, -1.0])
        );
        let c =
            LinkConfig::from_toml("[comparison.name]\nfrequency_bands = []\n", "l.toml").unwrap();
        assert_eq!(c.comparison_for(name).frequency_bands, Some(vec![]));
        let e = load_error("[thresholds]\nrecord_dice = 0.7\nrecord_dice_review = 0.8\n");
        assert!(e.contains("record_dice_review"), "{e}");
        let e = load_error("[blocking]\nbands = 3\n");
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn levels_follow_thresholds() {
        let c = ComparisonConfig::default_for(FieldKind::Date);
        assert_eq!(c.n_levels(), 5);
        assert_eq!(c.level(0.9), 2);
        assert_eq!(c.level(0.7), 3);
        assert_eq!(c.level(0.6), 4);
        assert_eq!(c.level(0.1), 5);
        assert_eq!(c.labels().len(), 6);
    }
}
