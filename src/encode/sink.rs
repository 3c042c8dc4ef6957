//! Where an encode run's encoded rows go: the encoded file (`padan encode`, [`FileSink`]), record
//! batches kept in memory ([`MemorySink`]: the Python package hands them to Python as a table,
//! without writing and reading back a file), or both (a pair of sinks).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::{Error, Result};
use crate::io::encoded::{EncodedMeta, EncodedWriter, Layout};

/// Takes the encoded rows of a run, batch by batch, in the extract's order
/// ([`super::EncodeJob::run_into`]).
pub trait EncodedSink: Send {
    /// Called once, before the first batch, with the encoded rows' layout.
    fn start(&mut self, layout: &Layout) -> Result<()>;
    /// One batch of encoded rows ([`crate::io::encoded::encoded_batch`]; never empty), in the
    /// columns of [`Layout::arrow_schema`].
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Called once after the last batch, with the run's metadata, when the run gives an encoded
    /// output; not called when the run is refused (too many rejects) or fails.
    fn finish(&mut self, meta: &EncodedMeta) -> Result<()>;
}

/// The encoded file: written under a temporary name and renamed on [`EncodedSink::finish`];
/// dropped unfinished, the temporary file is removed.
pub struct FileSink {
    path: PathBuf,
    writer: Option<EncodedWriter>,
}

impl FileSink {
    /// A sink writing the encoded file `path` (created on [`EncodedSink::start`]).
    pub fn new(path: &Path) -> FileSink {
        FileSink {
            path: path.to_path_buf(),
            writer: None,
        }
    }

    fn writer(&mut self) -> Result<&mut EncodedWriter> {
        self.writer
            .as_mut()
            .ok_or_else(|| Error::Internal("the encoded file was not started".into()))
    }
}

impl EncodedSink for FileSink {
    fn start(&mut self, layout: &Layout) -> Result<()> {
        self.writer = Some(EncodedWriter::create(&self.path, layout)?);
        Ok(())
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer()?.write_batch(batch)
    }

    fn finish(&mut self, meta: &EncodedMeta) -> Result<()> {
        self.writer()?;
        let writer = self.writer.take().expect("checked above");
        writer.finish(meta)
    }
}

/// The encoded rows kept in memory as Arrow record batches (their buffers are those the encoder
/// filled: nothing is copied). Once finished, [`MemorySink::into_batches`] gives the batches with
/// the schema an encoded file read back by an Arrow reader has: the same columns, types and
/// nullability, and the file's metadata ([`EncodedMeta::arrow_metadata`]).
#[derive(Default)]
pub struct MemorySink {
    schema: Option<SchemaRef>,
    batches: Vec<RecordBatch>,
    finished: bool,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// Rows held.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The schema (with the encoded file's metadata) and the batches, in order; `None` unless
    /// the run finished (a refused or failed run gives no encoded output).
    pub fn into_batches(self) -> Option<(SchemaRef, Vec<RecordBatch>)> {
        match (self.finished, self.schema) {
            (true, Some(schema)) => Some((schema, self.batches)),
            _ => None,
        }
    }
}

impl EncodedSink for MemorySink {
    fn start(&mut self, layout: &Layout) -> Result<()> {
        self.schema = Some(layout.arrow_schema());
        Ok(())
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() > 0 {
            self.batches.push(batch.clone());
        }
        Ok(())
    }

    fn finish(&mut self, meta: &EncodedMeta) -> Result<()> {
        let schema = self
            .schema
            .take()
            .ok_or_else(|| Error::Internal("the encoded batches were not started".into()))?;
        let schema = Arc::new(schema.as_ref().clone().with_metadata(meta.arrow_metadata()));
        for b in self.batches.iter_mut() {
            *b = b
                .clone()
                .with_schema(schema.clone())
                .map_err(|e| Error::Internal(format!("the encoded batches' schema: {e}")))?;
        }
        self.schema = Some(schema);
        self.finished = true;
        Ok(())
    }
}

/// Both sinks get every batch (e.g. the encoded file and the batches in memory).
impl<A: EncodedSink, B: EncodedSink> EncodedSink for (A, B) {
    fn start(&mut self, layout: &Layout) -> Result<()> {
        self.0.start(layout)?;
        self.1.start(layout)
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.0.write(batch)?;
        self.1.write(batch)
    }

    fn finish(&mut self, meta: &EncodedMeta) -> Result<()> {
        self.0.finish(meta)?;
        self.1.finish(meta)
    }
}

impl<S: EncodedSink + ?Sized> EncodedSink for &mut S {
    fn start(&mut self, layout: &Layout) -> Result<()> {
        (**self).start(layout)
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        (**self).write(batch)
    }

    fn finish(&mut self, meta: &EncodedMeta) -> Result<()> {
        (**self).finish(meta)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;
    use crate::encode::EncodeJob;
    use crate::keys::SecretKey;
    use crate::schema::{ColumnMap, Schema};

    /// Every cell of some batches, column by column, row by row (ids as bytes; `None` = null).
    fn cells(batches: &[RecordBatch]) -> Vec<Vec<Option<Vec<u8>>>> {
        let width = batches.first().map_or(0, |b| b.num_columns());
        let mut cols = vec![Vec::new(); width];
        for b in batches {
            for (c, out) in cols.iter_mut().enumerate() {
                let a = b.column(c);
                for r in 0..a.len() {
                    out.push(a.is_valid(r).then(|| match c {
                        0 => a.as_string::<i32>().value(r).as_bytes().to_vec(),
                        _ => a.as_fixed_size_binary().value(r).to_vec(),
                    }));
                }
            }
        }
        cols
    }

    fn polri_job<'a>(
        schema: &'a Schema,
        key: &'a SecretKey,
        columns: &'a ColumnMap,
        out: &Path,
    ) -> EncodeJob<'a> {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synth");
        let mut job = EncodeJob::new(
            schema,
            key,
            columns,
            "polri",
            &fixtures.join("polri.csv"),
            out,
        );
        job.batch_rows = 50;
        job
    }

    fn polri_columns() -> ColumnMap {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synth");
        ColumnMap::load(&fixtures.join("polri.columns.toml")).expect("column map")
    }

    /// The batches kept in memory are the encoded file's rows in its order, with its columns,
    /// types, nullability and key-value metadata.
    #[test]
    fn memory_batches_are_the_encoded_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (schema, key, columns) = (
            Schema::default_victims(),
            SecretKey::from_bytes([7; 32]),
            polri_columns(),
        );
        let out = dir.path().join("polri.padan.parquet");
        let job = polri_job(&schema, &key, &columns, &out);
        let mut mem = MemorySink::new();
        let summary = job.run_on_with(None, &mut mem, &|_, _| {}).expect("encode");
        assert!(summary.refused.is_none());
        assert_eq!(mem.rows() as u64, summary.counts.rows_encoded);
        let (mem_schema, batches) = mem.into_batches().expect("finished");
        assert!(batches.len() > 2, "one batch per 50 extract rows");
        assert!(batches.iter().all(|b| b.schema() == mem_schema));

        let builder =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&out).expect("open"))
                .expect("reader");
        let kv: HashMap<String, String> = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .expect("metadata")
            .iter()
            .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
            .collect();
        assert!(
            mem_schema.metadata() == &kv,
            "the file's key-value metadata"
        );
        assert!(kv.contains_key("padan.key_fingerprint") && kv.contains_key("PANDAS_ATTRS"));
        assert_eq!(builder.schema().fields(), mem_schema.fields());
        let read: Vec<RecordBatch> = builder
            .build()
            .expect("reader")
            .collect::<std::result::Result<_, _>>()
            .expect("read");
        let (file_cells, mem_cells) = (cells(&read), cells(&batches));
        assert_eq!(file_cells.len(), mem_schema.fields().len());
        assert_eq!(file_cells, mem_cells);

        // Without the file sink, the same batches.
        let mut alone = MemorySink::new();
        job.run_into(None, &mut alone, &|_, _| {}).expect("encode");
        let (_, again) = alone.into_batches().expect("finished");
        assert_eq!(cells(&again), mem_cells);
    }

    /// A refused run (too many rejects) never finishes the sink: no encoded rows come out.
    #[test]
    fn a_refused_run_leaves_the_memory_sink_unfinished() {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("extract.csv");
        // Two of three rows have no name (a required field): rejected.
        std::fs::write(
            &input,
            "id,nama,lahir\nr1,,1990-01-02\nr2,,1985-03-04\nr3,SITI AMINAH,1990-03-07\n",
        )
        .expect("write extract");
        let pairs = ["name=nama".to_string(), "dob=lahir".to_string()];
        let columns = ColumnMap::resolve(None, Some("id"), &pairs, None, "test").expect("map");
        let (schema, key) = (Schema::default_victims(), SecretKey::from_bytes([7; 32]));
        let out = dir.path().join("x.padan.parquet");
        let mut job = EncodeJob::new(&schema, &key, &columns, "x", &input, &out);
        job.max_reject_rate = Some(0.5);
        let mut mem = MemorySink::new();
        let summary = job.run_into(None, &mut mem, &|_, _| {}).expect("encode");
        assert_eq!(summary.counts.rows_rejected, 2);
        assert!(summary.refused.is_some());
        assert!(mem.into_batches().is_none());
        assert!(!out.exists());
        assert!(
            job.rejects.is_file(),
            "the rejects are written all the same"
        );
        // Allowed, the same run gives its one row.
        job.max_reject_rate = Some(1.0);
        let mut mem = MemorySink::new();
        job.run_into(None, &mut mem, &|_, _| {}).expect("encode");
        assert_eq!(mem.into_batches().expect("finished").1[0].num_rows(), 1);
        assert!(!out.exists(), "run_into does not write the file");
    }
}
