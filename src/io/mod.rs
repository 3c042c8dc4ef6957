//! Files padan writes and reads, one owner per format: encoded files ([`encoded`], and
//! [`clkhash`] imports), match sets ([`matchset`]: the Parquet files, [`manifest`]: their
//! manifest), pseudonym lookups ([`lookup`]) and truth files ([`truth`]).
//!
//! Every writer writes under a temporary name in the destination directory and renames when the
//! file is complete ([`AtomicFile`]), so a run that dies never leaves a partial file that looks
//! complete. Every Parquet writer starts from [`writer_properties`] (zstd at [`ZSTD_LEVEL`]), is
//! opened by [`arrow_writer`] and ends with [`append_metadata`], so that its `padan.*` metadata
//! is where each analyst's tool looks for it (docs/file-formats.md, "Metadata in each tool").

pub mod clkhash;
pub mod encoded;
pub mod lookup;
pub mod manifest;
pub mod matchset;
pub mod truth;

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{ArrowWriter, ArrowWriterOptions};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};

use crate::error::{Error, Result};

/// The zstd level of every Parquet file padan writes.
pub const ZSTD_LEVEL: i32 = 3;

/// The Parquet writer settings every padan file starts from: zstd at [`ZSTD_LEVEL`], row groups
/// of at most `row_group_rows`, `created_by` naming this padan. Writers add their own settings.
pub fn writer_properties(row_group_rows: usize) -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).expect("valid zstd level"),
        ))
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_created_by(format!("padan {}", crate::VERSION))
}

/// The key under which pandas keeps `DataFrame.attrs` in the Arrow schema metadata
/// (`pandas.read_parquet(f).attrs` is this key's JSON object).
pub const PANDAS_ATTRS_KEY: &str = "PANDAS_ATTRS";

/// Opens a Parquet writer for `file` the padan way: without the serialized Arrow schema
/// (`ARROW:schema`). Readers built on Arrow C++ (pyarrow, pandas) take the Arrow schema metadata
/// from that serialized schema when it is there — and padan's metadata is only known once the
/// rows are written, after the schema was serialized — or else from the file's key-value
/// metadata. Without it, `pq.read_table(f).schema.metadata` holds every `padan.*` key. The column
/// types padan writes (UTF-8, fixed-size binary, Int64, Float32/64, Boolean) read back the same
/// from the Parquet types alone.
pub fn arrow_writer(
    file: File,
    schema: SchemaRef,
    props: WriterProperties,
    path: &Path,
) -> Result<ArrowWriter<File>> {
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_skip_arrow_metadata(true);
    ArrowWriter::try_new_with_options(file, schema, options)
        .map_err(|e| Error::format("writing", path, e))
}

/// Appends a padan file's key-value metadata (`padan.*` keys, string values), and the same pairs
/// once more as one JSON object under [`PANDAS_ATTRS_KEY`], so that pandas shows them as
/// `DataFrame.attrs` ([`with_pandas_attrs`]).
pub fn append_metadata<W: std::io::Write + Send>(w: &mut ArrowWriter<W>, kv: Vec<KeyValue>) {
    for k in with_pandas_attrs(kv) {
        w.append_key_value_metadata(k);
    }
}

/// A padan file's key-value metadata as it is written: the pairs, then the same pairs once more
/// as one JSON object under [`PANDAS_ATTRS_KEY`]. Readers built on Arrow C++ show exactly these as
/// the Arrow schema metadata of the file (see [`arrow_writer`]).
pub fn with_pandas_attrs(mut kv: Vec<KeyValue>) -> Vec<KeyValue> {
    let attrs: serde_json::Map<String, serde_json::Value> = kv
        .iter()
        .map(|k| {
            (
                k.key.clone(),
                serde_json::Value::String(k.value.clone().unwrap_or_default()),
            )
        })
        .collect();
    kv.push(KeyValue::new(
        PANDAS_ATTRS_KEY.to_string(),
        serde_json::Value::Object(attrs).to_string(),
    ));
    kv
}

/// A file written under `<name>.tmp-<pid>` and renamed to its final name by [`AtomicFile::commit`].
/// Dropped without commit, the temporary file is removed.
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Creates the temporary file beside `dest`.
    pub fn create(dest: &Path) -> Result<AtomicFile> {
        let name = dest.file_name().ok_or_else(|| {
            Error::config("--out", format!("{} is not a file name", dest.display()))
        })?;
        let tmp = dest.with_file_name(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
            file: Some(file),
        })
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("file is open until commit")
    }

    /// A handle to the temporary file (for writers that take ownership).
    pub fn try_clone(&self) -> Result<File> {
        self.file
            .as_ref()
            .expect("file is open until commit")
            .try_clone()
            .map_err(|e| Error::io("opening", &self.tmp, e))
    }

    /// The temporary path (for writers that open the file by name).
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes to disk and renames to the final name.
    pub fn commit(mut self) -> Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all()
                .map_err(|e| Error::io("writing", &self.tmp, e))?;
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io("renaming", &self.dest, e))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// blake3 of a whole file, hex.
pub fn file_blake3(path: &Path) -> Result<String> {
    let mut h = blake3::Hasher::new();
    let f = File::open(path).map_err(|e| Error::io("reading", path, e))?;
    h.update_reader(f)
        .map_err(|e| Error::io("reading", path, e))?;
    Ok(h.finalize().to_hex().to_string())
}

/// Where in `path` something went wrong (for errors: a place, never a value).
pub fn location(path: &Path, line: Option<u64>, column: Option<&str>) -> crate::error::Location {
    crate::error::Location {
        file: Some(path.to_path_buf()),
        line,
        column: column.map(str::to_string),
    }
}

/// Opens a small CSV table with a header row and a fixed number of fields per row (truth files,
/// pseudonym lookups): its reader and its header. Errors name the file and line 1.
pub fn open_csv_table(
    path: &Path,
) -> Result<(csv::Reader<std::io::BufReader<File>>, csv::StringRecord)> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let headers = rdr
        .headers()
        .map_err(|e| {
            Error::input(
                location(path, Some(1), None),
                format!("cannot read the header: {e}"),
            )
        })?
        .clone();
    Ok((rdr, headers))
}
