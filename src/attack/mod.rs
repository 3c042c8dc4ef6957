//! `padan attack`: the agency's self-test. It attacks encoded files the way a curious linkage
//! unit would — without the key, with the public lists a real attacker has — and reports, per
//! field, the share of records whose value the attack recovers.
//!
//! The attacker holds one encoded file or several (the linkage unit holds them all: they are
//! pooled), the schema embedded in them (so k, m, the hardening and BLIP's p are known) and public
//! knowledge ([`public`]): name lists by naming tradition, the place list, the birth-year range.
//! Everything is driven by the columns' roles and the schema's field kinds, never by column
//! names. The plaintext extracts are read only to score the guesses; the key only to map keyed
//! record pseudonyms back to extract rows.
//!
//! The attacks (published methodology: Christen et al.'s pattern mining, Vidanage et al.'s
//! similarity and graph matching for Bloom-filter PPRL):
//!
//! 1. **Salt partition** ([`partition`]): the date filter's year tokens split the records into
//!    year groups, ordered into a chain by the shared half-year token and placed on the public
//!    birth-year range. A field salted by that year (the name) is then attacked group by group:
//!    inside a group every value is salted alike. Records without a year share the empty salt.
//! 2. **Filter decoding inside each group** ([`decode`]): bit-pattern mining names the frequent
//!    q-grams' bits; public words and names are re-identified by their predicted filters; the
//!    decoded filters become anchors, from which every q-gram is re-learned, and all filters are
//!    decoded again. The same decoding labels the birthplace filters against the public place
//!    list.
//! 3. **Frequency alignment of exact tokens** with few values (sex): equality classes by size
//!    against the public shares.
//! 4. **Dates by calendar structure** ([`dates`]): with the year partition, the date filters of
//!    one calendar day in every year share their day-and-month tokens; those classes are labelled
//!    through the NIK filter, whose digits embed the birth date (month, full date, the NIK's
//!    date digits).
//!
//! Per field the report gives the records scored, the share recovered, the share among the
//! attacker's most confident half, and the baseline: the field's most common public value
//! guessed for every record. Only counts, never a value.

pub mod dates;
pub mod decode;
pub mod mining;
pub mod partition;
pub mod profile;
pub mod public;
pub mod slots;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::encode::{EncodeOptions, Encoder};
use crate::error::{Error, Result};
use crate::extract::{Extract, TextEncoding};
use crate::io::encoded::{ColumnRole, EncodedFile};
use crate::keys::SecretKey;
use crate::normalize;
use crate::schema::{self, ColumnMap, DateOrder, FieldKind, FieldSpec, Schema};
use decode::Vocab;
use mining::PatternParams;
use public::Public;

/// One encoded file with the plaintext it was made from (for scoring only).
#[derive(Debug, Clone)]
pub struct Source {
    /// The encoded file.
    pub encoded: PathBuf,
    /// Its extract (CSV or Parquet).
    pub extract: PathBuf,
    /// The agency's column map for the extract.
    pub columns: PathBuf,
}

/// Everything an attack run needs.
pub struct AttackJob {
    /// The files attacked together (pooled, as the linkage unit holds them).
    pub sources: Vec<Source>,
    /// The key, only to map pseudonymized record ids back to extract rows.
    pub key: Option<SecretKey>,
    /// A public name list replacing the built-in one.
    pub names: Option<PathBuf>,
    /// A public place list replacing the built-in one.
    pub places: Option<PathBuf>,
    /// The public birth-year range.
    pub years: (i32, i32),
    /// Text encoding of CSV extracts.
    pub encoding: TextEncoding,
}

/// The sources of a `padan synth` directory and a directory of its encoded files: every
/// `*.padan.parquet` of `encoded_dir`, with `AGENCY.columns.toml` and the extract `AGENCY.*` of
/// `synth_dir` (the agency from the file's metadata).
pub fn sources_from_dirs(synth_dir: &Path, encoded_dir: &Path) -> Result<Vec<Source>> {
    let mut encoded: Vec<PathBuf> = std::fs::read_dir(encoded_dir)
        .map_err(|e| Error::io("reading the directory", encoded_dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".padan.parquet"))
        })
        .collect();
    encoded.sort();
    if encoded.is_empty() {
        return Err(Error::input_file(
            encoded_dir,
            "holds no encoded file (*.padan.parquet)",
        ));
    }
    let mut out = Vec::new();
    for e in encoded {
        let meta = EncodedFile::read_meta(&e)?;
        let agency = meta.agency.clone();
        let columns = synth_dir.join(format!("{agency}.columns.toml"));
        if !columns.is_file() {
            return Err(Error::input_file(
                &e,
                format!(
                    "its agency's column map {} is missing (is {} the synth directory it was encoded from?)",
                    columns.display(),
                    synth_dir.display()
                ),
            ));
        }
        let extract = ["csv", "tsv", "txt", "parquet"]
            .iter()
            .map(|x| synth_dir.join(format!("{agency}.{x}")))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                Error::input_file(
                    &e,
                    format!("no extract of its agency in {}", synth_dir.display()),
                )
            })?;
        out.push(Source {
            encoded: e,
            extract,
            columns,
        });
    }
    Ok(out)
}

/// One field's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldScore {
    /// What is scored (the schema field's name, with a part where one is scored alone).
    pub field: String,
    /// The attack that produced the guesses.
    pub attack: String,
    /// Records holding a usable value of the field (the denominator).
    pub records: usize,
    /// Records whose value the attack recovered.
    pub recovered: usize,
    /// Records in the attacker's most confident half.
    pub confident: usize,
    /// Of those, recovered.
    pub confident_recovered: usize,
    /// Records the field's most common public value (guessed for everyone) gets right.
    pub baseline: usize,
}

impl FieldScore {
    /// Share recovered.
    pub fn share(&self) -> f64 {
        ratio(self.recovered, self.records)
    }
    /// Share recovered among the most confident half.
    pub fn confident_share(&self) -> f64 {
        ratio(self.confident_recovered, self.confident)
    }
    /// The baseline's share.
    pub fn baseline_share(&self) -> f64 {
        ratio(self.baseline, self.records)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// What `padan attack` found.
#[derive(Debug, Clone, Serialize)]
pub struct AttackReport {
    /// Encoded files pooled.
    pub files: usize,
    /// Records in them.
    pub records: usize,
    /// Records found in their extracts (scored).
    pub scored: usize,
    /// The files' encoding version.
    pub encoding_version: u32,
    /// Year groups the date filters split into (0: no date filter).
    pub year_groups: usize,
    /// Salt groups the name field was attacked in (1: not salted).
    pub salt_groups: usize,
    /// Records in the largest salt group.
    pub largest_salt_group: usize,
    /// Salt-slot schemas: per slot component, the classes tag chaining finds (counts only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slot_classes: Vec<slots::ClassStats>,
    /// Per field.
    pub fields: Vec<FieldScore>,
}

impl AttackReport {
    /// The full-name row, if the schema has a name field.
    pub fn full_name(&self) -> Option<&FieldScore> {
        self.fields.iter().find(|f| f.field.ends_with("(full)"))
    }

    /// The report as a table: counts and shares only, never a value.
    pub fn render(&self) -> String {
        let mut s = format!(
            "padan attack — {} file{} pooled, {} records ({} scored against their extracts), encoding version {}\n",
            self.files,
            if self.files == 1 { "" } else { "s" },
            self.records,
            self.scored,
            self.encoding_version
        );
        s.push_str(&format!(
            "  year groups mined from the date filter: {}; name attacked in {} salt group{} (largest {} records)\n",
            self.year_groups,
            self.salt_groups,
            if self.salt_groups == 1 { "" } else { "s" },
            self.largest_salt_group
        ));
        for c in &self.slot_classes {
            s.push_str(&format!(
                "  slot component {}: {} records chained into {} classes (largest {}, mean seen by a record {:.1})\n",
                c.component, c.records, c.classes, c.largest, c.mean_seen
            ));
        }
        s.push_str(&format!(
            "  {:<22} {:>8} {:>10} {:>16} {:>10}  {}\n",
            "field", "records", "recovered", "confident half", "baseline", "attack"
        ));
        for f in &self.fields {
            s.push_str(&format!(
                "  {:<22} {:>8} {:>10} {:>16} {:>10}  {}\n",
                f.field,
                f.records,
                pct(f.share(), f.records),
                pct(f.confident_share(), f.confident),
                pct(f.baseline_share(), f.records),
                f.attack
            ));
        }
        s.push_str(
            "  recovered: share of the records holding the field whose value the attack guessed exactly;\n  confident half: the same among the half it was surest of; baseline: the most common public\n  value guessed for every record (what is known without the files).\n",
        );
        s
    }
}

fn pct(x: f64, of: usize) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!("{:.1} %", 100.0 * x)
    }
}

/// One record's plaintext, normalized as the encoder does (for scoring only).
#[derive(Debug, Clone, Default)]
struct Truth {
    values: Vec<Option<TruthValue>>,
}

#[derive(Debug, Clone, PartialEq)]
enum TruthValue {
    Words(Vec<String>),
    Date(normalize::date::PartialDate),
    Code(String),
}

fn normalize_cell(spec: &FieldSpec, raw: &str, order: DateOrder) -> Option<TruthValue> {
    match spec.kind {
        FieldKind::Name => normalize::name::normalize(raw).map(|n| TruthValue::Words(n.tokens)),
        FieldKind::Place => normalize::place::normalize(
            raw,
            normalize::place::Gazetteer::builtin(),
            spec.options.place_threshold,
        )
        .map(|s| TruthValue::Words(s.split(' ').map(String::from).collect())),
        FieldKind::Text => normalize::text::normalize(raw)
            .map(|s| TruthValue::Words(s.split(' ').map(String::from).collect())),
        FieldKind::Date => normalize::date::parse(raw, order, &spec.options)
            .ok()
            .map(TruthValue::Date),
        FieldKind::Sex => normalize::sex::normalize(raw).map(|s| TruthValue::Code(s.code().into())),
        FieldKind::Nik => normalize::nik::parse(raw)
            .ok()
            .map(|n| TruthValue::Code(n.digits)),
        FieldKind::Passport => normalize::passport::normalize(raw)
            .ok()
            .map(|p| TruthValue::Code(p.body)),
    }
}

/// The pooled records: which file and row each is.
struct Pool {
    files: Vec<EncodedFile>,
    rows: Vec<(usize, usize)>,
}

impl Pool {
    fn get(&self, role: ColumnRole, r: usize) -> Option<&[u8]> {
        let (f, i) = self.rows[r];
        self.files[f].column(role).and_then(|c| c.get(i))
    }
}

fn words_of(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// A guess for one record of one field: whether it is right (`None`: no truth to score) and the
/// attacker's confidence.
type Scored = Vec<(Option<bool>, f64)>;

/// Runs the attacks.
pub fn run(job: &AttackJob) -> Result<AttackReport> {
    if job.sources.is_empty() {
        return Err(Error::config("attack", "no encoded file to attack"));
    }
    let mut files = Vec::new();
    for s in &job.sources {
        files.push(EncodedFile::read(&s.encoded)?);
    }
    let schema: Schema = files[0].schema.clone();
    for (f, s) in files.iter().zip(&job.sources).skip(1) {
        if f.meta.schema_fingerprint != files[0].meta.schema_fingerprint
            || f.meta.key_fingerprint != files[0].meta.key_fingerprint
        {
            return Err(Error::Incompatible(format!(
                "{} was encoded with another schema or key than {}: only files of one linkage can be pooled",
                s.encoded.display(),
                job.sources[0].encoded.display()
            )));
        }
    }
    // Truth, per pooled record (scoring only).
    let mut truths: Vec<Option<Truth>> = Vec::new();
    let mut rows = Vec::new();
    for (fi, (file, src)) in files.iter().zip(&job.sources).enumerate() {
        let columns = ColumnMap::load(&src.columns)?;
        columns.check(&schema, "column map")?;
        let mut ex = Extract::open(&src.extract, &schema, &columns, job.encoding)?;
        let raw = ex.read_all()?;
        let pseudo = if file.meta.pseudonymized_ids {
            let key = job.key.as_ref().ok_or_else(|| {
                Error::config(
                    "--key",
                    format!(
                        "{} has pseudonymized record ids: give the key to map them to the extract's rows (the attack itself never uses it)",
                        src.encoded.display()
                    ),
                )
            })?;
            if key.fingerprint() != file.meta.key_fingerprint {
                return Err(Error::Incompatible(format!(
                    "{} was encoded with key {}, not with the key given ({})",
                    src.encoded.display(),
                    file.meta.key_fingerprint,
                    key.fingerprint()
                )));
            }
            Some(Encoder::new(
                &schema,
                key,
                EncodeOptions {
                    date_order: columns.date_order,
                    pseudonymize_ids: true,
                    agency: file.meta.agency.clone(),
                },
            ))
        } else {
            None
        };
        let mut by_id: HashMap<String, Truth> = HashMap::new();
        for r in raw.iter().filter(|r| r.problem.is_none()) {
            let values = schema
                .fields
                .iter()
                .enumerate()
                .map(|(i, spec)| {
                    r.cells
                        .get(i)
                        .and_then(|c| c.as_deref())
                        .and_then(|c| normalize_cell(spec, c, columns.date_order))
                })
                .collect();
            let id = match &pseudo {
                Some(e) => e.pseudonym(&r.id),
                None => r.id.clone(),
            };
            by_id.insert(id, Truth { values });
        }
        for (i, id) in file.ids.iter().enumerate() {
            rows.push((fi, i));
            truths.push(by_id.get(id).cloned());
        }
    }
    let pool = Pool { files, rows };
    let n = pool.rows.len();
    let public = Public::load(job.names.as_deref(), job.places.as_deref(), job.years)?;
    let truth = |r: usize, fi: usize| -> Option<&TruthValue> {
        truths[r].as_ref().and_then(|t| t.values[fi].as_ref())
    };

    // 1. The year partition, from the first date field with a filter.
    let date_fi = schema
        .fields
        .iter()
        .position(|f| f.kind == FieldKind::Date && f.bits > 0 && f.hardening.slots.is_empty());
    let field_filters = |fi: Option<usize>| -> Vec<Option<Vec<u64>>> {
        match fi {
            Some(fi) => (0..n)
                .map(|r| pool.get(ColumnRole::FieldFilter(fi), r).map(words_of))
                .collect(),
            None => vec![None; n],
        }
    };
    let date_filters = field_filters(date_fi);
    let date_refs: Vec<Option<&[u64]>> = date_filters.iter().map(|f| f.as_deref()).collect();
    let groups = match date_fi {
        Some(di) => {
            let refs = &date_refs;
            let records: Vec<Option<Vec<u64>>> = (0..n)
                .map(|r| pool.get(ColumnRole::RecordFilter, r).map(words_of))
                .collect();
            let rec_refs: Vec<Option<&[u64]>> = records.iter().map(|f| f.as_deref()).collect();
            partition::year_groups(
                refs,
                &rec_refs,
                schema.fields[di].hardening.blip_probability(),
                job.years,
            )
        }
        None => partition::YearGroups {
            of: vec![None; n],
            ..Default::default()
        },
    };
    // Groups left with members (purification can empty one).
    let n_year_groups = {
        let mut used = vec![false; groups.year.len()];
        for g in groups.of.iter().flatten() {
            used[*g] = true;
        }
        used.iter().filter(|&&u| u).count()
    };
    // 2. The calendar attack on the same date filter, labelled through a NIK filter that is not
    // salted (q = 2: digit bigrams), with the sex from its exact token when there is one.
    let nik_fi = schema.fields.iter().position(|f| {
        f.kind == FieldKind::Nik
            && f.bits > 0
            && f.q == 2
            && f.hardening.slots.is_empty()
            && f.hardening.salt.is_empty()
    });
    let sex_guess: Vec<Option<bool>> = match schema
        .fields
        .iter()
        .position(|f| f.kind == FieldKind::Sex && f.exact_token)
    {
        Some(si) => sex_by_token(&pool, si)
            .into_iter()
            .map(|g| g.map(|(c, _)| c == "P"))
            .collect(),
        None => vec![None; n],
    };
    let calendar = date_fi.map(|di| {
        let nik_filters = field_filters(nik_fi);
        let nik_refs: Vec<Option<&[u64]>> = nik_filters.iter().map(|f| f.as_deref()).collect();
        let nik = nik_fi.map(|ni| dates::NikFilters {
            filters: &nik_refs,
            noise: schema.fields[ni].hardening.blip_probability(),
            hashes: schema.fields[ni].hashes,
            female: &sex_guess,
        });
        let spec = &schema.fields[di];
        dates::calendar(
            &date_refs,
            spec.hardening.blip_probability(),
            spec.hashes,
            &groups,
            nik.as_ref(),
        )
    });
    // No guess: every record holding the field (`held`) scored wrong, at the lowest confidence.
    let no_guess = |held: &dyn Fn(usize) -> bool| -> Scored {
        (0..n)
            .map(|r| (held(r).then_some(false), f64::MIN))
            .collect()
    };
    let mut fields: Vec<FieldScore> = Vec::new();
    let mut salt_groups = 1;
    let mut largest = n;
    let slot = if schema.slots.is_empty() {
        None
    } else {
        Some(slot_attack(&pool, &schema, &public))
    };
    if let Some(sa) = &slot {
        (salt_groups, largest) = sa.groups;
    }
    for (fi, spec) in schema.fields.iter().enumerate() {
        let slotted = !spec.hardening.slots.is_empty();
        match spec.kind {
            FieldKind::Name if slotted => {
                let sa = slot.as_ref().expect("a slotted field has slots");
                let Some(guesses) = sa.names.get(&fi) else {
                    continue;
                };
                let full = words_scored(guesses, |r| truth(r, fi));
                let base_value = public::most_common(&sorted_all(&public.names));
                let base = |r: usize| match (truth(r, fi), &base_value) {
                    (Some(TruthValue::Words(w)), Some(b)) => sorted(w) == *b,
                    _ => false,
                };
                fields.push(score(
                    format!("{} (full)", spec.name),
                    "slot tag chaining + frequency alignment + trilateration + group profiles",
                    &full,
                    base,
                ));
                let first: Scored = (0..n)
                    .map(|r| match truth(r, fi) {
                        Some(TruthValue::Words(w)) if !w.is_empty() => (
                            Some(guesses[r].0.as_ref().is_some_and(|g| g.contains(&w[0]))),
                            guesses[r].1,
                        ),
                        _ => (None, f64::MIN),
                    })
                    .collect();
                fields.push(first_word_score(&spec.name, &public.names, &first, |r| {
                    truth(r, fi)
                }));
            }
            FieldKind::Sex if !spec.exact_token && slot.is_some() => {
                let sa = slot.as_ref().expect("checked");
                let Some(female) = sa.female.as_ref() else {
                    continue;
                };
                let majority = public_sex_order()[0];
                let s: Scored = (0..n)
                    .map(|r| {
                        let g = match female[r] {
                            Some((true, _)) => "P",
                            Some((false, _)) => "L",
                            None => majority,
                        };
                        match truth(r, fi) {
                            Some(TruthValue::Code(c)) => {
                                (Some(g == c), female[r].map_or(f64::MIN, |x| x.1))
                            }
                            _ => (None, f64::MIN),
                        }
                    })
                    .collect();
                let base =
                    |r: usize| matches!(truth(r, fi), Some(TruthValue::Code(c)) if c == majority);
                fields.push(score(
                    spec.name.clone(),
                    "the labelled name's sex, else the public majority",
                    &s,
                    base,
                ));
            }
            FieldKind::Date | FieldKind::Place if slotted => {
                // Tag chaining gives classes of equal year, day-month, place (see
                // `slot_classes`); their sizes cannot be aligned with a flat public distribution
                // (birth years, calendar days) or a list without frequencies (places): no guess.
                let by = job.years.0;
                let s = no_guess(&|r| truth(r, fi).is_some());
                if spec.kind == FieldKind::Date {
                    let base = |r: usize| matches!(truth(r, fi), Some(TruthValue::Date(d)) if d.year == by);
                    fields.push(score(
                        format!("{} (year)", spec.name),
                        "tag chaining: classes not labelled (flat public years)",
                        &s,
                        base,
                    ));
                    // The calendar attack needs date filters comparable across the file; a
                    // slotted filter is salted by its slot's tag, so only filters of one salt
                    // group (one date, or one name and place) can be compared.
                    let full = no_guess(
                        &|r| matches!(truth(r, fi), Some(TruthValue::Date(d)) if d.is_full()),
                    );
                    fields.push(score(
                        format!("{} (full date)", spec.name),
                        "calendar classes: none, the filters are salted per slot group",
                        &full,
                        |r| first_public_day(truth(r, fi), by),
                    ));
                } else {
                    let base_value = public::most_common(&sorted_all(&public.places));
                    let base = |r: usize| match (truth(r, fi), &base_value) {
                        (Some(TruthValue::Words(w)), Some(b)) => sorted(w) == *b,
                        _ => false,
                    };
                    let guesses = place_by_length(&pool, &schema, fi, &public.places);
                    let s = words_scored(&guesses, |r| truth(r, fi));
                    fields.push(score(
                        spec.name.clone(),
                        "the public place whose q-gram count fits the filters' fill (classes not labelled)",
                        &s,
                        base,
                    ));
                }
            }
            FieldKind::Name | FieldKind::Place if spec.bits > 0 => {
                let population: &[Vec<String>] = if spec.kind == FieldKind::Name {
                    &public.names
                } else {
                    &public.places
                };
                // Salt groups: by the salt field's year group when salted, else one group.
                let salted = !spec.hardening.salt.is_empty();
                let salt_di = schema
                    .fields
                    .iter()
                    .position(|f| f.name == spec.hardening.salt);
                let by_year = salted && salt_di.is_some() && salt_di == date_fi;
                let key_of = |r: usize| -> usize {
                    if by_year {
                        groups.of[r].map_or(0, |g| g + 1)
                    } else {
                        0
                    }
                };
                let extra: &[String] = if spec.kind == FieldKind::Name {
                    &public.name_words
                } else {
                    &[]
                };
                let (guesses, n_groups, big) =
                    decode_field(&pool, fi, spec, population, extra, &key_of);
                if spec.kind == FieldKind::Name {
                    salt_groups = n_groups;
                    largest = big;
                }
                let vocab_words = &guesses.1;
                let full: Scored = (0..n)
                    .map(|r| {
                        let ok = match truth(r, fi) {
                            Some(TruthValue::Words(w)) => Some(
                                guesses.0[r]
                                    .0
                                    .as_ref()
                                    .is_some_and(|g| same_words(g, vocab_words, w)),
                            ),
                            _ => None,
                        };
                        (ok, guesses.0[r].1)
                    })
                    .collect();
                let base_value = public::most_common(&sorted_all(population));
                let base = |r: usize| match (truth(r, fi), &base_value) {
                    (Some(TruthValue::Words(w)), Some(b)) => sorted(w) == *b,
                    _ => false,
                };
                let (label, attack) = if spec.kind == FieldKind::Name {
                    (
                        format!("{} (full)", spec.name),
                        if by_year {
                            "year partition + profiles + trilateration + words"
                        } else {
                            "profiles + trilateration + words"
                        },
                    )
                } else {
                    (
                        spec.name.clone(),
                        "profile matching + trilateration on distinct filters",
                    )
                };
                fields.push(score(label, attack, &full, base));
                if spec.kind == FieldKind::Name {
                    let first: Scored = (0..n)
                        .map(|r| {
                            let ok = match truth(r, fi) {
                                Some(TruthValue::Words(w)) if !w.is_empty() => {
                                    Some(guesses.0[r].0.as_ref().is_some_and(|g| {
                                        g.iter().any(|&id| vocab_words[id as usize] == w[0])
                                    }))
                                }
                                _ => None,
                            };
                            (ok, guesses.0[r].1)
                        })
                        .collect();
                    fields.push(first_word_score(&spec.name, population, &first, |r| {
                        truth(r, fi)
                    }));
                }
            }
            FieldKind::Date if Some(fi) == date_fi => {
                let year_of = |r: usize| groups.of[r].and_then(|g| groups.year[g]);
                let conf = |r: usize| groups.of[r].map_or(f64::MIN, |g| groups.confidence[g]);
                let years: Scored = (0..n)
                    .map(|r| match truth(r, fi) {
                        Some(TruthValue::Date(d)) => (Some(year_of(r) == Some(d.year)), conf(r)),
                        _ => (None, f64::MIN),
                    })
                    .collect();
                let by = job.years.0;
                let base =
                    |r: usize| matches!(truth(r, fi), Some(TruthValue::Date(d)) if d.year == by);
                fields.push(score(
                    format!("{} (year)", spec.name),
                    "year partition + chain on the public range",
                    &years,
                    base,
                ));
                // Month and full date: the calendar classes' labels.
                let cal = calendar.as_ref().expect("the partition's date field");
                let attack = if nik_fi.is_some() {
                    format!(
                        "calendar classes ({} mined, {} labelled through the NIK filter)",
                        cal.classes, cal.labelled
                    )
                } else {
                    format!(
                        "calendar classes ({} mined; no NIK filter to label them)",
                        cal.classes
                    )
                };
                let conf = |r: usize| cal.of[r].map_or(f64::MIN, |g| g.1);
                let month: Scored = (0..n)
                    .map(|r| match truth(r, fi) {
                        Some(TruthValue::Date(d)) if d.month.is_some() => (
                            Some(cal.of[r].is_some_and(|((m, _), _)| Some(m) == d.month)),
                            conf(r),
                        ),
                        _ => (None, f64::MIN),
                    })
                    .collect();
                let base = |r: usize| matches!(truth(r, fi), Some(TruthValue::Date(d)) if d.month == Some(1));
                fields.push(score(
                    format!("{} (month)", spec.name),
                    &attack,
                    &month,
                    base,
                ));
                let full: Scored = (0..n)
                    .map(|r| match truth(r, fi) {
                        Some(TruthValue::Date(d)) if d.is_full() => (
                            Some(
                                year_of(r) == Some(d.year)
                                    && cal.of[r].is_some_and(|((m, dd), _)| {
                                        Some(m) == d.month && Some(dd) == d.day
                                    }),
                            ),
                            conf(r),
                        ),
                        _ => (None, f64::MIN),
                    })
                    .collect();
                fields.push(score(
                    format!("{} (full date)", spec.name),
                    &format!("year partition + {attack}"),
                    &full,
                    |r| first_public_day(truth(r, fi), by),
                ));
            }
            FieldKind::Sex if spec.exact_token => {
                let guess = sex_by_token(&pool, fi);
                let s: Scored = (0..n)
                    .map(|r| match truth(r, fi) {
                        Some(TruthValue::Code(c)) => (
                            Some(guess[r].is_some_and(|g| g.0 == c)),
                            guess[r].map_or(f64::MIN, |g| g.1),
                        ),
                        _ => (None, f64::MIN),
                    })
                    .collect();
                let majority = public_sex_order()[0];
                let base =
                    |r: usize| matches!(truth(r, fi), Some(TruthValue::Code(c)) if c == majority);
                fields.push(score(
                    spec.name.clone(),
                    "token classes by size vs public share",
                    &s,
                    base,
                ));
            }
            FieldKind::Nik if nik_fi == Some(fi) && calendar.is_some() => {
                // The NIK's date digits (DDMMYY, 40 added to a woman's day): the year partition,
                // the calendar label and the guessed sex. Region and serial are not attacked.
                let cal = calendar.as_ref().expect("checked");
                let women = public_sex_order()[0] == "P";
                let digits = |y: i32, m: u8, d: u8, female: bool| {
                    format!(
                        "{:02}{m:02}{:02}",
                        d + if female { 40 } else { 0 },
                        y.rem_euclid(100)
                    )
                };
                let s: Scored = (0..n)
                    .map(|r| match truth(r, fi) {
                        Some(TruthValue::Code(c)) if c.len() == 16 => {
                            let year = groups.of[r].and_then(|g| groups.year[g]);
                            let guess = match (year, cal.of[r]) {
                                (Some(y), Some(((m, d), _))) => {
                                    Some(digits(y, m, d, sex_guess[r].unwrap_or(women)))
                                }
                                _ => None,
                            };
                            (
                                Some(guess.is_some_and(|g| g == c[6..12])),
                                cal.of[r].map_or(f64::MIN, |g| g.1),
                            )
                        }
                        _ => (None, f64::MIN),
                    })
                    .collect();
                let common = digits(job.years.0, 1, 1, women);
                let base = |r: usize| matches!(truth(r, fi), Some(TruthValue::Code(c)) if c.len() == 16 && c[6..12] == common);
                fields.push(score(
                    format!("{} (date digits)", spec.name),
                    "year partition + calendar classes labelled through this filter + sex",
                    &s,
                    base,
                ));
                let none = no_guess(&|r| truth(r, fi).is_some());
                fields.push(score(
                    spec.name.clone(),
                    "region and serial not attacked",
                    &none,
                    |_| false,
                ));
            }
            FieldKind::Nik | FieldKind::Passport | FieldKind::Date => {
                // No attack applies: reported so that the table says so, and why.
                let s = no_guess(&|r| truth(r, fi).is_some());
                let attack = if !spec.hardening.slots.is_empty() {
                    "none: salted per slot group, no structure across groups"
                } else if spec.kind == FieldKind::Nik {
                    "none: needs the date partition (no date filter to mine)"
                } else {
                    "none: no public list or structure (document numbers)"
                };
                fields.push(score(spec.name.clone(), attack, &s, |_| false));
            }
            _ => {}
        }
    }
    Ok(AttackReport {
        files: pool.files.len(),
        records: n,
        scored: truths.iter().filter(|t| t.is_some()).count(),
        encoding_version: pool.files[0].meta.encoding_version,
        year_groups: n_year_groups,
        salt_groups,
        largest_salt_group: largest,
        slot_classes: slot.map(|s| s.classes).unwrap_or_default(),
        fields,
    })
}

/// Whether a full date is the baseline's guess: the first day of the public birth-year range.
fn first_public_day(v: Option<&TruthValue>, first_year: i32) -> bool {
    matches!(v, Some(TruthValue::Date(d))
        if d.is_full() && d.year == first_year && d.month == Some(1) && d.day == Some(1))
}

/// The sexes in the order of their public shares, the majority first (the attacker assumes most
/// are women: [`public::PUBLIC_FEMALE_SHARE`]).
fn public_sex_order() -> [&'static str; 2] {
    if public::PUBLIC_FEMALE_SHARE >= 0.5 {
        ["P", "L"]
    } else {
        ["L", "P"]
    }
}

/// Frequency alignment of a sex field's exact token: its equality classes by size against the
/// public shares. Per record: the guessed code and the confidence (its class's share).
fn sex_by_token(pool: &Pool, fi: usize) -> Vec<Option<(&'static str, f64)>> {
    let n = pool.rows.len();
    let role = ColumnRole::Token(fi);
    let mut classes: HashMap<&[u8], usize> = HashMap::new();
    for r in 0..n {
        if let Some(t) = pool.get(role, r) {
            *classes.entry(t).or_insert(0) += 1;
        }
    }
    let mut by_size: Vec<(&[u8], usize)> = classes.into_iter().collect();
    by_size.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let label: HashMap<&[u8], (&str, f64)> = by_size
        .iter()
        .zip(public_sex_order())
        .map(|(&(t, c), l)| (t, (l, c as f64 / n as f64)))
        .collect();
    (0..n)
        .map(|r| pool.get(role, r).and_then(|t| label.get(t)).copied())
        .collect()
}

/// Per record: the guessed words (sorted) and the confidence.
type NameGuesses = Vec<(Option<Vec<String>>, f64)>;

/// What the slot attacks found: per slotted name field, per record, the guessed words (sorted)
/// and the confidence; per record the guessed sex with its confidence; the class structure.
struct SlotAttack {
    names: HashMap<usize, NameGuesses>,
    female: Option<Vec<Option<(bool, f64)>>>,
    classes: Vec<slots::ClassStats>,
    /// Salt groups (slot, tag) of the first slotted name field, and the largest.
    groups: (usize, usize),
}

/// Name draws of the public frequency sample used to align phonetic classes.
const KEY_SAMPLE: usize = 200_000;
/// Salt groups larger than this give no trilateration edges (pairs grow quadratically).
const MAX_EDGE_GROUP: usize = 64;
/// Rounds of trilateration across classes.
const TRI_ROUNDS: usize = 4;
/// Persons a labelled class needs for its name's sex to be guessed.
const MIN_SEX_PERSONS: f64 = 5.0;
/// Records a salt group needs for profile matching inside it.
const MIN_PROFILE_GROUP: usize = 20;

/// The attacks on a salt-slot schema ([`slots`]).
fn slot_attack(pool: &Pool, schema: &Schema, public: &Public) -> SlotAttack {
    let n = pool.rows.len();
    let segs = crate::schema::FieldSlots::of(schema);
    let row = |fi: usize, r: usize| pool.get(ColumnRole::FieldFilter(fi), r).map(words_of);
    let tags = slots::tags(schema, &segs, n, &row);
    let comps = slots::components(schema);
    let mut classes = Vec::new();
    let mut names = HashMap::new();
    let mut female = None;
    let sample = public.name_frequencies(KEY_SAMPLE);
    for c in &comps {
        let class_of = slots::chain(&tags, &c.slots, n);
        classes.push(slots::stats(&c.label, &class_of));
        let schema::SaltPart::Phonetic(fi) = c.part else {
            continue;
        };
        let spec = &schema.fields[fi];
        // Balanced filters are read back unbalanced (slots::Unbalance): a segment's filter as
        // the attacks see it.
        let unbalance = spec
            .hardening
            .balance
            .then(|| {
                let all: Vec<Vec<u64>> = (0..n)
                    .filter_map(|r| row(fi, r))
                    .flat_map(|w| {
                        segs[fi]
                            .slots
                            .iter()
                            .filter_map(|&si| segs[fi].segment(&w, si))
                            .filter(|seg| seg[0] != 0)
                            .map(|seg| seg[1..].to_vec())
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let refs: Vec<&[u64]> = all.iter().map(Vec::as_slice).collect();
                slots::Unbalance::find(&refs, spec.filter_bits())
            })
            .flatten();
        let seg_view = |seg: &[u64]| -> Vec<u64> {
            match &unbalance {
                Some(u) => u.apply(seg),
                None => seg.to_vec(),
            }
        };
        let ov = profile::Overlap::of_field(
            spec,
            unbalance
                .as_ref()
                .map_or(spec.filter_bits(), slots::Unbalance::bits),
        );
        // Every name filter of a record gives an estimate of its q-gram count.
        let qgrams: Vec<Vec<f64>> = (0..n)
            .map(|r| {
                let Some(w) = row(fi, r) else {
                    return Vec::new();
                };
                // Balanced and not undone, or spread over the value (`hashes_per_value`): the
                // popcount says nothing of the length.
                if (spec.hardening.balance && unbalance.is_none()) || !ov.length_known() {
                    return Vec::new();
                }
                segs[fi]
                    .slots
                    .iter()
                    .filter_map(|&si| segs[fi].segment(&w, si))
                    .filter(|seg| seg[0] != 0)
                    .map(|seg| ov.own(&seg_view(&seg[1..])).1)
                    .collect()
            })
            .collect();
        let keys = slots::public_keys(&sample, spec.q);
        let persons = slots::persons(&class_of, &tags);
        let mut labels = slots::align(&class_of, &qgrams, &persons, &keys);
        // Trilateration across classes through the salt groups of the slots without the name's
        // component (e.g. the same birth date), where different names are salted alike.
        let other: Vec<usize> = segs[fi]
            .slots
            .iter()
            .copied()
            .filter(|si| !c.slots.contains(si))
            .collect();
        {
            let seg_filter = |r: usize, si: usize| -> Option<Vec<u64>> {
                let w = row(fi, r)?;
                let seg = segs[fi].segment(&w, si)?;
                (seg[0] != 0).then(|| seg_view(&seg[1..]))
            };
            let edges = slots::edges(&class_of, &tags, &other, &seg_filter, &ov, MAX_EDGE_GROUP);
            let t = slots::Trilateration {
                class_of: &class_of,
                qgrams: &qgrams,
                persons: &persons,
                keys: &keys,
                edges: &edges,
                ov: &ov,
            };
            slots::trilaterate(&t, &mut labels, TRI_ROUNDS);
        }
        let mut guess: Vec<(Option<Vec<String>>, f64)> = labels
            .iter()
            .map(|l| match l {
                Some((k, conf)) => (Some(keys[*k].words.clone()), *conf),
                None => (None, f64::MIN),
            })
            .collect();
        // Only classes of several persons: a lone person's label is too often wrong to beat the
        // public majority ...
        let mut sex: Vec<Option<(bool, f64)>> = (0..n)
            .map(|r| {
                let (k, conf) = labels[r]?;
                let c = class_of[r]?;
                if persons[&c] < MIN_SEX_PERSONS {
                    return None;
                }
                // ... and names whose sex the public lists make plain.
                keys[k]
                    .female
                    .filter(|f| (f - 0.5).abs() >= 0.4)
                    .map(|f| (f >= 0.5, conf))
            })
            .collect();
        // Profile matching inside salt groups large enough (a group's label overrides).
        let big = segs[fi].slots.iter().any(|&si| {
            let mut count: HashMap<u64, usize> = HashMap::new();
            tags[si].iter().filter(|&&t| t != 0).any(|&t| {
                let e = count.entry(t).or_insert(0);
                *e += 1;
                *e >= MIN_PROFILE_GROUP
            })
        });
        if big {
            let vocab = Vocab::build(&public.names, spec.q);
            let cands = profile::Candidates::build(&vocab.pop_q, vocab.n_q, &ov);
            for &si in &segs[fi].slots {
                let filter = |r: usize| -> Option<Vec<u64>> {
                    let w = row(fi, r)?;
                    let seg = segs[fi].segment(&w, si)?;
                    (seg[0] != 0).then(|| seg_view(&seg[1..]))
                };
                let got = slots::group_profiles(&tags[si], &filter, &ov, &cands, MIN_PROFILE_GROUP);
                for (r, g) in got.into_iter().enumerate() {
                    let Some((ci, margin)) = g else { continue };
                    if guess[r].0.is_some() && guess[r].1 >= margin {
                        continue;
                    }
                    let words: Vec<String> = vocab.pop_words[cands.value[ci]]
                        .iter()
                        .map(|&w| vocab.words[w as usize].clone())
                        .collect();
                    guess[r] = (Some(sorted(&words)), margin);
                    let key = crate::normalize::name::phonetic_key(&words);
                    sex[r] = keys
                        .iter()
                        .find(|k| crate::normalize::name::phonetic_key(&k.words) == key)
                        .and_then(|k| k.female.map(|f| (f >= 0.5, margin)));
                }
            }
        }
        if female.is_none() {
            female = Some(sex);
        }
        names.insert(fi, guess);
    }
    // The salt groups the name is attacked in: one per (slot, tag).
    let mut groups = (0, 0);
    if let Some(fi) = comps.iter().find_map(|c| match c.part {
        schema::SaltPart::Phonetic(fi) => Some(fi),
        _ => None,
    }) {
        for &si in &segs[fi].slots {
            let mut count: HashMap<u64, usize> = HashMap::new();
            for &t in tags[si].iter().filter(|&&t| t != 0) {
                *count.entry(t).or_insert(0) += 1;
            }
            groups.0 += count.len();
            groups.1 = groups.1.max(count.values().copied().max().unwrap_or(0));
        }
    }
    SlotAttack {
        names,
        female,
        classes,
        groups,
    }
}

/// Labelling of a slotted place field by its length: every slot filter's fill estimates the
/// place's q-gram count ([`profile::Overlap::own`]), and the guess is the public place whose
/// count fits the mean estimate best (ties: the commonest in the list, then the first in order;
/// the list's commonest place wins whenever it fits as well). A place list has a few dozen to a
/// few hundred entries and their counts spread over a dozen values, so the length alone narrows a
/// place to a handful. With `hashes_per_value` (or balancing) the fill says nothing: every
/// record gets the commonest place. Per record: the guess and its confidence (minus the misfit).
fn place_by_length(
    pool: &Pool,
    schema: &Schema,
    fi: usize,
    places: &[Vec<String>],
) -> Vec<(Option<Vec<String>>, f64)> {
    let n = pool.rows.len();
    let spec = &schema.fields[fi];
    let segs = crate::schema::FieldSlots::of(schema);
    let ov = profile::Overlap::of_field(spec, spec.filter_bits());
    // Public places: sorted words, count in the list, q-gram count; commonest first.
    let mut by: HashMap<Vec<String>, usize> = HashMap::new();
    for p in places {
        *by.entry(sorted(p)).or_insert(0) += 1;
    }
    let mut cands: Vec<(Vec<String>, usize, f64)> = by
        .into_iter()
        .map(|(w, c)| {
            let q = slots::qgram_count(&w, spec.q) as f64;
            (w, c, q)
        })
        .collect();
    cands.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let common = public::most_common(&sorted_all(places));
    let blind = !ov.length_known() || spec.hardening.balance;
    (0..n)
        .map(|r| {
            let est: Vec<f64> = pool
                .get(ColumnRole::FieldFilter(fi), r)
                .map(words_of)
                .filter(|_| !blind)
                .map(|w| {
                    segs[fi]
                        .slots
                        .iter()
                        .filter_map(|&si| segs[fi].segment(&w, si))
                        .filter(|seg| seg[0] != 0)
                        .map(|seg| ov.own(&seg[1..]).1)
                        .collect()
                })
                .unwrap_or_default();
            if est.is_empty() {
                return (common.clone(), f64::MIN);
            }
            let mean = est.iter().sum::<f64>() / est.len() as f64;
            let fit = |q: f64| (q - mean).abs().round();
            let best = cands.iter().map(|c| fit(c.2)).fold(f64::INFINITY, f64::min);
            let pick = common
                .as_ref()
                .filter(|c| cands.iter().any(|x| &x.0 == *c && fit(x.2) == best))
                .cloned()
                .or_else(|| cands.iter().find(|c| fit(c.2) == best).map(|c| c.0.clone()));
            (pick, -(best + (mean - mean.round()).abs()))
        })
        .collect()
}

/// Per record: whether its guess (sorted words, with its confidence) is its true value, `None`
/// where the record holds none.
fn words_scored<'a>(
    guesses: &[(Option<Vec<String>>, f64)],
    truth: impl Fn(usize) -> Option<&'a TruthValue>,
) -> Scored {
    guesses
        .iter()
        .enumerate()
        .map(|(r, (g, conf))| match truth(r) {
            Some(TruthValue::Words(w)) => {
                (Some(g.as_ref().is_some_and(|g| *g == sorted(w))), *conf)
            }
            _ => (None, f64::MIN),
        })
        .collect()
}

fn sorted(w: &[String]) -> Vec<String> {
    let mut v = w.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

fn sorted_all(p: &[Vec<String>]) -> Vec<Vec<String>> {
    p.iter().map(|w| sorted(w)).collect()
}

fn same_words(guess: &[u32], vocab: &[String], truth: &[String]) -> bool {
    let mut g: Vec<&str> = guess.iter().map(|&i| vocab[i as usize].as_str()).collect();
    g.sort_unstable();
    g.dedup();
    let t = sorted(truth);
    g.len() == t.len() && g.iter().zip(&t).all(|(a, b)| *a == b.as_str())
}

/// Per record: the guessed word ids and the confidence; and the vocabulary's words.
type FieldGuesses = (Vec<(Option<Vec<u32>>, f64)>, Vec<String>);

/// Decodes one q-gram field, salt group by salt group (groups in parallel; the result does not
/// depend on the thread count). Returns the guesses, the number of groups and the largest group.
fn decode_field(
    pool: &Pool,
    fi: usize,
    spec: &FieldSpec,
    population: &[Vec<String>],
    extra_words: &[String],
    key_of: &(dyn Fn(usize) -> usize + Sync),
) -> (FieldGuesses, usize, usize) {
    let n = pool.rows.len();
    let mut vocab = Vocab::build(population, spec.q);
    // Every word of the public lists, also those too rare to be in the sample.
    vocab.add_words(extra_words, spec.q);
    // A place list holds each place once: its filters are decoded once per distinct filter. Names
    // keep their frequencies (the population sample has them too).
    let role = ColumnRole::FieldFilter(fi);
    let mut by_group: HashMap<usize, Vec<usize>> = HashMap::new();
    for r in 0..n {
        if pool.get(role, r).is_some() {
            by_group.entry(key_of(r)).or_default().push(r);
        }
    }
    let mut keys: Vec<usize> = by_group.keys().copied().collect();
    keys.sort_unstable();
    // A salted name's q-grams also set `record_hashes` bits of the record-level filter, which
    // carries no BLIP: the two filters are decoded side by side (one long filter per record).
    let dedupe = spec.kind != FieldKind::Name;
    let with_record = !dedupe && spec.record_hashes > 0;
    let record_words = pool.files[0].schema.record_filter.bits / 64;
    let words = spec.stored_bits() / 64 + if with_record { record_words } else { 0 };
    let params = PatternParams {
        hashes: spec.hashes + if with_record { spec.record_hashes } else { 0 },
        noise: spec.hardening.blip_probability(),
        ..PatternParams::default()
    };
    let largest = by_group.values().map(Vec::len).max().unwrap_or(0);
    let field_words = spec.stored_bits() / 64;
    let overlap = profile::Overlap::of_field(spec, spec.stored_bits());
    let cands = (!dedupe).then(|| profile::Candidates::build(&vocab.pop_q, vocab.n_q, &overlap));
    let place_cands = if dedupe {
        profile::Candidates::build(&vocab.pop_q, vocab.n_q, &overlap)
    } else {
        profile::Candidates::build(&[], vocab.n_q, &overlap)
    };
    let results: Vec<Vec<(usize, decode::Decoded)>> = keys
        .par_iter()
        .map(|k| {
            let members = &by_group[k];
            let mut distinct: HashMap<&[u8], usize> = HashMap::new();
            let mut filters: Vec<Vec<u64>> = Vec::new();
            let mut of: Vec<usize> = Vec::with_capacity(members.len());
            for &r in members {
                let b = pool.get(role, r).expect("grouped records have the filter");
                let d = if dedupe {
                    *distinct.entry(b).or_insert_with(|| {
                        filters.push(words_of(b));
                        filters.len() - 1
                    })
                } else {
                    let mut w = words_of(b);
                    if with_record {
                        if let Some(rf) = pool.get(ColumnRole::RecordFilter, r) {
                            w.extend(words_of(rf));
                        } else {
                            w.resize(words, 0);
                        }
                    }
                    filters.push(w);
                    filters.len() - 1
                };
                of.push(d);
            }
            let refs: Vec<&[u64]> = filters.iter().map(Vec::as_slice).collect();
            // Profile matching and trilateration on the field filter alone seed the decoding.
            if dedupe {
                // Few distinct filters (a place always gives the same one): each is labelled
                // directly by profile matching and trilateration, weighted by its records.
                let mut weight = vec![0f64; filters.len()];
                for &d in &of {
                    weight[d] += 1.0;
                }
                let own: Vec<&[u64]> = refs.iter().map(|r| &r[..field_words]).collect();
                let labels = profile::label(&own, Some(&weight), &overlap, &place_cands);
                return members
                    .iter()
                    .zip(&of)
                    .map(|(&r, &d)| {
                        let dec = match labels[d] {
                            Some(l) => decode::Decoded {
                                value: Some(
                                    vocab.pop_words[place_cands.value[l.candidate]].clone(),
                                ),
                                confidence: l.margin,
                            },
                            None => decode::Decoded::default(),
                        };
                        (r, dec)
                    })
                    .collect();
            }
            let c = cands.as_ref().expect("candidates of a name field");
            let own: Vec<&[u64]> = refs.iter().map(|r| &r[..field_words]).collect();
            let labels = profile::label(&own, None, &overlap, c);
            let seeds = profile::seeds(&labels)
                .into_iter()
                .map(|(i, ci)| (i, vocab.pop_words[c.value[ci]].clone()))
                .collect();
            let dec = decode::decode_group(&refs, words, &vocab, &params, seeds);
            members
                .iter()
                .zip(&of)
                .map(|(&r, &d)| (r, dec[d].clone()))
                .collect()
        })
        .collect();
    let mut out = vec![(None, f64::MIN); n];
    for v in results {
        for (r, d) in v {
            out[r] = (d.value, d.confidence);
        }
    }
    ((out, vocab.words.clone()), keys.len(), largest)
}

/// The "first word" row of a name field: `first` scored against the most common first word of
/// the public `population` as the baseline (`truth(r)`: record `r`'s value of the field).
fn first_word_score<'a>(
    name: &str,
    population: &[Vec<String>],
    first: &Scored,
    truth: impl Fn(usize) -> Option<&'a TruthValue>,
) -> FieldScore {
    let first_pub: Vec<String> = population
        .iter()
        .filter_map(|p| p.first().cloned())
        .collect();
    let base_first = public::most_common(&first_pub);
    score(
        format!("{name} (first word)"),
        "from the full-name guess",
        first,
        |r| match (truth(r), &base_first) {
            (Some(TruthValue::Words(w)), Some(b)) => w.first() == Some(b),
            _ => false,
        },
    )
}

fn score(field: String, attack: &str, s: &Scored, baseline: impl Fn(usize) -> bool) -> FieldScore {
    let mut with: Vec<(usize, bool, f64)> = s
        .iter()
        .enumerate()
        .filter_map(|(r, (ok, c))| ok.map(|ok| (r, ok, *c)))
        .collect();
    let records = with.len();
    let recovered = with.iter().filter(|x| x.1).count();
    let base = with.iter().filter(|x| baseline(x.0)).count();
    with.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let half = records.div_ceil(2);
    let confident_recovered = with[..half].iter().filter(|x| x.1).count();
    FieldScore {
        field,
        attack: attack.into(),
        records,
        recovered,
        confident: half,
        confident_recovered,
        baseline: base,
    }
}
