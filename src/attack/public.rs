//! What the attacker knows without any file: public name lists (given names and family names by
//! naming tradition), the list of regencies and cities, the public birth-year range of victims,
//! and that most of them are women. By default the built-in lists (the ones `padan synth` draws
//! from, so the self-test on synthetic data meets an attacker with the right lists: the worst
//! case); `--names` / `--places` give others.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::normalize;
use crate::population::lists::{PLACES, TRADITIONS};

/// Share of women the attacker assumes (about 7 in 10 Indonesian migrant workers placed abroad,
/// and more among trafficking victims, are women: public placement statistics).
pub const PUBLIC_FEMALE_SHARE: f64 = 0.7;

/// Default public birth-year range: victims of cases 2018–2025 aged 16–45.
pub const DEFAULT_BIRTH_YEARS: (i32, i32) = (1968, 2008);

/// Names drawn for the population sample.
const NAME_SAMPLE: usize = 6000;

/// The attacker's public knowledge.
pub struct Public {
    /// A sample of the name population: each name's normalized tokens (repeats = frequency).
    pub names: Vec<Vec<String>>,
    /// Every word of the name lists (normalized), also the rare ones a sample may miss.
    pub name_words: Vec<String>,
    /// The place population: each place's normalized words (repeats = frequency).
    pub places: Vec<Vec<String>>,
    /// The public birth-year range (inclusive).
    pub years: (i32, i32),
    /// Whether the name list is the built-in one (then [`Public::name_frequencies`] can draw a
    /// larger sample, with each name's sex).
    builtin: bool,
}

impl Public {
    /// The built-in lists, or the given files (one value per line; a value may repeat to give
    /// its frequency; a header line `name` / `place` is skipped).
    pub fn load(names: Option<&Path>, places: Option<&Path>, years: (i32, i32)) -> Result<Public> {
        let names_given = names.is_some();
        let names = match names {
            Some(p) => read_list(p, "name", |s| {
                normalize::name::normalize(s).map(|n| n.tokens)
            })?,
            None => builtin_names(NAME_SAMPLE, NAME_SEED)
                .into_iter()
                .map(|x| x.0)
                .collect(),
        };
        let places = match places {
            Some(p) => read_list(p, "place", place_words)?,
            None => PLACES
                .iter()
                .filter_map(|p| {
                    let raw = if p.city {
                        format!("Kota {}", p.name)
                    } else {
                        p.name.to_string()
                    };
                    place_words(&raw)
                })
                .collect(),
        };
        let mut name_words: Vec<String> = if names_given {
            Vec::new()
        } else {
            TRADITIONS
                .iter()
                .flat_map(|t| {
                    [
                        t.female_first,
                        t.male_first,
                        t.female_second,
                        t.male_second,
                        t.surnames,
                        t.birth_order,
                        &["Ni", "I"][..],
                    ]
                })
                .flatten()
                .filter_map(|w| normalize::name::normalize(w))
                .flat_map(|n| n.tokens)
                .collect()
        };
        name_words.sort_unstable();
        name_words.dedup();
        Ok(Public {
            name_words,
            names,
            places,
            years,
            builtin: !names_given,
        })
    }

    /// A name sample for frequency alignment: each name's tokens and, where known, whether it is
    /// a woman's name. The built-in lists give `draws` names drawn the way the naming traditions
    /// build them (exact enough for the frequencies of common names); a given list is used as it
    /// is (repeats = frequency; sex unknown).
    pub fn name_frequencies(&self, draws: usize) -> Vec<(Vec<String>, Option<bool>)> {
        if self.builtin {
            builtin_names(draws, NAME_SEED ^ 0x5a17)
                .into_iter()
                .map(|(n, f)| (n, Some(f)))
                .collect()
        } else {
            self.names.iter().map(|n| (n.clone(), None)).collect()
        }
    }
}

/// Seed of the built-in name sample.
const NAME_SEED: u64 = 0x05ee_d0fa_77ac;

fn place_words(raw: &str) -> Option<Vec<String>> {
    let g = normalize::place::Gazetteer::builtin();
    normalize::place::normalize(raw, g, 0.93).map(|s| {
        s.split(' ')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    })
}

fn read_list(
    path: &Path,
    header: &str,
    parse: impl Fn(&str) -> Option<Vec<String>>,
) -> Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cell = line.trim().trim_matches('"');
        if i == 0 && cell.eq_ignore_ascii_case(header) {
            continue;
        }
        if let Some(v) = parse(cell).filter(|v| !v.is_empty()) {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Err(Error::input_file(
            path,
            format!("the {header} list holds no usable {header}"),
        ));
    }
    Ok(out)
}

/// A deterministic sample of names built the way the naming traditions build them: a
/// tradition by its share, a first given name, perhaps a second, perhaps a family name.
fn builtin_names(count: usize, seed: u64) -> Vec<(Vec<String>, bool)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let total: f64 = TRADITIONS.iter().map(|t| t.weight).sum();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let mut x = rng.random::<f64>() * total;
        let mut t = &TRADITIONS[TRADITIONS.len() - 1];
        for c in TRADITIONS {
            if x < c.weight {
                t = c;
                break;
            }
            x -= c.weight;
        }
        let female = rng.random_bool(PUBLIC_FEMALE_SHARE);
        let (first, second) = if female {
            (t.female_first, t.female_second)
        } else {
            (t.male_first, t.male_second)
        };
        let mut parts: Vec<&str> = Vec::new();
        if !t.birth_order.is_empty() {
            parts.push(if female { "Ni" } else { "I" });
            parts.push(t.birth_order[rng.random_range(0..t.birth_order.len())]);
        }
        parts.push(first[rng.random_range(0..first.len())]);
        if !second.is_empty() && !rng.random_bool(t.mononym) {
            parts.push(second[rng.random_range(0..second.len())]);
        }
        if !t.surnames.is_empty() && !rng.random_bool(t.mononym) {
            parts.push(t.surnames[rng.random_range(0..t.surnames.len())]);
        }
        if let Some(n) = normalize::name::normalize(&parts.join(" ")) {
            out.push((n.tokens, female));
        }
    }
    out
}

/// The most common value of a list (ties: the first seen), for the "guess without the file"
/// baseline.
pub fn most_common<T: Clone + Eq + std::hash::Hash + Ord>(values: &[T]) -> Option<T> {
    let mut counts: std::collections::HashMap<&T, usize> = std::collections::HashMap::new();
    for v in values {
        *counts.entry(v).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(v, _)| v.clone())
}
