//! Plausible identities for decoy records (`padan encode --decoys`): a synthetic person drawn from
//! the same lists and distributions as `padan synth`, written down cleanly (no typos, no
//! formatting quirks) so that it survives normalization like any well-kept record.

use rand_chacha::ChaCha8Rng;

use super::lists::PLACES;
use super::person::{self, Person, Sex};
use super::PersonRates;

/// One decoy identity, as raw text cells (before normalization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecoyIdentity {
    /// Full name, tokens in title case separated by spaces.
    pub name: String,
    /// Birth date: year, month, day.
    pub dob: (i32, u32, u32),
    /// `true` for female.
    pub female: bool,
    /// Birth place: `Kota X` or `Kabupaten X`.
    pub place: String,
    /// A 16-digit NIK consistent with date of birth, sex and a region.
    pub nik: String,
    /// A passport number (letter + 7 digits).
    pub passport: String,
}

/// Draws a decoy identity from `rng` (a random person of `padan synth`'s population model; every
/// identifier present).
pub(crate) fn identity(rng: &mut ChaCha8Rng) -> DecoyIdentity {
    let cfg = PersonRates::default();
    let p = Person::generate(rng, 0, &cfg);
    let place = &PLACES[p.place];
    let nik = p
        .nik
        .clone()
        .unwrap_or_else(|| person::nik(rng, place.code, p.dob, p.sex));
    let passport = p
        .passports
        .last()
        .cloned()
        .unwrap_or_else(|| person::passport_number(rng));
    DecoyIdentity {
        name: p.tokens.join(" "),
        dob: (p.dob.y, p.dob.m, p.dob.d),
        female: p.sex == Sex::Female,
        place: format!(
            "{} {}",
            if place.city { "Kota" } else { "Kabupaten" },
            place.name
        ),
        nik,
        passport,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn identities_are_complete_and_seeded() {
        let a = identity(&mut ChaCha8Rng::seed_from_u64(7));
        let b = identity(&mut ChaCha8Rng::seed_from_u64(7));
        let c = identity(&mut ChaCha8Rng::seed_from_u64(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
        for d in [&a, &c] {
            assert!(!d.name.is_empty());
            assert_eq!(d.nik.len(), 16);
            assert_eq!(d.passport.len(), 8);
            assert!((1968..=2008).contains(&d.dob.0));
        }
    }
}
