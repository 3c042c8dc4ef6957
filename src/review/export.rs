//! `padan review export`: the review queue (the pairs the run decided `review`), or a stratified
//! random sample across every score band (`--sample N --seed S`, to measure quality), as
//! `review.parquet` and `review.csv`.
//!
//! Each row holds ids, scores and words only (no identity): the stable [`pair_id`], both
//! agencies and record ids, the probability and weight, the band, each field's level as a
//! label, the two clusters (`person_id`) the pair would join, and empty `decision`,
//! `reviewer` and `note` columns for the reviewers (docs/file-formats.md §4).
//!
//! The sample is drawn from `candidates.parquet` when the run wrote it (`link
//! --write-candidates`: every compared pair, so the bands below review are there too and recall
//! can be measured), else from `pairs.parquet`. Within each band the pairs are ranked by a
//! keyed hash of the seed and the pair id and the first ones taken: the sample depends on the
//! match set and the seed only, never on file order or thread count.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ahash::AHashMap;
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;

use super::bands::Bands;
use super::{format_pair_id, level_label, pair_key};
use crate::error::{Error, Result};
use crate::io::manifest::Manifest;
use crate::io::matchset::{
    person_id, read_pair_fields, scan_candidates, scan_clusters, scan_pairs, Decision,
    CANDIDATES_FILE, CLUSTERS_FILE, MANIFEST_FILE, PAIRS_FILE,
};
use crate::io::{writer_properties, AtomicFile};

/// The review file names in the output directory.
pub const REVIEW_PARQUET: &str = "review.parquet";
/// The spreadsheet copy.
pub const REVIEW_CSV: &str = "review.csv";

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The pairs decided `review`.
    Queue,
    /// A stratified random sample of `n` pairs across the bands, drawn with `seed`.
    Sample {
        /// Pairs in all.
        n: usize,
        /// The seed.
        seed: u64,
    },
}

/// One pair of the match set, as the review sees it (compact: ids are read again only for the
/// pairs exported, so tens of millions of candidates fit).
#[derive(Debug, Clone, Copy)]
pub struct PopPair {
    /// Its pair id, as a number ([`super::pair_key`]).
    pub key: u128,
    /// Match weight.
    pub weight: f64,
    /// The banded score (probability, or record Dice).
    pub score: f64,
    /// Its band (index into [`Bands::bands`]).
    pub band: usize,
    /// Its 1-based row in the file the population was read from.
    pub file_row: u64,
    /// Its row in `pairs.parquet`, when it is there (at or above review).
    pub pairs_row: Option<u64>,
    /// The run's decision.
    pub decision: Decision,
}

/// Every pair the match set knows: the candidates (when written) or the scored pairs.
#[derive(Debug, Clone)]
pub struct Population {
    /// The match set's manifest.
    pub manifest: Manifest,
    /// Its bands.
    pub bands: Bands,
    /// The pairs, in file order.
    pub pairs: Vec<PopPair>,
    /// Whether they are all compared candidates (else only those at or above review).
    pub from_candidates: bool,
    /// The file they were read from.
    pub source: PathBuf,
}

fn need(dir: &Path, name: &str) -> Result<PathBuf> {
    let p = dir.join(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::input_file(
            &p,
            format!(
                "file not found: is {} a match set written by padan link?",
                dir.display()
            ),
        ))
    }
}

/// The two records of a pair: (left agency, left id), (right agency, right id).
pub type PairRecords = ((String, String), (String, String));

impl Population {
    /// Reads the match set in `dir`.
    pub fn read(dir: &Path) -> Result<Population> {
        let manifest = Manifest::read(&need(dir, MANIFEST_FILE)?)?;
        let bands = Bands::of(&manifest);
        let pairs_path = need(dir, PAIRS_FILE)?;
        let mut pairs = Vec::new();
        let mut row_of: AHashMap<u128, (u64, Decision)> = AHashMap::new();
        scan_pairs(&pairs_path, |r| {
            let key = pair_key(r.left_agency, r.left_id, r.right_agency, r.right_id);
            let score = bands.score(r.match_weight);
            row_of.insert(key, (r.row, r.decision));
            pairs.push(PopPair {
                key,
                weight: r.match_weight,
                score,
                band: bands.index(score),
                file_row: r.row,
                pairs_row: Some(r.row),
                decision: r.decision,
            });
            Ok(())
        })?;
        let cand = dir.join(CANDIDATES_FILE);
        let from_candidates = cand.is_file();
        if from_candidates {
            pairs.clear();
            pairs.shrink_to_fit();
            scan_candidates(&cand, |r| {
                let key = pair_key(r.left_agency, r.left_id, r.right_agency, r.right_id);
                let score = bands.score(r.match_weight);
                let at = row_of.get(&key).copied();
                pairs.push(PopPair {
                    key,
                    weight: r.match_weight,
                    score,
                    band: bands.index(score),
                    file_row: r.row,
                    pairs_row: at.map(|a| a.0),
                    decision: at.map_or(Decision::Below, |a| a.1),
                });
                Ok(())
            })?;
        }
        Ok(Population {
            manifest,
            bands,
            pairs,
            from_candidates,
            source: if from_candidates { cand } else { pairs_path },
        })
    }

    /// Pairs per band.
    pub fn band_sizes(&self) -> Vec<u64> {
        let mut n = vec![0u64; self.bands.bands.len()];
        for p in &self.pairs {
            n[p.band] += 1;
        }
        n
    }

    /// The records of the pairs at the given file rows (read again from the source file).
    pub fn records(&self, rows: &[u64]) -> Result<BTreeMap<u64, PairRecords>> {
        let want: std::collections::BTreeSet<u64> = rows.iter().copied().collect();
        let mut out = BTreeMap::new();
        let mut keep = |row: u64, la: &str, li: &str, ra: &str, ri: &str| {
            if want.contains(&row) {
                out.insert(
                    row,
                    (
                        (la.to_string(), li.to_string()),
                        (ra.to_string(), ri.to_string()),
                    ),
                );
            }
        };
        if self.from_candidates {
            scan_candidates(&self.source, |r| {
                keep(r.row, r.left_agency, r.left_id, r.right_agency, r.right_id);
                Ok(())
            })?;
        } else {
            scan_pairs(&self.source, |r| {
                keep(r.row, r.left_agency, r.left_id, r.right_agency, r.right_id);
                Ok(())
            })?;
        }
        Ok(out)
    }
}

/// Splits `n` over bands of the given sizes: equal shares, a band smaller than its share giving
/// the rest to the others.
pub fn allocate(n: usize, sizes: &[u64]) -> Vec<usize> {
    let mut out = vec![0usize; sizes.len()];
    let mut order: Vec<usize> = (0..sizes.len()).filter(|&b| sizes[b] > 0).collect();
    order.sort_by_key(|&b| (sizes[b], b));
    let mut left = n;
    for (k, &b) in order.iter().enumerate() {
        let share = left / (order.len() - k);
        let take = share.min(sizes[b] as usize);
        out[b] = take;
        left -= take;
    }
    // Whatever rounding left over goes to the largest bands with room, biggest first.
    for &b in order.iter().rev() {
        if left == 0 {
            break;
        }
        let room = sizes[b] as usize - out[b];
        let t = room.min(left);
        out[b] += t;
        left -= t;
    }
    out
}

/// The rank of a pair in the sample drawn with `seed` (lowest first).
pub fn sample_rank(seed: u64, pair_id: &str) -> u64 {
    let mut h = blake3::Hasher::new_derive_key("padan 2026-12 review sample v1");
    h.update(&seed.to_le_bytes());
    h.update(pair_id.as_bytes());
    let d = h.finalize();
    u64::from_le_bytes(d.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// What an export wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ExportSummary {
    /// Rows written.
    pub rows: u64,
    /// Rows per band, by band name (bands with a row).
    pub by_band: BTreeMap<String, (u64, u64)>,
    /// Whether the sample was drawn among all compared candidates.
    pub from_candidates: bool,
    /// The files written.
    pub files: Vec<String>,
}

/// Exports the match set in `dir` into `out` (`review.parquet` and `review.csv`). Refuses to
/// replace an existing review file unless `force` (it may hold a reviewer's work).
pub fn export(dir: &Path, out: &Path, selection: Selection, force: bool) -> Result<ExportSummary> {
    let pop = Population::read(dir)?;
    let sizes = pop.band_sizes();
    let chosen: Vec<usize> = match selection {
        Selection::Queue => {
            let mut v: Vec<usize> = (0..pop.pairs.len())
                .filter(|&i| pop.pairs[i].decision == Decision::Review)
                .collect();
            v.sort_by(|&a, &b| {
                let (x, y) = (&pop.pairs[a], &pop.pairs[b]);
                y.score.total_cmp(&x.score).then(x.key.cmp(&y.key))
            });
            v
        }
        Selection::Sample { n, seed } => {
            let want = allocate(n, &sizes);
            let mut by_band: Vec<Vec<(u64, usize)>> = vec![Vec::new(); sizes.len()];
            for (i, p) in pop.pairs.iter().enumerate() {
                by_band[p.band].push((sample_rank(seed, &format_pair_id(p.key)), i));
            }
            let mut v = Vec::new();
            for (b, mut members) in by_band.into_iter().enumerate().rev() {
                members.sort_unstable_by(|x, y| {
                    x.0.cmp(&y.0)
                        .then_with(|| pop.pairs[x.1].key.cmp(&pop.pairs[y.1].key))
                });
                let mut take: Vec<usize> = members.iter().take(want[b]).map(|m| m.1).collect();
                take.sort_by_key(|&a| pop.pairs[a].key);
                v.extend(take);
            }
            v
        }
    };

    // Clusters: each record's cluster, its person id and size.
    let clusters_path = need(dir, CLUSTERS_FILE)?;
    let mut cluster_of: AHashMap<(String, String), i64> = AHashMap::new();
    let mut smallest: BTreeMap<i64, (String, String)> = BTreeMap::new();
    let mut size: BTreeMap<i64, i64> = BTreeMap::new();
    scan_clusters(&clusters_path, |r| {
        let key = (r.agency.to_string(), r.record_id.to_string());
        let s = smallest.entry(r.cluster_id).or_insert_with(|| key.clone());
        if key < *s {
            *s = key.clone();
        }
        size.insert(r.cluster_id, r.cluster_size);
        cluster_of.insert(key, r.cluster_id);
        Ok(())
    })?;
    let person: BTreeMap<i64, String> = smallest
        .iter()
        .map(|(&c, (a, i))| (c, person_id(a, i)))
        .collect();
    let side = |rec: &(String, String)| -> (Option<String>, Option<i64>) {
        match cluster_of.get(rec) {
            Some(c) => (person.get(c).cloned(), size.get(c).copied()),
            None => (None, None),
        }
    };

    // Labels of the chosen pairs that are in pairs.parquet.
    let fields: Vec<(String, Vec<String>)> = pop
        .manifest
        .model
        .fields
        .iter()
        .map(|f| {
            let mut labels = vec!["null".to_string()];
            let mut levels = f.levels.clone();
            levels.sort_by_key(|l| l.index);
            for l in levels {
                while labels.len() < l.index as usize {
                    labels.push(format!("level {}", labels.len()));
                }
                labels.push(l.label.clone());
            }
            (f.name.clone(), labels)
        })
        .collect();
    let rows: Vec<u64> = chosen
        .iter()
        .filter_map(|&i| pop.pairs[i].pairs_row)
        .collect();
    let pf = if fields.is_empty() {
        Default::default()
    } else {
        read_pair_fields(&dir.join(PAIRS_FILE), &rows)?
    };
    let label_of = |i: usize, f: usize| -> Option<String> {
        let row = pop.pairs[i].pairs_row?;
        let name = &fields[f].0;
        let k = pf.fields.iter().position(|x| x == name)?;
        let level = pf.rows.get(&row)?[k].0;
        Some(level_label(&fields[f].1, level))
    };

    let mut summary = ExportSummary {
        from_candidates: pop.from_candidates,
        ..ExportSummary::default()
    };
    for &i in &chosen {
        let b = &pop.bands.bands[pop.pairs[i].band];
        let e = summary.by_band.entry(b.name.clone()).or_insert((0, 0));
        e.0 += 1;
        e.1 = sizes[pop.pairs[i].band];
    }
    summary.rows = chosen.len() as u64;

    // Columns.
    let p = |i: &usize| &pop.pairs[*i];
    let recs = pop.records(
        &chosen
            .iter()
            .map(|&i| pop.pairs[i].file_row)
            .collect::<Vec<_>>(),
    )?;
    let rec = |i: &usize| -> &PairRecords { &recs[&pop.pairs[*i].file_row] };
    let strs = |f: &dyn Fn(&PairRecords) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            chosen.iter().map(|i| f(rec(i))),
        ))
    };
    let dict = |v: Vec<Option<String>>| -> ArrayRef {
        Arc::new(
            v.iter()
                .map(|s| s.as_deref())
                .collect::<DictionaryArray<Int32Type>>(),
        )
    };
    let dict_type = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let lefts: Vec<_> = chosen.iter().map(|i| side(&rec(i).0)).collect();
    let rights: Vec<_> = chosen.iter().map(|i| side(&rec(i).1)).collect();
    let mut schema = vec![
        Field::new("pair_id", DataType::Utf8, false),
        Field::new("band", dict_type.clone(), false),
        Field::new("band_pairs", DataType::Int64, false),
        Field::new("left_agency", DataType::Utf8, false),
        Field::new("left_id", DataType::Utf8, false),
        Field::new("right_agency", DataType::Utf8, false),
        Field::new("right_id", DataType::Utf8, false),
        Field::new("match_probability", DataType::Float64, true),
        Field::new("match_weight", DataType::Float64, false),
        Field::new("model_decision", dict_type.clone(), false),
        Field::new("same_cluster", DataType::Boolean, true),
        Field::new("left_person_id", DataType::Utf8, true),
        Field::new("right_person_id", DataType::Utf8, true),
        Field::new("left_cluster_size", DataType::Int64, true),
        Field::new("right_cluster_size", DataType::Int64, true),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            chosen.iter().map(|i| format_pair_id(p(i).key)),
        )),
        dict(
            chosen
                .iter()
                .map(|i| Some(pop.bands.bands[p(i).band].name.clone()))
                .collect(),
        ),
        Arc::new(Int64Array::from_iter_values(
            chosen.iter().map(|i| sizes[p(i).band] as i64),
        )),
        strs(&|x| x.0 .0.clone()),
        strs(&|x| x.0 .1.clone()),
        strs(&|x| x.1 .0.clone()),
        strs(&|x| x.1 .1.clone()),
        Arc::new(Float64Array::from_iter(chosen.iter().map(|i| {
            let s = p(i).score;
            pop.bands.probability.then_some(s)
        }))),
        Arc::new(Float64Array::from_iter_values(
            chosen.iter().map(|i| p(i).weight),
        )),
        dict(
            chosen
                .iter()
                .map(|i| Some(p(i).decision.as_str().to_string()))
                .collect(),
        ),
        Arc::new(BooleanArray::from_iter(lefts.iter().zip(&rights).map(
            |(l, r)| l.0.as_ref().zip(r.0.as_ref()).map(|(a, b)| a == b),
        ))),
        Arc::new(StringArray::from_iter(lefts.iter().map(|l| l.0.clone()))),
        Arc::new(StringArray::from_iter(rights.iter().map(|r| r.0.clone()))),
        Arc::new(Int64Array::from_iter(lefts.iter().map(|l| l.1))),
        Arc::new(Int64Array::from_iter(rights.iter().map(|r| r.1))),
    ];
    for (f, (name, _)) in fields.iter().enumerate() {
        schema.push(Field::new(format!("label_{name}"), dict_type.clone(), true));
        cols.push(dict(
            (0..chosen.len()).map(|k| label_of(chosen[k], f)).collect(),
        ));
    }
    for name in ["decision", "reviewer", "note"] {
        schema.push(Field::new(name, DataType::Utf8, true));
        cols.push(Arc::new(StringArray::new_null(chosen.len())));
    }
    let schema = Arc::new(ArrowSchema::new(schema));
    let batch = RecordBatch::try_new(schema.clone(), cols)
        .map_err(|e| Error::Internal(format!("building the review batch: {e}")))?;

    crate::io::matchset::prepare_out_dir(out)?;
    let pq = out.join(REVIEW_PARQUET);
    let csv_path = out.join(REVIEW_CSV);
    if !force {
        for f in [&pq, &csv_path] {
            if f.exists() {
                return Err(Error::config(
                    "--out",
                    format!(
                        "{} exists (it may hold reviewers' decisions); move it away or pass --force",
                        f.display()
                    ),
                ));
            }
        }
    }
    let meta: Vec<(String, String)> = vec![
        ("padan.format".into(), "review".into()),
        ("padan.version".into(), crate::VERSION.into()),
        (
            "padan.review.selection".into(),
            match selection {
                Selection::Queue => "queue".into(),
                Selection::Sample { n, seed } => format!("sample n={n} seed={seed}"),
            },
        ),
        (
            "padan.review.population".into(),
            if pop.from_candidates {
                "candidates".into()
            } else {
                "pairs at or above review".into()
            },
        ),
        (
            "padan.schema_fingerprint".into(),
            pop.manifest.schema_fingerprint.clone(),
        ),
    ];
    let file = AtomicFile::create(&pq)?;
    let props = writer_properties(131_072).build();
    let mut w = ArrowWriter::try_new(file.try_clone()?, schema, Some(props))
        .map_err(|e| Error::format("writing", &pq, e))?;
    w.write(&batch)
        .map_err(|e| Error::format("writing", &pq, e))?;
    for (k, v) in meta {
        w.append_key_value_metadata(KeyValue::new(k, v));
    }
    w.close().map_err(|e| Error::format("writing", &pq, e))?;

    let mut csv_file = AtomicFile::create(&csv_path)?;
    write_csv(csv_file.file(), &batch).map_err(|e| Error::io("writing", &csv_path, e))?;
    file.commit()?;
    csv_file.commit()?;
    summary.files = vec![pq.display().to_string(), csv_path.display().to_string()];
    Ok(summary)
}

/// The batch as CSV (the same columns; empty cells for nulls).
fn write_csv(f: &mut std::fs::File, batch: &RecordBatch) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(f));
    let schema = batch.schema();
    w.write_record(schema.fields().iter().map(|f| f.name().as_str()))?;
    let cols: Vec<Vec<Option<String>>> = batch
        .columns()
        .iter()
        .map(|c| super::table::texts(c.as_ref()).unwrap_or_else(|| vec![None; c.len()]))
        .collect();
    for r in 0..batch.num_rows() {
        w.write_record(cols.iter().map(|c| c[r].as_deref().unwrap_or("")))?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_is_equal_and_gives_what_a_small_band_cannot_take_to_the_others() {
        assert_eq!(
            allocate(400, &[1000, 1000, 1000, 1000]),
            [100, 100, 100, 100]
        );
        assert_eq!(allocate(400, &[10, 0, 1000, 1000]), [10, 0, 195, 195]);
        assert_eq!(allocate(10, &[3, 3, 3]), [3, 3, 3]);
        assert_eq!(allocate(7, &[100, 100]).iter().sum::<usize>(), 7);
        assert_eq!(allocate(5, &[]), Vec::<usize>::new());
    }

    #[test]
    fn the_rank_depends_on_the_seed_and_the_pair_only() {
        assert_eq!(sample_rank(1, "pr-a"), sample_rank(1, "pr-a"));
        assert_ne!(sample_rank(1, "pr-a"), sample_rank(2, "pr-a"));
        assert_ne!(sample_rank(1, "pr-a"), sample_rank(1, "pr-b"));
    }
}
