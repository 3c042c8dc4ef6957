//! Decoy records (`padan encode --decoys FRACTION`): plausible synthetic people mixed into the
//! encoded file at keyed-random positions, told apart only by the agency's pseudonym lookup.
//!
//! Everything about a decoy comes from keyed randomness under the [`Purpose::Decoy`] subkeys, the
//! agency name and a counter, so the same extract, key and agency give byte-identical output at
//! any thread count, and nobody without the key can recompute where the decoys are or what they
//! hold:
//!
//! - **Where.** Before the extract's row `i` (0-based, every row read), `k` decoys are inserted,
//!   with `k` geometric: `P(k ≥ n) = pⁿ` where `p = f / (1 + f)`, so on average `f` decoys per
//!   row. Decoys can sit next to each other, as in a random shuffle.
//! - **What.** A person drawn by `padan synth`'s population model ([`crate::synth`]), written
//!   cleanly (title-case name, the agency's date order, `L`/`P`, `Kota`/`Kabupaten` place).
//!   Which fields a decoy has copies the row it is inserted before (the *donor*): a field is
//!   present when the donor's cell is, so the decoys' missing-value pattern is the agency's own.
//!   Where the donor's cell does not normalize (an impossible date, an unknown sex code), the
//!   decoy gets that same unusable cell (for fields that are not required), so values dropped at
//!   normalization are as frequent among decoys as in the extract; the cell is dropped, so
//!   nothing of it reaches the encoded file.
//!   `text` fields have no synthetic model: each takes the cell of a keyed-random row among the
//!   last [`RECENT_ROWS`] rows of the extract, a different row per field, with **every digit
//!   redrawn** at random: words (street, suburb, state) are real values of the extract in a
//!   combination that is nobody's, and numbers (an id number, a postcode, a house number) keep
//!   their shape but match no one — a copied id number would link the decoy to that person's
//!   records elsewhere. A decoy before the first row has no text field.
//! - **Id.** A pseudonym `ps-` + 24 hex digits, like every other pseudonym but from its own
//!   subkey, so it can never collide with the pseudonym of a real record id.
//!
//! Decoys then go through the normal normalization and encoding path.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::extract::RawRow;
use crate::keys::{Purpose, SecretKey, Subkey};
use crate::normalize::{self, place::Gazetteer};
use crate::schema::{DateOrder, FieldKind, FieldSpec, Schema};

/// The most decoys inserted before one row (bounds the geometric draw; reached with probability
/// `p^64`, i.e. never in practice).
const MAX_DECOYS_PER_ROW: u32 = 64;
/// Rows of the extract remembered as sources of decoys' `text` fields.
pub const RECENT_ROWS: usize = 1024;
/// The largest accepted `--decoys` fraction (one decoy per real row on average).
pub const MAX_DECOY_FRACTION: f64 = 1.0;

/// Makes the decoys of one agency's encode run.
pub struct Decoys {
    slots: Subkey,
    content: Subkey,
    pseudonyms: Subkey,
    agency: String,
    /// `p · 2⁶⁴`: a slot draw below it inserts one more decoy.
    threshold: u64,
    fields: Vec<FieldSpec>,
    date_order: DateOrder,
}

impl Decoys {
    /// Decoys for `fraction` extra rows on average (`0 < fraction ≤ 1`).
    pub fn new(
        schema: &Schema,
        key: &SecretKey,
        agency: &str,
        date_order: DateOrder,
        fraction: f64,
    ) -> Result<Decoys> {
        if !(fraction > 0.0 && fraction <= MAX_DECOY_FRACTION) {
            return Err(Error::config(
                "--decoys",
                format!("the decoy fraction must be above 0 and at most {MAX_DECOY_FRACTION} (e.g. 0.05 for 5 % extra rows)"),
            ));
        }
        let p = fraction / (1.0 + fraction);
        Ok(Decoys {
            slots: key.subkey(Purpose::Decoy, "slots"),
            content: key.subkey(Purpose::Decoy, "content"),
            pseudonyms: key.subkey(Purpose::Decoy, "record_id"),
            agency: agency.to_string(),
            threshold: (p * 2f64.powi(64)) as u64,
            fields: schema.fields.clone(),
            date_order,
        })
    }

    fn keyed(&self, key: &Subkey, label: &[u8], a: u64, b: u64) -> [u8; 32] {
        let mut h = key.hasher();
        h.update(self.agency.as_bytes());
        h.update(&[0]);
        h.update(label);
        h.update(&[0]);
        h.update(&a.to_le_bytes());
        h.update(&b.to_le_bytes());
        *h.finalize().as_bytes()
    }

    /// How many decoys go right before the extract's row `row` (0-based over every row read).
    pub fn before(&self, row: u64) -> u32 {
        let mut k = 0;
        while k < MAX_DECOYS_PER_ROW {
            let h = self.keyed(&self.slots, b"slot", row, u64::from(k));
            let draw = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
            if draw >= self.threshold {
                break;
            }
            k += 1;
        }
        k
    }

    /// The pseudonym of decoy number `index` (0-based in the run): `ps-` + 24 hex digits.
    pub fn pseudonym(&self, index: u64) -> String {
        let h = self.keyed(&self.pseudonyms, b"pseudonym", index, 0);
        format!("ps-{}", hex::encode(&h[..12]))
    }

    /// Whether a raw cell normalizes to a usable value of field `spec` (as the encoder would).
    fn usable(&self, spec: &FieldSpec, raw: &str) -> bool {
        match spec.kind {
            FieldKind::Name => normalize::name::normalize(raw).is_some(),
            FieldKind::Passport => normalize::passport::normalize(raw).is_ok(),
            FieldKind::Date => normalize::date::parse(raw, self.date_order, &spec.options).is_ok(),
            FieldKind::Nik => normalize::nik::parse(raw).is_ok(),
            FieldKind::Sex => normalize::sex::normalize(raw).is_some(),
            FieldKind::Place => {
                normalize::place::normalize(raw, Gazetteer::builtin(), spec.options.place_threshold)
                    .is_some()
            }
            FieldKind::Text => normalize::text::normalize(raw).is_some(),
        }
    }

    /// A text cell for field `fi` of decoy `index`: from a keyed-random recent row (a few tries
    /// to find one that has the field).
    fn recent_cell(&self, index: u64, fi: usize, recent: &[Vec<Option<String>>]) -> Option<String> {
        if recent.is_empty() {
            return None;
        }
        let cell = (0..8u64).find_map(|attempt| {
            let h = self.keyed(&self.content, b"text", index, (fi as u64) << 8 | attempt);
            let pick = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
            recent[(pick % recent.len() as u64) as usize]
                .get(fi)
                .cloned()
                .flatten()
        })?;
        let mut rng = ChaCha8Rng::from_seed(self.keyed(&self.content, b"digits", index, fi as u64));
        Some(
            cell.chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        char::from(b'0' + rng.random_range(0..10u8))
                    } else {
                        c
                    }
                })
                .collect(),
        )
    }

    /// Decoy number `index`, shaped after `donor` (the row it is inserted before), its `text`
    /// fields drawn from `recent` rows. Its line is 0 (no extract line) and its id
    /// `decoy-INDEX`; the encode job replaces the pseudonym.
    pub fn row(&self, index: u64, donor: &RawRow, recent: &[Vec<Option<String>>]) -> RawRow {
        let seed = self.keyed(&self.content, b"person", index, 0);
        let mut rng = ChaCha8Rng::from_seed(seed);
        let person = crate::population::identity::identity(&mut rng);
        let (y, m, d) = person.dob;
        let cells = self
            .fields
            .iter()
            .enumerate()
            .map(|(fi, spec)| {
                let donor_cell = if donor.problem.is_none() {
                    donor.cells.get(fi).cloned().flatten()
                } else {
                    None
                };
                let present = donor_cell.is_some() || spec.required;
                if !present {
                    return None;
                }
                if let Some(raw) = donor_cell.filter(|raw| {
                    !spec.required && spec.kind != FieldKind::Text && !self.usable(spec, raw)
                }) {
                    return Some(raw);
                }
                Some(match spec.kind {
                    FieldKind::Name => person.name.clone(),
                    FieldKind::Date => match self.date_order {
                        DateOrder::Dmy => format!("{d:02}/{m:02}/{y}"),
                        DateOrder::Mdy => format!("{m:02}/{d:02}/{y}"),
                        DateOrder::Ymd => format!("{y}-{m:02}-{d:02}"),
                    },
                    FieldKind::Sex => if person.female { "P" } else { "L" }.to_string(),
                    FieldKind::Place => person.place.clone(),
                    FieldKind::Nik => person.nik.clone(),
                    FieldKind::Passport => person.passport.clone(),
                    FieldKind::Text => return self.recent_cell(index, fi, recent),
                })
            })
            .collect();
        RawRow {
            line: 0,
            id: format!("decoy-{index}"),
            cells,
            problem: None,
        }
    }
}

/// Where the decoys of a batch are: for each row of the interleaved batch, the decoy index, if
/// the row is a decoy.
pub type DecoySlots = Vec<Option<u64>>;

/// Where an encode run is in its extract, for the decoys (carried across batches, so batch
/// boundaries change nothing).
#[derive(Debug, Default)]
pub struct DecoyState {
    /// Extract rows seen so far.
    pub next_row: u64,
    /// Decoys made so far.
    pub next_decoy: u64,
    /// The `text` cells of the last [`RECENT_ROWS`] readable extract rows (a ring).
    recent: Vec<Vec<Option<String>>>,
    /// Where the next row goes in the ring once it is full.
    ring: usize,
}

impl DecoyState {
    /// Remembers the `text` cells of a readable row (nothing when the schema has no text field).
    fn remember(&mut self, row: &RawRow, fields: &[FieldSpec]) {
        if row.problem.is_some() || !fields.iter().any(|f| f.kind == FieldKind::Text) {
            return;
        }
        let cells = fields
            .iter()
            .enumerate()
            .map(|(fi, f)| match f.kind {
                FieldKind::Text => row.cells.get(fi).cloned().flatten(),
                _ => None,
            })
            .collect();
        if self.recent.len() < RECENT_ROWS {
            self.recent.push(cells);
        } else {
            self.recent[self.ring] = cells;
            self.ring = (self.ring + 1) % RECENT_ROWS;
        }
    }
}

/// Interleaves decoys into a batch of extract rows; `state` advances.
pub fn interleave(
    decoys: &Decoys,
    rows: Vec<RawRow>,
    state: &mut DecoyState,
) -> (Vec<RawRow>, DecoySlots) {
    let mut out = Vec::with_capacity(rows.len() + rows.len() / 8 + 1);
    let mut slots = Vec::with_capacity(out.capacity());
    for row in rows {
        for _ in 0..decoys.before(state.next_row) {
            out.push(decoys.row(state.next_decoy, &row, &state.recent));
            slots.push(Some(state.next_decoy));
            state.next_decoy += 1;
        }
        state.remember(&row, &decoys.fields);
        out.push(row);
        slots.push(None);
        state.next_row += 1;
    }
    (out, slots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn decoys(fraction: f64) -> Decoys {
        let key = SecretKey::from_bytes([7; 32]);
        Decoys::new(
            &Schema::default_victims(),
            &key,
            "kemlu",
            DateOrder::Dmy,
            fraction,
        )
        .unwrap()
    }

    fn donor(n_fields: usize, present: &[usize]) -> RawRow {
        RawRow {
            line: 2,
            id: "A1".into(),
            cells: (0..n_fields)
                .map(|i| present.contains(&i).then(|| "x".to_string()))
                .collect(),
            problem: None,
        }
    }

    #[test]
    fn fractions_out_of_range_are_refused() {
        let key = SecretKey::from_bytes([7; 32]);
        for f in [0.0, -0.1, 1.5, f64::NAN] {
            let e = Decoys::new(&Schema::default_victims(), &key, "a", DateOrder::Dmy, f);
            assert!(e.is_err(), "{f}");
        }
    }

    #[test]
    fn the_average_count_is_the_fraction() {
        for f in [0.05, 0.2, 1.0] {
            let d = decoys(f);
            let n = 20_000u64;
            let total: u64 = (0..n).map(|i| u64::from(d.before(i))).sum();
            let rate = total as f64 / n as f64;
            assert!((rate - f).abs() < 0.25 * f + 0.01, "{f}: {rate}");
        }
    }

    #[test]
    fn positions_and_content_depend_on_key_and_agency() {
        let a = decoys(0.2);
        let key2 = SecretKey::from_bytes([8; 32]);
        let schema = Schema::default_victims();
        let b = Decoys::new(&schema, &key2, "kemlu", DateOrder::Dmy, 0.2).unwrap();
        let c = Decoys::new(&schema, &a_key(), "polri", DateOrder::Dmy, 0.2).unwrap();
        let slots = |d: &Decoys| (0..200).map(|i| d.before(i)).collect::<Vec<_>>();
        assert_eq!(slots(&a), slots(&decoys(0.2)));
        assert_ne!(slots(&a), slots(&b));
        assert_ne!(slots(&a), slots(&c));
        let n = schema.fields.len();
        let all: Vec<usize> = (0..n).collect();
        assert_eq!(
            a.row(3, &donor(n, &all), &[]).cells,
            decoys(0.2).row(3, &donor(n, &all), &[]).cells
        );
        assert_ne!(
            a.row(3, &donor(n, &all), &[]).cells,
            b.row(3, &donor(n, &all), &[]).cells
        );
        assert_ne!(a.pseudonym(3), b.pseudonym(3));
        assert_ne!(a.pseudonym(3), a.pseudonym(4));
        assert!(a.pseudonym(3).starts_with("ps-") && a.pseudonym(3).len() == 27);
    }

    fn a_key() -> SecretKey {
        SecretKey::from_bytes([7; 32])
    }

    #[test]
    fn a_decoy_has_the_donors_fields_and_the_required_ones() {
        let d = decoys(0.1);
        let schema = Schema::default_victims();
        let n = schema.fields.len();
        let row = d.row(0, &donor(n, &[]), &[]);
        for (fi, f) in schema.fields.iter().enumerate() {
            assert_eq!(row.cells[fi].is_some(), f.required, "{}", f.name);
        }
        let all: Vec<usize> = (0..n).collect();
        let row = d.row(0, &donor(n, &all), &[]);
        assert!(row.cells.iter().all(Option::is_some));
        assert_eq!(row.line, 0);
        // The donor's unusable cells ("x" is no date, sex, NIK, passport or place) are copied
        // where the field is not required, so they are dropped as often; usable values never.
        for (fi, f) in schema.fields.iter().enumerate() {
            let copied = row.cells[fi].as_deref() == Some("x");
            let usable = d.usable(f, "x");
            assert_eq!(copied, !f.required && !usable, "{}", f.name);
        }
        let good = RawRow {
            cells: vec![
                Some("Siti Aminah".into()),
                Some("B1234567".into()),
                Some("07/03/1990".into()),
                Some("P".into()),
                Some("Kabupaten Kupang".into()),
                Some("5301024703900001".into()),
            ],
            ..donor(n, &[])
        };
        assert_eq!(schema.fields.len(), good.cells.len());
        let row = d.row(0, &good, &[]);
        for (fi, f) in schema.fields.iter().enumerate() {
            assert!(
                d.usable(f, good.cells[fi].as_deref().unwrap()),
                "{}",
                f.name
            );
            // (Sex has two values: equal by chance half the time.)
            assert!(
                f.kind == FieldKind::Sex || row.cells[fi] != good.cells[fi],
                "{}: a usable value was copied",
                f.name
            );
            assert!(d.usable(f, row.cells[fi].as_deref().unwrap()), "{}", f.name);
        }
    }

    #[test]
    fn text_fields_come_from_different_recent_rows() {
        let key = SecretKey::from_bytes([7; 32]);
        let mut schema = Schema::default_victims();
        for f in schema.fields.iter_mut() {
            f.kind = FieldKind::Text;
            f.required = false;
        }
        let d = Decoys::new(&schema, &key, "a", DateOrder::Dmy, 0.1).unwrap();
        let n = schema.fields.len();
        // Row r, field f: "R" + r in letters + "-F" + f in letters (no digits, so kept as is).
        let word = |mut r: usize| {
            let mut w = String::new();
            loop {
                w.push(char::from(b'a' + (r % 26) as u8));
                r /= 26;
                if r == 0 {
                    break w;
                }
            }
        };
        let recent: Vec<Vec<Option<String>>> = (0..500)
            .map(|r| {
                (0..n)
                    .map(|f| Some(format!("R{}-F{}", word(r), word(f))))
                    .collect()
            })
            .collect();
        let all: Vec<usize> = (0..n).collect();
        let mut same_row = 0;
        for i in 0..50 {
            let row = d.row(i, &donor(n, &all), &recent);
            let rows: Vec<&str> = row
                .cells
                .iter()
                .enumerate()
                .map(|(fi, c)| {
                    let c = c.as_deref().unwrap();
                    assert!(
                        c.ends_with(&format!("-F{}", word(fi))),
                        "field {fi} from its own column"
                    );
                    c.split('-').next().unwrap()
                })
                .collect();
            same_row += usize::from(rows.iter().all(|r| *r == rows[0]));
        }
        assert_eq!(same_row, 0, "a decoy copied one row's text fields");
        // Digits are redrawn: an id number is never copied (7 digits: a repeat has odds 1e-7).
        let ids: Vec<Vec<Option<String>>> = (0..100)
            .map(|r| {
                (0..n)
                    .map(|_| Some(format!("ssn {}", 1_000_000 + r)))
                    .collect()
            })
            .collect();
        let originals: BTreeSet<String> = ids.iter().map(|r| r[0].clone().unwrap()).collect();
        for i in 0..50 {
            let row = d.row(i, &donor(n, &all), &ids);
            for c in row.cells.iter().flatten() {
                assert!(c.starts_with("ssn ") && c.len() == 11, "{c}");
                assert!(!originals.contains(c), "an id number was copied");
            }
        }
        // No recent row yet: no text field.
        assert!(d
            .row(0, &donor(n, &all), &[])
            .cells
            .iter()
            .all(Option::is_none));
    }

    #[test]
    fn interleaving_keeps_the_rows_in_order() {
        let d = decoys(0.5);
        let n = Schema::default_victims().fields.len();
        let rows: Vec<RawRow> = (0..100)
            .map(|i| RawRow {
                line: i + 2,
                ..donor(n, &[0])
            })
            .collect();
        let mut state = DecoyState::default();
        let (out, slots) = interleave(&d, rows, &mut state);
        let (next_row, next_decoy) = (state.next_row, state.next_decoy);
        assert_eq!(next_row, 100);
        assert_eq!(out.len(), 100 + next_decoy as usize);
        assert!(next_decoy > 20 && next_decoy < 90, "{next_decoy}");
        let real: Vec<u64> = out.iter().filter(|r| r.line > 0).map(|r| r.line).collect();
        assert_eq!(real, (2..102).collect::<Vec<_>>());
        let idx: Vec<u64> = slots.iter().flatten().copied().collect();
        assert_eq!(idx, (0..next_decoy).collect::<Vec<_>>());
        // Not all at the end, not all at the start.
        let first = slots.iter().position(Option::is_some).unwrap();
        let last = slots.iter().rposition(Option::is_some).unwrap();
        assert!(first < out.len() / 2 && last > out.len() / 2);
    }
}
