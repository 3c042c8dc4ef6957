//! [`MatchSetWriter`]: writes a match set, in the arrow-rs writer style: `try_new` → `write_*` →
//! `close`.
//!
//! Every file is written under a temporary name in the match-set directory ([`AtomicFile`]);
//! [`MatchSetWriter::close`] writes the manifest and renames everything into place, the old
//! manifest removed first and the new one renamed last, so a run that dies leaves no
//! complete-looking set. A stale `candidates.parquet` from an earlier run is removed when this
//! run does not write one. Dropped without `close`, the writer removes its temporary files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk};
use parquet::file::metadata::KeyValue;
use rayon::prelude::*;

use super::{
    record_hash_hex, RecordHash, StrList, CANDIDATES_FILE, CHANGES_FILE, CLUSTERS_FILE,
    MANIFEST_FILE, PAIRS_FILE,
};
use crate::error::{Error, Result};
use crate::io::manifest::{Manifest, RUN_FILE};
use crate::io::{writer_properties, AtomicFile};

/// Rows per row group in match-set files.
pub const DEFAULT_MATCHSET_ROW_GROUP: usize = 131_072;

/// The records a match set names, by index: each record's agency and id.
#[derive(Debug, Clone, Copy)]
pub struct RecordIds<'a> {
    /// The agencies, in input order.
    pub agencies: &'a [String],
    /// Agency (index into `agencies`) of each record.
    pub agency_of: &'a [u16],
    /// Id of each record.
    pub ids: &'a [String],
}

impl<'a> RecordIds<'a> {
    fn agency(&self, i: u32) -> &'a str {
        self.agencies[self.agency_of[i as usize] as usize].as_str()
    }

    fn id(&self, i: u32) -> &'a str {
        self.ids[i as usize].as_str()
    }
}

/// The domain-separation label of [`person_ids`] (blake3 key derivation context). Changing it
/// changes every `person_id`: it is part of the match-set format.
pub const PERSON_ID_CONTEXT: &str = "padan 2026-12 person_id v1";

/// The `person_id` of one cluster from its smallest member, by (agency name, record id) in byte
/// order: `p-` and the first 8 bytes, in hex, of blake3 in key-derivation mode under
/// [`PERSON_ID_CONTEXT`] over the agency name's length (u64 little-endian), the agency name and the
/// record id.
pub fn person_id(agency: &str, record_id: &str) -> String {
    let mut h = blake3::Hasher::new_derive_key(PERSON_ID_CONTEXT);
    h.update(&(agency.len() as u64).to_le_bytes());
    h.update(agency.as_bytes());
    h.update(record_id.as_bytes());
    let d = h.finalize();
    let mut s = String::with_capacity(18);
    s.push_str("p-");
    for b in &d.as_bytes()[..8] {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Each record's rank among all records by (agency name, record id) in byte order, ties by
/// index: the order `clusters.parquet` lists a cluster's records in. Records of one agency with
/// ascending ids, agencies in name order (as a run loads them), need no sort.
pub fn record_ranks(records: RecordIds<'_>) -> Vec<u32> {
    let n = records.ids.len();
    // Each agency index's place among the agency names.
    let mut names: Vec<u16> = (0..records.agencies.len() as u16).collect();
    names.sort_by(|&x, &y| records.agencies[x as usize].cmp(&records.agencies[y as usize]));
    let mut place = vec![0u16; names.len()];
    for (k, &a) in names.iter().enumerate() {
        place[a as usize] = k as u16;
    }
    let key = |i: u32| (place[records.agency_of[i as usize] as usize], records.id(i));
    let sorted = (1..n as u32)
        .into_par_iter()
        .with_min_len(4096)
        .all(|i| key(i - 1) <= key(i));
    if sorted {
        return (0..n as u32).collect();
    }
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.par_sort_by(|&x, &y| key(x).cmp(&key(y)));
    let mut rank = vec![0u32; n];
    for (k, &i) in order.iter().enumerate() {
        rank[i as usize] = k as u32;
    }
    rank
}

/// Every cluster's `person_id` (index = cluster id): [`person_id`] of its smallest member. It
/// depends on the cluster's content only, not on the cluster numbering or the input order.
pub fn person_ids(records: RecordIds<'_>, cluster_of: &[u32]) -> StrList {
    person_ids_ranked(records, cluster_of, &record_ranks(records))
}

/// [`person_ids`] with the records' [`record_ranks`].
fn person_ids_ranked(records: RecordIds<'_>, cluster_of: &[u32], rank: &[u32]) -> StrList {
    let n_clusters = cluster_of
        .iter()
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0);
    let mut smallest = vec![u32::MAX; n_clusters];
    for (i, &c) in cluster_of.iter().enumerate() {
        let slot = &mut smallest[c as usize];
        if *slot == u32::MAX || rank[i] < rank[*slot as usize] {
            *slot = i as u32;
        }
    }
    let ids: Vec<String> = smallest
        .par_iter()
        .with_min_len(1024)
        .map(|&i| {
            if i == u32::MAX {
                String::new()
            } else {
                person_id(records.agency(i), records.id(i))
            }
        })
        .collect();
    ids.iter().map(String::as_str).collect()
}

/// One field of one pair in `pairs.parquet`: `sim_<field>` (`None` when the field is missing on
/// a side), `level_<field>` (0 = missing) and `weight_<field>`.
pub type FieldValue = (Option<f32>, i64, f64);

/// The scored pairs of `pairs.parquet`, in output order (record indices into [`RecordIds`]).
#[derive(Debug, Clone, Copy)]
pub struct PairsData<'a> {
    /// The pairs (left, right).
    pub pairs: &'a [(u32, u32)],
    /// Match weights.
    pub weights: &'a [f64],
    /// Match probabilities.
    pub probabilities: &'a [f64],
    /// Decided match (else review).
    pub is_match: &'a [bool],
    /// Cluster of every record.
    pub cluster_of: &'a [u32],
    /// Field names, in schema order (each gets `sim_`, `level_`, `label_` and `weight_` columns).
    pub fields: &'a [String],
    /// Level labels of each field, index 0 = null (`label_<field>`: `missing` for level 0).
    pub labels: &'a [Vec<String>],
    /// A reviewer's verdict on each pair (`verdict`: `match`, `non-match` or null); empty when
    /// the run had no decisions.
    pub verdicts: &'a [Option<&'static str>],
}

/// Writes one match set into a directory.
pub struct MatchSetWriter<'a> {
    dir: PathBuf,
    records: RecordIds<'a>,
    /// `padan.*` metadata shared by every file (without `padan.format`).
    meta: Vec<(String, String)>,
    /// Written files waiting for `close`, by file name (the files may be written in parallel).
    written: Mutex<Vec<(&'static str, AtomicFile)>>,
    /// Each cluster's `person_id`: carried forward from a previous run, else the content rule of
    /// [`person_ids`] (computed on first use).
    persons: OnceLock<StrList>,
    /// Each record's [`record_ranks`] (computed on first use).
    ranks: OnceLock<Vec<u32>>,
    /// Each record's `record_hash` for `clusters.parquet` (none: the column is left out).
    record_hashes: Option<Vec<RecordHash>>,
}

/// Creates `dir` if needed; refuses a path that is a file.
pub fn prepare_out_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::config(
            "--out",
            format!("{} exists and is not a directory", dir.display()),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))
}

fn strings<'s>(it: impl Iterator<Item = &'s str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(it))
}

impl<'a> MatchSetWriter<'a> {
    /// A writer into `dir` (created if needed) for a run described by `manifest` (its
    /// fingerprints, thresholds, model and counts go into every file's metadata).
    pub fn try_new(
        dir: &Path,
        manifest: &Manifest,
        records: RecordIds<'a>,
    ) -> Result<MatchSetWriter<'a>> {
        prepare_out_dir(dir)?;
        let j = |v: serde_json::Value| v.to_string();
        let mut counts = serde_json::to_value(&manifest.counts).unwrap_or_default();
        // Keep Parquet metadata deterministic and compact: no timings, no large lists.
        if let Some(o) = counts.as_object_mut() {
            o.remove("largest_blocks");
        }
        let meta = vec![
            ("padan.version".into(), manifest.padan_version.clone()),
            (
                "padan.schema_fingerprint".into(),
                manifest.schema_fingerprint.clone(),
            ),
            (
                "padan.key_fingerprint".into(),
                manifest.key_fingerprint.clone(),
            ),
            (
                "padan.agencies".into(),
                j(serde_json::to_value(records.agencies).unwrap_or_default()),
            ),
            (
                "padan.thresholds".into(),
                j(serde_json::to_value(&manifest.thresholds).unwrap_or_default()),
            ),
            (
                "padan.model".into(),
                j(serde_json::to_value(&manifest.model).unwrap_or_default()),
            ),
            ("padan.counts".into(), j(counts)),
        ];
        Ok(MatchSetWriter {
            dir: dir.to_path_buf(),
            records,
            meta,
            written: Mutex::new(Vec::new()),
            persons: OnceLock::new(),
            ranks: OnceLock::new(),
            record_hashes: None,
        })
    }

    /// Uses `persons` (index = cluster id) as the clusters' `person_id`s instead of the content
    /// rule (`padan link --previous` carries ids forward).
    pub fn set_person_ids(&mut self, persons: StrList) {
        self.persons = OnceLock::from(persons);
    }

    /// Uses `ranks` as the records' [`record_ranks`] (a caller that has them already).
    pub fn set_record_ranks(&mut self, ranks: Vec<u32>) {
        self.ranks = OnceLock::from(ranks);
    }

    /// Writes `hashes` (index = record) as the `record_hash` column of `clusters.parquet`.
    pub fn set_record_hashes(&mut self, hashes: Vec<RecordHash>) {
        self.record_hashes = Some(hashes);
    }

    fn ranks(&self) -> &[u32] {
        self.ranks.get_or_init(|| record_ranks(self.records))
    }

    /// Each cluster's `person_id` (the carried ones, else the content rule).
    pub fn persons_of(&self, cluster_of: &[u32]) -> &StrList {
        self.persons
            .get_or_init(|| person_ids_ranked(self.records, cluster_of, self.ranks()))
    }

    pub(super) fn write_file(
        &self,
        name: &'static str,
        format: &str,
        fields: Vec<Field>,
        columns: Vec<ArrayRef>,
    ) -> Result<()> {
        let path = self.dir.join(name);
        let file = AtomicFile::create(&path)?;
        let schema = Arc::new(ArrowSchema::new(fields));
        let props = writer_properties(DEFAULT_MATCHSET_ROW_GROUP).build();
        let mut w = crate::io::arrow_writer(file.try_clone()?, schema.clone(), props, &path)?;
        let batch = RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| Error::Internal(format!("building a match-set batch: {e}")))?;
        let mut kv = vec![KeyValue::new("padan.format".into(), format.to_string())];
        kv.extend(
            self.meta
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        );
        crate::io::append_metadata(&mut w, kv);
        // Row groups of DEFAULT_MATCHSET_ROW_GROUP rows, every column of every row group encoded
        // in parallel, then appended in order: the bytes the Arrow writer writes alone.
        let (mut fw, factory) = w
            .into_serialized_writer()
            .map_err(|e| Error::format("writing", &path, e))?;
        let n = batch.num_rows();
        let slices: Vec<RecordBatch> = (0..n)
            .step_by(DEFAULT_MATCHSET_ROW_GROUP)
            .map(|start| batch.slice(start, DEFAULT_MATCHSET_ROW_GROUP.min(n - start)))
            .collect();
        let writers = (0..slices.len())
            .map(|rg| factory.create_column_writers(rg))
            .collect::<parquet::errors::Result<Vec<_>>>()
            .map_err(|e| Error::format("writing", &path, e))?;
        let encoded: Vec<parquet::errors::Result<Vec<ArrowColumnChunk>>> = slices
            .par_iter()
            .zip(writers)
            .map(|(b, writers)| {
                let mut leaves = Vec::with_capacity(writers.len());
                for (field, col) in schema.fields().iter().zip(b.columns()) {
                    leaves.extend(compute_leaves(field, col)?);
                }
                writers
                    .into_par_iter()
                    .zip(leaves)
                    .map(|(mut w, leaf)| {
                        w.write(&leaf)?;
                        w.close()
                    })
                    .collect()
            })
            .collect();
        for chunks in encoded {
            let chunks = chunks.map_err(|e| Error::format("writing", &path, e))?;
            let mut rg = fw
                .next_row_group()
                .map_err(|e| Error::format("writing", &path, e))?;
            for c in chunks {
                c.append_to_row_group(&mut rg)
                    .map_err(|e| Error::format("writing", &path, e))?;
            }
            rg.close().map_err(|e| Error::format("writing", &path, e))?;
        }
        fw.close().map_err(|e| Error::format("writing", &path, e))?;
        self.written
            .lock()
            .map_err(|_| Error::Internal("a match-set file writer panicked".into()))?
            .push((name, file));
        Ok(())
    }

    /// Writes `pairs.parquet`; `field(f, left, right)` gives field `f` of a pair.
    pub fn write_pairs(
        &self,
        p: &PairsData<'_>,
        field: impl Fn(usize, u32, u32) -> FieldValue + Sync,
    ) -> Result<()> {
        let r = self.records;
        let ab = p.pairs;
        let mut fields = vec![
            Field::new("left_agency", DataType::Utf8, false),
            Field::new("left_id", DataType::Utf8, false),
            Field::new("right_agency", DataType::Utf8, false),
            Field::new("right_id", DataType::Utf8, false),
            Field::new("match_weight", DataType::Float64, false),
            Field::new("match_probability", DataType::Float64, false),
            Field::new("decision", DataType::Utf8, false),
            Field::new("cluster_id", DataType::Int64, false),
            Field::new("person_id", DataType::Utf8, false),
            Field::new("same_cluster", DataType::Boolean, false),
            Field::new("verdict", DataType::Utf8, true),
        ];
        let c = p.cluster_of;
        let persons = self.persons_of(c);
        let mut cols: Vec<ArrayRef> = vec![
            strings(ab.iter().map(|&(a, _)| r.agency(a))),
            strings(ab.iter().map(|&(a, _)| r.id(a))),
            strings(ab.iter().map(|&(_, b)| r.agency(b))),
            strings(ab.iter().map(|&(_, b)| r.id(b))),
            Arc::new(Float64Array::from(p.weights.to_vec())),
            Arc::new(Float64Array::from(p.probabilities.to_vec())),
            strings(
                p.is_match
                    .iter()
                    .map(|&m| if m { "match" } else { "review" }),
            ),
            Arc::new(Int64Array::from_iter_values(
                ab.iter().map(|&(a, _)| c[a as usize] as i64),
            )),
            strings(ab.iter().map(|&(a, _)| persons.get(c[a as usize] as usize))),
            Arc::new(BooleanArray::from_iter(
                ab.iter()
                    .map(|&(a, b)| Some(c[a as usize] == c[b as usize])),
            )),
            Arc::new(StringArray::from_iter(
                (0..ab.len()).map(|i| p.verdicts.get(i).copied().flatten()),
            )),
        ];
        for (f, name) in p.fields.iter().enumerate() {
            let v: Vec<FieldValue> = ab
                .par_iter()
                .with_min_len(4096)
                .map(|&(a, b)| field(f, a, b))
                .collect();
            fields.push(Field::new(format!("sim_{name}"), DataType::Float32, true));
            fields.push(Field::new(format!("level_{name}"), DataType::Int64, false));
            fields.push(Field::new(
                format!("label_{name}"),
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                false,
            ));
            fields.push(Field::new(
                format!("weight_{name}"),
                DataType::Float64,
                false,
            ));
            let none = Vec::new();
            let labels = p.labels.get(f).unwrap_or(&none);
            let words: Vec<String> = (0..labels.len().max(1) as i64 + 1)
                .map(|l| crate::review::level_label(labels, l))
                .collect();
            cols.push(Arc::new(Float32Array::from_iter(v.iter().map(|x| x.0))));
            cols.push(Arc::new(Int64Array::from_iter_values(
                v.iter().map(|x| x.1),
            )));
            cols.push(Arc::new(
                v.iter()
                    .map(|x| {
                        Some(match words.get(x.1.max(0) as usize) {
                            Some(w) => w.as_str(),
                            None => "level ?",
                        })
                    })
                    .collect::<DictionaryArray<Int32Type>>(),
            ));
            cols.push(Arc::new(Float64Array::from_iter_values(
                v.iter().map(|x| x.2),
            )));
        }
        debug_assert!(cols.iter().all(|col| col.len() == ab.len()));
        self.write_file(PAIRS_FILE, "pairs", fields, cols)
    }

    /// Writes `clusters.parquet`: every record once, by cluster, then agency, then id.
    pub fn write_clusters(&self, cluster_of: &[u32]) -> Result<()> {
        let r = self.records;
        let rank = self.ranks();
        // By cluster, then (agency, id) with ties by index: (cluster, rank) packed.
        let mut keys: Vec<u64> = cluster_of
            .par_iter()
            .zip(rank.par_iter())
            .map(|(&c, &k)| (u64::from(c) << 32) | u64::from(k))
            .collect();
        keys.par_sort_unstable();
        let mut by_rank = vec![0u32; rank.len()];
        for (i, &k) in rank.iter().enumerate() {
            by_rank[k as usize] = i as u32;
        }
        let order: Vec<u32> = keys
            .iter()
            .map(|&k| by_rank[(k & 0xffff_ffff) as usize])
            .collect();
        drop(keys);
        drop(by_rank);
        let n_clusters = cluster_of
            .iter()
            .map(|&c| c as usize + 1)
            .max()
            .unwrap_or(0);
        let mut size = vec![0i64; n_clusters];
        // Distinct agencies per cluster: the records in `order` are grouped by cluster and
        // ascending by agency within it.
        let mut agencies = vec![0i64; n_clusters];
        for (k, &i) in order.iter().enumerate() {
            let c = cluster_of[i as usize] as usize;
            size[c] += 1;
            let prev = (k > 0).then(|| order[k - 1] as usize);
            if prev.is_none_or(|p| {
                cluster_of[p] as usize != c || r.agency_of[p] != r.agency_of[i as usize]
            }) {
                agencies[c] += 1;
            }
        }
        let persons = self.persons_of(cluster_of);
        let mut fields = vec![
            Field::new("cluster_id", DataType::Int64, false),
            Field::new("person_id", DataType::Utf8, false),
            Field::new("agency", DataType::Utf8, false),
            Field::new("record_id", DataType::Utf8, false),
            Field::new("cluster_size", DataType::Int64, false),
            Field::new("agency_count", DataType::Int64, false),
        ];
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(
                order.iter().map(|&i| cluster_of[i as usize] as i64),
            )),
            strings(
                order
                    .iter()
                    .map(|&i| persons.get(cluster_of[i as usize] as usize)),
            ),
            strings(order.iter().map(|&i| r.agency(i))),
            strings(order.iter().map(|&i| r.id(i))),
            Arc::new(Int64Array::from_iter_values(
                order.iter().map(|&i| size[cluster_of[i as usize] as usize]),
            )),
            Arc::new(Int64Array::from_iter_values(
                order
                    .iter()
                    .map(|&i| agencies[cluster_of[i as usize] as usize]),
            )),
        ];
        if let Some(h) = &self.record_hashes {
            fields.push(Field::new("record_hash", DataType::Utf8, false));
            let hex: Vec<[u8; 32]> = order
                .par_iter()
                .with_min_len(4096)
                .map(|&i| record_hash_hex(&h[i as usize]))
                .collect();
            cols.push(strings(
                hex.iter()
                    .map(|x| std::str::from_utf8(x).expect("hex digits are ASCII")),
            ));
        }
        self.write_file(CLUSTERS_FILE, "clusters", fields, cols)
    }

    /// Writes `candidates.parquet`: every compared pair with its weight.
    pub fn write_candidates(&self, pairs: &[(u32, u32)], weights: &[f64]) -> Result<()> {
        let r = self.records;
        let fields = vec![
            Field::new("left_agency", DataType::Utf8, false),
            Field::new("left_id", DataType::Utf8, false),
            Field::new("right_agency", DataType::Utf8, false),
            Field::new("right_id", DataType::Utf8, false),
            Field::new("match_weight", DataType::Float64, false),
        ];
        let cols: Vec<ArrayRef> = vec![
            strings(pairs.iter().map(|&(a, _)| r.agency(a))),
            strings(pairs.iter().map(|&(a, _)| r.id(a))),
            strings(pairs.iter().map(|&(_, b)| r.agency(b))),
            strings(pairs.iter().map(|&(_, b)| r.id(b))),
            Arc::new(Float64Array::from(weights.to_vec())),
        ];
        self.write_file(CANDIDATES_FILE, "candidates", fields, cols)
    }

    /// Records the written files in `manifest.outputs`, writes the manifest and renames every
    /// file into place (the old manifest removed first, the new one last).
    pub fn close(self, manifest: &mut Manifest) -> Result<()> {
        let written = self
            .written
            .into_inner()
            .map_err(|_| Error::Internal("a match-set file writer panicked".into()))?;
        let has = |name: &str| written.iter().any(|(n, _)| *n == name);
        let output = |name: &'static str| has(name).then(|| name.to_string());
        manifest.outputs = BTreeMap::from([
            ("pairs".to_string(), output(PAIRS_FILE)),
            ("clusters".to_string(), output(CLUSTERS_FILE)),
            ("candidates".to_string(), output(CANDIDATES_FILE)),
        ]);
        if has(CHANGES_FILE) {
            manifest
                .outputs
                .insert("changes".to_string(), output(CHANGES_FILE));
        }
        let manifest_path = self.dir.join(MANIFEST_FILE);
        let mut staged_manifest = AtomicFile::create(&manifest_path)?;
        std::io::Write::write_all(staged_manifest.file(), manifest.to_json()?.as_bytes())
            .map_err(|e| Error::io("writing", &manifest_path, e))?;

        // Move into place: an old manifest goes first (so a half-replaced set has none), and
        // an old run log with it (the caller writes this run's after close).
        for old in [manifest_path.clone(), self.dir.join(RUN_FILE)] {
            if old.exists() {
                std::fs::remove_file(&old).map_err(|e| Error::io("removing", &old, e))?;
            }
        }
        for name in [CANDIDATES_FILE, CHANGES_FILE] {
            let stale = self.dir.join(name);
            if !has(name) && stale.exists() {
                std::fs::remove_file(&stale).map_err(|e| Error::io("removing", &stale, e))?;
            }
        }
        let mut written = written;
        // pairs, clusters, candidates in that order, whatever order they were written in.
        written.sort_by_key(|(n, _)| {
            [PAIRS_FILE, CLUSTERS_FILE, CANDIDATES_FILE, CHANGES_FILE]
                .iter()
                .position(|x| x == n)
        });
        for (_, f) in written {
            f.commit()?;
        }
        staged_manifest.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids_of<'a>(
        agencies: &'a [String],
        agency_of: &'a [u16],
        ids: &'a [String],
    ) -> RecordIds<'a> {
        RecordIds {
            agencies,
            agency_of,
            ids,
        }
    }

    #[test]
    fn a_person_id_comes_from_the_smallest_member_not_the_numbering_or_the_order() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // Records: kemlu k-2, kemlu k-1, polri p-1, polri p-9; clusters {k-2, p-1}, {k-1}, {p-9}.
        let agencies = s(&["kemlu", "polri"]);
        let ids = s(&["k-2", "k-1", "p-1", "p-9"]);
        let a = person_ids(ids_of(&agencies, &[0, 0, 1, 1], &ids), &[0, 1, 0, 2]);
        assert_eq!(a.get(0), person_id("kemlu", "k-2"));
        assert_eq!(a.get(1), person_id("kemlu", "k-1"));
        assert_eq!(a.get(2), person_id("polri", "p-9"));
        // The same people with agencies, records and cluster numbers in another order.
        let agencies2 = s(&["polri", "kemlu"]);
        let ids2 = s(&["p-9", "p-1", "k-1", "k-2"]);
        let b = person_ids(ids_of(&agencies2, &[0, 0, 1, 1], &ids2), &[2, 0, 1, 0]);
        assert_eq!(
            (b.get(0), b.get(1), b.get(2)),
            (a.get(0), a.get(1), a.get(2))
        );
        // Distinct people, distinct ids; the format: "p-" and 16 hex digits.
        assert!(a.get(0) != a.get(1) && a.get(1) != a.get(2) && a.get(0) != a.get(2));
        assert!(a.iter().all(|p| p.len() == 18
            && p.starts_with("p-")
            && p[2..].bytes().all(|c| c.is_ascii_hexdigit())));
        // The agency/id boundary is part of the input: ("ab", "c") and ("a", "bc") differ.
        assert_ne!(person_id("ab", "c"), person_id("a", "bc"));
    }

    #[test]
    fn record_ranks_order_by_agency_name_then_id_ties_by_index() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // Agency 0 is "polri", 1 is "kemlu": kemlu's records come first.
        let agencies = s(&["polri", "kemlu"]);
        let ids = s(&["b", "a", "z", "a", "z"]);
        let r = record_ranks(ids_of(&agencies, &[0, 0, 1, 1, 1], &ids));
        assert_eq!(r, vec![4, 3, 1, 0, 2]);
        // Already in order: the identity.
        let ids = s(&["a", "b", "a", "c"]);
        let r = record_ranks(ids_of(&agencies, &[1, 1, 0, 0], &ids));
        assert_eq!(r, vec![0, 1, 2, 3]);
    }

    #[test]
    fn person_id_known_answer() {
        // Pinned: a change here changes every person id in every match set (a format change).
        assert_eq!(person_id("kemlu", "KML-2022-000001"), KNOWN);
    }

    const KNOWN: &str = "p-d580eb8bbf32be03";
}
