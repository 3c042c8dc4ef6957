//! The linkage schema shared by all agencies, and the per-agency column map.
//!
//! The schema (`schema.toml`) lists the fields every agency encodes, each with a [`FieldKind`],
//! normalizer options and encoding parameters. Its [`Schema::fingerprint`] — a blake3 hash of the
//! canonical JSON form — is stored in every encoded file, so the linkage unit can refuse files
//! encoded with different schemas. The column map ([`ColumnMap`]) is per agency: which of its
//! columns feeds which field, which column is the record id, and its date order. The shared
//! schema is never edited per agency.

mod columns;
mod default;

pub use columns::{ColumnMap, ColumnSource, DateOrder};
pub use default::{DEFAULT_SCHEMA_TOML, V3_SCHEMA_TOML};

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::{Error, Result};

/// The schema format version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// The kind of a field: decides its normalizer, its tokens and how link compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// A person's name (Indonesian name normalization).
    Name,
    /// A passport number.
    Passport,
    /// A date (of birth).
    Date,
    /// An Indonesian national id number (NIK, 16 digits).
    Nik,
    /// Sex (exact token only, no filter).
    Sex,
    /// A place (regency / city), matched against the gazetteer.
    Place,
    /// Free text: case-folded, accents and punctuation removed.
    Text,
}

impl FieldKind {
    /// The lowercase name used in TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Name => "name",
            FieldKind::Passport => "passport",
            FieldKind::Date => "date",
            FieldKind::Nik => "nik",
            FieldKind::Sex => "sex",
            FieldKind::Place => "place",
            FieldKind::Text => "text",
        }
    }

    /// Whether this kind is encoded as a Bloom filter (sex is a token only).
    pub fn has_filter(self) -> bool {
        !matches!(self, FieldKind::Sex)
    }
}

/// One field of the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The field's name, `[a-z][a-z0-9_]*`.
    pub name: String,
    /// Its kind.
    pub kind: FieldKind,
    /// q-gram length (1..=4) for the field filter.
    #[serde(default = "default_q")]
    pub q: usize,
    /// Field filter length in bits: a power of two from 64 to 4096 (0 for `sex`).
    #[serde(default)]
    pub bits: usize,
    /// Bits set per token in the field filter (1..=64).
    #[serde(default)]
    pub hashes: usize,
    /// Whether the field also yields a keyed exact token (for exact agreement and blocking).
    #[serde(default)]
    pub exact_token: bool,
    /// Bits set per token in the record-level filter (0 = the field does not feed it).
    #[serde(default)]
    pub record_hashes: usize,
    /// Whether the field is required: a row whose value is missing or unusable is rejected.
    #[serde(default)]
    pub required: bool,
    /// Normalizer options.
    #[serde(default)]
    pub options: FieldOptions,
    /// Hardening of the field's filter against attacks by a curious linkage unit (all off when
    /// absent; left out of the canonical form when all off, so unhardened schemas keep their
    /// fingerprints).
    #[serde(default, skip_serializing_if = "Hardening::is_off")]
    pub hardening: Hardening,
}

impl FieldSpec {
    /// Width in bits of the filter as stored in the encoded file: `bits`, doubled by balancing,
    /// halved by XOR-folding (0 for `sex`). A field keyed by salt slots stores one segment per
    /// slot: a 64-bit slot tag, then the slot's filter ([`FieldSpec::segment_bits`]), the whole
    /// padded with zero bits to a power of two (the linkage side's filter matrices need one).
    pub fn stored_bits(&self) -> usize {
        if !self.hardening.slots.is_empty() {
            return (self.hardening.slots.len() * self.segment_bits()).next_power_of_two();
        }
        self.filter_bits()
    }

    /// Bits of one slot segment of a slotted field: the 64-bit tag and the (balanced) filter.
    pub fn segment_bits(&self) -> usize {
        SLOT_TAG_BITS + self.filter_bits()
    }

    /// Width of one filter after balancing and folding.
    pub fn filter_bits(&self) -> usize {
        let mut b = self.bits;
        if self.hardening.balance {
            b *= 2;
        }
        if self.hardening.fold {
            b /= 2;
        }
        b
    }
}

/// Hardening of one field's Bloom filter (see docs/privacy.md for what each option defends
/// against and what it costs). Applied in this order: salted q-grams → balancing → keyed
/// permutation → XOR-folding → BLIP.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hardening {
    /// Name of a `date` field whose year salts this field's q-grams (in the field filter, the
    /// record-level filter and the exact token); records without that year use the empty salt.
    /// Empty = no salt.
    pub salt: String,
    /// Keyed permutation of the filter's bit positions.
    pub permute: bool,
    /// Balancing: the filter followed by its complement (then permuted): doubles the width, every
    /// filter has exactly half its bits set. Requires `permute`.
    pub balance: bool,
    /// XOR-folding: the two halves XORed together: halves the width.
    pub fold: bool,
    /// Random bit flipping (BLIP): each bit flips with probability 1/(1+e^ε), from keyed
    /// randomness per (agency, record id, field). 0 = off.
    pub blip_epsilon: f64,
    /// Salt slots (names of the schema's `[[slots]]`): the field gets one filter per slot, each
    /// salted by that slot's composite salt, and is compared only inside a slot both records
    /// share (none shared = missing). Empty = no slots.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<String>,
    /// Positions set per value in all, spread over its distinct q-grams (each ⌊N/n⌋ or ⌈N/n⌉),
    /// instead of `hashes` per q-gram, so a filter's fill does not tell the value's length.
    /// 0 = off.
    #[serde(skip_serializing_if = "is_zero")]
    pub hashes_per_value: usize,
}

fn is_zero(x: &usize) -> bool {
    *x == 0
}

impl Hardening {
    /// Whether every option is off.
    pub fn is_off(&self) -> bool {
        *self == Hardening::default()
    }

    /// The BLIP flip probability 1/(1+e^ε), 0 when off.
    pub fn blip_probability(&self) -> f64 {
        if self.blip_epsilon > 0.0 {
            1.0 / (1.0 + self.blip_epsilon.exp())
        } else {
            0.0
        }
    }
}

fn default_q() -> usize {
    2
}

/// Kind-specific normalizer options (all optional, documented defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldOptions {
    /// `date`: two-digit years `00..=pivot` are 20xx, the others 19xx.
    pub year_pivot: u32,
    /// `date`: earliest plausible year; earlier dates are rejected as impossible.
    pub min_year: i32,
    /// `date`: latest plausible year.
    pub max_year: i32,
    /// `place`: Jaro–Winkler similarity needed to snap a place to the gazetteer.
    pub place_threshold: f64,
}

impl Default for FieldOptions {
    fn default() -> Self {
        FieldOptions {
            year_pivot: 30,
            min_year: 1900,
            max_year: 2030,
            place_threshold: 0.93,
        }
    }
}

/// Width of a slot tag, the keyed hash of a slot's salt stored before each slot filter.
pub const SLOT_TAG_BITS: usize = 64;

/// Where a slotted field's segments sit in its stored filter: one segment per slot, a
/// [`SLOT_TAG_BITS`]-bit tag word first (0 = the record lacks the slot), then the slot's filter.
/// Read by the linkage side (`link::slots`) and by the self-test (`attack::slots`).
#[derive(Debug, Clone, Default)]
pub struct FieldSlots {
    /// Schema slot index of each segment, in segment order (empty: not slotted).
    pub slots: Vec<usize>,
    /// Words per segment (the tag word first).
    pub segment_words: usize,
}

impl FieldSlots {
    /// Per schema field: its segments (empty for a field without slots).
    pub fn of(schema: &Schema) -> Vec<FieldSlots> {
        schema
            .fields
            .iter()
            .map(|f| FieldSlots {
                slots: f
                    .hardening
                    .slots
                    .iter()
                    .filter_map(|n| schema.slots.iter().position(|s| &s.name == n))
                    .collect(),
                segment_words: if f.hardening.slots.is_empty() {
                    0
                } else {
                    f.segment_bits() / 64
                },
            })
            .collect()
    }

    /// Whether the field is slotted.
    pub fn is_slotted(&self) -> bool {
        !self.slots.is_empty()
    }

    /// The segment of slot `si` in a stored row (tag word first), if the field carries the slot.
    pub fn segment<'a>(&self, row: &'a [u64], si: usize) -> Option<&'a [u64]> {
        let j = self.slots.iter().position(|&s| s == si)?;
        row.get(j * self.segment_words..(j + 1) * self.segment_words)
    }
}

/// A salt slot: a composite salt from several fields of the record. Every field keyed by the slot
/// is salted by it, and its keyed hash (the slot tag) is a blocking key. A record without one of
/// the components has no such slot (its segments are empty), so no shared "empty" salt exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotSpec {
    /// The slot's name, `[a-z][a-z0-9_]*`.
    pub name: String,
    /// Its components, each `FIELD.year` or `FIELD.dm` (a date field: the year; day and month
    /// as an unordered pair, so a day/month swap keeps the slot), `FIELD.phonetic` (a name field:
    /// the sorted phonetic keys of its words) or `FIELD` (the field's exact normalized value).
    pub salt: Vec<String>,
}

/// One component of a slot's salt, resolved against the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaltPart {
    /// The year of date field `i`.
    Year(usize),
    /// Day and month of date field `i`, unordered (needs a full date).
    DayMonth(usize),
    /// The sorted, deduplicated phonetic keys of name field `i`'s words.
    Phonetic(usize),
    /// The exact normalized value of field `i`.
    Exact(usize),
}

impl SaltPart {
    /// The index of the field this part is taken from.
    pub fn field(self) -> usize {
        let (SaltPart::Year(i)
        | SaltPart::DayMonth(i)
        | SaltPart::Phonetic(i)
        | SaltPart::Exact(i)) = self;
        i
    }
}

impl SlotSpec {
    /// Resolves the components (None with the offending component when one is invalid).
    pub fn parts(&self, schema: &Schema) -> std::result::Result<Vec<SaltPart>, String> {
        self.salt
            .iter()
            .map(|c| {
                let (field, what) = c.split_once('.').unwrap_or((c.as_str(), ""));
                let Some(i) = schema.fields.iter().position(|f| f.name == field) else {
                    return Err(format!("'{c}': no field '{field}'"));
                };
                let kind = schema.fields[i].kind;
                match (what, kind) {
                    ("year", FieldKind::Date) => Ok(SaltPart::Year(i)),
                    ("dm", FieldKind::Date) => Ok(SaltPart::DayMonth(i)),
                    ("phonetic", FieldKind::Name) => Ok(SaltPart::Phonetic(i)),
                    ("", _) => Ok(SaltPart::Exact(i)),
                    _ => Err(format!(
                        "'{c}': use FIELD.year or FIELD.dm (date), FIELD.phonetic (name) or FIELD"
                    )),
                }
            })
            .collect()
    }
}

/// The record-level filter used for LSH blocking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFilterSpec {
    /// Length in bits (power of two, 256..=8192).
    pub bits: usize,
}

impl Default for RecordFilterSpec {
    fn default() -> Self {
        RecordFilterSpec { bits: 1024 }
    }
}

/// The linkage schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Schema format version (see [`SCHEMA_VERSION`]).
    pub version: u32,
    /// A human label, e.g. `victims-2026`.
    #[serde(default)]
    pub name: String,
    /// The record-level filter.
    #[serde(default)]
    pub record_filter: RecordFilterSpec,
    /// The fields, in order.
    pub fields: Vec<FieldSpec>,
    /// Salt slots (composite salts) that fields may be keyed by; none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<SlotSpec>,
}

impl Schema {
    /// Parses and validates a schema from TOML text. `source` names the file in errors.
    pub fn from_toml(text: &str, source: &str) -> Result<Schema> {
        let mut schema: Schema =
            toml::from_str(text).map_err(|e| Error::config(source, toml_error(&e, text)))?;
        schema.fill_defaults();
        schema.validate(source)?;
        Ok(schema)
    }

    /// Reads a schema file.
    pub fn load(path: &Path) -> Result<Schema> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
        Schema::from_toml(&text, &path.display().to_string())
    }

    /// The default schema for victim records (see `padan schema default`).
    pub fn default_victims() -> Schema {
        Schema::from_toml(DEFAULT_SCHEMA_TOML, "the default schema")
            .expect("the built-in default schema is valid")
    }

    /// Fills encoding parameters left at 0 with the kind's defaults.
    fn fill_defaults(&mut self) {
        for f in &mut self.fields {
            let (bits, hashes) = default::kind_defaults(f.kind);
            if f.bits == 0 && f.kind.has_filter() {
                f.bits = bits;
            }
            if f.hashes == 0 && f.kind.has_filter() {
                f.hashes = hashes;
            }
        }
    }

    /// Checks every rule; errors name the offending key.
    pub fn validate(&self, source: &str) -> Result<()> {
        let err = |key: String, msg: String| Err(Error::config(source, format!("{key}: {msg}")));
        if self.version != SCHEMA_VERSION {
            return err(
                "version".into(),
                format!(
                    "schema version {} is not supported by this padan (it reads version {SCHEMA_VERSION})",
                    self.version
                ),
            );
        }
        let rb = self.record_filter.bits;
        if !rb.is_power_of_two() || !(256..=8192).contains(&rb) {
            return err(
                "record_filter.bits".into(),
                format!("must be a power of two from 256 to 8192, got {rb}"),
            );
        }
        if self.fields.is_empty() {
            return err("fields".into(), "the schema has no fields".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, f) in self.fields.iter().enumerate() {
            let key = format!("fields[{i}] ('{}')", f.name);
            let name_ok = f
                .name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
                && f.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !name_ok {
                return err(
                    format!("fields[{i}].name"),
                    "must match [a-z][a-z0-9_]* (lowercase letters, digits, underscore)".into(),
                );
            }
            if !seen.insert(f.name.clone()) {
                return err(format!("{key}.name"), "duplicate field name".into());
            }
            if f.kind.has_filter() {
                if !(1..=4).contains(&f.q) {
                    return err(format!("{key}.q"), format!("must be 1..=4, got {}", f.q));
                }
                if !f.bits.is_power_of_two() || !(64..=4096).contains(&f.bits) {
                    return err(
                        format!("{key}.bits"),
                        format!("must be a power of two from 64 to 4096, got {}", f.bits),
                    );
                }
                if !(1..=64).contains(&f.hashes) {
                    return err(
                        format!("{key}.hashes"),
                        format!("must be 1..=64, got {}", f.hashes),
                    );
                }
            } else if f.bits != 0 {
                return err(
                    format!("{key}.bits"),
                    format!(
                        "a '{}' field has no filter: leave bits out",
                        f.kind.as_str()
                    ),
                );
            }
            if f.record_hashes > 64 {
                return err(
                    format!("{key}.record_hashes"),
                    format!("must be 0..=64, got {}", f.record_hashes),
                );
            }
            if f.kind == FieldKind::Sex && !f.exact_token && self.slots.is_empty() {
                return err(
                    format!("{key}.exact_token"),
                    "a 'sex' field is compared by its exact token: set exact_token = true".into(),
                );
            }
            let h = &f.hardening;
            if !h.is_off() && !f.kind.has_filter() {
                return err(
                    format!("{key}.hardening"),
                    format!("a '{}' field has no filter to harden", f.kind.as_str()),
                );
            }
            if !h.salt.is_empty() {
                match self.field(&h.salt) {
                    Some(s) if s.kind == FieldKind::Date && s.name != f.name => {}
                    _ => {
                        return err(
                            format!("{key}.hardening.salt"),
                            "must name another field of kind 'date' (its year is the salt)".into(),
                        )
                    }
                }
            }
            if !h.slots.is_empty() {
                if !h.salt.is_empty() || h.fold {
                    return err(
                        format!("{key}.hardening.slots"),
                        "a slotted field is salted by its slots: leave salt and fold out".into(),
                    );
                }
                if f.record_hashes > 0 {
                    return err(
                        format!("{key}.record_hashes"),
                        "a slotted field must not feed the (unsalted) record-level filter: set 0"
                            .into(),
                    );
                }
                for (j, sl) in h.slots.iter().enumerate() {
                    if !self.slots.iter().any(|s| &s.name == sl) {
                        return err(
                            format!("{key}.hardening.slots[{j}]"),
                            format!("no slot named '{sl}' in [[slots]]"),
                        );
                    }
                    if h.slots[..j].contains(sl) {
                        return err(
                            format!("{key}.hardening.slots[{j}]"),
                            "slot listed twice".into(),
                        );
                    }
                }
            }
            if h.balance && !h.permute {
                return err(
                    format!("{key}.hardening.balance"),
                    "balancing needs permute = true (a filter followed by its plain complement hides nothing)".into(),
                );
            }
            if h.fold && f.bits * if h.balance { 2 } else { 1 } < 128 {
                return err(
                    format!("{key}.hardening.fold"),
                    "folding needs a filter of at least 128 bits (the folded filter is at least 64)".into(),
                );
            }
            if h.hashes_per_value > 0 {
                if !(1..=4096).contains(&h.hashes_per_value) || !f.kind.has_filter() {
                    return err(
                        format!("{key}.hardening.hashes_per_value"),
                        format!(
                            "must be 1..=4096 on a field with a filter (0 = off), got {}",
                            h.hashes_per_value
                        ),
                    );
                }
                if f.record_hashes > 0 {
                    return err(
                        format!("{key}.hardening.hashes_per_value"),
                        "cannot be set on a field that feeds the record-level filter (record_hashes > 0): that filter's fill would still tell the value's length".into(),
                    );
                }
            }
            if !(0.0..=20.0).contains(&h.blip_epsilon) {
                return err(
                    format!("{key}.hardening.blip_epsilon"),
                    format!("must be in 0..=20 (0 = off), got {}", h.blip_epsilon),
                );
            }
            let o = &f.options;
            if !(0.5..=1.0).contains(&o.place_threshold) {
                return err(
                    format!("{key}.options.place_threshold"),
                    format!("must be in 0.5..=1.0, got {}", o.place_threshold),
                );
            }
            if o.year_pivot > 99 {
                return err(
                    format!("{key}.options.year_pivot"),
                    format!("must be 0..=99, got {}", o.year_pivot),
                );
            }
            if o.min_year >= o.max_year {
                return err(
                    format!("{key}.options.min_year"),
                    "must be smaller than max_year".into(),
                );
            }
        }
        let mut slot_names = std::collections::BTreeSet::new();
        for (i, sl) in self.slots.iter().enumerate() {
            let key = format!("slots[{i}] ('{}')", sl.name);
            let ok = sl
                .name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
                && sl
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok || !slot_names.insert(sl.name.clone()) {
                return err(
                    format!("{key}.name"),
                    "must be unique and match [a-z][a-z0-9_]*".into(),
                );
            }
            if sl.salt.is_empty() {
                return err(format!("{key}.salt"), "needs at least one component".into());
            }
            if let Err(m) = sl.parts(self) {
                return err(format!("{key}.salt"), m);
            }
        }
        if self.slots.is_empty() && !self.fields.iter().any(|f| f.record_hashes > 0) {
            return err(
                "fields".into(),
                "no field feeds the record-level filter (set record_hashes > 0 on at least one)"
                    .into(),
            );
        }
        Ok(())
    }

    /// The canonical form: compact JSON of the validated schema (fields in order, every default
    /// filled in). Stored in encoded files so link knows each field's kind and filter size.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("a schema always serializes")
    }

    /// Parses the canonical JSON stored in an encoded file.
    pub fn from_canonical_json(text: &str, source: &str) -> Result<Schema> {
        let schema: Schema = serde_json::from_str(text).map_err(|e| {
            Error::config(
                source,
                format!(
                    "embedded schema: {}",
                    crate::error::redact_parser_message(&e.to_string())
                ),
            )
        })?;
        schema.validate(source)?;
        Ok(schema)
    }

    /// The same schema with every hardening option off (what `padan attack` compares against).
    pub fn unhardened(&self) -> Schema {
        let mut s = self.clone();
        for f in &mut s.fields {
            f.hardening = Hardening::default();
        }
        s
    }

    /// Whether any field is hardened.
    pub fn is_hardened(&self) -> bool {
        self.fields.iter().any(|f| !f.hardening.is_off())
    }

    /// The schema fingerprint: the first 16 hex digits of blake3 over the canonical form.
    pub fn fingerprint(&self) -> String {
        let h = blake3::hash(self.canonical_json().as_bytes());
        hex::encode(&h.as_bytes()[..8])
    }

    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The first field of a kind.
    pub fn first_of_kind(&self, kind: FieldKind) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.kind == kind)
    }
}

/// A toml error message without the source snippet (which could echo a value).
fn toml_error(e: &toml::de::Error, text: &str) -> String {
    let msg = crate::error::redact_parser_message(e.message());
    match e.span() {
        Some(span) => {
            let upto = &text[..span.start.min(text.len())];
            let line = upto.matches('\n').count() + 1;
            // The key on that line, if it is a `key = value` line (names the key, not the value).
            let key = text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim().to_string())
                .filter(|k| crate::error::looks_like_config_key(k));
            match key {
                Some(k) => format!("line {line}, key '{k}': {msg}"),
                None => format!("line {line}: {msg}"),
            }
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schema_parses_and_has_the_victim_fields() {
        let s = Schema::default_victims();
        let names: Vec<_> = s.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["name", "passport", "dob", "sex", "birthplace", "nik"]
        );
        assert_eq!(s.fingerprint().len(), 16);
    }

    #[test]
    fn the_default_is_the_measured_slot_schema_and_v3_still_parses() {
        // docs/privacy.md measures fixtures/kat/schema-slots-hidelen.toml (layout L with hidden
        // lengths): the default is that layout.
        let fixture = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/kat/schema-slots-hidelen.toml"
        ))
        .unwrap();
        let mut measured = Schema::from_toml(&fixture, "fixture").unwrap();
        let default = Schema::default_victims();
        measured.name.clone_from(&default.name);
        assert_eq!(measured, default);
        assert!(!default.slots.is_empty());
        let v3 = Schema::from_toml(V3_SCHEMA_TOML, "v3").unwrap();
        assert!(v3.slots.is_empty());
        assert_eq!(v3.fields[0].hardening.salt, "dob");
    }

    #[test]
    fn fingerprint_is_stable_under_formatting_and_changes_with_content() {
        let a = Schema::default_victims();
        let reformatted = DEFAULT_SCHEMA_TOML.replace(" = ", "=");
        let b = Schema::from_toml(&reformatted, "x").unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        let mut c = a.clone();
        c.fields[0].hashes += 1;
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn canonical_json_round_trips() {
        let a = Schema::default_victims();
        let b = Schema::from_canonical_json(&a.canonical_json(), "x").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                "version = 1\n[[fields]]\nname = \"n\"\nkind = \"name\"\nbits = 500\nrecord_hashes = 5\n",
                "fields[0] ('n').bits",
            ),
            (
                "version = 1\n[[fields]]\nname = \"n\"\nkind = \"name\"\nhashes = 99\nrecord_hashes = 5\n",
                "fields[0] ('n').hashes",
            ),
            (
                "version = 1\n[[fields]]\nname = \"N\"\nkind = \"name\"\nrecord_hashes = 5\n",
                "fields[0].name",
            ),
            ("version = 2\n[[fields]]\nname = \"n\"\nkind = \"name\"\n", "version"),
            (
                "version = 1\n[[fields]]\nname = \"n\"\nkind = \"colour\"\n",
                "unknown variant",
            ),
            (
                "version = 1\n[[fields]]\nname = \"n\"\nkind = \"name\"\nrecord_hashes = 5\n[[fields]]\nname = \"n\"\nkind = \"text\"\n",
                "duplicate field name",
            ),
            (
                "version = 1\n[[fields]]\nname = \"s\"\nkind = \"sex\"\nexact_token = true\n",
                "no field feeds the record-level filter",
            ),
        ];
        for (text, want) in cases {
            let e = Schema::from_toml(text, "s.toml").unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
            assert!(e.contains("s.toml"), "{e:?} names the file");
        }
    }

    #[test]
    fn hardening_is_validated_and_absent_from_unhardened_canonical_forms() {
        let base = "version = 1\n[[fields]]\nname = \"n\"\nkind = \"name\"\nrecord_hashes = 5\n[fields.hardening]\nHARD\n[[fields]]\nname = \"d\"\nkind = \"date\"\n[[fields]]\nname = \"s\"\nkind = \"sex\"\nexact_token = true\n";
        let bad = [
            ("salt = \"s\"", "hardening.salt"),
            ("salt = \"n\"", "hardening.salt"),
            ("salt = \"nope\"", "hardening.salt"),
            ("balance = true", "hardening.balance"),
            ("blip_epsilon = -1.0", "hardening.blip_epsilon"),
            ("shuffle = true", "unknown field"),
        ];
        for (h, want) in bad {
            let e = Schema::from_toml(&base.replace("HARD", h), "s.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{h}: {e:?} should contain {want:?}");
        }
        let ok = Schema::from_toml(
            &base.replace(
                "HARD",
                "salt = \"d\"\npermute = true\nbalance = true\nfold = true\nblip_epsilon = 3.0",
            ),
            "s.toml",
        )
        .unwrap();
        assert_eq!(ok.fields[0].stored_bits(), 512);
        assert!(ok.is_hardened() && !ok.unhardened().is_hardened());
        assert!((ok.fields[0].hardening.blip_probability() - 0.0474).abs() < 1e-3);
        // Without hardening the canonical form has no trace of it: fingerprints of existing
        // unhardened schemas do not change.
        let plain = Schema::from_toml(&base.replace("HARD", ""), "s.toml").unwrap();
        assert!(!plain.canonical_json().contains("hardening"));
        assert_eq!(ok.unhardened().fingerprint(), plain.fingerprint());
        assert_ne!(ok.fingerprint(), plain.fingerprint());
        let e = Schema::from_toml(
            "version = 1\n[[fields]]\nname = \"n\"\nkind = \"name\"\nbits = 64\nrecord_hashes = 5\n[fields.hardening]\nfold = true\n",
            "s.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("hardening.fold"), "{e}");
        let e = Schema::from_toml(
            "version = 1\n[[fields]]\nname = \"n\"\nkind = \"name\"\nrecord_hashes = 5\n[[fields]]\nname = \"s\"\nkind = \"sex\"\nexact_token = true\n[fields.hardening]\npermute = true\n",
            "s.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no filter to harden"), "{e}");
    }

    #[test]
    fn slots_are_validated_and_size_the_stored_filter() {
        let base = "version = 1\n[[slots]]\nname = \"dmy\"\nsalt = SALT\n[[fields]]\nname = \"n\"\nkind = \"name\"\nbits = 512\n[fields.hardening]\npermute = true\nslots = SLOTS\n[[fields]]\nname = \"d\"\nkind = \"date\"\n[[fields]]\nname = \"s\"\nkind = \"sex\"\n";
        let make = |salt: &str, slots: &str| {
            Schema::from_toml(
                &base.replace("SALT", salt).replace("SLOTS", slots),
                "s.toml",
            )
        };
        let ok = make("[\"d.dm\", \"d.year\", \"s\", \"n.phonetic\"]", "[\"dmy\"]").unwrap();
        // One segment: 64-bit tag + 512 bits, padded to a power of two.
        assert_eq!(ok.fields[0].stored_bits(), 1024);
        assert!(ok.canonical_json().contains("slots"));
        for (salt, slots, want) in [
            ("[\"d.dm\"]", "[\"nope\"]", "hardening.slots[0]"),
            ("[\"n.year\"]", "[\"dmy\"]", "slots[0] ('dmy').salt"),
            ("[\"x\"]", "[\"dmy\"]", "no field 'x'"),
            ("[]", "[\"dmy\"]", "at least one component"),
            ("[\"d.dm\"]", "[\"dmy\", \"dmy\"]", "listed twice"),
        ] {
            let e = make(salt, slots).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
        // A slotted field must not feed the unsalted record filter.
        let e = Schema::from_toml(
            &base
                .replace("SALT", "[\"d.dm\"]")
                .replace("SLOTS", "[\"dmy\"]")
                .replace("bits = 512\n", "bits = 512\nrecord_hashes = 4\n"),
            "s.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("record_hashes"), "{e}");
        // Schemas without slots keep their canonical form (and fingerprint).
        let v3 = Schema::from_toml(V3_SCHEMA_TOML, "v3").unwrap();
        assert!(!v3.canonical_json().contains("slots"));
    }
}
