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
