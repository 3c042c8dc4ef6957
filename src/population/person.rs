//! The true identity of one synthetic person, before any agency writes it down.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::lists::{Tradition, COUNTRIES, FATHERS, PLACES, TRADITIONS};
use super::PersonRates;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ymd {
    pub y: i32,
    pub m: u32,
    pub d: u32,
}

/// Days in a month (Gregorian).
pub(crate) fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Ymd {
    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    pub(crate) fn days_from_epoch(self) -> i64 {
        let y = i64::from(self.y) - i64::from(self.m <= 2);
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = i64::from(self.m);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The spreadsheet serial number (days since 1899-12-30, as Excel and LibreOffice count).
    pub(crate) fn spreadsheet_serial(self) -> i64 {
        self.days_from_epoch() + 25_569
    }

    /// The same day and month in another year (29 February becomes 28).
    pub(crate) fn with_year(self, y: i32) -> Ymd {
        Ymd {
            y,
            m: self.m,
            d: self.d.min(days_in_month(y, self.m)),
        }
    }
}

/// Person numbers with this bit set are BP2MI-only workers.
pub(crate) const WORKER_BIT: u64 = 1 << 63;

/// Appends the person id written to `truth.csv`: `V0000123` for victims, `W0000123` for workers.
pub(crate) fn person_label(id: u64, out: &mut String) {
    use std::fmt::Write;
    let (prefix, n) = if id & WORKER_BIT != 0 {
        ('W', id & !WORKER_BIT)
    } else {
        ('V', id)
    };
    out.push(prefix);
    let _ = write!(out, "{n:07}");
}

/// Female or male.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sex {
    Female,
    Male,
}

/// One person's true identity.
pub(crate) struct Person {
    /// The person number (see [`person_label`]).
    pub id: u64,
    /// Name tokens in their canonical (modern) spelling, e.g. `["Ni", "Made", "Sri", "Astuti"]`.
    pub tokens: Vec<&'static str>,
    /// Whether the first token is a droppable Balinese `Ni` / `I`.
    pub balinese_prefix: bool,
    /// The father's name (for `bin` / `binti`).
    pub father: &'static str,
    /// Muslim (Hj./H. honorifics and bin/binti appear).
    pub muslim: bool,
    /// Registered long ago in the old spelling (Soekarni, Djumiati).
    pub old_spelling: bool,
    pub sex: Sex,
    /// The true birth date.
    pub dob: Ymd,
    /// A falsified birth date on travel documents (older, to pass as an adult), if any.
    pub doc_dob: Option<Ymd>,
    /// Index into [`PLACES`].
    pub place: usize,
    /// The true NIK, if the person has one.
    pub nik: Option<String>,
    /// Passport numbers, oldest first (0, 1 or 2).
    pub passports: Vec<String>,
    /// Index into [`COUNTRIES`].
    pub country: usize,
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, list: &[T]) -> T {
    list[rng.random_range(0..list.len())]
}

fn pick_tradition(rng: &mut ChaCha8Rng) -> &'static Tradition {
    let total: f64 = TRADITIONS.iter().map(|t| t.weight).sum();
    let mut x = rng.random::<f64>() * total;
    for t in TRADITIONS {
        if x < t.weight {
            return t;
        }
        x -= t.weight;
    }
    &TRADITIONS[TRADITIONS.len() - 1]
}

pub(crate) fn passport_number(rng: &mut ChaCha8Rng) -> String {
    let prefix = match rng.random_range(0..100) {
        0..=49 => 'B',
        50..=74 => 'C',
        75..=84 => 'X',
        85..=94 => 'A',
        _ => 'E',
    };
    let n: u32 = rng.random_range(1_000_000..10_000_000);
    format!("{prefix}{n}")
}

/// A NIK consistent with birth date, sex and a region: PPRRDD + DDMMYY (+40 on the day for
/// women) + a 4-digit serial.
pub(crate) fn nik(rng: &mut ChaCha8Rng, region: &str, dob: Ymd, sex: Sex) -> String {
    let district: u32 = rng.random_range(1..=24);
    let day = dob.d + if sex == Sex::Female { 40 } else { 0 };
    let serial: u32 = if rng.random_bool(0.8) {
        rng.random_range(1..300)
    } else {
        rng.random_range(300..5000)
    };
    format!(
        "{region}{district:02}{day:02}{:02}{:02}{serial:04}",
        dob.m,
        dob.y.rem_euclid(100)
    )
}

impl Person {
    /// Generates a person: a trafficking victim (`worker == false`) or a migrant worker known
    /// only to BP2MI.
    pub(crate) fn generate(rng: &mut ChaCha8Rng, id: u64, cfg: &PersonRates) -> Person {
        let t = pick_tradition(rng);
        let sex = if rng.random_bool(cfg.female_share) {
            Sex::Female
        } else {
            Sex::Male
        };
        let (first, second) = match sex {
            Sex::Female => (t.female_first, t.female_second),
            Sex::Male => (t.male_first, t.male_second),
        };
        let mut tokens = Vec::with_capacity(5);
        let mut balinese_prefix = false;
        if !t.birth_order.is_empty() {
            tokens.push(if sex == Sex::Female { "Ni" } else { "I" });
            balinese_prefix = true;
            let order = loop {
                let o = pick(rng, t.birth_order);
                // Luh is a women's name, Gede a men's.
                if (o == "Luh" && sex == Sex::Male) || (o == "Gede" && sex == Sex::Female) {
                    continue;
                }
                break o;
            };
            tokens.push(order);
        }
        let f = pick(rng, first);
        tokens.push(f);
        let needs_second = matches!(f, "Sri" | "Dwi" | "Tri" | "Siti" | "Nur" | "Nurul" | "Umi")
            || matches!(f, "Muhammad" | "Ahmad" | "Abdul" | "Lalu" | "Khusnul");
        if !second.is_empty() && (needs_second || !rng.random_bool(t.mononym)) {
            let s = loop {
                let s = pick(rng, second);
                if s != f {
                    break s;
                }
            };
            tokens.push(s);
        }
        if !t.surnames.is_empty() && !rng.random_bool(t.mononym) {
            tokens.push(pick(rng, t.surnames));
        }
        // Victims are mostly 16..45 at the time of the case (2018..2025).
        let y = rng.random_range(1968..=2008);
        let m = rng.random_range(1..=12);
        let d = rng.random_range(1..=days_in_month(y, m));
        let dob = Ymd { y, m, d };
        let doc_dob = rng
            .random_bool(cfg.falsified_age_rate)
            .then(|| dob.with_year(y - rng.random_range(2..=5)));
        let place = rng.random_range(0..PLACES.len());
        let nik = rng.random_bool(cfg.nik_rate).then(|| {
            // Usually registered where born; sometimes where the family moved.
            let region_place = if rng.random_bool(0.8) {
                place
            } else {
                rng.random_range(0..PLACES.len())
            };
            nik(rng, PLACES[region_place].code, dob, sex)
        });
        let mut passports = Vec::new();
        if rng.random_bool(cfg.passport_rate) {
            passports.push(passport_number(rng));
            if rng.random_bool(cfg.second_passport_rate) {
                passports.push(passport_number(rng));
            }
        }
        Person {
            id,
            tokens,
            balinese_prefix,
            father: pick(rng, FATHERS),
            muslim: t.muslim,
            old_spelling: y < 1980 && rng.random_bool(0.25),
            sex,
            dob,
            doc_dob,
            place,
            nik,
            passports,
            country: rng.random_range(0..COUNTRIES.len()),
        }
    }

    /// A migrant worker registered at BP2MI: always has a passport.
    pub(crate) fn generate_worker(rng: &mut ChaCha8Rng, id: u64, cfg: &PersonRates) -> Person {
        let mut p = Person::generate(rng, id, cfg);
        if p.passports.is_empty() {
            p.passports.push(passport_number(rng));
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_match_spreadsheets() {
        // 1990-03-07 is 32939 in Excel / LibreOffice.
        assert_eq!(
            Ymd {
                y: 1990,
                m: 3,
                d: 7
            }
            .spreadsheet_serial(),
            32939
        );
        assert_eq!(
            Ymd {
                y: 1970,
                m: 1,
                d: 1
            }
            .days_from_epoch(),
            0
        );
    }

    #[test]
    fn nik_encodes_date_and_sex() {
        use rand::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let dob = Ymd {
            y: 1990,
            m: 3,
            d: 7,
        };
        let n = nik(&mut rng, "5301", dob, Sex::Female);
        assert_eq!(n.len(), 16);
        assert_eq!(&n[..4], "5301");
        assert_eq!(&n[6..12], "470390");
        let n = nik(&mut rng, "3201", dob, Sex::Male);
        assert_eq!(&n[6..12], "070390");
    }
}
