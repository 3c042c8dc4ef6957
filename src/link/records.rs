//! The linkage unit's in-memory view of all inputs: records by global index, each field's filters
//! in one contiguous [`FilterMatrix`], tokens as fixed 16-byte keys.

use std::path::Path;

use super::dice::FilterMatrix;
use crate::error::{Error, Result};
use crate::io::encoded::{ColumnBuf, ColumnRole, EncodedFile, EncodedMeta, Layout};
use crate::schema::Schema;

/// A column of 16-byte tokens (as u128, 0 never used for a present token's meaning: validity is
/// kept separately).
#[derive(Debug, Clone, Default)]
pub struct TokenColumn {
    /// Token per record (0 when missing).
    pub values: Vec<u128>,
    /// Whether present.
    pub valid: Vec<bool>,
}

impl TokenColumn {
    fn extend(&mut self, buf: &ColumnBuf) {
        for i in 0..buf.len() {
            match buf.get(i) {
                Some(b) => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(b);
                    self.values.push(u128::from_le_bytes(a));
                    self.valid.push(true);
                }
                None => {
                    self.values.push(0);
                    self.valid.push(false);
                }
            }
        }
    }

    /// Token of record i.
    #[inline]
    pub fn get(&self, i: usize) -> Option<u128> {
        self.valid[i].then(|| self.values[i])
    }
}

/// One loaded input file: where it came from and where its records sit (no data).
#[derive(Debug, Clone)]
pub struct LoadedInput {
    /// Path as given.
    pub path: std::path::PathBuf,
    /// The file's blake3 hash (hex), its tie-break in the canonical input order.
    pub blake3: String,
    /// Its metadata.
    pub meta: EncodedMeta,
    /// Records.
    pub rows: usize,
    /// First global index.
    pub offset: usize,
}

/// All records of all inputs.
pub struct Records {
    /// The shared schema.
    pub schema: Schema,
    /// The shared layout.
    pub layout: Layout,
    /// Inputs in canonical order: by agency name, then by the file's blake3 hash (not the
    /// command-line order).
    pub inputs: Vec<LoadedInput>,
    /// Agency names, in canonical input order (index = agency index).
    pub agencies: Vec<String>,
    /// Agency index of each record.
    pub agency_of: Vec<u16>,
    /// Record ids.
    pub ids: Vec<String>,
    /// Per schema field: its filters (None for token-only fields).
    pub filters: Vec<Option<FilterMatrix>>,
    /// Per schema field: its exact tokens (None when the field has none).
    pub tokens: Vec<Option<TokenColumn>>,
    /// Blocking-key columns, by column name.
    pub block_keys: Vec<(String, TokenColumn)>,
    /// Record-level filters.
    pub record_filter: FilterMatrix,
}

impl Records {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Reads and checks every input, in canonical order (agency name, then file hash). Refuses mixed schemas, keys, encoding versions and two files
    /// of one agency, naming the files and the differing values.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Records> {
        Records::load_within(paths, None)
    }

    /// [`Records::load`] under the memory guard of `budget` (the link's blocking config): from
    /// the files' metadata (rows, schema) the records' memory is estimated before any data is
    /// read, and a run that would not fit is refused (exit 4, [`super::budget::check_records`]).
    pub fn load_within(
        paths: &[impl AsRef<Path>],
        budget: Option<&super::config::BlockingConfig>,
    ) -> Result<Records> {
        let inputs = Records::canonical_inputs(paths)?;
        if let Some(cfg) = budget {
            let (p0, first, _) = &inputs[0];
            let schema =
                Schema::from_canonical_json(&first.schema_json, &p0.display().to_string())?;
            let rows: Vec<u64> = inputs.iter().map(|(_, m, _)| m.rows_encoded).collect();
            super::budget::check_records(&rows, &schema, cfg)?;
        }
        let mut recs: Option<Records> = None;
        for (ai, (p, _, hash)) in inputs.into_iter().enumerate() {
            let file = EncodedFile::read(&p)?;
            let r = recs.get_or_insert_with(|| Records::empty(&file.schema, &file.layout));
            r.append(ai as u16, file, hash);
        }
        Ok(recs.expect("at least two inputs"))
    }

    /// The checks of [`Records::load`] on the files' metadata alone (cheap: no data is read,
    /// each file is hashed): the inputs in canonical order, each with its metadata and blake3
    /// hash.
    pub fn canonical_inputs(
        paths: &[impl AsRef<Path>],
    ) -> Result<Vec<(std::path::PathBuf, EncodedMeta, String)>> {
        if paths.len() < 2 {
            return Err(Error::config(
                "inputs",
                "padan link needs at least two encoded files",
            ));
        }
        // Metadata first: refuse incompatible inputs before reading any data.
        let metas: Vec<EncodedMeta> = paths
            .iter()
            .map(|p| EncodedFile::read_meta(p.as_ref()))
            .collect::<Result<_>>()?;
        for (p, m) in paths.iter().zip(&metas) {
            crate::agency::AgencyName::check(&m.agency).map_err(|rule| {
                Error::input_file(
                    p.as_ref(),
                    format!("padan.agency in the file's metadata: {rule}"),
                )
            })?;
        }
        // Canonical order: agency name, then the file's blake3 hash. Everything downstream
        // (record indices, pair orientation, random pairs, cluster ids) follows from it, so the
        // command-line order of the files does not matter.
        let hashes: Vec<String> = paths
            .iter()
            .map(|p| crate::io::file_blake3(p.as_ref()))
            .collect::<Result<_>>()?;
        let mut order: Vec<usize> = (0..paths.len()).collect();
        order.sort_by(|&x, &y| {
            (metas[x].agency.as_str(), hashes[x].as_str())
                .cmp(&(metas[y].agency.as_str(), hashes[y].as_str()))
        });
        let paths: Vec<&Path> = order.iter().map(|&i| paths[i].as_ref()).collect();
        let metas: Vec<EncodedMeta> = order.iter().map(|&i| metas[i].clone()).collect();
        let hashes: Vec<String> = order.iter().map(|&i| hashes[i].clone()).collect();
        let first = &metas[0];
        let p0 = paths[0].display();
        for (p, m) in paths.iter().zip(&metas).skip(1) {
            let p = p.display();
            let differ = |what: &str, a: &str, b: &str| {
                Err(Error::Incompatible(format!(
                    "{p0} and {p} were encoded with different {what} ({a} vs {b}): every agency must use the same {what}"
                )))
            };
            if m.encoding_version != first.encoding_version {
                return differ(
                    "encoding versions",
                    &first.encoding_version.to_string(),
                    &m.encoding_version.to_string(),
                );
            }
            if m.schema_fingerprint != first.schema_fingerprint {
                return differ("schemas", &first.schema_fingerprint, &m.schema_fingerprint);
            }
            if m.key_fingerprint != first.key_fingerprint {
                return differ("keys", &first.key_fingerprint, &m.key_fingerprint);
            }
        }
        for i in 0..metas.len() {
            for j in i + 1..metas.len() {
                if metas[i].agency == metas[j].agency {
                    return Err(Error::Incompatible(format!(
                        "{} and {} are both from agency '{}': give one file per agency (concatenate the extracts before encoding)",
                        paths[i].display(),
                        paths[j].display(),
                        metas[i].agency
                    )));
                }
            }
        }
        if metas.len() > u16::MAX as usize {
            return Err(Error::config("inputs", "too many input files"));
        }
        Ok(paths
            .iter()
            .zip(metas)
            .zip(hashes)
            .map(|((p, m), h)| (p.to_path_buf(), m, h))
            .collect())
    }

    /// No records yet, for a schema and its layout.
    pub fn empty(schema: &Schema, layout: &Layout) -> Records {
        let filters = schema
            .fields
            .iter()
            .map(|f| {
                f.kind
                    .has_filter()
                    .then(|| FilterMatrix::new(f.stored_bits() / 64))
            })
            .collect();
        let tokens = schema
            .fields
            .iter()
            .map(|f| f.exact_token.then(TokenColumn::default))
            .collect();
        let block_keys = layout
            .columns
            .iter()
            .filter(|c| matches!(c.role, ColumnRole::Block(_)))
            .map(|c| (c.name.clone(), TokenColumn::default()))
            .collect();
        Records {
            schema: schema.clone(),
            layout: layout.clone(),
            inputs: Vec::new(),
            agencies: Vec::new(),
            agency_of: Vec::new(),
            ids: Vec::new(),
            filters,
            tokens,
            block_keys,
            record_filter: FilterMatrix::new(schema.record_filter.bits / 64),
        }
    }

    pub(super) fn append(&mut self, agency: u16, file: EncodedFile, blake3: String) {
        let n = file.len();
        self.inputs.push(LoadedInput {
            path: file.path.clone(),
            blake3,
            meta: file.meta.clone(),
            rows: n,
            offset: self.ids.len(),
        });
        self.agencies.push(file.meta.agency.clone());
        self.agency_of.extend(std::iter::repeat_n(agency, n));
        for (ci, col) in file.layout.columns.iter().enumerate() {
            let buf = &file.columns[ci];
            match col.role {
                ColumnRole::FieldFilter(fi) => {
                    let m = self.filters[fi].as_mut().expect("filter field");
                    push_filters(m, buf);
                }
                ColumnRole::Token(fi) => self.tokens[fi].as_mut().expect("token field").extend(buf),
                ColumnRole::Block(_) => {
                    let (_, t) = self
                        .block_keys
                        .iter_mut()
                        .find(|(name, _)| *name == col.name)
                        .expect("block column");
                    t.extend(buf);
                }
                ColumnRole::RecordFilter => push_filters(&mut self.record_filter, buf),
            }
        }
        self.ids.extend(file.ids);
    }

    /// Whether any record carries a field value to compare (a field filter or an exact token).
    /// Files imported from clkhash carry only the record-level filter.
    pub fn has_field_data(&self) -> bool {
        self.filters
            .iter()
            .flatten()
            .any(|m| (0..m.len()).any(|i| !m.is_missing(i)))
            || self
                .tokens
                .iter()
                .flatten()
                .any(|t| t.valid.iter().any(|&v| v))
    }

    /// Every blocking-capable token column: (column name, tokens): exact tokens then keys.
    pub fn token_columns(&self) -> Vec<(String, &TokenColumn)> {
        let mut v = Vec::new();
        for (fi, f) in self.schema.fields.iter().enumerate() {
            if let Some(t) = &self.tokens[fi] {
                v.push((format!("token_{}", f.name), t));
            }
        }
        for (name, t) in &self.block_keys {
            v.push((name.clone(), t));
        }
        v
    }
}

fn push_filters(m: &mut FilterMatrix, buf: &ColumnBuf) {
    for i in 0..buf.len() {
        match buf.get(i) {
            Some(b) => m.push(b),
            None => m.push_missing(),
        }
    }
}
