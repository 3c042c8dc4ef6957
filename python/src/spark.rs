//! The native half of `padan.spark`: the stages of `padan::link::distributed` on Arrow data.
//! Batches come in through the Arrow C stream interface (a `pyarrow.Table`, a batch reader) and
//! go out as an object with `__arrow_c_stream__` (`pyarrow.table(out)` imports it): no Python
//! object per row.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use padan::error::Error;
use padan::link::block::BlockingStats;
use padan::link::distributed::{Fit, Plan};
use padan::link::LinkConfig;

use crate::{import_stream, py_err};

/// The record batches of an Arrow stream object (its `__arrow_c_stream__`).
fn batches(data: &Bound<'_, PyAny>) -> PyResult<Vec<RecordBatch>> {
    let reader = import_stream(data)?;
    reader
        .collect::<Result<Vec<_>, ArrowError>>()
        .map_err(|e| PyValueError::new_err(format!("reading the Arrow stream: {e}")))
}

/// Applies `f` to every batch of `data`; the results as one stream.
fn map_batches(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    f: impl Fn(&RecordBatch) -> padan::Result<RecordBatch> + Send + Sync,
) -> PyResult<ArrowOut> {
    let input = batches(data)?;
    let out = py
        .detach(|| input.iter().map(&f).collect::<padan::Result<Vec<_>>>())
        .map_err(|e| py_err(py, e))?;
    Ok(ArrowOut::new(out))
}

/// Record batches handed to Python through `__arrow_c_stream__` (consumed once).
#[pyclass(module = "padan._padan")]
pub struct ArrowOut {
    schema: Option<SchemaRef>,
    batches: Option<Vec<RecordBatch>>,
}

impl ArrowOut {
    fn new(batches: Vec<RecordBatch>) -> ArrowOut {
        ArrowOut {
            schema: batches.first().map(|b| b.schema()),
            batches: Some(batches),
        }
    }
}

#[pymethods]
impl ArrowOut {
    /// The Arrow C stream of the batches.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &mut self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let batches = self
            .batches
            .take()
            .ok_or_else(|| PyValueError::new_err("the stream was already consumed"))?;
        let schema = match &self.schema {
            Some(s) => s.clone(),
            None => std::sync::Arc::new(arrow_schema::Schema::empty()),
        };
        let reader: Box<dyn RecordBatchReader + Send> = Box::new(RecordBatchIterator::new(
            batches.into_iter().map(Ok),
            schema,
        ));
        let stream = FFI_ArrowArrayStream::new(reader);
        PyCapsule::new(py, stream, Some(c"arrow_array_stream".into()))
    }
}

/// A distributed link run's plan (`padan::link::distributed::Plan`).
#[pyclass(module = "padan._padan", frozen)]
pub struct SparkPlan {
    plan: Plan,
}

fn i64s(b: &RecordBatch, name: &str) -> PyResult<Vec<i64>> {
    let c = b
        .column_by_name(name)
        .ok_or_else(|| PyValueError::new_err(format!("no column '{name}'")))?;
    let c = arrow_cast_i64(c)?;
    Ok(c)
}

fn arrow_cast_i64(c: &dyn Array) -> PyResult<Vec<i64>> {
    match c.data_type() {
        arrow_schema::DataType::Int64 => Ok(c.as_primitive::<Int64Type>().values().to_vec()),
        arrow_schema::DataType::Int32 => Ok(c
            .as_primitive::<arrow_array::types::Int32Type>()
            .values()
            .iter()
            .map(|&v| i64::from(v))
            .collect()),
        t => Err(PyValueError::new_err(format!(
            "{t} is not an integer column"
        ))),
    }
}

#[pymethods]
impl SparkPlan {
    /// Plans a run over encoded files (`config`: a link.toml path, or None for the defaults).
    #[staticmethod]
    #[pyo3(signature = (inputs, config=None))]
    fn create(py: Python<'_>, inputs: Vec<String>, config: Option<String>) -> PyResult<SparkPlan> {
        let run = move || -> padan::Result<Plan> {
            let config = match &config {
                Some(p) => LinkConfig::load(Path::new(p))?,
                None => LinkConfig::default(),
            };
            let paths: Vec<PathBuf> = inputs.iter().map(PathBuf::from).collect();
            Plan::new(&paths, config)
        };
        let plan = py.detach(run).map_err(|e| py_err(py, e))?;
        Ok(SparkPlan { plan })
    }

    /// A plan from [`SparkPlan::to_json`] (on the workers).
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<SparkPlan> {
        let plan = Plan::from_json(text).map_err(|e| py_err(py, e))?;
        Ok(SparkPlan { plan })
    }

    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        self.plan.to_json().map_err(|e| py_err(py, e))
    }

    /// (path, first global index) of each input, in canonical order.
    fn inputs(&self) -> Vec<(String, u64)> {
        self.plan
            .inputs()
            .into_iter()
            .map(|(p, o)| (p.display().to_string(), o))
            .collect()
    }

    /// The encoded files' binary columns.
    fn columns(&self) -> Vec<String> {
        self.plan.columns()
    }

    /// Records in all inputs.
    fn records(&self) -> u64 {
        self.plan.records()
    }

    /// Whether the inputs use a salt-slot schema (the slot model: candidates counted by key and
    /// code, records by the tokens they carry, no random pairs).
    fn has_slots(&self) -> bool {
        self.plan.has_slots()
    }

    /// Whether pairs inside one agency are compared.
    fn within_agency(&self) -> bool {
        self.plan.config().blocking.within_agency
    }

    /// The agency index of each input, by first global index (for the agency rule in Spark).
    fn agency_offsets(&self) -> Vec<u64> {
        self.plan.inputs().into_iter().map(|(_, o)| o).collect()
    }

    /// The random pairs u is estimated from: (a, b) lists.
    fn random_pairs(&self) -> (Vec<i64>, Vec<i64>) {
        let p = self.plan.random_pairs();
        (
            p.iter().map(|&k| (k >> 32) as i64).collect(),
            p.iter().map(|&k| (k & 0xffff_ffff) as i64).collect(),
        )
    }

    /// `(slot, key, idx)` for a stream of record batches.
    fn block_keys(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<ArrowOut> {
        map_batches(py, data, |b| self.plan.block_keys(b))
    }

    /// Per slot the largest block size kept, and the blocking stats as JSON, from a table
    /// `(slot, size, blocks, pairs)`.
    fn caps(&self, py: Python<'_>, hist: &Bound<'_, PyAny>) -> PyResult<(Vec<u64>, String)> {
        let mut rows = Vec::new();
        for b in batches(hist)? {
            let (s, z, n, p) = (
                i64s(&b, "slot")?,
                i64s(&b, "size")?,
                i64s(&b, "blocks")?,
                i64s(&b, "pairs")?,
            );
            for i in 0..s.len() {
                rows.push((s[i] as usize, z[i] as u64, n[i] as u64, p[i] as u64));
            }
        }
        let (caps, stats) = self.plan.caps(&rows);
        let json = serde_json::to_string(&stats)
            .map_err(|e| py_err(py, Error::Internal(format!("stats as JSON: {e}"))))?;
        Ok((caps, json))
    }

    /// `(field, token column, per record)` of the fields whose tokens are counted over the run:
    /// count each token's records and pass the histogram of counts to
    /// [`SparkPlan::with_token_counts`]; when `per record`, also give every record its count as
    /// `tf_<field>`.
    fn frequency_columns(&self) -> Vec<(String, String, bool)> {
        self.plan.frequency_columns()
    }

    /// This plan with a field's term frequencies, from a table `(count, tokens)`: how many
    /// distinct tokens exactly `count` records hold.
    fn with_token_counts(
        &self,
        py: Python<'_>,
        field: &str,
        hist: &Bound<'_, PyAny>,
    ) -> PyResult<SparkPlan> {
        let mut rows = Vec::new();
        for b in batches(hist)? {
            let (k, t) = (i64s(&b, "count")?, i64s(&b, "tokens")?);
            rows.extend(k.iter().zip(&t).map(|(&k, &t)| (k as u64, t as u64)));
        }
        rows.sort_unstable();
        let mut plan = Plan::from_json(&self.to_json(py)?).map_err(|e| py_err(py, e))?;
        plan.set_token_counts(field, &rows)
            .map_err(|e| py_err(py, e))?;
        Ok(SparkPlan { plan })
    }

    /// Owned, compared pairs of block members (`owned`) or of 2-record blocks.
    fn compare_blocks(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        owned: bool,
    ) -> PyResult<ArrowOut> {
        map_batches(py, data, |b| self.plan.compare_blocks(b, owned))
    }

    /// Per-field levels and similarities of 2-record blocks.
    fn compare_fields(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<ArrowOut> {
        map_batches(py, data, |b| self.plan.compare_fields(b))
    }

    /// `(agency, carried, n)`: the records of each batch per agency and slots and tokens carried.
    fn carried_counts(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<ArrowOut> {
        map_batches(py, data, |b| self.plan.carried_counts(b))
    }

    /// `(idx, record_id, hash)` of record batches.
    fn record_hashes(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<ArrowOut> {
        map_batches(py, data, |b| self.plan.record_hashes(b))
    }

    /// The model from tables `(code, kinds, key, n)` (candidates), `(code, n)` (random pairs)
    /// and `(agency, carried, n)` (records by slots and tokens carried, for a salt-slot schema).
    fn fit(
        &self,
        py: Python<'_>,
        candidates: &Bound<'_, PyAny>,
        random: &Bound<'_, PyAny>,
        carried: &Bound<'_, PyAny>,
        stats: &str,
    ) -> PyResult<SparkFit> {
        let mut cand = Vec::new();
        for b in batches(candidates)? {
            let (c, k, key, n) = (
                i64s(&b, "code")?,
                i64s(&b, "kinds")?,
                i64s(&b, "key")?,
                i64s(&b, "n")?,
            );
            for i in 0..c.len() {
                cand.push((c[i] as u32, k[i] as u16, key[i] as u32, n[i] as u64));
            }
        }
        let mut by_carried = Vec::new();
        for b in batches(carried)? {
            let (a, c, n) = (i64s(&b, "agency")?, i64s(&b, "carried")?, i64s(&b, "n")?);
            for i in 0..a.len() {
                by_carried.push((a[i] as u16, c[i] as u16, n[i] as u64));
            }
        }
        let mut rand = Vec::new();
        for b in batches(random)? {
            let (c, n) = (i64s(&b, "code")?, i64s(&b, "n")?);
            for i in 0..c.len() {
                rand.push((c[i] as u32, n[i] as u64));
            }
        }
        let stats: BlockingStats = serde_json::from_str(stats)
            .map_err(|e| py_err(py, Error::Internal(format!("stats from JSON: {e}"))))?;
        let fit = py
            .detach(|| self.plan.fit(&cand, &rand, &by_carried, &stats))
            .map_err(|e| py_err(py, e))?;
        Ok(SparkFit { fit })
    }

    /// Clusters the components of a stream of match edges `(comp, a, b, weight)`.
    fn resolve(
        &self,
        py: Python<'_>,
        fit: &SparkFit,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<ArrowOut> {
        map_batches(py, data, |b| {
            fit.fit.resolve_components(b, |i| self.plan.agency_of(i))
        })
    }

    /// Writes the match set: tables `scored (a, b, weight)`, `fields (a, b, levels, sims)`,
    /// `roots (idx, root, refused)`, `records (idx, record_id, hash)`; returns the manifest.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        py: Python<'_>,
        out: String,
        fit: &SparkFit,
        stats: &str,
        scored: &Bound<'_, PyAny>,
        fields: &Bound<'_, PyAny>,
        roots: &Bound<'_, PyAny>,
        records: &Bound<'_, PyAny>,
        timings: &str,
    ) -> PyResult<String> {
        let bad = |e: String| py_err(py, Error::Internal(e));
        let stats: BlockingStats =
            serde_json::from_str(stats).map_err(|e| bad(format!("stats from JSON: {e}")))?;
        let timings: padan::io::manifest::Timings =
            serde_json::from_str(timings).map_err(|e| bad(format!("timings from JSON: {e}")))?;
        let mut kept = Vec::new();
        for b in batches(scored)? {
            let (a, bb) = (i64s(&b, "a")?, i64s(&b, "b")?);
            let w = b
                .column_by_name("weight")
                .ok_or_else(|| PyValueError::new_err("no column 'weight'"))?
                .as_primitive::<Float64Type>()
                .values()
                .to_vec();
            for i in 0..a.len() {
                kept.push((w[i], pack(a[i], bb[i])));
            }
        }
        let mut field_map = std::collections::HashMap::new();
        for b in batches(fields)? {
            let (a, bb) = (i64s(&b, "a")?, i64s(&b, "b")?);
            let lv = b
                .column_by_name("levels")
                .ok_or_else(|| PyValueError::new_err("no column 'levels'"))?
                .as_binary::<i32>()
                .clone();
            let sv = b
                .column_by_name("sims")
                .ok_or_else(|| PyValueError::new_err("no column 'sims'"))?
                .as_binary::<i32>()
                .clone();
            for i in 0..a.len() {
                let sims: Vec<f32> = sv
                    .value(i)
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                field_map.insert(pack(a[i], bb[i]), (lv.value(i).to_vec(), sims));
            }
        }
        let mut root_rows = Vec::new();
        let mut refused = 0u64;
        for b in batches(roots)? {
            let (i, r, f) = (i64s(&b, "idx")?, i64s(&b, "root")?, i64s(&b, "refused")?);
            for k in 0..i.len() {
                root_rows.push((i[k] as u32, r[k] as u32));
                refused += f[k] as u64;
            }
        }
        let n = self.plan.records() as usize;
        let mut ids = vec![String::new(); n];
        let mut hashes = vec![[0u8; 16]; n];
        let mut seen = 0usize;
        for b in batches(records)? {
            let idx = i64s(&b, "idx")?;
            let rid = b
                .column_by_name("record_id")
                .ok_or_else(|| PyValueError::new_err("no column 'record_id'"))?;
            let rid: Vec<String> = match rid.data_type() {
                arrow_schema::DataType::LargeUtf8 => rid
                    .as_string::<i64>()
                    .iter()
                    .map(|v| v.unwrap_or("").to_string())
                    .collect(),
                _ => rid
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.unwrap_or("").to_string())
                    .collect(),
            };
            let h = b
                .column_by_name("hash")
                .ok_or_else(|| PyValueError::new_err("no column 'hash'"))?
                .as_binary::<i32>()
                .clone();
            for k in 0..idx.len() {
                let i = idx[k] as usize;
                if i >= n || h.value(k).len() != 16 {
                    return Err(bad(format!("record row {k} out of range")));
                }
                ids[i] = rid[k].clone();
                hashes[i].copy_from_slice(h.value(k));
                seen += 1;
            }
        }
        if seen != n {
            return Err(bad(format!("{seen} records listed for {n}")));
        }
        let manifest = py
            .detach(|| {
                self.plan.write(
                    Path::new(&out),
                    &fit.fit,
                    &stats,
                    kept,
                    &field_map,
                    &root_rows,
                    refused,
                    ids,
                    hashes,
                    timings,
                )
            })
            .map_err(|e| py_err(py, e))?;
        serde_json::to_string(&manifest).map_err(|e| bad(format!("the manifest as JSON: {e}")))
    }
}

fn pack(a: i64, b: i64) -> u64 {
    padan::link::block::pack(a as u32, b as u32)
}

/// The fitted model (`padan::link::distributed::Fit`).
#[pyclass(module = "padan._padan", frozen)]
pub struct SparkFit {
    fit: Fit,
}

#[pymethods]
impl SparkFit {
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<SparkFit> {
        let fit = Fit::from_json(text).map_err(|e| py_err(py, e))?;
        Ok(SparkFit { fit })
    }

    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        self.fit.to_json().map_err(|e| py_err(py, e))
    }

    /// The weight from which a pair is a match.
    #[getter]
    fn match_weight(&self) -> f64 {
        self.fit.thresholds.match_weight
    }

    /// `(a, b, weight)` of the candidates `(a, b, code, key)` at or above review.
    fn score(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<ArrowOut> {
        map_batches(py, data, |b| self.fit.score(b))
    }
}

/// Registers the classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SparkPlan>()?;
    m.add_class::<SparkFit>()?;
    m.add_class::<ArrowOut>()?;
    Ok(())
}
