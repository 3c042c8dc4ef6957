//! The built-in default schema for victim records, and per-kind encoding defaults.

use super::FieldKind;

/// Default (filter bits, bits per token) for a field kind, chosen so filters are about half full
/// on typical values (fill ≈ 1 − exp(−tokens·hashes/bits)): see docs/schema.md.
pub(crate) fn kind_defaults(kind: FieldKind) -> (usize, usize) {
    match kind {
        // ~16 bigrams in a normalized full name: 16·20/512 → 46 % full.
        FieldKind::Name => (512, 20),
        // 8 digit bigrams (with padding): 8·20/256 → 47 % full.
        FieldKind::Passport => (256, 20),
        // 8 date tokens (see encode::tokens): 8·20/256 → 47 % full.
        FieldKind::Date => (256, 20),
        // 17 digit bigrams: 17·10/256 → 49 % full.
        FieldKind::Nik => (256, 10),
        // ~9 bigrams in a regency name: 9·20/256 → 50 % full.
        FieldKind::Place => (256, 20),
        FieldKind::Text => (512, 20),
        FieldKind::Sex => (0, 0),
    }
}

/// The default linkage schema, as printed by `padan schema default`: salt slots (encoding
/// version 4) whose salt parts do not chain, with the name's and the place's length hidden
/// (`hashes_per_value`). `fixtures/kat/schema-slots-hidelen.toml`: layout L of
/// `fixtures/kat/schema-slots-nochain.toml` with hidden lengths, which docs/privacy.md measures.
pub const DEFAULT_SCHEMA_TOML: &str = r#"# padan linkage schema — shared, unchanged, by every agency in the agreement.
#
# Every agency must encode with the SAME schema and the SAME key: the linkage unit refuses files
# whose schema fingerprints differ. Which column of an agency's extract feeds which field is said
# per agency in a column map (--columns FILE or --column flags), never here.
#
# Salt slots. Each [[slots]] entry is a composite salt taken from the record itself (parts of
# the birth date, the phonetic keys of the name, the birthplace). A field keyed by slots is
# stored once per slot: a keyed tag of the salt, then the field's Bloom filter with every
# q-gram salted by it. Two records' filters can only be compared inside a slot whose tag they
# share, so the linkage unit sees small groups of comparable records (tens, not a birth year's
# thousands) and no name, date or sex column that partitions the file. It blocks on the tags.
# A record lacking a part of a salt lacks that slot; there is no shared "empty" salt. Each salt
# part is held by one slot only, so the tags cannot be chained into larger classes (a name's
# records across years and places). docs/privacy.md measures this layout, what the self-test
# (`padan attack`) recovers from it, and the alternatives.
#
# Per slot:
#   name           the slot's name (its blocking kind is slot_<name>)
#   salt           its parts: FIELD.year, FIELD.dm (a date's day and month, unordered, so a
#                  day/month swap keeps the slot), FIELD.phonetic (a name's sorted phonetic
#                  keys), FIELD (the exact normalized value)
#
# Per field:
#   kind           name | passport | date | nik | sex | place | text (decides normalization)
#   q              q-gram length for the field's Bloom filter (default 2)
#   bits           filter length in bits, a power of two (64..4096); none for `sex`
#   hashes         bits set per q-gram (1..64); chosen so filters are about half full
#   exact_token    also emit a keyed exact token (exact agreement and blocking)
#   required       reject a row whose value is missing or unusable
#   [fields.options] kind-specific options (see docs/schema.md)
#   [fields.hardening] defences of the field's filter against a curious linkage unit
#                  (docs/privacy.md has what each defends against and costs):
#     slots        the slots that key this field: one salted filter per slot
#     permute      keyed permutation of the filter's bit positions
#     blip_epsilon randomized response: each bit flips with probability 1/(1+e^ε), keyed per
#                  record and slot (deterministic); 0 = off. Smaller ε = more noise.
#     hashes_per_value  every value sets this many keyed bit positions in all, spread over its
#                  q-grams, instead of `hashes` per q-gram: a filter's fill no longer tells how
#                  long the name or place is (which singles out a value among the public ones).

version = 1
name = "victims-v4.1"

[record_filter]
bits = 256               # no field feeds the record-level filter (no LSH): its smallest width

[[slots]]
name = "dmy"             # {day, month} + year: the exact date, or day and month swapped; keeps
salt = ["dob.dm", "dob.year"]   # the pairs whose name is misspelt, reordered or shortened

[[slots]]
name = "name_place"      # phonetic name + birthplace: keeps the pairs whose birth date is
salt = ["name.phonetic", "birthplace"]   # falsified, shifted a year, or missing

[[fields]]
name = "name"            # full name; titles, patronym (bin/binti) and spelling variants normalized
kind = "name"
q = 2
bits = 512
hashes = 20
required = true          # a record without a usable name cannot be linked

[fields.hardening]
permute = true
blip_epsilon = 3.0       # each bit flips with probability 1/(1+e^3) = 4.7 %
slots = ["dmy", "name_place"]
hashes_per_value = 320   # 16 bigrams' worth (a typical full name) whatever the name's length

[[fields]]
name = "passport"        # letter prefix + 7 digits; compared on the digits
kind = "passport"
q = 2
bits = 256
hashes = 20
exact_token = true       # near-unique: blocks and agrees across every slot

[fields.hardening]
permute = true
slots = ["dmy", "name_place"]

[[fields]]
name = "dob"             # date of birth; partial dates kept as partial
kind = "date"
q = 2
bits = 256
hashes = 20

[fields.options]
year_pivot = 30          # two-digit years 00..30 → 2000s, 31..99 → 1900s
min_year = 1900
max_year = 2030

[fields.hardening]
permute = true
slots = ["dmy", "name_place"]

[[fields]]
name = "sex"             # L/P, M/F, 1/2, words → one code; no token (two values would partition)
kind = "sex"

[[fields]]
name = "birthplace"      # regency / city, snapped to the gazetteer when close enough
kind = "place"
q = 2
bits = 256
hashes = 20

[fields.options]
place_threshold = 0.93   # Jaro–Winkler needed to snap to a known regency / city

[fields.hardening]
permute = true
slots = ["dmy"]
hashes_per_value = 180   # 9 bigrams' worth (a typical regency) whatever the place's length

[[fields]]
name = "nik"             # national id number (16 digits), absent at many agencies
kind = "nik"
q = 2
bits = 256
hashes = 10
exact_token = true       # near-unique: blocks and agrees across every slot

[fields.hardening]
permute = true
slots = ["dmy", "name_place"]
"#;

/// The default of encoding version 3, as printed by `padan schema v3`: the name salted by birth
/// year, a record-level filter for LSH blocking, name, date and sex tokens. Kept for agreements
/// encoded with it and for comparisons; docs/privacy.md measures what it leaks.
pub const V3_SCHEMA_TOML: &str = r#"# padan linkage schema (the default of encoding version 3: name salted by birth year) — shared,
# unchanged, by every agency in the agreement. The current default is `padan schema default`:
# salt slots, which this schema lacks. docs/privacy.md measures what this one leaks.
#
# Every agency must encode with the SAME schema and the SAME key: the linkage unit refuses files
# whose schema fingerprints differ. Which column of an agency's extract feeds which field is said
# per agency in a column map (--columns FILE or --column flags), never here.
#
# Per field:
#   kind           name | passport | date | nik | sex | place | text (decides normalization)
#   q              q-gram length for the field's Bloom filter (default 2)
#   bits           filter length in bits, a power of two (64..4096); none for `sex`
#   hashes         bits set per q-gram (1..64); chosen so filters are about half full
#   exact_token    also emit a keyed exact token (exact agreement and blocking)
#   record_hashes  bits per q-gram in the record-level filter used for LSH blocking (0 = none)
#   required       reject a row whose value is missing or unusable
#   [fields.options] kind-specific options (see docs/schema.md)
#   [fields.hardening] defences of the field's filter against a curious linkage unit (all off
#                  when absent; docs/privacy.md has what each defends against and costs):
#     salt         name of a date field: its birth YEAR is hashed into every q-gram of this field
#                  (field filter, record filter, exact token). Identical names with different
#                  birth years no longer look alike, which defeats frequency and q-gram pattern
#                  attacks; cost: a pair whose years disagree (typo, missing at one agency) loses
#                  its name agreement. Records without a year share one fixed empty salt.
#     permute      keyed permutation of the filter's bit positions (cheap; needed by balance)
#     balance      filter followed by its complement: twice as wide, exactly half the bits set
#     fold         XOR of the filter's two halves: half as wide, noisier similarities
#     blip_epsilon randomized response: each bit flips with probability 1/(1+e^ε), keyed per
#                  record (deterministic); 0 = off. Smaller ε = more noise, lower recall.

version = 1
name = "victims-v2"

[record_filter]
bits = 1024              # record-level filter for LSH blocking

[[fields]]
name = "name"            # full name; titles, patronym (bin/binti) and spelling variants normalized
kind = "name"
q = 2
bits = 512
hashes = 20
exact_token = true       # keyed token of the normalized name (and phonetic key + birth year)
record_hashes = 8
required = true          # a record without a usable name cannot be linked

[fields.hardening]         # not enough on its own: see docs/privacy.md (`padan attack`)
salt = "dob"             # birth year salts the name's q-grams and its exact token
permute = true
blip_epsilon = 3.0       # each bit flips with probability 1/(1+e^3) = 4.7 %

[[fields]]
name = "passport"        # letter prefix + 7 digits; compared on the digits
kind = "passport"
q = 2
bits = 256
hashes = 20
exact_token = true
record_hashes = 6

[[fields]]
name = "dob"             # date of birth; partial dates kept as partial
kind = "date"
q = 2
bits = 256
hashes = 20
exact_token = true
record_hashes = 6

[fields.options]
year_pivot = 30          # two-digit years 00..30 → 2000s, 31..99 → 1900s
min_year = 1900
max_year = 2030

[[fields]]
name = "sex"             # L/P, M/F, 1/2, words → one code; exact token only
kind = "sex"
exact_token = true

[[fields]]
name = "birthplace"      # regency / city, snapped to the gazetteer when close enough
kind = "place"
q = 2
bits = 256
hashes = 20
exact_token = false
record_hashes = 4

[fields.options]
place_threshold = 0.93   # Jaro–Winkler needed to snap to a known regency / city

[[fields]]
name = "nik"             # national id number (16 digits), absent at many agencies
kind = "nik"
q = 2
bits = 256
hashes = 10
exact_token = true
record_hashes = 4
"#;
