//! One whole encode run: extract → normalize → encode → encoded file, rejects file, lookup.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use super::decoy::{interleave, DecoyState, Decoys};
use super::sink::{EncodedSink, FileSink};
use super::{Counts, EncodeOptions, EncodedBatch, Encoder};
use crate::error::{Error, Result};
use crate::extract::{Extract, RawRow, ReadOptions, ReadProblem, DEFAULT_BATCH_ROWS};
use crate::io::encoded::{encoded_batch, EncodedMeta, ENCODING_VERSION};
use crate::io::AtomicFile;
use crate::keys::SecretKey;
use crate::schema::{ColumnMap, Schema};

/// Everything an encode run needs.
pub struct EncodeJob<'a> {
    /// The shared schema.
    pub schema: &'a Schema,
    /// The shared key.
    pub key: &'a SecretKey,
    /// The agency's column map.
    pub columns: &'a ColumnMap,
    /// The agency name.
    pub agency: String,
    /// The extract.
    pub input: PathBuf,
    /// The encoded file to write.
    pub output: PathBuf,
    /// The rejects file to write.
    pub rejects: PathBuf,
    /// The pseudonym lookup to write (when pseudonymizing).
    pub lookup: Option<PathBuf>,
    /// How to read the extract (text encoding, delimiter, rows to skip, sheet).
    pub read: ReadOptions,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Decoy records per extract row, on average (`--decoys`; needs `lookup`). `None`: no decoys.
    pub decoys: Option<f64>,
    /// Largest share of rejected rows for which the encoded file is still written
    /// (`--max-reject-rate`). `None`: no limit, except that an extract whose every row is rejected
    /// never gives an encoded file.
    pub max_reject_rate: Option<f64>,
}

/// What an encode run did.
#[derive(Debug, Clone)]
pub struct EncodeSummary {
    /// Counts by outcome and reason.
    pub counts: Counts,
    /// Seconds of wall time.
    pub seconds: f64,
    /// The detected input format.
    pub input_format: String,
    /// The metadata written.
    pub meta: EncodedMeta,
    /// Decoy records in the encoded file (included in the counts; known only at the agency).
    pub decoys: u64,
    /// Why no encoded file was written (too many rows rejected), when that happened: the rejects
    /// file is written, the encoded file and the lookup are not.
    pub refused: Option<String>,
}

impl<'a> EncodeJob<'a> {
    /// A job with the defaults of `padan encode`: rejects beside the output
    /// ([`EncodeJob::default_rejects`]), record ids kept, no decoys, text encoding detected, batches
    /// of [`DEFAULT_BATCH_ROWS`]. The fields are public: set others before running.
    pub fn new(
        schema: &'a Schema,
        key: &'a SecretKey,
        columns: &'a ColumnMap,
        agency: &str,
        input: &Path,
        output: &Path,
    ) -> EncodeJob<'a> {
        EncodeJob {
            schema,
            key,
            columns,
            agency: agency.to_string(),
            input: input.to_path_buf(),
            rejects: EncodeJob::default_rejects(output),
            output: output.to_path_buf(),
            lookup: None,
            read: ReadOptions::default(),
            batch_rows: DEFAULT_BATCH_ROWS,
            decoys: None,
            max_reject_rate: None,
        }
    }

    /// The default rejects path for an output: `<out>.rejects.csv`.
    pub fn default_rejects(output: &Path) -> PathBuf {
        let mut s = output.as_os_str().to_os_string();
        s.push(".rejects.csv");
        PathBuf::from(s)
    }

    /// The default lookup path: beside the extract, `<extract stem>.padan-lookup.csv` (for
    /// standard input, `-`: `padan-lookup.csv` in the current directory).
    pub fn default_lookup(input: &Path) -> PathBuf {
        if input.as_os_str() == "-" {
            return PathBuf::from("padan-lookup.csv");
        }
        let stem = input
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "extract".into());
        input.with_file_name(format!("{stem}.padan-lookup.csv"))
    }

    /// Runs the job. `progress(done, total)` is called after each batch.
    pub fn run(&self, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<EncodeSummary> {
        self.run_on(None, progress)
    }

    /// Runs the job on an extract opened by the caller (e.g. Arrow batches handed over in memory,
    /// [`crate::extract::ParquetReader::from_batches`]) instead of opening `input`; the checks,
    /// outputs and summary are those of [`EncodeJob::run`]. `None` opens `input`.
    pub fn run_on(
        &self,
        extract: Option<Extract>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<EncodeSummary> {
        self.run_to_file(extract, None, progress)
    }

    /// [`EncodeJob::run_on`] that also hands every batch of encoded rows, and at the end the
    /// metadata, to `also` (e.g. a [`super::MemorySink`]): the file is written all the same.
    pub fn run_on_with(
        &self,
        extract: Option<Extract>,
        also: &mut dyn EncodedSink,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<EncodeSummary> {
        self.run_to_file(extract, Some(also), progress)
    }

    fn run_to_file(
        &self,
        extract: Option<Extract>,
        also: Option<&mut dyn EncodedSink>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<EncodeSummary> {
        let mut file = FileSink::new(&self.output);
        let mut summary = match also {
            None => self.run_into(extract, &mut file, progress)?,
            Some(also) => self.run_into(extract, &mut (&mut file, also), progress)?,
        };
        // When refused, the encoded file's temporary file is removed as the sink drops, and an
        // encoded file left at the output path by an earlier run is removed too: nothing that
        // looks like this run's complete encoded file is left.
        if let Some(why) = summary.refused.take() {
            summary.refused = Some(if self.output.is_file() {
                std::fs::remove_file(&self.output)
                    .map_err(|e| Error::io("removing the earlier", &self.output, e))?;
                format!(
                    "{why} (the encoded file an earlier run left at {} was removed)",
                    self.output.display()
                )
            } else {
                why
            });
        }
        Ok(summary)
    }

    /// Runs the job with its encoded rows going to `sink` instead of the file `output` (which is
    /// then not used): the rejects file and the lookup are written as by [`EncodeJob::run_on`],
    /// and the sink is finished with the metadata unless the run is refused
    /// ([`EncodeSummary::refused`]). `None` opens `input`.
    pub fn run_into(
        &self,
        extract: Option<Extract>,
        sink: &mut dyn EncodedSink,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<EncodeSummary> {
        let start = Instant::now();
        let map_source = "column map";
        crate::agency::AgencyName::new(&self.agency, "--agency")?;
        self.columns.check(self.schema, map_source)?;
        let decoys = match self.decoys {
            None => None,
            Some(_) if self.lookup.is_none() => {
                return Err(Error::config(
                    "--decoys",
                    "decoys need pseudonymized ids (--pseudonymize-ids): only the agency's lookup tells them apart",
                ))
            }
            Some(f) => Some(Decoys::new(
                self.schema,
                self.key,
                &self.agency,
                self.columns.date_order,
                f,
            )?),
        };
        let mut extract = match extract {
            Some(e) => e,
            None => Extract::open_with(&self.input, self.schema, self.columns, &self.read)?,
        };
        let encoder = Encoder::new(
            self.schema,
            self.key,
            EncodeOptions {
                date_order: self.columns.date_order,
                pseudonymize_ids: self.lookup.is_some(),
                agency: self.agency.clone(),
            },
        );
        sink.start(encoder.layout())?;
        let arrow_schema = encoder.layout().arrow_schema();
        let rejects = AtomicFile::create(&self.rejects)?;
        let mut rejects_out = std::io::BufWriter::new(rejects.try_clone()?);
        writeln!(rejects_out, "line,record_id,field,column,outcome,reason")
            .map_err(|e| Error::io("writing", &self.rejects, e))?;
        let lookup = match &self.lookup {
            Some(p) => {
                let f = AtomicFile::create(p)?;
                let mut w = std::io::BufWriter::new(f.try_clone()?);
                let header = if decoys.is_some() {
                    "record_id,pseudonym,decoy"
                } else {
                    "record_id,pseudonym"
                };
                writeln!(w, "{header}").map_err(|e| Error::io("writing", p, e))?;
                Some((f, w, p.clone()))
            }
            None => None,
        };
        let field_columns: std::collections::HashMap<&str, String> = self
            .columns
            .columns
            .iter()
            .map(|(f, src)| (f.as_str(), src.columns().join("+")))
            .collect();

        let mut counts = Counts::default();
        let mut seen = HashSet::<u128>::new();
        let mut decoy_state = DecoyState::default();
        let mut decoys_encoded = 0u64;
        // A reader thread parses the extract, this thread encodes (in parallel) and a writer
        // thread writes the encoded file, the rejects and the lookup: the three overlap.
        let batch_rows = self.batch_rows.max(1);
        let rejects_path = &self.rejects;
        let field_columns = &field_columns;
        let arrow_schema = &arrow_schema;
        let out = &mut *sink;
        let (mut rejects_out, lookup) = std::thread::scope(|scope| -> Result<_> {
            // Both channels are owned here and dropped before the scope joins, so a reader
            // or writer stuck on a full or empty channel wakes up whatever went wrong.
            let (tx, rx) = sync_channel::<Result<(Vec<RawRow>, (u64, u64))>>(2);
            let (wtx, wrx) = sync_channel::<(EncodedBatch, Vec<bool>, (u64, u64))>(2);
            let ex = &mut extract;
            scope.spawn(move || loop {
                let b = ex.next_batch(batch_rows);
                let done = matches!(&b, Ok(v) if v.is_empty()) || b.is_err();
                let pos = ex.progress();
                if tx.send(b.map(|v| (v, pos))).is_err() || done {
                    break;
                }
            });
            let written = scope.spawn(move || -> Result<_> {
                let (mut rejects_out, mut lookup) = (rejects_out, lookup);
                for (mut batch, is_decoy, pos) in wrx.iter() {
                    if !batch.ids.is_empty() {
                        let columns = std::mem::take(&mut batch.columns);
                        out.write(&encoded_batch(arrow_schema, &batch.ids, columns)?)?;
                    }
                    write_log(&mut rejects_out, &batch, field_columns)
                        .map_err(|e| Error::io("writing", rejects_path, e))?;
                    if let Some((_, w, p)) = lookup.as_mut() {
                        write_lookup(w, &batch, &is_decoy)
                            .map_err(|e| Error::io("writing", p, e))?;
                    }
                    progress(pos.0, pos.1);
                }
                Ok((rejects_out, lookup))
            });
            let encoded = (|| -> Result<()> {
                for msg in rx.iter() {
                    let (mut rows, pos) = msg?;
                    if rows.is_empty() {
                        break;
                    }
                    mark_duplicates(&mut rows, &mut seen);
                    let (rows, slots) = match &decoys {
                        Some(d) => interleave(d, rows, &mut decoy_state),
                        None => (rows, Vec::new()),
                    };
                    let mut batch = encoder.encode_batch(&rows);
                    let is_decoy = match &decoys {
                        Some(d) => mark_decoys(d, &rows, &slots, &mut batch)?,
                        None => Vec::new(),
                    };
                    decoys_encoded += is_decoy.iter().filter(|&&d| d).count() as u64;
                    counts.add(&batch);
                    if wtx.send((batch, is_decoy, pos)).is_err() {
                        // the writer stopped on an error, which its join reports
                        break;
                    }
                }
                Ok(())
            })();
            drop(rx);
            drop(wtx);
            let written = written
                .join()
                .map_err(|_| Error::Internal("the encoded-file writer panicked".into()))?;
            encoded?;
            written
        })?;
        let input_format = extract.describe();

        let meta = EncodedMeta {
            padan_version: crate::VERSION.to_string(),
            encoding_version: ENCODING_VERSION,
            schema_fingerprint: self.schema.fingerprint(),
            key_fingerprint: self.key.fingerprint(),
            agency: self.agency.clone(),
            rows_read: counts.rows_read,
            rows_encoded: counts.rows_encoded,
            rows_rejected: counts.rows_rejected,
            rejects_by_reason: counts.rejected.clone(),
            dropped_by_reason: counts.dropped.clone(),
            flags_by_reason: counts.flagged.clone(),
            pseudonymized_ids: self.lookup.is_some(),
            schema_json: self.schema.canonical_json(),
        };
        rejects_out
            .flush()
            .map_err(|e| Error::io("writing", &self.rejects, e))?;
        drop(rejects_out);
        let real_read = counts.rows_read.saturating_sub(decoys_encoded);
        let rate = counts.rows_rejected as f64 / real_read.max(1) as f64;
        let refused = if real_read > 0 && counts.rows_rejected >= real_read {
            Some(format!("all {real_read} rows of the extract were rejected"))
        } else {
            match self.max_reject_rate {
                Some(max) if rate > max => Some(format!(
                    "{} of {real_read} rows rejected ({:.1} %), above the maximum reject rate {max}",
                    counts.rows_rejected,
                    rate * 100.0
                )),
                _ => None,
            }
        };
        if refused.is_none() {
            if let Some((f, mut w, p)) = lookup {
                w.flush().map_err(|e| Error::io("writing", &p, e))?;
                drop(w);
                f.commit()?;
            }
            sink.finish(&meta)?;
        }
        // When refused, the lookup's temporary file is removed as it drops.
        rejects.commit()?;
        Ok(EncodeSummary {
            counts,
            seconds: start.elapsed().as_secs_f64(),
            input_format,
            meta,
            decoys: decoys_encoded,
            refused,
        })
    }
}

/// Gives the encoded decoys of a batch their decoy pseudonyms and returns, per encoded row,
/// whether it is a decoy. `rows` is the interleaved batch, `slots` its decoy indices.
///
/// Encoded rows come out in input order without the rejected rows; a row is rejected when the log
/// has a `row_rejected` entry for its (line, record id) — unique, since extract lines are ≥ 1 and
/// unique, and every decoy has line 0 and its own id.
fn mark_decoys(
    decoys: &Decoys,
    rows: &[RawRow],
    slots: &[Option<u64>],
    batch: &mut EncodedBatch,
) -> Result<Vec<bool>> {
    let rejected: HashSet<(u64, &str)> = batch
        .log
        .iter()
        .filter(|e| e.outcome == super::Outcome::RowRejected)
        .map(|e| (e.line, e.record_id.as_str()))
        .collect();
    let mut is_decoy = Vec::with_capacity(batch.ids.len());
    let mut renamed = Vec::new();
    for (row, slot) in rows.iter().zip(slots) {
        if rejected.contains(&(row.line, row.id.as_str())) {
            continue;
        }
        if let Some(index) = slot {
            renamed.push((is_decoy.len(), *index));
        }
        is_decoy.push(slot.is_some());
    }
    if is_decoy.len() != batch.ids.len() {
        return Err(Error::Internal(format!(
            "decoy bookkeeping: {} rows expected, {} encoded",
            is_decoy.len(),
            batch.ids.len()
        )));
    }
    drop(rejected);
    for (k, index) in renamed {
        batch.ids[k] = decoys.pseudonym(index);
    }
    Ok(is_decoy)
}

/// Marks rows whose record id was already seen in this extract (the first one wins).
fn mark_duplicates(rows: &mut [RawRow], seen: &mut HashSet<u128>) {
    for r in rows.iter_mut() {
        if r.problem.is_some() {
            continue;
        }
        let h1 = ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(&r.id);
        let mut h2 = std::collections::hash_map::DefaultHasher::new();
        r.id.hash(&mut h2);
        let h = ((h1 as u128) << 64) | h2.finish() as u128;
        if !seen.insert(h) {
            r.problem = Some((ReadProblem::DuplicateId, "record id".to_string()));
        }
    }
}

/// The lookup lines of a batch: own id and pseudonym (and, with decoys, whether it is one).
fn write_lookup(
    w: &mut impl Write,
    batch: &EncodedBatch,
    is_decoy: &[bool],
) -> std::io::Result<()> {
    for (k, (orig, ps)) in batch.original_ids.iter().zip(&batch.ids).enumerate() {
        match is_decoy.get(k) {
            None => write_csv_row(w, &[orig, ps])?,
            Some(true) => write_csv_row(w, &["", ps, "true"])?,
            Some(false) => write_csv_row(w, &[orig, ps, "false"])?,
        }
    }
    Ok(())
}

fn write_csv_row(w: &mut impl Write, cells: &[&str]) -> std::io::Result<()> {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        if c.contains([',', '"', '\n', '\r']) {
            write!(w, "\"{}\"", c.replace('"', "\"\""))?;
        } else {
            w.write_all(c.as_bytes())?;
        }
    }
    w.write_all(b"\n")
}

fn write_log(
    w: &mut impl Write,
    batch: &EncodedBatch,
    field_columns: &std::collections::HashMap<&str, String>,
) -> std::io::Result<()> {
    // Line 0 is a decoy's (no extract line): not the agency's row, not in its rejects file. Its
    // outcomes still count in the metadata, like any row's.
    for e in batch.log.iter().filter(|e| e.line > 0) {
        let (field, column) = match field_columns.get(e.column.as_str()) {
            Some(col) => (e.column.as_str(), col.as_str()),
            None => ("", e.column.as_str()),
        };
        let line = e.line.to_string();
        write_csv_row(
            w,
            &[
                &line,
                &e.record_id,
                field,
                column,
                e.outcome.code(),
                e.reason,
            ],
        )?;
    }
    Ok(())
}
