//! The encoded file (`*.padan.parquet`): the only thing that leaves an agency.
//!
//! Columns ([`Layout::for_schema`]), in this order:
//!
//! | column | type | what |
//! | --- | --- | --- |
//! | `record_id` | Utf8 | the agency's record id, or a keyed pseudonym (`--pseudonymize-ids`) |
//! | `filter_<field>` | FixedSizeBinary(bits/8), nullable | the field's keyed Bloom filter (null = missing) |
//! | `token_<field>` | FixedSizeBinary(16), nullable | keyed exact token (fields with `exact_token`) |
//! | `block_dob_sex` | FixedSizeBinary(16), nullable | keyed blocking key: full date of birth + sex |
//! | `block_name_year` | FixedSizeBinary(16), nullable | keyed blocking key: phonetic name key + birth year |
//! | `record_filter` | FixedSizeBinary(bits/8) | record-level filter over all fields, for LSH blocking |
//!
//! Filters are stored little-endian: bit `i` is bit `i % 8` of byte `i / 8`. No dictionary
//! encoding and no column statistics (a min/max would be a sample of the data); zstd.
//! File-level key–value metadata: see [`EncodedMeta`] (keys `padan.*`).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, RecordBatch, StringArray};
use arrow_buffer::{Buffer, NullBuffer};
use arrow_schema::{DataType, Field, Schema as ArrowSchema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::AtomicFile;
use crate::error::{Error, Result};
use crate::schema::{FieldKind, Schema};

/// The encoding format version. Bump it whenever normalization, tokenization or hashing changes:
/// the known-answer tests pin the bytes. Version 2: per-field hardening (salt, permutation,
/// balancing, folding, BLIP) and the hardened default schema. Version 3: BLIP flips drawn as
/// geometric gaps (the same Bernoulli(p) noise from far fewer keyed draws). Version 4: salt slots
/// (composite salts; a slotted field stores one tagged, salted filter per slot).
pub const ENCODING_VERSION: u32 = 4;

/// Width in bytes of tokens and blocking keys.
pub const TOKEN_BYTES: usize = 16;

/// Rows per Parquet row group.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 65_536;

/// A kind of blocking key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockKind {
    /// Full date of birth + sex.
    DobSex,
    /// Phonetic name key + birth year.
    NameYear,
}

impl BlockKind {
    /// The label used in column names, subkeys and stats.
    pub fn label(self) -> &'static str {
        match self {
            BlockKind::DobSex => "dob_sex",
            BlockKind::NameYear => "name_year",
        }
    }
}

/// What a column of an encoded file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    /// The Bloom filter of schema field `i`.
    FieldFilter(usize),
    /// The exact token of schema field `i`.
    Token(usize),
    /// A blocking key.
    Block(BlockKind),
    /// The record-level filter.
    RecordFilter,
}

/// One binary column of an encoded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// What it holds.
    pub role: ColumnRole,
    /// Width in bytes.
    pub width: usize,
}

/// The binary columns an encoded file has for a schema (after `record_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The columns, in file order.
    pub columns: Vec<ColumnDef>,
}

impl Layout {
    /// The layout for a schema.
    pub fn for_schema(schema: &Schema) -> Layout {
        let mut columns = Vec::new();
        for (i, f) in schema.fields.iter().enumerate() {
            if f.kind.has_filter() {
                columns.push(ColumnDef {
                    name: format!("filter_{}", f.name),
                    role: ColumnRole::FieldFilter(i),
                    width: f.stored_bits() / 8,
                });
            }
        }
        for (i, f) in schema.fields.iter().enumerate() {
            if f.exact_token {
                columns.push(ColumnDef {
                    name: format!("token_{}", f.name),
                    role: ColumnRole::Token(i),
                    width: TOKEN_BYTES,
                });
            }
        }
        for kind in Layout::block_kinds(schema) {
            columns.push(ColumnDef {
                name: format!("block_{}", kind.label()),
                role: ColumnRole::Block(kind),
                width: TOKEN_BYTES,
            });
        }
        columns.push(ColumnDef {
            name: "record_filter".into(),
            role: ColumnRole::RecordFilter,
            width: schema.record_filter.bits / 8,
        });
        Layout { columns }
    }

    /// The blocking keys a schema supports.
    pub fn block_kinds(schema: &Schema) -> Vec<BlockKind> {
        let has = |k| schema.first_of_kind(k).is_some();
        let mut v = Vec::new();
        if !schema.slots.is_empty() {
            // A salt-slot schema blocks on its slot tags (inside the field filters) only.
            return v;
        }
        if has(FieldKind::Date) && has(FieldKind::Sex) {
            v.push(BlockKind::DobSex);
        }
        if has(FieldKind::Name) && has(FieldKind::Date) {
            v.push(BlockKind::NameYear);
        }
        v
    }

    /// The Arrow schema of the file.
    pub fn arrow_schema(&self) -> SchemaRef {
        let mut fields = vec![Field::new("record_id", DataType::Utf8, false)];
        for c in &self.columns {
            fields.push(Field::new(
                &c.name,
                DataType::FixedSizeBinary(c.width as i32),
                c.role != ColumnRole::RecordFilter,
            ));
        }
        Arc::new(ArrowSchema::new(fields))
    }

    /// Index of the column with a role.
    pub fn position(&self, role: ColumnRole) -> Option<usize> {
        self.columns.iter().position(|c| c.role == role)
    }
}

/// One column's values for a batch of rows: `width` bytes per row, and validity.
#[derive(Debug, Clone, Default)]
pub struct ColumnBuf {
    /// Bytes per row.
    pub width: usize,
    /// `rows × width` bytes (zeros for null rows).
    pub data: Vec<u8>,
    /// Per row: whether the value is present.
    pub valid: Vec<bool>,
}

impl ColumnBuf {
    /// An empty column of a width.
    pub fn new(width: usize) -> ColumnBuf {
        ColumnBuf {
            width,
            data: Vec::new(),
            valid: Vec::new(),
        }
    }

    /// An empty column of a width with room for `rows` rows.
    pub fn with_capacity(width: usize, rows: usize) -> ColumnBuf {
        ColumnBuf {
            width,
            data: Vec::with_capacity(width * rows),
            valid: Vec::with_capacity(rows),
        }
    }

    /// Appends a value.
    pub fn push(&mut self, bytes: &[u8]) {
        debug_assert_eq!(bytes.len(), self.width);
        self.data.extend_from_slice(bytes);
        self.valid.push(true);
    }

    /// Appends a null.
    pub fn push_null(&mut self) {
        self.data.resize(self.data.len() + self.width, 0);
        self.valid.push(false);
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.valid.len()
    }

    /// Whether no rows are held.
    pub fn is_empty(&self) -> bool {
        self.valid.is_empty()
    }

    /// Appends another buffer of the same width.
    pub fn extend(&mut self, other: &ColumnBuf) {
        self.data.extend_from_slice(&other.data);
        self.valid.extend_from_slice(&other.valid);
    }

    /// Row `i`'s bytes, `None` when null.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.valid[i].then(|| &self.data[i * self.width..(i + 1) * self.width])
    }

    /// The column as an Arrow array (the bytes are moved, not copied).
    pub fn into_array(self) -> ArrayRef {
        let nulls = if self.valid.iter().all(|&v| v) {
            None
        } else {
            Some(NullBuffer::from(self.valid))
        };
        Arc::new(FixedSizeBinaryArray::new(
            self.width as i32,
            Buffer::from_vec(self.data),
            nulls,
        ))
    }
}

/// The file-level metadata of an encoded file.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct EncodedMeta {
    /// padan version that wrote it.
    pub padan_version: String,
    /// [`ENCODING_VERSION`] it was written with.
    pub encoding_version: u32,
    /// The schema fingerprint.
    pub schema_fingerprint: String,
    /// The key fingerprint (never the key).
    pub key_fingerprint: String,
    /// The agency.
    pub agency: String,
    /// Data rows read from the extract.
    pub rows_read: u64,
    /// Rows encoded (rows of this file).
    pub rows_encoded: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Rejected rows by reason code.
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Values dropped (row kept, field missing) by reason code.
    pub dropped_by_reason: BTreeMap<String, u64>,
    /// Rows kept but flagged (e.g. NIK disagreeing with date of birth) by reason code.
    pub flags_by_reason: BTreeMap<String, u64>,
    /// Whether record ids are keyed pseudonyms.
    pub pseudonymized_ids: bool,
    /// The schema's canonical JSON.
    pub schema_json: String,
}

impl EncodedMeta {
    /// The Arrow schema metadata of an encoded file as Arrow readers show it: the `padan.*` keys
    /// and their [`super::PANDAS_ATTRS_KEY`] copy, exactly what [`EncodedWriter::finish`] writes
    /// into the file's key-value metadata. An encoded table handed over in memory carries it.
    pub fn arrow_metadata(&self) -> HashMap<String, String> {
        super::with_pandas_attrs(self.to_kv())
            .into_iter()
            .map(|k| (k.key, k.value.unwrap_or_default()))
            .collect()
    }

    fn to_kv(&self) -> Vec<KeyValue> {
        let j = |m: &BTreeMap<String, u64>| serde_json::to_string(m).unwrap_or_default();
        let kv = |k: &str, v: String| KeyValue::new(format!("padan.{k}"), v);
        vec![
            kv("format", "encoded".into()),
            kv("version", self.padan_version.clone()),
            kv("encoding_version", self.encoding_version.to_string()),
            kv("schema_fingerprint", self.schema_fingerprint.clone()),
            kv("key_fingerprint", self.key_fingerprint.clone()),
            kv("agency", self.agency.clone()),
            kv("rows_read", self.rows_read.to_string()),
            kv("rows_encoded", self.rows_encoded.to_string()),
            kv("rows_rejected", self.rows_rejected.to_string()),
            kv("rejects_by_reason", j(&self.rejects_by_reason)),
            kv("dropped_by_reason", j(&self.dropped_by_reason)),
            kv("flags_by_reason", j(&self.flags_by_reason)),
            kv("pseudonymized_ids", self.pseudonymized_ids.to_string()),
            kv("schema", self.schema_json.clone()),
        ]
    }

    fn from_kv(path: &Path, kv: &[KeyValue]) -> Result<EncodedMeta> {
        let get = |k: &str| -> Option<&str> {
            kv.iter()
                .find(|x| x.key == format!("padan.{k}"))
                .and_then(|x| x.value.as_deref())
        };
        let need = |k: &str| -> Result<&str> {
            get(k).ok_or_else(|| {
                Error::input_file(
                    path,
                    format!("not a padan encoded file: metadata key 'padan.{k}' is missing"),
                )
            })
        };
        if need("format")? != "encoded" {
            return Err(Error::input_file(
                path,
                "not a padan encoded file (padan.format is not 'encoded')",
            ));
        }
        let num = |k: &str| -> Result<u64> {
            need(k)?.parse().map_err(|_| {
                Error::input_file(path, format!("metadata key 'padan.{k}' is not a number"))
            })
        };
        let map = |k: &str| -> Result<BTreeMap<String, u64>> {
            serde_json::from_str(need(k)?).map_err(|_| {
                Error::input_file(path, format!("metadata key 'padan.{k}' is malformed"))
            })
        };
        Ok(EncodedMeta {
            padan_version: need("version")?.to_string(),
            encoding_version: num("encoding_version")? as u32,
            schema_fingerprint: need("schema_fingerprint")?.to_string(),
            key_fingerprint: need("key_fingerprint")?.to_string(),
            agency: need("agency")?.to_string(),
            rows_read: num("rows_read")?,
            rows_encoded: num("rows_encoded")?,
            rows_rejected: num("rows_rejected")?,
            rejects_by_reason: map("rejects_by_reason")?,
            dropped_by_reason: map("dropped_by_reason")?,
            flags_by_reason: map("flags_by_reason")?,
            pseudonymized_ids: need("pseudonymized_ids")? == "true",
            schema_json: need("schema")?.to_string(),
        })
    }
}

/// Writer properties for padan's binary-heavy files: zstd, no dictionary, no statistics.
pub fn writer_properties(row_group_rows: usize) -> WriterProperties {
    super::writer_properties(row_group_rows)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .build()
}

/// Rows per write to the Parquet writer. The writer decides page boundaries at the end of each
/// write, so writing in fixed slices (not in the encoder's batches) makes the file's bytes the
/// same whatever `--batch-rows` and the thread count.
const WRITE_ROWS: usize = 1024;

/// The record batch of encoded rows: their ids and one buffer per layout column, in the columns
/// and types of `schema` ([`Layout::arrow_schema`]). The buffers are moved into the batch.
pub fn encoded_batch(
    schema: &SchemaRef,
    ids: &[String],
    cols: Vec<ColumnBuf>,
) -> Result<RecordBatch> {
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(cols.len() + 1);
    arrays.push(Arc::new(StringArray::from_iter_values(ids.iter())));
    arrays.extend(cols.into_iter().map(ColumnBuf::into_array));
    RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| Error::Internal(format!("building encoded batch: {e}")))
}

/// Streams batches into an encoded file under a temporary name.
pub struct EncodedWriter {
    atomic: AtomicFile,
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    rows: u64,
    /// Rows not yet handed to the writer (fewer than [`WRITE_ROWS`] after each write).
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl EncodedWriter {
    /// Starts an encoded file.
    pub fn create(path: &Path, layout: &Layout) -> Result<EncodedWriter> {
        let atomic = AtomicFile::create(path)?;
        let schema = layout.arrow_schema();
        let writer = super::arrow_writer(
            atomic.try_clone()?,
            schema.clone(),
            writer_properties(DEFAULT_ROW_GROUP_ROWS),
            path,
        )?;
        Ok(EncodedWriter {
            atomic,
            writer,
            schema,
            rows: 0,
            pending: Vec::new(),
            pending_rows: 0,
        })
    }

    /// Writes the pending rows as one slice (joined: at most [`WRITE_ROWS`] rows are copied).
    fn flush_pending(&mut self) -> Result<()> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let joined = arrow_select::concat::concat_batches(&self.schema, &self.pending)
            .map_err(|e| Error::Internal(format!("joining encoded batches: {e}")))?;
        self.pending.clear();
        self.pending_rows = 0;
        self.writer
            .write(&joined)
            .map_err(|e| Error::format("writing", self.atomic.dest(), e))
    }

    /// Hands `batch` to the writer in slices of [`WRITE_ROWS`] rows, counted from the file's
    /// first row: the head completes the pending slice, whole slices are written as zero-copy
    /// slices of the batch, the tail waits.
    fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let mut at = 0;
        if self.pending_rows > 0 {
            at = (WRITE_ROWS - self.pending_rows).min(n);
            self.pending.push(batch.slice(0, at));
            self.pending_rows += at;
            if self.pending_rows < WRITE_ROWS {
                return Ok(());
            }
            self.flush_pending()?;
        }
        while n - at >= WRITE_ROWS {
            self.writer
                .write(&batch.slice(at, WRITE_ROWS))
                .map_err(|e| Error::format("writing", self.atomic.dest(), e))?;
            at += WRITE_ROWS;
        }
        if at < n {
            self.pending.push(batch.slice(at, n - at));
            self.pending_rows = n - at;
        }
        Ok(())
    }

    /// Writes rows: their ids and one buffer per layout column.
    pub fn write(&mut self, ids: &[String], cols: &[ColumnBuf]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let batch = encoded_batch(&self.schema, ids, cols.to_vec())?;
        self.write_batch(&batch)
    }

    /// Writes a batch made by [`encoded_batch`] for this file's layout.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        self.push(batch)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Adds the metadata, closes the file and renames it to its final name.
    pub fn finish(mut self, meta: &EncodedMeta) -> Result<()> {
        self.flush_pending()?;
        super::append_metadata(&mut self.writer, meta.to_kv());
        let dest = self.atomic.dest().to_path_buf();
        self.writer
            .close()
            .map_err(|e| Error::format("writing", &dest, e))?;
        self.atomic.commit()
    }
}

/// A whole encoded file in memory, columnar (what link works on).
#[derive(Debug)]
pub struct EncodedFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its metadata.
    pub meta: EncodedMeta,
    /// The schema embedded in it.
    pub schema: Schema,
    /// Its layout.
    pub layout: Layout,
    /// Record ids.
    pub ids: Vec<String>,
    /// One buffer per layout column.
    pub columns: Vec<ColumnBuf>,
}

impl EncodedFile {
    /// Reads only the metadata of an encoded file (cheap).
    pub fn read_meta(path: &Path) -> Result<EncodedMeta> {
        Ok(EncodedFile::open(path)?.1)
    }

    /// Opens the Parquet file and parses its padan metadata.
    fn open(path: &Path) -> Result<(ParquetRecordBatchReaderBuilder<File>, EncodedMeta)> {
        let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| Error::format("reading (not a Parquet file, or truncated)", path, e))?;
        let kv = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .cloned()
            .unwrap_or_default();
        let meta = EncodedMeta::from_kv(path, &kv)?;
        Ok((builder, meta))
    }

    /// Reads and checks a whole encoded file.
    pub fn read(path: &Path) -> Result<EncodedFile> {
        let (builder, meta) = EncodedFile::open(path)?;
        let schema = Schema::from_canonical_json(&meta.schema_json, &path.display().to_string())?;
        if schema.fingerprint() != meta.schema_fingerprint {
            return Err(Error::input_file(
                path,
                "the embedded schema does not match its fingerprint (file altered?)",
            ));
        }
        let layout = Layout::for_schema(&schema);
        let expected = layout.arrow_schema();
        let actual = builder.schema().clone();
        if actual.fields().len() != expected.fields().len()
            || actual
                .fields()
                .iter()
                .zip(expected.fields())
                .any(|(a, e)| a.name() != e.name() || a.data_type() != e.data_type())
        {
            return Err(Error::input_file(
                path,
                "its columns do not match the layout its schema requires (file altered or written by another tool)",
            ));
        }
        let reader = builder
            .with_batch_size(65_536)
            .build()
            .map_err(|e| Error::format("reading", path, e))?;
        let mut ids = Vec::with_capacity(meta.rows_encoded as usize);
        let mut columns: Vec<ColumnBuf> = layout
            .columns
            .iter()
            .map(|c| ColumnBuf::new(c.width))
            .collect();
        for batch in reader {
            let batch =
                batch.map_err(|e| Error::format("reading (corrupt or truncated?)", path, e))?;
            let idc = batch.column(0).as_string::<i32>();
            ids.extend(idc.iter().map(|v| v.unwrap_or("").to_string()));
            for (ci, buf) in columns.iter_mut().enumerate() {
                let arr = batch.column(ci + 1).as_fixed_size_binary();
                if arr.value_data().len() == arr.len() * buf.width {
                    buf.data.extend_from_slice(arr.value_data());
                } else {
                    for i in 0..arr.len() {
                        buf.data.extend_from_slice(arr.value(i));
                    }
                }
                match arr.nulls() {
                    None => buf.valid.extend(std::iter::repeat_n(true, arr.len())),
                    Some(n) => buf.valid.extend(n.iter()),
                }
            }
        }
        if ids.len() as u64 != meta.rows_encoded {
            return Err(Error::input_file(
                path,
                format!(
                    "it holds {} rows but its metadata says {} (truncated or altered?)",
                    ids.len(),
                    meta.rows_encoded
                ),
            ));
        }
        Ok(EncodedFile {
            path: path.to_path_buf(),
            meta,
            schema,
            layout,
            ids,
            columns,
        })
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it holds no records.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The column with a role.
    pub fn column(&self, role: ColumnRole) -> Option<&ColumnBuf> {
        self.layout.position(role).map(|i| &self.columns[i])
    }
}
