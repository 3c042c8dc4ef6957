//! `padan report`: the auditors' threshold report, one self-contained HTML file.
//!
//! [`load`] reads a match set with the readers of [`crate::io::matchset`] and
//! [`crate::io::manifest`] (and an optional truth file with [`crate::io::truth`], so `report
//! --truth` judges a file as `evaluate --truth` does) into a [`ReportData`] of counts, scores and
//! record ids only; [`html::render`] turns it into the page; [`svg`] draws the charts. Nothing here
//! reads a filter or a token: the match set holds none, and the report never embeds any string it
//! was not given as an id, a name of a field, agency or level, or a number.
//!
//! The readers stream batch by batch, and the report keeps only what it needs: one weight,
//! probability and decision per pair, the few pairs shown as waterfalls (their per-field columns
//! read in a second pass), and per-cluster agency counts.

pub mod changes;
pub mod fmt;
pub mod html;
pub mod svg;
pub mod sweep;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::Result;
use crate::io::lookup::Lookup;
pub use crate::io::manifest::Manifest;
pub use crate::io::matchset::Decision;
use crate::io::matchset::{
    pair_field_names, read_pair_fields, scan_candidates, scan_clusters, scan_pairs, PairRow,
    CANDIDATES_FILE, CLUSTERS_FILE, MANIFEST_FILE, PAIRS_FILE,
};
use crate::io::truth::Truth;
use crate::scoring::{probability_from_weight, weight_for_probability};

/// Pairs shown as waterfalls on each side of each threshold.
pub const WATERFALLS_PER_SIDE: usize = 2;

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
    /// The pair as `pairs.parquet` holds it.
    pub pair: PairRow,
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
    /// Decoys added to the truth from `--lookup` files (each a person of its own).
    pub decoys: u64,
    /// One per agency none of whose linked records is in the truth (pseudonymized ids without
    /// `--lookup`?), worded as `padan evaluate` words them.
    pub warnings: Vec<String>,
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
    /// Quality measured from reviewers' verdicts, with `--decisions`.
    pub measured: Option<crate::review::measure::Measurement>,
    /// What changed since the previous run (`changes.parquet`, from `padan link --previous`).
    pub changes: Option<changes::ChangeStats>,
}

/// Loads a match set (and optional truth CSV `agency,record_id,person_id`) for the report.
pub fn load(dir: &Path, truth: Option<&Path>) -> Result<ReportData> {
    load_with_lookups(dir, truth, &[])
}

/// [`load`] for pseudonymized agencies: each `(agency, lookup)` maps that agency's truth ids to
/// its pseudonyms and adds its decoys to the truth, each as a person of its own — as
/// [`crate::evaluate::evaluate_with_lookups`] does, so both judge a match set alike.
pub fn load_with_lookups(
    dir: &Path,
    truth: Option<&Path>,
    lookups: &[(String, Lookup)],
) -> Result<ReportData> {
    let manifest = Manifest::read(&dir.join(MANIFEST_FILE))?;
    let prior = manifest.model.prior();
    let lambda = manifest.model.lambda;
    let t = &manifest.thresholds;
    // The weight scale as recorded, or derived from the probability (NaN: not recorded).
    let weight = |w: f64, p: f64| {
        if !w.is_nan() {
            Some(w)
        } else if !p.is_nan() {
            Some(weight_for_probability(p, prior))
        } else {
            None
        }
    };
    let match_weight = weight(t.match_weight, t.match_probability);
    let review_weight = weight(t.review_weight, t.review_probability);

    let mut truth = truth.map(Truth::read).transpose()?;
    let mut decoys = 0;
    if let Some(t) = truth.as_mut() {
        for (agency, lookup) in lookups {
            decoys += t.apply_lookup(agency, lookup)?;
        }
    }
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
    let (clusters, persons, known_by_agency) =
        read_clusters(&dir.join(CLUSTERS_FILE), &manifest, truth.as_ref())?;
    data.clusters = clusters;
    if let (Some(tm), Some(persons)) = (&truth, persons) {
        let known = persons.len() as u64;
        let by_agency = data
            .clusters
            .agencies
            .iter()
            .zip(&data.clusters.records_by_agency)
            .zip(&known_by_agency)
            .map(|((a, &records), &found)| (a.clone(), (records, found)))
            .collect();
        data.truth = Some(TruthStats {
            truth_rows: tm.rows,
            records_known: known,
            records_unknown: data.clusters.records - known,
            true_pairs: crate::metrics::true_pair_count(&persons),
            candidate_true_pairs: None,
            decoys,
            warnings: crate::evaluate::missing_agencies(&by_agency, lookups),
        });
    }

    let pairs_path = dir.join(PAIRS_FILE);
    let (pairs, waterfalls) = read_pairs(
        &pairs_path,
        &manifest.model,
        [match_weight, review_weight],
        truth.as_ref(),
    )?;
    if data.fields.is_empty() {
        data.fields = pair_field_names(&pairs_path)?;
    }
    data.pairs = pairs;
    data.waterfalls = waterfalls;

    let cpath = dir.join(CANDIDATES_FILE);
    if cpath.exists() {
        let decide = |w: f64| match (match_weight, review_weight) {
            (Some(m), _) if w >= m => Decision::Match,
            (_, Some(r)) if w >= r => Decision::Review,
            (None, None) => Decision::Review,
            _ => Decision::Below,
        };
        let cands = read_candidates(&cpath, lambda, decide, truth.as_ref())?;
        if let (Some(ts), Some(flags)) = (data.truth.as_mut(), cands.is_true.as_ref()) {
            ts.candidate_true_pairs = Some(flags.iter().filter(|b| **b).count() as u64);
        }
        data.candidates = Some(cands);
    }
    data.changes = changes::load(dir)?;
    data.manifest = manifest;
    Ok(data)
}

/// Loads a match set and writes the report to `out` (under a temporary name, then renamed).
pub fn write_report(dir: &Path, truth: Option<&Path>, out: &Path) -> Result<ReportData> {
    write_report_with(dir, truth, &[], &[], out)
}

/// [`write_report`] with lookups for pseudonymized agencies (see [`load_with_lookups`]) and
/// reviewers' verdicts on a labelled sample (`--decisions`: the section "Measured quality" gets
/// precision and recall per band).
pub fn write_report_with(
    dir: &Path,
    truth: Option<&Path>,
    lookups: &[(String, Lookup)],
    decisions: &[std::path::PathBuf],
    out: &Path,
) -> Result<ReportData> {
    let mut data = load_with_lookups(dir, truth, lookups)?;
    if !decisions.is_empty() {
        let d = crate::review::Decisions::read(decisions)?;
        let pop = crate::review::export::Population::read(dir)?;
        data.measured = Some(crate::review::measure::measure(&pop, &d));
    }
    let page = html::render(&data);
    let mut file = crate::io::AtomicFile::create(out)?;
    std::io::Write::write_all(file.file(), page.as_bytes())
        .map_err(|e| crate::error::Error::io("writing", out, e))?;
    file.commit()?;
    Ok(data)
}

/// Whether the truth says two records are one person (false when either is unknown).
fn same_person(truth: &Truth, a: (&str, &str), b: (&str, &str)) -> bool {
    match (truth.person_of(a.0, a.1), truth.person_of(b.0, b.1)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Best-k pairs near one threshold on one side (kept sorted by distance, first seen wins ties).
struct NearSide {
    threshold: f64,
    above: bool,
    label: String,
    /// (distance, row in pairs.parquet, the pair without its parts).
    best: Vec<(f64, u64, WaterfallPair)>,
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

    fn push(&mut self, d: f64, row: u64, p: WaterfallPair) {
        let at = self.best.partition_point(|b| b.0 <= d);
        self.best.insert(at, (d, row, p));
        self.best.truncate(WATERFALLS_PER_SIDE);
    }
}

type PairsOut = (ScoreSet, Vec<WaterfallPair>);

fn read_pairs(
    path: &Path,
    model: &crate::io::manifest::ModelInfo,
    thresholds: [Option<f64>; 2],
    truth: Option<&Truth>,
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
    let mut out = ScoreSet {
        is_true: truth.map(|_| Vec::new()),
        ..ScoreSet::default()
    };
    scan_pairs(path, |p| {
        out.weights.push(p.match_weight);
        out.probabilities.push(p.match_probability);
        out.decisions.push(p.decision);
        let t = truth
            .map(|tm| same_person(tm, (p.left_agency, p.left_id), (p.right_agency, p.right_id)));
        if let (Some(v), Some(t)) = (out.is_true.as_mut(), t) {
            v.push(t);
        }
        for side in sides.iter_mut() {
            let Some(dist) = side.wants(p.match_weight) else {
                continue;
            };
            let pair = WaterfallPair {
                near: side.label.clone(),
                pair: p.to_row(),
                parts: Vec::new(),
                is_true: t,
            };
            side.push(dist, p.row, pair);
        }
        Ok(())
    })?;
    let mut shown: Vec<(u64, WaterfallPair)> = Vec::new();
    for s in sides {
        for (_, row, p) in s.best {
            let dup = shown.iter().any(|(_, q)| q.pair.same_records(&p.pair));
            if !dup {
                shown.push((row, p));
            }
        }
    }
    // Second pass: the per-field columns of the shown pairs only.
    let rows: Vec<u64> = shown.iter().map(|(r, _)| *r).collect();
    let pf = read_pair_fields(path, &rows)?;
    let level_label = |f: &str, level: i64| -> String {
        if level == 0 {
            return "missing".into();
        }
        model
            .fields
            .iter()
            .find(|x| x.name == f)
            .and_then(|x| x.levels.iter().find(|l| i64::from(l.index) == level))
            .map(|l| l.label.clone())
            .unwrap_or_else(|| format!("level {level}"))
    };
    let waterfalls = shown
        .into_iter()
        .map(|(row, mut p)| {
            if let Some(parts) = pf.rows.get(&row) {
                p.parts = pf
                    .fields
                    .iter()
                    .zip(parts)
                    .map(|(f, &(level, weight))| FieldPart {
                        field: f.clone(),
                        level,
                        label: level_label(f, level),
                        weight: if weight.is_nan() { 0.0 } else { weight },
                    })
                    .collect();
            }
            p
        })
        .collect();
    Ok((out, waterfalls))
}

fn read_candidates(
    path: &Path,
    lambda: f64,
    decide: impl Fn(f64) -> Decision,
    truth: Option<&Truth>,
) -> Result<ScoreSet> {
    let mut out = ScoreSet {
        is_true: truth.map(|_| Vec::new()),
        ..ScoreSet::default()
    };
    scan_candidates(path, |c| {
        let x = c.match_weight;
        out.weights.push(x);
        out.probabilities.push(probability_from_weight(x, lambda));
        out.decisions.push(decide(x));
        if let (Some(tm), Some(v)) = (truth, out.is_true.as_mut()) {
            v.push(same_person(
                tm,
                (c.left_agency, c.left_id),
                (c.right_agency, c.right_id),
            ));
        }
        Ok(())
    })?;
    Ok(out)
}

/// The cluster statistics; with a truth, the person of every linked record found in it; and per
/// agency (in [`ClusterStats::agencies`] order) the linked records found in the truth.
type ClusterRead = (ClusterStats, Option<Vec<u64>>, Vec<u64>);

/// Reads clusters.parquet (see [`ClusterRead`]).
fn read_clusters(path: &Path, manifest: &Manifest, truth: Option<&Truth>) -> Result<ClusterRead> {
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
    let mut known_by_agency: Vec<u64> = vec![0; agencies.len()];
    scan_clusters(path, |r| {
        let a = r.agency;
        let ai = match index.get(a) {
            Some(x) => *x,
            None => {
                let x = agencies.len() as u16;
                agencies.push(a.to_string());
                known_by_agency.push(0);
                index.insert(a.to_string(), x);
                x
            }
        };
        rows.push((r.cluster_id, ai));
        if let (Some(tm), Some(ps)) = (truth, persons.as_mut()) {
            if let Some(p) = tm.person_of(a, r.record_id) {
                ps.push(p);
                known_by_agency[ai as usize] += 1;
            }
        }
        Ok(())
    })?;
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
    Ok((st, persons, known_by_agency))
}

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests;
