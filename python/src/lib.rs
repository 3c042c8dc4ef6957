//! `padan._padan`: the native half of the Python package. Thin: each function sets up what the
//! matching `padan` command sets up and calls the same library functions (`EncodeJob`,
//! `LinkJob`, `evaluate`, `write_report_with`); the Python half (`padan/__init__.py`) turns
//! data frames into Arrow streams and reads the files written back as `pyarrow` tables.
//!
//! Arrow data comes in through the Arrow C stream interface (`__arrow_c_stream__`, a PyCapsule
//! named `arrow_array_stream`): the record batches stay in the producer's buffers, no Python
//! object per row. Errors become `padan.PadanError` subclasses carrying the CLI's message, which
//! names files, lines and columns, never a cell value.

use std::path::{Path, PathBuf};

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{RecordBatchIterator, RecordBatchReader};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use padan::encode::{EncodeJob, MemorySink};
use padan::error::Error;
use padan::extract::{Extract, ParquetReader, ReadOptions, TextEncoding, DEFAULT_BATCH_ROWS};
use padan::keys::SecretKey;
use padan::link::{LinkConfig, LinkJob};
use padan::schema::{ColumnMap, DateOrder, Schema};

mod spark;

/// The Python exception class of a padan error (defined in `padan/errors.py`), with the CLI's
/// message (`error: ` left off).
pub(crate) fn py_err(py: Python<'_>, e: Error) -> PyErr {
    let class = match &e {
        Error::Config { .. } => "ConfigError",
        Error::Input { .. } => "InputError",
        Error::Incompatible(_) => "IncompatibleError",
        Error::TooLarge(_) => "TooLargeError",
        Error::Io { .. } | Error::Format { .. } => "FileError",
        Error::CheckFailed(_) => "CheckFailedError",
        Error::TooManyRejects(_) => "TooManyRejectsError",
        Error::Internal(_) => "InternalError",
    };
    let msg = e.to_string();
    match py
        .import("padan.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((msg,)))
    {
        Ok(v) => PyErr::from_value(v),
        Err(err) => err,
    }
}

fn path(p: Option<String>) -> Option<PathBuf> {
    p.map(PathBuf::from)
}

/// Imports an object's Arrow C stream (`__arrow_c_stream__`) as a record batch reader. The
/// stream is moved out of the capsule, which is left released.
pub(crate) fn import_stream(data: &Bound<'_, PyAny>) -> PyResult<RecordBatchStreamReader> {
    let capsule = data.call_method0("__arrow_c_stream__")?;
    let capsule = capsule
        .cast::<PyCapsule>()
        .map_err(|_| PyTypeError::new_err("__arrow_c_stream__ did not return a PyCapsule"))?;
    let name_ok = capsule
        .name()?
        .map(|n| unsafe { n.as_cstr() }.to_bytes() == b"arrow_array_stream")
        .unwrap_or(false);
    if !name_ok {
        return Err(PyTypeError::new_err(
            "__arrow_c_stream__ returned a capsule that is not an arrow_array_stream",
        ));
    }
    let ptr = capsule
        .pointer_checked(Some(c"arrow_array_stream"))?
        .as_ptr() as *mut FFI_ArrowArrayStream;
    // SAFETY: the capsule holds a valid FFI_ArrowArrayStream (its name says so); `from_raw`
    // moves it out and leaves a released stream, which the capsule's destructor skips.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr) };
    RecordBatchStreamReader::try_new(stream)
        .map_err(|_| PyTypeError::new_err("the Arrow stream has no readable schema"))
}

/// Exports record batches as an Arrow C stream: a PyCapsule named `arrow_array_stream` (what
/// `__arrow_c_stream__` returns), which the consumer moves the stream out of. The batches'
/// buffers are handed over, not copied; they are freed when the consumer releases them.
fn export_stream<'py>(
    py: Python<'py>,
    schema: arrow_schema::SchemaRef,
    batches: Vec<arrow_array::RecordBatch>,
) -> PyResult<Bound<'py, PyCapsule>> {
    let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
    let stream = FFI_ArrowArrayStream::new(Box::new(reader));
    PyCapsule::new(py, stream, Some(c"arrow_array_stream".to_owned()))
}

/// Encodes one extract: `data` is a path (read as `padan encode --input` reads it) or an object
/// with `__arrow_c_stream__`. Writes `rejects` (and `lookup`) as `padan encode` does, and `out`
/// when given. Returns the summary as JSON (the fields of `padan encode --json`) and the encoded
/// rows as an Arrow C stream capsule (the record batches as the encoder made them, in order,
/// with the encoded file's schema and metadata): no file is written and read back for them.
#[pyfunction]
#[pyo3(signature = (data, *, key, rejects, name, out=None, schema=None, columns=None, id_column=None,
    column=Vec::new(), date_order=None, agency=None, pseudonymize_ids=false, lookup=None, decoys=None,
    max_reject_rate=0.5, threads=None, batch_rows=DEFAULT_BATCH_ROWS, encoding=None,
    delimiter=None, skip_rows=0, sheet=None, force=false))]
#[allow(clippy::too_many_arguments)]
fn encode<'py>(
    py: Python<'py>,
    data: &Bound<'_, PyAny>,
    key: String,
    rejects: String,
    name: String,
    out: Option<String>,
    schema: Option<String>,
    columns: Option<String>,
    id_column: Option<String>,
    column: Vec<String>,
    date_order: Option<String>,
    agency: Option<String>,
    pseudonymize_ids: bool,
    lookup: Option<String>,
    decoys: Option<f64>,
    max_reject_rate: f64,
    threads: Option<usize>,
    batch_rows: usize,
    encoding: Option<String>,
    delimiter: Option<String>,
    skip_rows: usize,
    sheet: Option<String>,
    force: bool,
) -> PyResult<(String, Bound<'py, PyCapsule>)> {
    let stream = if data.hasattr("__arrow_c_stream__")? {
        Some(import_stream(data)?)
    } else {
        None
    };
    let input = match &stream {
        Some(_) => PathBuf::from(&name),
        None => PathBuf::from(data.extract::<String>()?),
    };
    let run = move || -> padan::Result<(String, MemorySink)> {
        let schema = match &schema {
            Some(p) => Schema::load(Path::new(p))?,
            None => Schema::default_victims(),
        };
        let key = SecretKey::load(Path::new(&key))?;
        let date_order = date_order
            .as_deref()
            .map(|s| {
                s.parse::<DateOrder>()
                    .map_err(|_| Error::config("date_order", "expected dmy, mdy or ymd"))
            })
            .transpose()?;
        let columns = ColumnMap::resolve(
            columns.as_deref().map(Path::new),
            id_column.as_deref(),
            &column,
            date_order,
            "columns=FILE, or id_column= and column={FIELD: COLUMN}",
        )?;
        let agency = agency.or_else(|| columns.agency.clone()).ok_or_else(|| {
            Error::config(
                "agency",
                "name the agency with agency= (or `agency = ...` in the column map)",
            )
        })?;
        padan::agency::AgencyName::new(&agency, "agency")?;
        if !(0.0..=1.0).contains(&max_reject_rate) {
            return Err(Error::config(
                "max_reject_rate",
                "the maximum reject rate is a share between 0 and 1 (e.g. 0.5)",
            ));
        }
        let encoding = match encoding.as_deref() {
            None => TextEncoding::default(),
            Some(s) => s
                .parse::<TextEncoding>()
                .map_err(|e| Error::config("encoding", e))?,
        };
        let delimiter = delimiter
            .as_deref()
            .map(padan::extract::parse_delimiter)
            .transpose()
            .map_err(|e| Error::config("delimiter", e))?;
        let out = path(out);
        let rejects = PathBuf::from(&rejects);
        let lookup = pseudonymize_ids
            .then(|| path(lookup).unwrap_or_else(|| EncodeJob::default_lookup(&input)));
        if let Some(out) = &out {
            padan::cli::refuse_existing(out, force, "out")?;
        }
        padan::cli::refuse_existing(&rejects, force, "rejects")?;
        if let Some(l) = &lookup {
            padan::cli::refuse_existing(l, force, "lookup")?;
        }
        let job = EncodeJob {
            max_reject_rate: Some(max_reject_rate),
            rejects,
            lookup: lookup.clone(),
            read: ReadOptions {
                encoding,
                delimiter,
                skip_rows,
                sheet,
            },
            batch_rows,
            decoys,
            // Without `out` the job's output path is not used: the rows go to the memory sink.
            ..EncodeJob::new(
                &schema,
                &key,
                &columns,
                &agency,
                &input,
                out.as_deref().unwrap_or(&input),
            )
        };
        let extract = match stream {
            Some(reader) => Some(Extract::Parquet(ParquetReader::from_batches(
                &input,
                reader.schema(),
                reader,
                0,
                &schema,
                &columns,
            )?)),
            None => None,
        };
        // The encoded batches stay in memory (the table handed to Python); with `out` the encoded
        // file is written too, by the CLI's writer.
        let mut rows = MemorySink::new();
        let summary = padan::cli::with_threads(threads, || match &out {
            Some(_) => job.run_on_with(extract, &mut rows, &|_, _| {}),
            None => job.run_into(extract, &mut rows, &|_, _| {}),
        })?;
        let c = &summary.counts;
        let v = serde_json::json!({
            "status": if summary.refused.is_none() { "ok" } else { "too_many_rejects" },
            "agency": agency,
            "input_format": summary.input_format,
            "rows_read": c.rows_read,
            "rows_encoded": c.rows_encoded,
            "rows_rejected": c.rows_rejected,
            "decoys": summary.decoys,
            "rejected_by_reason": c.rejected,
            "dropped_by_reason": c.dropped,
            "flagged_by_reason": c.flagged,
            "key_fingerprint": summary.meta.key_fingerprint,
            "schema_fingerprint": summary.meta.schema_fingerprint,
            "seconds": summary.seconds,
            "refused": summary.refused,
            "lookup": lookup.map(|l| l.display().to_string()),
        });
        if let Some(why) = summary.refused {
            return Err(Error::TooManyRejects(format!(
                "{why}; the rejects file is written, the encoded file is not"
            )));
        }
        Ok((v.to_string(), rows))
    };
    let (summary, rows) = py.detach(run).map_err(|e| py_err(py, e))?;
    let (schema, batches) = rows.into_batches().ok_or_else(|| {
        py_err(
            py,
            Error::Internal("the encoded rows were not finished".into()),
        )
    })?;
    Ok((summary, export_stream(py, schema, batches)?))
}

/// Links encoded files into a match set written to `out` (as `padan link --out`); returns the
/// manifest as JSON.
#[pyfunction]
#[pyo3(signature = (inputs, *, out, config=None, write_candidates=false, decisions=Vec::new(),
    previous=None, refit=false, threads=None, force=false))]
#[allow(clippy::too_many_arguments)]
fn link(
    py: Python<'_>,
    inputs: Vec<String>,
    out: String,
    config: Option<String>,
    write_candidates: bool,
    decisions: Vec<String>,
    previous: Option<String>,
    refit: bool,
    threads: Option<usize>,
    force: bool,
) -> PyResult<String> {
    let run = move || -> padan::Result<String> {
        padan::cli::refuse_nonempty_dir(Path::new(&out), force, "out")?;
        let mut config = match &config {
            Some(p) => LinkConfig::load(Path::new(p))?,
            None => LinkConfig::default(),
        };
        if write_candidates {
            config.output.candidates = true;
        }
        if refit && previous.is_none() {
            return Err(Error::config("refit", "refit needs previous="));
        }
        let job = LinkJob {
            inputs: inputs.iter().map(PathBuf::from).collect(),
            out_dir: PathBuf::from(&out),
            config,
        };
        let decisions: Vec<PathBuf> = decisions.iter().map(PathBuf::from).collect();
        let decisions = padan::review::Decisions::read(&decisions)?;
        let manifest = match previous {
            Some(previous) => {
                let job = padan::link::incremental::IncrementalJob {
                    job,
                    previous: PathBuf::from(previous),
                    refit,
                };
                padan::cli::with_threads(threads, || job.run_with_decisions(&|_| {}, &decisions))?
            }
            None => {
                padan::cli::with_threads(threads, || job.run_with_decisions(&|_| {}, &decisions))?
            }
        };
        serde_json::to_string(&manifest)
            .map_err(|e| Error::Internal(format!("the link summary as JSON: {e}")))
    };
    py.detach(run).map_err(|e| py_err(py, e))
}

/// `padan evaluate DIR --json` (its JSON text), with the same options.
#[pyfunction]
#[pyo3(signature = (dir, *, truth=None, decisions=Vec::new(), lookup=Vec::new()))]
fn evaluate(
    py: Python<'_>,
    dir: String,
    truth: Option<String>,
    decisions: Vec<String>,
    lookup: Vec<String>,
) -> PyResult<String> {
    let run = move || -> padan::Result<String> {
        if truth.is_none() && decisions.is_empty() {
            return Err(Error::config(
                "evaluate",
                "give truth= (a truth CSV) or decisions= (a labelled sample)",
            ));
        }
        let args = padan::cli::evaluate::EvaluateArgs {
            dir: PathBuf::from(dir),
            truth: path(truth),
            decisions: decisions.into_iter().map(PathBuf::from).collect(),
            lookup,
            json: true,
        };
        let mut out = Vec::new();
        padan::cli::evaluate::execute(args, &mut out)?;
        String::from_utf8(out)
            .map_err(|_| Error::Internal("the evaluation is not UTF-8 text".into()))
    };
    py.detach(run).map_err(|e| py_err(py, e))
}

/// `padan report DIR --out OUT` (an existing `out` is replaced only with `force`); returns the
/// warnings of the truth evaluation.
#[pyfunction]
#[pyo3(signature = (dir, *, out, truth=None, lookup=Vec::new(), decisions=Vec::new(), force=false))]
fn report(
    py: Python<'_>,
    dir: String,
    out: String,
    truth: Option<String>,
    lookup: Vec<String>,
    decisions: Vec<String>,
    force: bool,
) -> PyResult<Vec<String>> {
    let run = move || -> padan::Result<Vec<String>> {
        let dir = PathBuf::from(dir);
        if !dir.is_dir() {
            return Err(Error::config(
                "report",
                format!("{} is not a directory", dir.display()),
            ));
        }
        let out = PathBuf::from(out);
        padan::cli::refuse_existing(&out, force, "out")?;
        let lookups = padan::cli::evaluate::read_lookups(&lookup)?;
        let decisions: Vec<PathBuf> = decisions.into_iter().map(PathBuf::from).collect();
        let data = padan::report::write_report_with(
            &dir,
            truth.as_deref().map(Path::new),
            &lookups,
            &decisions,
            &out,
        )?;
        Ok(data.truth.iter().flat_map(|t| t.warnings.clone()).collect())
    };
    py.detach(run).map_err(|e| py_err(py, e))
}

/// The default link configuration (`padan link --print-default-config`).
#[pyfunction]
fn default_link_config() -> &'static str {
    padan::link::DEFAULT_CONFIG_TOML
}

/// The native module.
#[pymodule]
fn _padan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", padan::VERSION)?;
    m.add_function(wrap_pyfunction!(encode, m)?)?;
    m.add_function(wrap_pyfunction!(link, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(report, m)?)?;
    m.add_function(wrap_pyfunction!(default_link_config, m)?)?;
    spark::register(m)?;
    Ok(())
}
