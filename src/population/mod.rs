//! The synthetic population model both `padan synth` and encode's decoy records draw from: value
//! lists (`lists`), the true identity of a person (`person`) and a decoy's identity written
//! down cleanly (`identity`). Pure and seeded: the same RNG gives the same people.

pub(crate) mod identity;
pub(crate) mod lists;
pub(crate) mod person;

/// The rates of a person's identity model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersonRates {
    /// Share of women.
    pub female_share: f64,
    /// Share of victims with a passport (workers always have one).
    pub passport_rate: f64,
    /// Share of passport holders with a second passport (renewal or forgery).
    pub second_passport_rate: f64,
    /// Share of persons with a NIK.
    pub nik_rate: f64,
    /// Share of persons whose travel documents carry a falsified (older) birth date.
    pub falsified_age_rate: f64,
}

impl Default for PersonRates {
    /// 0.70 women, 0.80 with a passport, 0.12 of those with a second, 0.92 with a NIK, 0.05
    /// with a falsified age.
    fn default() -> Self {
        PersonRates {
            female_share: 0.70,
            passport_rate: 0.80,
            second_passport_rate: 0.12,
            nik_rate: 0.92,
            falsified_age_rate: 0.05,
        }
    }
}
