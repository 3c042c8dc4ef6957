//! Writing the match set: pairs.parquet, clusters.parquet, candidates.parquet, manifest.json.
//!
//! Files are first written into a staging directory inside the match-set directory, then renamed
//! into place one by one (manifest last), so a run that dies leaves no complete-looking set. A
//! stale candidates.parquet from an earlier run is removed when this run does not write one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::block::unpack;
use super::pipeline::{LinkOutcome, Manifest};
use crate::error::{Error, Result};

/// Rows per row group in match-set files.
pub const DEFAULT_MATCHSET_ROW_GROUP: usize = 131_072;

struct Staging {
    dir: PathBuf,
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid level"),
        ))
        .set_max_row_group_row_count(Some(DEFAULT_MATCHSET_ROW_GROUP))
        .set_created_by(format!("padan {}", crate::VERSION))
        .build()
}

fn kv(format: &str, manifest: &Manifest, agencies: &[String]) -> Vec<KeyValue> {
    let j = |v: serde_json::Value| v.to_string();
    let mut counts = serde_json::to_value(&manifest.counts).unwrap_or_default();
    // Keep Parquet metadata deterministic and compact: no timings, no large lists.
    if let Some(o) = counts.as_object_mut() {
        o.remove("largest_blocks");
    }
    vec![
        KeyValue::new("padan.format".into(), format.to_string()),
        KeyValue::new("padan.version".into(), manifest.padan_version.clone()),
        KeyValue::new(
            "padan.schema_fingerprint".into(),
            manifest.schema_fingerprint.clone(),
        ),
        KeyValue::new(
            "padan.key_fingerprint".into(),
            manifest.key_fingerprint.clone(),
        ),
        KeyValue::new(
            "padan.agencies".into(),
            j(serde_json::to_value(agencies).unwrap_or_default()),
        ),
        KeyValue::new(
            "padan.thresholds".into(),
            j(serde_json::to_value(&manifest.thresholds).unwrap_or_default()),
        ),
        KeyValue::new(
            "padan.model".into(),
            j(serde_json::to_value(&manifest.model).unwrap_or_default()),
        ),
        KeyValue::new("padan.counts".into(), j(counts)),
    ]
}

fn write_parquet(
    path: &Path,
    schema: Arc<ArrowSchema>,
    columns: Vec<ArrayRef>,
    meta: Vec<KeyValue>,
) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io("creating", path, e))?;
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props()))
        .map_err(|e| Error::format("writing", path, e))?;
    let batch = RecordBatch::try_new(schema, columns)
        .map_err(|e| Error::Internal(format!("building a match-set batch: {e}")))?;
    // Write in slices so row groups stay bounded.
    let n = batch.num_rows();
    let mut start = 0;
    while start < n {
        let len = DEFAULT_MATCHSET_ROW_GROUP.min(n - start);
        w.write(&batch.slice(start, len))
            .map_err(|e| Error::format("writing", path, e))?;
        start += len;
    }
    for m in meta {
        w.append_key_value_metadata(m);
    }
    w.close().map_err(|e| Error::format("writing", path, e))?;
    Ok(())
}

fn strings<'a>(it: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(it))
}

/// Writes every file of the match set into `dir`.
pub fn write_match_set(
    dir: &Path,
    o: &LinkOutcome<'_>,
    manifest: &mut Manifest,
    t_write: Instant,
    t_total: Instant,
) -> Result<()> {
    let staging = Staging {
        dir: dir.join(format!(".padan-staging-{}", std::process::id())),
    };
    std::fs::create_dir_all(&staging.dir).map_err(|e| Error::io("creating", &staging.dir, e))?;
    let recs = o.recs;
    let agencies = &recs.agencies;
    let agency = |i: u32| agencies[recs.agency_of[i as usize] as usize].as_str();
    let id = |i: u32| recs.ids[i as usize].as_str();

    // pairs.parquet
    let s = &o.scored;
    let n = s.pairs.len();
    let ab: Vec<(u32, u32)> = s.pairs.iter().map(|&p| unpack(p)).collect();
    let mut fields = vec![
        Field::new("left_agency", DataType::Utf8, false),
        Field::new("left_id", DataType::Utf8, false),
        Field::new("right_agency", DataType::Utf8, false),
        Field::new("right_id", DataType::Utf8, false),
        Field::new("match_weight", DataType::Float64, false),
        Field::new("match_probability", DataType::Float64, false),
        Field::new("decision", DataType::Utf8, false),
        Field::new("cluster_id", DataType::Int64, false),
        Field::new("same_cluster", DataType::Boolean, false),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        strings(ab.iter().map(|&(a, _)| agency(a))),
        strings(ab.iter().map(|&(a, _)| id(a))),
        strings(ab.iter().map(|&(_, b)| agency(b))),
        strings(ab.iter().map(|&(_, b)| id(b))),
        Arc::new(Float64Array::from(s.weights.clone())),
        Arc::new(Float64Array::from(s.probabilities.clone())),
        strings(
            s.is_match
                .iter()
                .map(|&m| if m { "match" } else { "review" }),
        ),
        Arc::new(Int64Array::from_iter_values(
            ab.iter().map(|&(a, _)| o.cluster_of[a as usize] as i64),
        )),
        Arc::new(BooleanArray::from_iter(ab.iter().map(|&(a, b)| {
            Some(o.cluster_of[a as usize] == o.cluster_of[b as usize])
        }))),
    ];
    for (f, spec) in recs.schema.fields.iter().enumerate() {
        let cmp: Vec<(u8, f32)> = ab
            .iter()
            .map(|&(a, b)| o.comparator.field(f, a as usize, b as usize))
            .collect();
        fields.push(Field::new(
            format!("sim_{}", spec.name),
            DataType::Float32,
            true,
        ));
        fields.push(Field::new(
            format!("level_{}", spec.name),
            DataType::Int64,
            false,
        ));
        fields.push(Field::new(
            format!("weight_{}", spec.name),
            DataType::Float64,
            false,
        ));
        cols.push(Arc::new(Float32Array::from_iter(
            cmp.iter().map(|&(l, s)| (l != 0).then_some(s)),
        )));
        cols.push(Arc::new(Int64Array::from_iter_values(
            cmp.iter().map(|&(l, _)| l as i64),
        )));
        cols.push(Arc::new(Float64Array::from_iter_values(
            cmp.iter().map(|&(l, _)| o.weights[f][l as usize]),
        )));
    }
    debug_assert!(cols.iter().all(|c| c.len() == n));
    let staged_pairs = staging.dir.join("pairs.parquet");
    write_parquet(
        &staged_pairs,
        Arc::new(ArrowSchema::new(fields)),
        cols,
        kv("pairs", manifest, agencies),
    )?;

    // clusters.parquet
    let mut order: Vec<u32> = (0..recs.len() as u32).collect();
    order.sort_by(|&x, &y| {
        o.cluster_of[x as usize]
            .cmp(&o.cluster_of[y as usize])
            .then_with(|| agency(x).cmp(agency(y)))
            .then_with(|| id(x).cmp(id(y)))
    });
    let n_clusters = o
        .cluster_of
        .iter()
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0);
    let mut size = vec![0i64; n_clusters];
    let mut agency_sets: Vec<BTreeMap<u16, ()>> = vec![BTreeMap::new(); n_clusters];
    for (i, &c) in o.cluster_of.iter().enumerate() {
        size[c as usize] += 1;
        agency_sets[c as usize].insert(recs.agency_of[i], ());
    }
    let cschema = Arc::new(ArrowSchema::new(vec![
        Field::new("cluster_id", DataType::Int64, false),
        Field::new("agency", DataType::Utf8, false),
        Field::new("record_id", DataType::Utf8, false),
        Field::new("cluster_size", DataType::Int64, false),
        Field::new("agency_count", DataType::Int64, false),
    ]));
    let ccols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            order.iter().map(|&i| o.cluster_of[i as usize] as i64),
        )),
        strings(order.iter().map(|&i| agency(i))),
        strings(order.iter().map(|&i| id(i))),
        Arc::new(Int64Array::from_iter_values(
            order
                .iter()
                .map(|&i| size[o.cluster_of[i as usize] as usize]),
        )),
        Arc::new(Int64Array::from_iter_values(order.iter().map(|&i| {
            agency_sets[o.cluster_of[i as usize] as usize].len() as i64
        }))),
    ];
    write_parquet(
        &staging.dir.join("clusters.parquet"),
        cschema,
        ccols,
        kv("clusters", manifest, agencies),
    )?;

    // candidates.parquet (optional)
    if let Some((pairs, weights)) = &o.candidates {
        let ab: Vec<(u32, u32)> = pairs.iter().map(|&p| unpack(p)).collect();
        let schema = Arc::new(ArrowSchema::new(vec![
            Field::new("left_agency", DataType::Utf8, false),
            Field::new("left_id", DataType::Utf8, false),
            Field::new("right_agency", DataType::Utf8, false),
            Field::new("right_id", DataType::Utf8, false),
            Field::new("match_weight", DataType::Float64, false),
        ]));
        let cols: Vec<ArrayRef> = vec![
            strings(ab.iter().map(|&(a, _)| agency(a))),
            strings(ab.iter().map(|&(a, _)| id(a))),
            strings(ab.iter().map(|&(_, b)| agency(b))),
            strings(ab.iter().map(|&(_, b)| id(b))),
            Arc::new(Float64Array::from(weights.clone())),
        ];
        write_parquet(
            &staging.dir.join("candidates.parquet"),
            schema,
            cols,
            kv("candidates", manifest, agencies),
        )?;
    }

    manifest.outputs = BTreeMap::from([
        ("pairs".to_string(), Some("pairs.parquet".to_string())),
        ("clusters".to_string(), Some("clusters.parquet".to_string())),
        (
            "candidates".to_string(),
            o.candidates
                .as_ref()
                .map(|_| "candidates.parquet".to_string()),
        ),
    ]);
    manifest.timings.write = t_write.elapsed().as_secs_f64();
    manifest.timings.total = t_total.elapsed().as_secs_f64();
    let json = serde_json::to_string_pretty(&*manifest)
        .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
    let staged_manifest = staging.dir.join("manifest.json");
    std::fs::write(&staged_manifest, json)
        .map_err(|e| Error::io("writing", &staged_manifest, e))?;

    // Move into place: an old manifest goes first (so a half-replaced set has none), new one last.
    let old_manifest = dir.join("manifest.json");
    if old_manifest.exists() {
        std::fs::remove_file(&old_manifest).map_err(|e| Error::io("removing", &old_manifest, e))?;
    }
    let mut names = vec!["pairs.parquet", "clusters.parquet"];
    if o.candidates.is_some() {
        names.push("candidates.parquet");
    } else {
        let stale = dir.join("candidates.parquet");
        if stale.exists() {
            std::fs::remove_file(&stale).map_err(|e| Error::io("removing", &stale, e))?;
        }
    }
    names.push("manifest.json");
    for name in names {
        let from = staging.dir.join(name);
        let to = dir.join(name);
        std::fs::rename(&from, &to).map_err(|e| Error::io("renaming", &to, e))?;
    }
    Ok(())
}
