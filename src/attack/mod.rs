//! `padan attack`: an agency attacks its own encoded file the way a curious linkage unit holding a
//! population list would, and reports how many names it re-identifies — for the file as encoded
//! and for the same records encoded with hardening off.
//!
//! The attacker has the encoded file (with its embedded schema, so it knows the hardening
//! settings but not the key) and a list of plaintext names (by default the agency's own extract:
//! a list that overlaps the victims completely, the worst case). Attacks ([`mining`]):
//!
//! 1. **frequency alignment on the name filters**: identical (or, under BLIP, near-identical)
//!    filters grouped and aligned with the list's most frequent names (names + birth year when
//!    the filter is salted by birth year and the list has birth years);
//! 2. **q-gram / bit-pattern mining** on the name filters: learn which bits each q-gram sets from
//!    co-occurrence, then re-identify every filter as the best-fitting list name;
//! 3. **frequency alignment on the exact name token** (when the schema has one).
//!
//! A record counts as re-identified by an attack when the name the attack gives it is its true
//! normalized name. Only counts are reported, never a name.

pub mod mining;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::encode::tokens::{self, Tokens, Value};
use crate::encode::{EncodeOptions, Encoder};
use crate::error::{Error, Result};
use crate::extract::{Extract, TextEncoding};
use crate::io::encoded::{ColumnRole, EncodedFile};
use crate::keys::SecretKey;
use crate::normalize;
use crate::schema::{ColumnMap, FieldKind, Schema};
use mining::{FilterSet, Guesses, ListEntry, PatternParams, Vocabulary};

/// Records attacked at most (the first ones of the file); the pattern attack is quadratic.
pub const DEFAULT_MAX_RECORDS: usize = 20_000;

/// Everything an attack run needs.
pub struct AttackJob<'a> {
    /// The shared key (to re-encode the extract with hardening off).
    pub key: &'a SecretKey,
    /// The agency's column map for the extract.
    pub columns: &'a ColumnMap,
    /// The encoded file under attack.
    pub encoded: PathBuf,
    /// The plaintext extract it was encoded from.
    pub extract: PathBuf,
    /// A separate list of names for the attacker (one per line); default: the extract's names.
    pub names: Option<PathBuf>,
    /// Text encoding of the extract.
    pub encoding: TextEncoding,
    /// Records attacked at most.
    pub max_records: usize,
}

/// Records re-identified by each attack, out of `records`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Outcome {
    /// Records attacked (in the file and in the extract, with a usable name).
    pub records: usize,
    /// Re-identified by frequency alignment of the name filters.
    pub frequency: usize,
    /// Re-identified by q-gram / bit-pattern mining on the name filters.
    pub pattern: usize,
    /// Re-identified by frequency alignment of the exact name tokens.
    pub token: usize,
    /// Re-identified by at least one attack.
    pub any: usize,
}

impl Outcome {
    /// Share of records re-identified by at least one attack.
    pub fn share(&self) -> f64 {
        if self.records == 0 {
            0.0
        } else {
            self.any as f64 / self.records as f64
        }
    }
}

/// What `padan attack` found.
#[derive(Debug, Clone, Serialize)]
pub struct AttackReport {
    /// The attacked name field.
    pub field: String,
    /// Whether the file's schema hardens the name field.
    pub hardened: bool,
    /// The file as encoded.
    pub as_encoded: Outcome,
    /// The same records with hardening off.
    pub unhardened: Outcome,
    /// Entries in the attacker's list.
    pub list_entries: usize,
    /// Records of the file not found in the extract (not attacked).
    pub unmatched_records: usize,
}

struct Victim {
    truth: u32,
    filter: Option<Vec<u64>>,
    token: Option<u128>,
    plain_filter: Option<Vec<u64>>,
    plain_token: Option<u128>,
}

fn words(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

fn token128(bytes: &[u8]) -> u128 {
    u128::from_le_bytes(bytes.try_into().expect("16 bytes"))
}

struct VocabBuilder {
    ids: HashMap<String, u32>,
    qids: HashMap<Vec<u8>, u32>,
    vocab: Vocabulary,
    tokens: Tokens,
    q: usize,
}

impl VocabBuilder {
    fn id(&mut self, name: &normalize::name::Name) -> u32 {
        let key = name.sorted_key();
        if let Some(&i) = self.ids.get(&key) {
            return i;
        }
        self.tokens.clear();
        tokens::filter_tokens(&Value::Name(name.clone()), self.q, &mut self.tokens);
        let mut qs: Vec<u32> = Vec::new();
        for t in self.tokens.iter() {
            let n = self.qids.len() as u32;
            qs.push(*self.qids.entry(t.to_vec()).or_insert(n));
        }
        qs.sort_unstable();
        qs.dedup();
        let i = self.vocab.names.len() as u32;
        self.vocab.names.push(key.clone());
        self.vocab.qgrams.push(qs);
        self.ids.insert(key, i);
        i
    }
}

/// Runs the attacks.
pub fn run(job: &AttackJob) -> Result<AttackReport> {
    let file = EncodedFile::read(&job.encoded)?;
    if file.meta.key_fingerprint != job.key.fingerprint() {
        return Err(Error::Incompatible(format!(
            "{} was encoded with key {}, not with the key given ({}): attack needs the key the file was encoded with",
            job.encoded.display(),
            file.meta.key_fingerprint,
            job.key.fingerprint()
        )));
    }
    let schema: Schema = file.schema.clone();
    let (nfi, nspec) = schema
        .fields
        .iter()
        .enumerate()
        .find(|(_, f)| f.kind == FieldKind::Name)
        .ok_or_else(|| {
            Error::config("schema", "the file's schema has no 'name' field to attack")
        })?;
    let salt_fi = schema
        .fields
        .iter()
        .position(|f| !nspec.hardening.salt.is_empty() && f.name == nspec.hardening.salt);
    let date_fi = salt_fi.or_else(|| schema.fields.iter().position(|f| f.kind == FieldKind::Date));
    job.columns.check(&schema, "column map")?;
    // The extract, whole (bounded by max_records rows of the file below).
    let mut ex = Extract::open(&job.extract, &schema, job.columns, job.encoding)?;
    let rows = ex.read_all()?;
    let opts = EncodeOptions {
        date_order: job.columns.date_order,
        pseudonymize_ids: file.meta.pseudonymized_ids,
        agency: file.meta.agency.clone(),
    };
    // Hardening off, same key: the comparison the report shows.
    let plain = Encoder::new(&schema.unhardened(), job.key, opts.clone());
    let plain_batch = plain.encode_batch(&rows);
    let pl = plain.layout();
    let pf = pl
        .position(ColumnRole::FieldFilter(nfi))
        .expect("name filter column");
    let pt = pl.position(ColumnRole::Token(nfi));
    let mut plain_by_id: HashMap<&str, usize> = HashMap::new();
    for (i, id) in plain_batch.ids.iter().enumerate() {
        plain_by_id.insert(id.as_str(), i);
    }
    let mut vb = VocabBuilder {
        ids: HashMap::new(),
        qids: HashMap::new(),
        vocab: Vocabulary {
            names: Vec::new(),
            qgrams: Vec::new(),
        },
        tokens: Tokens::default(),
        q: nspec.q,
    };
    // The extract's own names (and birth years): truth, and the default attacker's list.
    let mut truth_by_id: HashMap<String, u32> = HashMap::new();
    let mut own_list: Vec<ListEntry> = Vec::new();
    for r in &rows {
        if r.problem.is_some() {
            continue;
        }
        let Some(name) = r
            .cells
            .get(nfi)
            .and_then(|c| c.as_deref())
            .and_then(normalize::name::normalize)
        else {
            continue;
        };
        let id = vb.id(&name);
        let year = date_fi
            .and_then(|di| {
                r.cells
                    .get(di)
                    .and_then(|c| c.as_deref())
                    .map(|raw| (di, raw))
            })
            .and_then(|(di, raw)| {
                normalize::date::parse(raw, job.columns.date_order, &schema.fields[di].options).ok()
            })
            .map(|d| d.year.to_string())
            .unwrap_or_default();
        own_list.push(ListEntry {
            name: id,
            salt: year,
        });
        let out_id = if file.meta.pseudonymized_ids {
            plain.pseudonym(&r.id)
        } else {
            r.id.clone()
        };
        truth_by_id.insert(out_id, id);
    }
    let list = match &job.names {
        None => own_list,
        Some(p) => read_names(p, &mut vb)?,
    };
    let fcol = file
        .column(ColumnRole::FieldFilter(nfi))
        .expect("name filter column");
    let tcol = file.column(ColumnRole::Token(nfi));
    let mut victims: Vec<Victim> = Vec::new();
    let mut unmatched = 0;
    for (i, id) in file.ids.iter().enumerate().take(job.max_records) {
        let (Some(&truth), Some(&pi)) = (truth_by_id.get(id), plain_by_id.get(id.as_str())) else {
            unmatched += 1;
            continue;
        };
        victims.push(Victim {
            truth,
            filter: fcol.get(i).map(words),
            token: tcol.and_then(|t| t.get(i)).map(token128),
            plain_filter: plain_batch.columns[pf].get(pi).map(words),
            plain_token: pt
                .and_then(|c| plain_batch.columns[c].get(pi))
                .map(token128),
        });
    }
    let h = &nspec.hardening;
    let params = PatternParams {
        hashes: nspec.hashes,
        noise: h.blip_probability(),
        ..PatternParams::default()
    };
    let plain_params = PatternParams {
        hashes: nspec.hashes,
        ..PatternParams::default()
    };
    let salted = !h.salt.is_empty();
    let blip_p = h.blip_probability();
    let as_encoded = attack(
        &victims.iter().map(|v| v.filter.clone()).collect::<Vec<_>>(),
        &victims.iter().map(|v| v.token).collect::<Vec<_>>(),
        &victims,
        &vb.vocab,
        &list,
        salted,
        (blip_p > 0.0).then(|| (1.0 - 4.0 * blip_p).max(0.6)),
        &params,
        nspec.stored_bits() / 64,
    );
    let unhardened = attack(
        &victims
            .iter()
            .map(|v| v.plain_filter.clone())
            .collect::<Vec<_>>(),
        &victims.iter().map(|v| v.plain_token).collect::<Vec<_>>(),
        &victims,
        &vb.vocab,
        &list,
        false,
        None,
        &plain_params,
        nspec.bits / 64,
    );
    Ok(AttackReport {
        field: nspec.name.clone(),
        hardened: !h.is_off(),
        as_encoded,
        unhardened,
        list_entries: list.len(),
        unmatched_records: unmatched + file.len().saturating_sub(job.max_records),
    })
}

#[allow(clippy::too_many_arguments)]
fn attack(
    filters: &[Option<Vec<u64>>],
    tokens: &[Option<u128>],
    victims: &[Victim],
    vocab: &Vocabulary,
    list: &[ListEntry],
    salted: bool,
    cluster_dice: Option<f64>,
    params: &PatternParams,
    words: usize,
) -> Outcome {
    let fs = FilterSet {
        words,
        rows: filters.to_vec(),
    };
    let freq = mining::frequency_filters(&fs, list, salted, cluster_dice);
    let pat = mining::qgram_pattern(&fs, vocab, list, params);
    let tok = mining::frequency_tokens(tokens, list, salted);
    score(victims, &[&freq, &pat, &tok])
}

fn score(victims: &[Victim], guesses: &[&Guesses; 3]) -> Outcome {
    let hit = |g: &Guesses, i: usize| g[i] == Some(victims[i].truth);
    let mut o = Outcome {
        records: victims.len(),
        ..Outcome::default()
    };
    for i in 0..victims.len() {
        let h = [hit(guesses[0], i), hit(guesses[1], i), hit(guesses[2], i)];
        o.frequency += h[0] as usize;
        o.pattern += h[1] as usize;
        o.token += h[2] as usize;
        o.any += h.iter().any(|&x| x) as usize;
    }
    o
}

/// A name list: one name per line (the first comma-separated column; a header line `name` is
/// skipped). Unusable names are skipped. No birth years: salted attacks fall back to names alone.
fn read_names(path: &Path, vb: &mut VocabBuilder) -> Result<Vec<ListEntry>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cell = line
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if i == 0 && cell.eq_ignore_ascii_case("name") {
            continue;
        }
        if let Some(n) = normalize::name::normalize(cell) {
            let id = vb.id(&n);
            out.push(ListEntry {
                name: id,
                salt: String::new(),
            });
        }
    }
    if out.is_empty() {
        return Err(Error::input_file(
            path,
            "the name list holds no usable name",
        ));
    }
    Ok(out)
}
