//! Encoding: normalized values → keyed Bloom filters, keyed tokens and blocking keys.
//!
//! An [`Encoder`] is built once from the schema, the key and the agency's options; it derives a
//! subkey per field and purpose and then encodes batches of [`RawRow`]s in parallel (rayon, in
//! chunks whose results are concatenated in input order, so the output does not depend on the
//! thread count). Each worker thread keeps caches of token → bit positions and of low-cardinality
//! normalizations (places, dates, sex codes): hashing and gazetteer look-ups are paid once per
//! distinct value.

pub mod bloom;
pub mod harden;
mod job;
pub mod sink;
pub mod slots;
pub mod tokens;

// Decoy records (`padan encode --decoys`).
pub mod decoy;

pub use job::{EncodeJob, EncodeSummary};
pub use sink::{EncodedSink, FileSink, MemorySink};

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use ahash::AHashMap;
use rayon::prelude::*;

use crate::extract::RawRow;
use crate::io::encoded::{BlockKind, ColumnBuf, ColumnRole, Layout};
use crate::keys::{Purpose, SecretKey, Subkey};
use crate::normalize::{self, place::Gazetteer};
use crate::schema::{DateOrder, FieldKind, FieldSpec, Schema};
use bloom::{FilterPlan, TokenCache, UnitCache};
use tokens::{Tokens, Value};

/// Rows per parallel work unit.
pub const DEFAULT_CHUNK_ROWS: usize = 1024;

/// What happened to a row or one of its values (for the rejects file and the counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// The row was not encoded.
    RowRejected,
    /// The row was encoded without this value (it is missing for linkage).
    ValueDropped,
    /// The row was encoded and the value kept, but it is inconsistent (e.g. NIK vs date of birth).
    Flagged,
}

impl Outcome {
    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::RowRejected => "row_rejected",
            Outcome::ValueDropped => "value_dropped",
            Outcome::Flagged => "flagged",
        }
    }
}

/// One line of the rejects file. Names the row and column, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Line (CSV) or row (Parquet) in the extract.
    pub line: u64,
    /// The agency's record id (the rejects file stays at the agency).
    pub record_id: String,
    /// The schema field or the extract column concerned.
    pub column: String,
    /// What happened.
    pub outcome: Outcome,
    /// Reason code.
    pub reason: &'static str,
}

/// The encoded rows of a batch, columnar, plus what happened to the others.
#[derive(Debug, Default)]
pub struct EncodedBatch {
    /// Output record ids (pseudonyms if asked for).
    pub ids: Vec<String>,
    /// The agency's own ids, when pseudonymized (for the lookup file).
    pub original_ids: Vec<String>,
    /// One buffer per layout column.
    pub columns: Vec<ColumnBuf>,
    /// Rejected rows, dropped values, flags.
    pub log: Vec<LogEntry>,
    /// Rows seen.
    pub rows_in: u64,
}

impl EncodedBatch {
    fn with_capacity(layout: &Layout, rows: usize) -> EncodedBatch {
        EncodedBatch {
            ids: Vec::with_capacity(rows),
            columns: layout
                .columns
                .iter()
                .map(|c| ColumnBuf::with_capacity(c.width, rows))
                .collect(),
            ..EncodedBatch::default()
        }
    }

    fn append(&mut self, other: EncodedBatch) {
        self.ids.extend(other.ids);
        self.original_ids.extend(other.original_ids);
        for (a, b) in self.columns.iter_mut().zip(&other.columns) {
            a.extend(b);
        }
        self.log.extend(other.log);
        self.rows_in += other.rows_in;
    }
}

/// Per-agency encoding options.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// The agency's date order.
    pub date_order: DateOrder,
    /// Replace record ids by keyed pseudonyms.
    pub pseudonymize_ids: bool,
    /// The agency name (part of the pseudonym input).
    pub agency: String,
}

struct FieldKeys {
    filter: Subkey,
    record: Subkey,
    token: Subkey,
    /// Balancing and keyed permutation of the filter, folded into each token's mask.
    plan: FilterPlan,
    /// BLIP randomness.
    blip: Subkey,
    /// Schema index of the date field whose year salts this field.
    salt_field: Option<usize>,
}

/// Turns raw rows into encoded rows. Cheap to share across threads.
pub struct Encoder {
    schema: Schema,
    layout: Layout,
    keys: Vec<FieldKeys>,
    block_keys: Vec<(BlockKind, Subkey)>,
    pseudonym: Subkey,
    opts: EncodeOptions,
    gazetteer: &'static Gazetteer,
    id: u64,
    date_field: Option<usize>,
    sex_field: Option<usize>,
    name_field: Option<usize>,
    /// Salt slots (empty when the schema has none).
    slots: slots::SlotPlan,
}

static NEXT_ENCODER_ID: AtomicU64 = AtomicU64::new(1);

/// Per-thread caches, tagged with the encoder they belong to.
struct Caches {
    encoder: u64,
    /// Per field: token → filter mask and record-filter positions.
    filter: Vec<TokenCache>,
    /// Per field: name word or date → the same for all its tokens.
    units: Vec<UnitCache>,
    values: Vec<AHashMap<String, Result<Value, &'static str>>>,
    tokens: Tokens,
    record_words: Vec<u64>,
    field_words: Vec<u64>,
    salted: Vec<u8>,
    bytes: Vec<u8>,
    slot_scratch: slots::Scratch,
}

thread_local! {
    static CACHES: RefCell<Option<Caches>> = const { RefCell::new(None) };
}

/// Distinct raw values cached per low-cardinality field before the cache is cleared.
const VALUE_CACHE_LIMIT: usize = 200_000;

impl Encoder {
    /// Builds an encoder; derives every subkey once.
    pub fn new(schema: &Schema, key: &SecretKey, opts: EncodeOptions) -> Encoder {
        let keys = schema
            .fields
            .iter()
            .map(|f| {
                let h = &f.hardening;
                let width = f.bits * if h.balance { 2 } else { 1 };
                let permutation = (h.permute && f.kind.has_filter()).then(|| {
                    harden::permutation(
                        &key.subkey(Purpose::Hardening, &format!("permute:{}", f.name)),
                        width,
                    )
                });
                FieldKeys {
                    filter: key.subkey(Purpose::FieldFilter, &f.name),
                    record: key.subkey(Purpose::RecordFilter, &f.name),
                    token: key.subkey(Purpose::Token, &f.name),
                    plan: FilterPlan::new(f.hashes, f.bits, h.balance, permutation.as_deref()),
                    blip: key.subkey(Purpose::Hardening, &format!("blip:{}", f.name)),
                    salt_field: (!h.salt.is_empty())
                        .then(|| schema.fields.iter().position(|s| s.name == h.salt))
                        .flatten(),
                }
            })
            .collect();
        let block_keys = Layout::block_kinds(schema)
            .into_iter()
            .map(|k| (k, key.subkey(Purpose::Block, k.label())))
            .collect();
        let idx = |k| schema.fields.iter().position(|f| f.kind == k);
        Encoder {
            layout: Layout::for_schema(schema),
            schema: schema.clone(),
            keys,
            block_keys,
            pseudonym: key.subkey(Purpose::Pseudonym, "record_id"),
            gazetteer: Gazetteer::builtin(),
            id: NEXT_ENCODER_ID.fetch_add(1, Ordering::Relaxed),
            date_field: idx(FieldKind::Date),
            sex_field: idx(FieldKind::Sex),
            name_field: idx(FieldKind::Name),
            slots: slots::SlotPlan::new(schema, key),
            opts,
        }
    }

    /// The output layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The keyed pseudonym of a record id.
    pub fn pseudonym(&self, id: &str) -> String {
        let mut input = Vec::with_capacity(self.opts.agency.len() + id.len() + 1);
        input.extend_from_slice(self.opts.agency.as_bytes());
        input.push(0);
        input.extend_from_slice(id.as_bytes());
        let t = self.pseudonym.token(&input);
        format!("ps-{}", hex::encode(&t[..12]))
    }

    /// Encodes a batch in parallel; the result is in input order.
    pub fn encode_batch(&self, rows: &[RawRow]) -> EncodedBatch {
        let parts: Vec<EncodedBatch> = rows
            .par_chunks(DEFAULT_CHUNK_ROWS)
            .map(|chunk| self.encode_chunk(chunk))
            .collect();
        let mut out = EncodedBatch::with_capacity(&self.layout, rows.len());
        for p in parts {
            out.append(p);
        }
        out
    }

    /// Encodes rows on the current thread.
    pub fn encode_chunk(&self, rows: &[RawRow]) -> EncodedBatch {
        CACHES.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().map(|c| c.encoder) != Some(self.id) {
                *slot = Some(self.new_caches());
            }
            let caches = slot.as_mut().expect("caches just set");
            let mut out = EncodedBatch::with_capacity(&self.layout, rows.len());
            let mut values: Vec<Option<Value>> = Vec::with_capacity(self.schema.fields.len());
            for row in rows {
                out.rows_in += 1;
                self.encode_row(row, caches, &mut values, &mut out);
            }
            out
        })
    }

    fn new_caches(&self) -> Caches {
        let n = self.schema.fields.len();
        Caches {
            encoder: self.id,
            filter: self
                .schema
                .fields
                .iter()
                .zip(&self.keys)
                .map(|(f, k)| {
                    let words = if f.kind.has_filter() {
                        k.plan.words()
                    } else {
                        0
                    };
                    TokenCache::new(words, f.record_hashes)
                })
                .collect(),
            units: self
                .keys
                .iter()
                .map(|k| UnitCache::new(k.plan.words()))
                .collect(),
            values: (0..n).map(|_| AHashMap::default()).collect(),
            tokens: Tokens::default(),
            record_words: vec![0; self.schema.record_filter.bits / 64],
            field_words: Vec::new(),
            salted: Vec::new(),
            bytes: Vec::new(),
            slot_scratch: slots::Scratch::default(),
        }
    }

    /// Normalizes one cell. Low-cardinality kinds are cached per raw value.
    fn normalize(
        &self,
        fi: usize,
        spec: &FieldSpec,
        raw: &str,
        caches: &mut Caches,
    ) -> Result<Value, &'static str> {
        let cacheable = matches!(
            spec.kind,
            FieldKind::Place | FieldKind::Date | FieldKind::Sex
        );
        if cacheable {
            if let Some(v) = caches.values[fi].get(raw) {
                return v.clone();
            }
        }
        let v = match spec.kind {
            FieldKind::Name => normalize::name::normalize(raw)
                .map(Value::Name)
                .ok_or("name_unusable"),
            FieldKind::Passport => normalize::passport::normalize(raw)
                .map(Value::Passport)
                .map_err(|r| r.code()),
            FieldKind::Date => normalize::date::parse(raw, self.opts.date_order, &spec.options)
                .map(Value::Date)
                .map_err(|r| r.code()),
            FieldKind::Nik => normalize::nik::parse(raw)
                .map(Value::Nik)
                .map_err(|r| r.code()),
            FieldKind::Sex => normalize::sex::normalize(raw)
                .map(Value::Sex)
                .ok_or("sex_unrecognised"),
            FieldKind::Place => {
                normalize::place::normalize(raw, self.gazetteer, spec.options.place_threshold)
                    .map(Value::Place)
                    .ok_or("place_unusable")
            }
            FieldKind::Text => normalize::text::normalize(raw)
                .map(Value::Text)
                .ok_or("text_unusable"),
        };
        if cacheable {
            let map = &mut caches.values[fi];
            if map.len() >= VALUE_CACHE_LIMIT {
                map.clear();
            }
            map.insert(raw.to_string(), v.clone());
        }
        v
    }

    fn encode_row(
        &self,
        row: &RawRow,
        caches: &mut Caches,
        values: &mut Vec<Option<Value>>,
        out: &mut EncodedBatch,
    ) {
        let log = |out: &mut EncodedBatch, column: &str, outcome, reason| {
            out.log.push(LogEntry {
                line: row.line,
                record_id: row.id.clone(),
                column: column.to_string(),
                outcome,
                reason,
            })
        };
        if let Some((problem, column)) = &row.problem {
            log(out, column, Outcome::RowRejected, problem.code());
            return;
        }
        values.clear();
        let mut any = false;
        let mut missing_required: Option<&str> = None;
        for (fi, spec) in self.schema.fields.iter().enumerate() {
            let v = match row.cells.get(fi).and_then(|c| c.as_deref()) {
                None => None,
                Some(raw) => match self.normalize(fi, spec, raw, caches) {
                    Ok(v) => Some(v),
                    Err(reason) => {
                        log(out, &spec.name, Outcome::ValueDropped, reason);
                        None
                    }
                },
            };
            if v.is_some() {
                any = true;
            } else if spec.required && missing_required.is_none() {
                missing_required = Some(&spec.name);
            }
            values.push(v);
        }
        if let Some(field) = missing_required {
            log(out, field, Outcome::RowRejected, "required_field_missing");
            return;
        }
        if !any {
            log(out, "*", Outcome::RowRejected, "nothing_to_link_on");
            return;
        }
        // NIK cross-check against date of birth and sex: kept, flagged, counted.
        for (fi, spec) in self.schema.fields.iter().enumerate() {
            if let Some(Value::Nik(nik)) = &values[fi] {
                let dob = self.date_field.and_then(|i| match &values[i] {
                    Some(Value::Date(d)) => Some(d),
                    _ => None,
                });
                let sex = self.sex_field.and_then(|i| match &values[i] {
                    Some(Value::Sex(s)) => Some(*s),
                    _ => None,
                });
                use normalize::nik::NikCheck;
                let reason = match nik.check(dob, sex) {
                    NikCheck::DateMismatch => Some("nik_disagrees_with_dob"),
                    NikCheck::SexMismatch => Some("nik_disagrees_with_sex"),
                    NikCheck::BothMismatch => Some("nik_disagrees_with_dob_and_sex"),
                    NikCheck::Consistent | NikCheck::Unchecked => None,
                };
                if let Some(r) = reason {
                    log(out, &spec.name, Outcome::Flagged, r);
                }
            }
        }
        self.write_row(row, values, caches, out);
    }

    fn write_row(
        &self,
        row: &RawRow,
        values: &[Option<Value>],
        caches: &mut Caches,
        out: &mut EncodedBatch,
    ) {
        if self.opts.pseudonymize_ids {
            out.ids.push(self.pseudonym(&row.id));
            out.original_ids.push(row.id.clone());
        } else {
            out.ids.push(row.id.clone());
        }
        caches.record_words.iter_mut().for_each(|w| *w = 0);
        let rbits = self.schema.record_filter.bits;
        let salts = if self.schema.slots.is_empty() {
            Vec::new()
        } else {
            self.slots.salts(values)
        };
        for (ci, col) in self.layout.columns.iter().enumerate() {
            let buf = &mut out.columns[ci];
            match col.role {
                ColumnRole::FieldFilter(fi) => {
                    let Some(v) = &values[fi] else {
                        buf.push_null();
                        continue;
                    };
                    let keys = &self.keys[fi];
                    if self.slots.is_slotted(fi) {
                        let spec = &self.schema.fields[fi];
                        let p = spec.hardening.blip_probability();
                        caches.salted.clear();
                        caches.salted.extend_from_slice(self.opts.agency.as_bytes());
                        caches.salted.push(0);
                        caches.salted.extend_from_slice(row.id.as_bytes());
                        self.slots.write_field(
                            fi,
                            v,
                            &salts,
                            spec.q,
                            &keys.filter,
                            &keys.plan,
                            slots::Hashing::of(spec),
                            (p > 0.0).then_some((&keys.blip, caches.salted.as_slice(), p)),
                            &mut caches.slot_scratch,
                            &mut caches.field_words,
                        );
                        caches.field_words.resize(spec.stored_bits() / 64, 0);
                        caches.bytes.clear();
                        bloom::words_to_bytes(&caches.field_words, &mut caches.bytes);
                        buf.push(&caches.bytes);
                        continue;
                    }
                    caches.field_words.clear();
                    caches.field_words.resize(keys.plan.words(), 0);
                    self.add_filter_tokens(fi, v, self.salt(fi, values), caches);
                    keys.plan.finish(&mut caches.field_words);
                    self.harden(fi, row, caches);
                    caches.bytes.clear();
                    bloom::words_to_bytes(&caches.field_words, &mut caches.bytes);
                    buf.push(&caches.bytes);
                }
                ColumnRole::Token(fi) => match values[fi].as_ref().and_then(tokens::exact_text) {
                    Some(text) => {
                        let t = match self.salt(fi, values) {
                            Some(s) => {
                                bloom::salted(text.as_bytes(), Some(s), &mut caches.salted);
                                self.keys[fi].token.token(&caches.salted)
                            }
                            None => self.keys[fi].token.token(text.as_bytes()),
                        };
                        buf.push(&t)
                    }
                    None => buf.push_null(),
                },
                ColumnRole::Block(kind) => match self.block_text(kind, values) {
                    Some(text) => {
                        let key = &self
                            .block_keys
                            .iter()
                            .find(|(k, _)| *k == kind)
                            .expect("block key derived for every block kind")
                            .1;
                        buf.push(&key.token(text.as_bytes()))
                    }
                    None => buf.push_null(),
                },
                ColumnRole::RecordFilter => {
                    // Fields without a filter (sex) feed the record filter through their token.
                    for (fi, spec) in self.schema.fields.iter().enumerate() {
                        if spec.kind.has_filter() || spec.record_hashes == 0 {
                            continue;
                        }
                        if let Some(text) = values[fi].as_ref().and_then(tokens::exact_text) {
                            let cache = &mut caches.filter[fi];
                            let record = Some((&self.keys[fi].record, rbits));
                            let e = cache.entry(text.as_bytes(), None, None, record);
                            bloom::set_bits(&mut caches.record_words, cache.record(e));
                        }
                    }
                    caches.bytes.clear();
                    bloom::words_to_bytes(&caches.record_words, &mut caches.bytes);
                    buf.push(&caches.bytes);
                }
            }
        }
    }

    /// ORs the filter masks of value `v` of field `fi` into `caches.field_words` and sets its
    /// record-filter bits. Name and place words and whole dates go through the unit cache (one
    /// look-up per word or date); other values token by token. Both give the OR over
    /// [`tokens::filter_tokens`], which OR makes independent of order and repetition.
    fn add_filter_tokens(&self, fi: usize, v: &Value, salt: Option<&[u8]>, caches: &mut Caches) {
        let spec = &self.schema.fields[fi];
        let keys = &self.keys[fi];
        if let slots::Hashing::PerValue(total) = slots::Hashing::of(spec) {
            // Positions spread over the value's tokens: nothing to cache per token (a token's
            // count depends on the whole value), and no record-filter bits (the schema refuses
            // record_hashes on such a field).
            caches.tokens.clear();
            tokens::filter_tokens(v, spec.q, &mut caches.tokens);
            let mut per = Vec::new();
            bloom::spread(caches.tokens.iter(), total, &mut per);
            bloom::add_counted(
                &per,
                salt,
                &keys.filter,
                &keys.plan,
                &mut caches.salted,
                &mut Vec::new(),
                &mut caches.field_words,
            );
            return;
        }
        let filter = Some((&keys.filter, &keys.plan));
        let rbits = self.schema.record_filter.bits;
        let record = (spec.record_hashes > 0).then_some((&keys.record, rbits));
        let cache = &mut caches.filter[fi];
        let units = &mut caches.units[fi];
        let field_words = &mut caches.field_words;
        let record_words = &mut caches.record_words;
        let mut unit = |name: &[u8], make: &dyn Fn(&mut Tokens)| {
            let e = units.entry(name, salt, cache, make, filter, record);
            for (w, m) in field_words.iter_mut().zip(units.mask(e)) {
                *w |= m;
            }
            bloom::set_bits(record_words, units.record(e));
        };
        match v {
            Value::Name(n) => {
                for w in &n.tokens {
                    unit(w.as_bytes(), &|t| tokens::push_qgrams(w, spec.q, t));
                }
            }
            Value::Place(s) | Value::Text(s) => {
                for w in s.split(' ').filter(|w| !w.is_empty()) {
                    unit(w.as_bytes(), &|t| tokens::push_qgrams(w, spec.q, t));
                }
            }
            Value::Date(d) => unit(&tokens::date_key(d), &|t| tokens::date_tokens(d, t)),
            _ => {
                caches.tokens.clear();
                tokens::filter_tokens(v, spec.q, &mut caches.tokens);
                for t in caches.tokens.iter() {
                    let e = cache.entry(t, salt, filter, record);
                    for (w, m) in field_words.iter_mut().zip(cache.mask(e)) {
                        *w |= m;
                    }
                    bloom::set_bits(record_words, cache.record(e));
                }
            }
        }
    }

    /// The salt of field `fi` for this row: `None` when the field is not salted, else the year of
    /// its salt field (`b""` when that is missing).
    fn salt(&self, fi: usize, values: &[Option<Value>]) -> Option<&'static [u8]> {
        let si = self.keys[fi].salt_field?;
        Some(match &values[si] {
            Some(Value::Date(d)) => year_bytes(d.year),
            _ => b"",
        })
    }

    /// Folding and BLIP of the (balanced, permuted) field filter in `caches.field_words`.
    fn harden(&self, fi: usize, row: &RawRow, caches: &mut Caches) {
        let h = &self.schema.fields[fi].hardening;
        let keys = &self.keys[fi];
        if h.fold {
            harden::fold(&mut caches.field_words);
        }
        let p = h.blip_probability();
        if p > 0.0 {
            caches.salted.clear();
            caches.salted.extend_from_slice(self.opts.agency.as_bytes());
            caches.salted.push(0);
            caches.salted.extend_from_slice(row.id.as_bytes());
            harden::blip(&mut caches.field_words, &keys.blip, &caches.salted, p);
        }
    }

    fn block_text(&self, kind: BlockKind, values: &[Option<Value>]) -> Option<String> {
        let date = match self.date_field.and_then(|i| values[i].as_ref()) {
            Some(Value::Date(d)) => Some(d),
            _ => None,
        };
        match kind {
            BlockKind::DobSex => {
                let d = date.filter(|d| d.is_full())?;
                let s = match self.sex_field.and_then(|i| values[i].as_ref()) {
                    Some(Value::Sex(s)) => *s,
                    _ => return None,
                };
                Some(format!("{}|{}", d.iso(), s.code()))
            }
            BlockKind::NameYear => {
                let d = date?;
                let n = match self.name_field.and_then(|i| values[i].as_ref()) {
                    Some(Value::Name(n)) => n,
                    _ => return None,
                };
                Some(format!("{}|{}", n.phonetic_key(), d.year))
            }
        }
    }
}

/// The decimal year as static bytes (years are bounded by the date options, 0..=9999).
fn year_bytes(year: i32) -> &'static [u8] {
    use std::sync::OnceLock;
    static YEARS: OnceLock<Vec<String>> = OnceLock::new();
    let years = YEARS.get_or_init(|| (0..10_000).map(|y| y.to_string()).collect());
    match usize::try_from(year) {
        Ok(y) if y < years.len() => years[y].as_bytes(),
        _ => b"?",
    }
}

/// Counts of a whole run, by outcome and reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows encoded.
    pub rows_encoded: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Rejected rows by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Dropped values by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Flags by reason.
    pub flagged: BTreeMap<String, u64>,
}

impl Counts {
    /// Adds a batch's counts.
    pub fn add(&mut self, b: &EncodedBatch) {
        self.rows_read += b.rows_in;
        self.rows_encoded += b.ids.len() as u64;
        for e in &b.log {
            let m = match e.outcome {
                Outcome::RowRejected => {
                    self.rows_rejected += 1;
                    &mut self.rejected
                }
                Outcome::ValueDropped => &mut self.dropped,
                Outcome::Flagged => &mut self.flagged,
            };
            *m.entry(e.reason.to_string()).or_insert(0) += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"
version = 1
[[fields]]
name = "name"
kind = "name"
exact_token = true
record_hashes = 8
[fields.hardening]
HARDENING
[[fields]]
name = "dob"
kind = "date"
record_hashes = 6
"#;

    fn encoder(hardening: &str) -> Encoder {
        let schema = Schema::from_toml(&SCHEMA.replace("HARDENING", hardening), "test").unwrap();
        encoder_for(&schema, 7)
    }

    fn encoder_for(schema: &Schema, key: u8) -> Encoder {
        Encoder::new(
            schema,
            &SecretKey::from_bytes([key; 32]),
            EncodeOptions {
                date_order: DateOrder::Dmy,
                pseudonymize_ids: false,
                agency: "kemlu".into(),
            },
        )
    }

    #[test]
    fn hashes_per_value_spreads_a_fixed_count_over_the_q_grams_of_an_unslotted_filter() {
        let text = "version = 1\n[[fields]]\nname = \"name\"\nkind = \"name\"\n\
             [fields.hardening]\nhashes_per_value = 300\n[[fields]]\nname = \"d\"\n\
             kind = \"date\"\nrecord_hashes = 4\n";
        let schema = Schema::from_toml(text, "test").unwrap();
        let e = encoder_for(&schema, 5);
        let keys = &e.keys[0];
        let mut caches = e.new_caches();
        for (raw, salt) in [
            ("Sri", None),
            ("Siti Nur Aminah binti Ahmad", Some(&b"1990"[..])),
        ] {
            let v = Value::Name(normalize::name::normalize(raw).unwrap());
            caches.field_words = vec![0; keys.plan.words()];
            e.add_filter_tokens(0, &v, salt, &mut caches);
            // By hand: the distinct q-grams, 300 positions spread over them.
            let mut toks = Tokens::default();
            tokens::filter_tokens(&v, 2, &mut toks);
            let mut per = Vec::new();
            bloom::spread(toks.iter(), 300, &mut per);
            assert_eq!(per.iter().map(|t| t.1).sum::<usize>(), 300);
            let mut want = vec![0u64; keys.plan.words()];
            let (mut bytes, mut pos) = (Vec::new(), Vec::new());
            for (t, k) in per {
                bloom::salted(t, salt, &mut bytes);
                pos.clear();
                bloom::positions(&keys.filter, &bytes, k, keys.plan.input_bits(), &mut pos);
                bloom::set_bits(&mut want, &pos);
            }
            assert_eq!(caches.field_words, want, "{raw}");
        }
        // A field feeding the record filter cannot hide its length.
        let bad = text
            .replace("hashes_per_value = 300", "hashes_per_value = 300\n")
            .replace("kind = \"name\"\n", "kind = \"name\"\nrecord_hashes = 4\n");
        let err = Schema::from_toml(&bad, "test").unwrap_err().to_string();
        assert!(err.contains("hashes_per_value"), "{err}");
    }

    #[test]
    fn words_and_dates_through_the_unit_cache_give_the_token_by_token_filters() {
        use crate::normalize::date::PartialDate;
        // Without hardening: no slots, and `hashes` per q-gram (what the unit cache serves).
        let schema = Schema::default_victims().unhardened();
        let e = encoder_for(&schema, 5);
        let fi = |k| schema.fields.iter().position(|f| f.kind == k).unwrap();
        let date = |year, month, day| Value::Date(PartialDate { year, month, day });
        let name = |s| Value::Name(normalize::name::normalize(s).unwrap());
        let values = [
            (fi(FieldKind::Name), name("Siti Nur Aminah binti Ahmad")),
            (fi(FieldKind::Name), name("Aminah Siti")),
            (fi(FieldKind::Name), name("Siti Siti")),
            (fi(FieldKind::Date), date(1990, Some(3), Some(7))),
            (fi(FieldKind::Date), date(1990, Some(7), Some(3))),
            (fi(FieldKind::Date), date(1990, Some(4), Some(3))),
            (fi(FieldKind::Date), date(1990, None, Some(3))),
            (fi(FieldKind::Date), date(1991, None, None)),
            (
                fi(FieldKind::Place),
                Value::Place("kota tangerang selatan".into()),
            ),
            (
                fi(FieldKind::Passport),
                Value::Passport(normalize::passport::normalize("B 1234567").unwrap()),
            ),
        ];
        let mut caches = e.new_caches();
        let rbits = schema.record_filter.bits;
        for salt in [None, Some(&b"1990"[..])] {
            // twice: the second time every unit comes from the cache
            for _ in 0..2 {
                for (f, v) in &values {
                    let (spec, keys) = (&schema.fields[*f], &e.keys[*f]);
                    caches.field_words = vec![0; keys.plan.words()];
                    caches.record_words.iter_mut().for_each(|w| *w = 0);
                    e.add_filter_tokens(*f, v, salt, &mut caches);
                    let mut field = vec![0u64; keys.plan.words()];
                    let mut record = vec![0u64; rbits / 64];
                    let mut toks = Tokens::default();
                    tokens::filter_tokens(v, spec.q, &mut toks);
                    let mut reference = TokenCache::new(keys.plan.words(), spec.record_hashes);
                    for t in toks.iter() {
                        let i = reference.entry(
                            t,
                            salt,
                            Some((&keys.filter, &keys.plan)),
                            Some((&keys.record, rbits)),
                        );
                        for (w, m) in field.iter_mut().zip(reference.mask(i)) {
                            *w |= m;
                        }
                        bloom::set_bits(&mut record, reference.record(i));
                    }
                    assert_eq!(caches.field_words, field, "{v:?} salt {salt:?}");
                    assert_eq!(caches.record_words, record, "{v:?} salt {salt:?}");
                }
            }
        }
    }

    fn row(id: &str, name: &str, dob: Option<&str>) -> RawRow {
        RawRow {
            line: 2,
            id: id.into(),
            cells: vec![Some(name.into()), dob.map(str::to_string)],
            problem: None,
        }
    }

    /// (name filter, name token, record filter) of each row.
    fn encode(e: &Encoder, rows: &[RawRow]) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let b = e.encode_batch(rows);
        let l = e.layout();
        let col = |role| &b.columns[l.position(role).unwrap()];
        (0..b.ids.len())
            .map(|i| {
                (
                    col(ColumnRole::FieldFilter(0)).get(i).unwrap().to_vec(),
                    col(ColumnRole::Token(0)).get(i).unwrap().to_vec(),
                    col(ColumnRole::RecordFilter).get(i).unwrap().to_vec(),
                )
            })
            .collect()
    }

    fn ones(b: &[u8]) -> u32 {
        b.iter().map(|x| x.count_ones()).sum()
    }

    #[test]
    fn salting_changes_filters_token_and_record_filter_with_the_year_only() {
        let e = encoder(r#"salt = "dob""#);
        let out = encode(
            &e,
            &[
                row("1", "Siti Aminah", Some("01/02/1990")),
                row("2", "Siti Aminah", Some("17/11/1990")),
                row("3", "Siti Aminah", Some("01/02/1991")),
                row("4", "Siti Aminah", None),
                row("5", "Siti Aminah", None),
            ],
        );
        assert_eq!(out[0].0, out[1].0, "same year, same salt: same name filter");
        assert_eq!(out[0].1, out[1].1, "same year: same name token");
        assert_ne!(out[0].0, out[2].0, "another year moves the bits");
        assert_ne!(out[0].1, out[2].1, "another year changes the token");
        assert_ne!(out[0].2, out[2].2, "the record filter is salted too");
        assert_eq!(out[3].0, out[4].0, "no year: the fixed empty salt");
        assert_ne!(out[3].0, out[0].0);
        let plain = encode(&encoder(""), &[row("1", "Siti Aminah", Some("01/02/1990"))]);
        assert_ne!(plain[0].0, out[0].0, "salted differs from unsalted");
        assert_ne!(plain[0].1, out[0].1);
    }

    #[test]
    fn permutation_balancing_folding_keep_their_bit_level_promises() {
        let rows = [
            row("1", "Siti Aminah", Some("01/02/1990")),
            row("2", "Budi Santoso", Some("1985")),
        ];
        let plain = encode(&encoder(""), &rows);
        let perm = encode(&encoder("permute = true"), &rows);
        for (p, q) in plain.iter().zip(&perm) {
            assert_eq!(p.0.len(), q.0.len());
            assert_eq!(ones(&p.0), ones(&q.0), "permutation keeps the popcount");
            assert_ne!(p.0, q.0);
            assert_eq!(p.1, q.1, "the token is not permuted");
        }
        let bal = encode(&encoder("permute = true\nbalance = true"), &rows);
        for (p, b) in plain.iter().zip(&bal) {
            assert_eq!(b.0.len(), 2 * p.0.len(), "balancing doubles the width");
            assert_eq!(
                ones(&b.0) as usize,
                p.0.len() * 8,
                "exactly half the bits set"
            );
        }
        let fold = encode(&encoder("fold = true"), &rows);
        for (p, f) in plain.iter().zip(&fold) {
            assert_eq!(f.0.len() * 2, p.0.len(), "folding halves the width");
            let half = p.0.len() / 2;
            let x: Vec<u8> = (0..half).map(|i| p.0[i] ^ p.0[half + i]).collect();
            assert_eq!(f.0, x, "folded = first half XOR second half");
        }
        assert_eq!(
            e_layout_width(&encoder("permute = true\nbalance = true\nfold = true")),
            64
        );
    }

    fn e_layout_width(e: &Encoder) -> usize {
        e.layout().columns[0].width
    }

    #[test]
    fn blip_is_deterministic_per_record_and_differs_between_records() {
        let e = encoder("blip_epsilon = 2.0");
        let rows = [
            row("1", "Siti Aminah", Some("01/02/1990")),
            row("2", "Siti Aminah", Some("01/02/1990")),
        ];
        let a = encode(&e, &rows);
        let b = encode(&encoder("blip_epsilon = 2.0"), &rows);
        assert_eq!(a, b, "same key, same records: same bytes");
        assert_ne!(a[0].0, a[1].0, "identical names get different noise");
        let plain = encode(&encoder(""), &rows);
        let flipped: u32 = plain[0]
            .0
            .iter()
            .zip(&a[0].0)
            .map(|(x, y)| (x ^ y).count_ones())
            .sum();
        // p = 1/(1+e^2) = 0.119 of 512 bits ≈ 61; allow a wide band for one record
        assert!((30..=95).contains(&flipped), "{flipped} bits flipped");
    }
}
