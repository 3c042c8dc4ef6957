//! `padan reveal`: at an agency, map a match set back to the agency's own record ids.
//!
//! The match set names this agency's records by pseudonym (`padan encode --pseudonymize-ids`);
//! the agency's lookup (which never left it) resolves them and tells its decoys apart. Reveal
//! drops every decoy of this agency — the cluster memberships and the pairs they are in — and
//! recomputes the cluster sizes without them; other agencies' records keep the ids they came with
//! (their pseudonyms stay pseudonyms, their decoys are not known here). The output is one Parquet
//! file an analyst joins to the agency's case files on `own_record_id` (docs/file-formats.md §3).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ahash::AHashMap;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use parquet::file::metadata::KeyValue;

use crate::error::{Error, Location, Result};
use crate::io::lookup::{Lookup, LookupEntry};
use crate::io::manifest::Manifest;
use crate::io::matchset::{
    read_changes, read_cluster_persons, scan_clusters, scan_pairs, Decision, CHANGES_FILE,
    CLUSTERS_FILE, MANIFEST_FILE, PAIRS_FILE,
};
use crate::io::{writer_properties, AtomicFile};

/// Rows per row group of the revealed file.
pub const DEFAULT_REVEAL_ROW_GROUP: usize = 131_072;

/// The default output: `DIR/revealed-AGENCY.parquet` (characters other than letters, digits,
/// `.`, `-` and `_` in the agency name become `_`).
pub fn default_output(dir: &Path, agency: &str) -> PathBuf {
    let safe: String = agency
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("revealed-{safe}.parquet"))
}

/// What a reveal run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RevealSummary {
    /// This agency's records in the match set (real and decoys).
    pub records: u64,
    /// Of them, decoys (dropped).
    pub decoys_dropped: u64,
    /// Real records resolved to the agency's own ids.
    pub own_records: u64,
    /// Own records linked to at least one other record (same cluster or scored pair).
    pub own_records_linked: u64,
    /// Pairs involving this agency kept.
    pub pairs_kept: u64,
    /// Pairs involving one of this agency's decoys, dropped.
    pub pairs_dropped: u64,
    /// Lookup entries whose pseudonym is not in the match set (e.g. a lookup of a later run).
    pub lookup_not_in_match_set: u64,
    /// Rows written.
    pub rows: u64,
}

/// One member of a cluster, as this agency sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Member {
    agency: String,
    /// Own records: the resolved own id; others: the id as it came.
    id: String,
    own: bool,
}

#[derive(Debug, Clone, Copy)]
struct PairInfo {
    weight: f64,
    probability: f64,
    decision: Decision,
}

/// One output row.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    cluster_id: i64,
    own_record_id: String,
    cluster_size: i64,
    agency_count: i64,
    other: Option<(String, String)>,
    same_cluster: bool,
    pair: Option<(f64, f64, &'static str)>,
}

fn not_found(path: &Path, dir: &Path) -> Error {
    Error::input_file(
        path,
        format!(
            "file not found: is {} a match set written by padan link?",
            dir.display()
        ),
    )
}

/// Resolves one of this agency's pseudonyms; `None` for a decoy.
fn resolve<'a>(
    lookup: &'a Lookup,
    agency: &str,
    pseudonym: &str,
    file: &Path,
    row: u64,
    column: &str,
) -> Result<Option<&'a str>> {
    match lookup.get(pseudonym) {
        Some(LookupEntry::Record(id)) => Ok(Some(id)),
        Some(LookupEntry::Decoy) => Ok(None),
        None => Err(Error::input(
            Location {
                file: Some(file.to_path_buf()),
                line: Some(row),
                column: Some(column.into()),
            },
            format!(
                "this record of agency '{agency}' is not in the lookup {} (the lookup of another agency or of another encode run?)",
                lookup.path.display()
            ),
        )),
    }
}

/// Reveals the match set in `dir` for `agency` with its `lookup`, writing `out`.
pub fn reveal(dir: &Path, agency: &str, lookup_path: &Path, out: &Path) -> Result<RevealSummary> {
    let clusters_path = dir.join(CLUSTERS_FILE);
    let pairs_path = dir.join(PAIRS_FILE);
    let manifest_path = dir.join(MANIFEST_FILE);
    for p in [&clusters_path, &pairs_path, &manifest_path] {
        if !p.is_file() {
            return Err(not_found(p, dir));
        }
    }
    let manifest = Manifest::read(&manifest_path)?;
    let agencies = manifest.agencies();
    if !agencies.iter().any(|a| a == agency) {
        return Err(Error::config(
            "--agency",
            format!(
                "agency '{agency}' is not in the match set {} (its agencies: {})",
                dir.display(),
                agencies.join(", ")
            ),
        ));
    }
    let lookup = Lookup::read(lookup_path)?;

    // Clusters: every record once. This agency's records are resolved (or dropped as decoys).
    let mut summary = RevealSummary::default();
    let mut clusters: BTreeMap<i64, Vec<Member>> = BTreeMap::new();
    let mut seen_pseudonyms = 0u64;
    let mut first_missing: Option<Error> = None;
    scan_clusters(&clusters_path, |r| {
        if r.agency != agency {
            clusters.entry(r.cluster_id).or_default().push(Member {
                agency: r.agency.to_string(),
                id: r.record_id.to_string(),
                own: false,
            });
            return Ok(());
        }
        summary.records += 1;
        match resolve(
            &lookup,
            agency,
            r.record_id,
            &clusters_path,
            r.row,
            "record_id",
        ) {
            Ok(Some(id)) => {
                seen_pseudonyms += 1;
                summary.own_records += 1;
                clusters.entry(r.cluster_id).or_default().push(Member {
                    agency: agency.to_string(),
                    id: id.to_string(),
                    own: true,
                });
            }
            Ok(None) => {
                seen_pseudonyms += 1;
                summary.decoys_dropped += 1;
            }
            Err(e) => {
                if first_missing.is_none() {
                    first_missing = Some(e);
                }
            }
        }
        Ok(())
    })?;
    if let Some(e) = first_missing {
        if seen_pseudonyms == 0 {
            return Err(Error::input_file(
                lookup_path,
                format!(
                    "none of the {} records of agency '{agency}' in {} is in this lookup: it is not the lookup of this agency's encoded file (or its ids were not pseudonymized)",
                    summary.records,
                    clusters_path.display()
                ),
            ));
        }
        return Err(e);
    }
    summary.lookup_not_in_match_set = (lookup.len() as u64).saturating_sub(summary.records);

    // Members by cluster (own decoys already gone), and where each record is.
    let mut cluster_of: AHashMap<(String, String), i64> = AHashMap::default();
    for (&cid, members) in clusters.iter_mut() {
        members.sort();
        for m in members.iter() {
            cluster_of.insert((m.agency.clone(), m.id.clone()), cid);
        }
    }

    // Pairs touching this agency, from each own record's side.
    let mut pairs: BTreeMap<(String, String, String), PairInfo> = BTreeMap::new();
    scan_pairs(&pairs_path, |p| {
        let left_own = p.left_agency == agency;
        let right_own = p.right_agency == agency;
        if !left_own && !right_own {
            return Ok(());
        }
        let left = if left_own {
            resolve(&lookup, agency, p.left_id, &pairs_path, p.row, "left_id")?
        } else {
            Some(p.left_id)
        };
        let right = if right_own {
            resolve(&lookup, agency, p.right_id, &pairs_path, p.row, "right_id")?
        } else {
            Some(p.right_id)
        };
        let (Some(l), Some(r)) = (left, right) else {
            summary.pairs_dropped += 1;
            return Ok(());
        };
        summary.pairs_kept += 1;
        let info = PairInfo {
            weight: p.match_weight,
            probability: p.match_probability,
            decision: p.decision,
        };
        let mut add = |own: &str, other_agency: &str, other: &str| {
            let k = (own.to_string(), other_agency.to_string(), other.to_string());
            match pairs.get(&k) {
                Some(old) if old.weight >= info.weight => {}
                _ => {
                    pairs.insert(k, info);
                }
            }
        };
        if left_own {
            add(l, p.right_agency, r);
        }
        if right_own {
            add(r, p.left_agency, l);
        }
        Ok(())
    })?;

    // Rows: per own record, its cluster's other members, then its pairs outside the cluster;
    // an own record linked to nothing gets one row without an other record.
    let mut rows: Vec<Row> = Vec::new();
    for (&cid, members) in &clusters {
        let size = members.len() as i64;
        let agency_count = members
            .iter()
            .map(|m| m.agency.as_str())
            .collect::<BTreeSet<_>>()
            .len() as i64;
        for me in members.iter().filter(|m| m.own) {
            let start = rows.len();
            let base = |other: Option<(String, String)>, same: bool, pair: Option<&PairInfo>| Row {
                cluster_id: cid,
                own_record_id: me.id.clone(),
                cluster_size: size,
                agency_count,
                other,
                same_cluster: same,
                pair: pair.map(|p| (p.weight, p.probability, p.decision.as_str())),
            };
            for m in members.iter().filter(|m| *m != me) {
                let k = (me.id.clone(), m.agency.clone(), m.id.clone());
                rows.push(base(
                    Some((m.agency.clone(), m.id.clone())),
                    true,
                    pairs.get(&k),
                ));
            }
            let lo = (me.id.clone(), String::new(), String::new());
            for ((own, oa, oid), info) in pairs.range(lo..) {
                if *own != me.id {
                    break;
                }
                let other_cluster = cluster_of.get(&(oa.clone(), oid.clone()));
                if other_cluster == Some(&cid) {
                    continue;
                }
                rows.push(base(Some((oa.clone(), oid.clone())), false, Some(info)));
            }
            if rows.len() == start {
                rows.push(base(None, false, None));
            } else {
                summary.own_records_linked += 1;
            }
        }
    }
    summary.rows = rows.len() as u64;
    let persons = Persons::read(dir)?;
    write(out, &rows, agency, &manifest, &summary, &persons)?;
    Ok(summary)
}

/// Each cluster's `person_id` and, after an incremental run, each person's change since the
/// previous run (`changes.parquet`).
#[derive(Debug, Default)]
struct Persons {
    /// cluster id → person id (empty for a match set without person ids).
    of_cluster: BTreeMap<i64, String>,
    /// person id → change (empty without changes.parquet).
    change: AHashMap<String, &'static str>,
}

impl Persons {
    fn read(dir: &Path) -> Result<Persons> {
        let of_cluster = read_cluster_persons(&dir.join(CLUSTERS_FILE))?.unwrap_or_default();
        let path = dir.join(CHANGES_FILE);
        let mut change = AHashMap::new();
        if path.exists() {
            for r in read_changes(&path)? {
                if let Some(p) = r.person_id {
                    change.insert(p, r.change.as_str());
                }
            }
        }
        Ok(Persons { of_cluster, change })
    }

    fn person(&self, cluster: i64) -> Option<&str> {
        self.of_cluster.get(&cluster).map(String::as_str)
    }

    fn change(&self, cluster: i64) -> Option<&'static str> {
        self.person(cluster)
            .and_then(|p| self.change.get(p).copied())
    }
}

fn write(
    out: &Path,
    rows: &[Row],
    agency: &str,
    manifest: &Manifest,
    summary: &RevealSummary,
    persons: &Persons,
) -> Result<()> {
    let utf8 = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    let schema = Arc::new(ArrowSchema::new(vec![
        utf8("own_record_id", false),
        Field::new("cluster_id", DataType::Int64, false),
        Field::new("cluster_size", DataType::Int64, false),
        Field::new("agency_count", DataType::Int64, false),
        utf8("other_agency", true),
        utf8("other_record_id", true),
        Field::new("same_cluster", DataType::Boolean, false),
        Field::new("match_weight", DataType::Float64, true),
        Field::new("match_probability", DataType::Float64, true),
        utf8("decision", true),
        utf8("person_id", true),
        utf8("change", true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.own_record_id.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.cluster_id),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.cluster_size),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.agency_count),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.other.as_ref().map(|o| o.0.as_str())),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.other.as_ref().map(|o| o.1.as_str())),
        )),
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| r.same_cluster).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from_iter(
            rows.iter().map(|r| r.pair.map(|p| p.0)),
        )),
        Arc::new(Float64Array::from_iter(
            rows.iter().map(|r| r.pair.map(|p| p.1)),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.pair.map(|p| p.2)),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| persons.person(r.cluster_id)),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| persons.change(r.cluster_id)),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::Internal(format!("building the revealed batch: {e}")))?;
    let props = writer_properties(DEFAULT_REVEAL_ROW_GROUP).build();
    let file = AtomicFile::create(out)?;
    let mut w = crate::io::arrow_writer(file.try_clone()?, schema, props, out)?;
    let mut start = 0;
    while start < batch.num_rows() {
        let len = DEFAULT_REVEAL_ROW_GROUP.min(batch.num_rows() - start);
        w.write(&batch.slice(start, len))
            .map_err(|e| Error::format("writing", out, e))?;
        start += len;
    }
    let kv = [
        ("padan.format", "revealed".to_string()),
        ("padan.version", crate::VERSION.to_string()),
        ("padan.agency", agency.to_string()),
        (
            "padan.schema_fingerprint",
            manifest.schema_fingerprint.clone(),
        ),
        ("padan.key_fingerprint", manifest.key_fingerprint.clone()),
        (
            "padan.counts",
            serde_json::to_string(summary).unwrap_or_default(),
        ),
    ]
    .map(|(k, v)| KeyValue::new(k.to_string(), v));
    crate::io::append_metadata(&mut w, kv.to_vec());
    w.close().map_err(|e| Error::format("writing", out, e))?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_array::Array;
    use parquet::arrow::ArrowWriter;

    fn write_parquet(path: &Path, cols: Vec<(&str, ArrayRef)>) {
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        let file = std::fs::File::create(path).unwrap();
        let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    fn s(v: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn i(v: &[i64]) -> ArrayRef {
        Arc::new(Int64Array::from(v.to_vec()))
    }

    type TestPair = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        f64,
        f64,
        &'static str,
    );

    /// Agency `a` (revealing; `ps-d*` are its decoys) and agency `b`.
    fn match_set(dir: &Path) {
        write_parquet(
            &dir.join(CLUSTERS_FILE),
            vec![
                ("cluster_id", i(&[0, 0, 0, 1, 1, 2, 3, 4])),
                ("agency", s(&["a", "a", "b", "a", "b", "a", "a", "b"])),
                (
                    "record_id",
                    s(&["ps-1", "ps-d1", "X1", "ps-d2", "X2", "ps-2", "ps-3", "X3"]),
                ),
                ("cluster_size", i(&[3, 3, 3, 2, 2, 1, 1, 1])),
                ("agency_count", i(&[2, 2, 2, 2, 2, 1, 1, 1])),
            ],
        );
        let pairs: [TestPair; 6] = [
            ("a", "ps-1", "b", "X1", 20.0, 0.99, "match"),
            ("a", "ps-d1", "b", "X1", 19.0, 0.98, "match"),
            ("a", "ps-d2", "b", "X2", 18.0, 0.97, "match"),
            ("a", "ps-1", "a", "ps-d1", 15.0, 0.96, "match"),
            ("a", "ps-2", "b", "X2", 5.0, 0.5, "review"),
            ("b", "X2", "b", "X3", 4.0, 0.4, "review"),
        ];
        let col = |f: fn(&TestPair) -> &'static str| s(&pairs.iter().map(f).collect::<Vec<_>>());
        write_parquet(
            &dir.join(PAIRS_FILE),
            vec![
                ("left_agency", col(|p| p.0)),
                ("left_id", col(|p| p.1)),
                ("right_agency", col(|p| p.2)),
                ("right_id", col(|p| p.3)),
                (
                    "match_weight",
                    Arc::new(Float64Array::from_iter_values(pairs.iter().map(|p| p.4))),
                ),
                (
                    "match_probability",
                    Arc::new(Float64Array::from_iter_values(pairs.iter().map(|p| p.5))),
                ),
                ("decision", col(|p| p.6)),
            ],
        );
        std::fs::write(
            dir.join(MANIFEST_FILE),
            r#"{"inputs": [{"agency": "a"}, {"agency": "b"}], "schema_fingerprint": "s", "key_fingerprint": "k"}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("a.lookup.csv"),
            "record_id,pseudonym,decoy\nA1,ps-1,false\n,ps-d1,true\nA2,ps-2,false\n,ps-d2,true\nA3,ps-3,false\n",
        )
        .unwrap();
    }

    fn read(path: &Path) -> Vec<String> {
        let f = std::fs::File::open(path).unwrap();
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        let mut out = Vec::new();
        for b in r {
            let b = b.unwrap();
            let st = |c: usize, k: usize| {
                let a = b.column(c).as_string::<i32>();
                if a.is_null(k) {
                    "-".to_string()
                } else {
                    a.value(k).to_string()
                }
            };
            let it = |c: usize, k: usize| b.column(c).as_primitive::<Int64Type>().value(k);
            let fl = |c: usize, k: usize| {
                let a = b.column(c).as_primitive::<Float64Type>();
                if a.is_null(k) {
                    "-".to_string()
                } else {
                    a.value(k).to_string()
                }
            };
            for k in 0..b.num_rows() {
                out.push(format!(
                    "{} c{} n{} a{} {}/{} {} {} {} {}",
                    st(0, k),
                    it(1, k),
                    it(2, k),
                    it(3, k),
                    st(4, k),
                    st(5, k),
                    b.column(6).as_boolean().value(k),
                    fl(7, k),
                    fl(8, k),
                    st(9, k)
                ));
            }
        }
        out
    }

    #[test]
    fn decoys_are_dropped_own_ids_resolved_others_kept() {
        let d = tempfile::tempdir().unwrap();
        match_set(d.path());
        let out = d.path().join("r.parquet");
        let sum = reveal(d.path(), "a", &d.path().join("a.lookup.csv"), &out).unwrap();
        assert_eq!(
            read(&out),
            [
                // Cluster 0 without the decoy: A1 and X1; the A1–decoy pair is gone.
                "A1 c0 n2 a2 b/X1 true 20 0.99 match",
                // Cluster 1 held only a decoy of `a`: nothing. A2's review pair with X2 stays.
                "A2 c2 n1 a1 b/X2 false 5 0.5 review",
                "A3 c3 n1 a1 -/- false - - -",
            ]
        );
        assert_eq!(
            sum,
            RevealSummary {
                records: 5,
                decoys_dropped: 2,
                own_records: 3,
                own_records_linked: 2,
                pairs_kept: 2,
                pairs_dropped: 3,
                lookup_not_in_match_set: 0,
                rows: 3,
            }
        );
        // Agency b's view: nothing of b's is resolved or dropped (b has no lookup entries here),
        // so b's own lookup is required.
        let e = reveal(d.path(), "b", &d.path().join("a.lookup.csv"), &out).unwrap_err();
        assert!(e.to_string().contains("not the lookup"), "{e}");
        let e = reveal(d.path(), "c", &d.path().join("a.lookup.csv"), &out).unwrap_err();
        assert!(
            e.to_string().contains("'c'") && e.to_string().contains("a, b"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_entry_is_named_by_row_not_by_value() {
        let d = tempfile::tempdir().unwrap();
        match_set(d.path());
        std::fs::write(
            d.path().join("short.csv"),
            "record_id,pseudonym,decoy\nA1,ps-1,false\n,ps-d1,true\nA2,ps-2,false\n,ps-d2,true\n",
        )
        .unwrap();
        let out = d.path().join("r.parquet");
        let e = reveal(d.path(), "a", &d.path().join("short.csv"), &out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 7") && e.contains("short.csv"), "{e}");
        assert!(!e.contains("ps-3"), "{e}");
        assert!(!out.exists());
    }

    #[test]
    fn default_output_names_are_safe() {
        assert_eq!(
            default_output(Path::new("ms"), "kemlu"),
            Path::new("ms/revealed-kemlu.parquet")
        );
        assert_eq!(
            default_output(Path::new("ms"), "a/b c"),
            Path::new("ms/revealed-a_b_c.parquet")
        );
    }
}
