//! Slot layout design aid: for candidate slot layouts, the blocking pair completeness of the
//! slots' keys together with the passport and NIK tokens, the largest slot group, and the classes
//! an attacker builds by tag chaining: per component, union-find over every slot whose components
//! determine it (the phonetic name determines the longest word's code), and, through records,
//! over all slots. Reads a `padan synth` directory in plaintext (a developer's aid on synthetic
//! data); prints counts only, never a value.
//!
//! cargo run --release --example slot_design -- SYNTH_DIR "L=dm+year;phon+place B=dm+year;dm+phon"
//!
//! A design is `NAME=SLOT;SLOT...`, a slot `COMPONENT+COMPONENT...` from `dm` (unordered day and
//! month), `year`, `phon` (the phonetic name), `long` (the phonetic code of the longest word),
//! `min` / `max` (the smallest / greatest word code), `place`, `sex`. Per component the row gives
//! the largest chained class, the mean class seen by a record, and the share of records in
//! classes of three persons or more.
use std::collections::HashMap;
use std::path::Path;

#[path = "plaintext/mod.rs"]
mod plaintext;
use plaintext::Rec;

fn comp(r: &Rec, c: &str) -> Option<String> {
    Some(match c {
        "year" => format!("{}", r.year?),
        "dm" => {
            let (a, b) = r.dm?;
            format!("{a}.{b}")
        }
        "phon" => {
            if r.words.is_empty() {
                return None;
            }
            r.words.join(" ")
        }
        "place" => r.place.clone()?,
        "sex" => r.sex?.to_string(),
        "long" => longest(r)?,
        "min" => r.words.first()?.clone(),
        "max" => r.words.last()?.clone(),
        _ => panic!("component {c}"),
    })
}

/// Phonetic code of the longest token (ties: the greatest code).
fn longest(r: &Rec) -> Option<String> {
    r.tokens
        .iter()
        .map(|t| (t.chars().count(), padan::normalize::name::phonetic(t)))
        .max()
        .map(|x| x.1)
}

/// Components a component determines (equal X implies equal Y).
fn determines(x: &str, y: &str) -> bool {
    x == y || (x == "phon" && matches!(y, "long" | "min" | "max"))
}

struct UF(Vec<u32>);
impl UF {
    fn find(&mut self, x: usize) -> usize {
        let mut r = x;
        while self.0[r] as usize != r {
            r = self.0[r] as usize;
        }
        let mut x = x;
        while self.0[x] as usize != r {
            let n = self.0[x] as usize;
            self.0[x] = r as u32;
            x = n;
        }
        r
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b) as u32;
        }
    }
}

fn main() {
    let dir = std::env::args().nth(1).expect("SYNTH_DIR");
    let designs_arg = std::env::args()
        .nth(2)
        .expect("designs: name=slot;slot,... e.g. A=dm+year;dm+phon");
    let dir = Path::new(&dir);
    let recs = plaintext::load(dir);
    let n = recs.len();
    let mut count: HashMap<u64, u64> = HashMap::new();
    for r in &recs {
        *count.entry(r.person).or_insert(0) += 1;
    }
    let true_pairs: u64 = count.values().map(|&c| c * (c - 1) / 2).sum();
    println!(
        "records {n} persons {} true pairs {true_pairs}",
        count.len()
    );
    println!("| design | completeness | cand/rec | largest slot group | name comp: largest class / mean seen / recs in classes ≥3 persons | record chain: largest / mean seen |");
    for d in designs_arg.split(' ') {
        let (dname, spec) = d.split_once('=').unwrap();
        let slots: Vec<Vec<&str>> = spec.split(';').map(|s| s.split('+').collect()).collect();
        // Tags per slot.
        let tags: Vec<Vec<Option<String>>> = slots
            .iter()
            .map(|s| {
                recs.iter()
                    .map(|r| {
                        let v: Option<Vec<String>> = s.iter().map(|c| comp(r, c)).collect();
                        v.map(|v| v.join("|"))
                    })
                    .collect()
            })
            .collect();
        let mut covered: std::collections::HashSet<(u32, u32)> = Default::default();
        let mut largest = 0;
        let mut all_groups: Vec<Vec<Vec<u32>>> = Vec::new();
        for col in &tags {
            let g: Vec<Vec<u32>> = groups_of(col).into_values().collect();
            all_groups.push(g);
        }
        let extra: Vec<Vec<Vec<u32>>> = [
            recs.iter().map(|r| r.passport.clone()).collect::<Vec<_>>(),
            recs.iter().map(|r| r.nik.clone()).collect::<Vec<_>>(),
        ]
        .iter()
        .map(|c| groups_of(c).into_values().collect())
        .collect();
        for (k, gs) in all_groups.iter().chain(extra.iter()).enumerate() {
            for g in gs {
                if k < all_groups.len() {
                    largest = largest.max(g.len());
                }
                for x in 0..g.len() {
                    for y in x + 1..g.len() {
                        covered.insert((g[x], g[y]));
                    }
                }
            }
        }
        let found = covered
            .iter()
            .filter(|(a, b)| recs[*a as usize].person == recs[*b as usize].person)
            .count();
        // Name-derived components: chain over the slots determining them.
        let mut out = String::new();
        let comps: Vec<&str> = {
            let mut v: Vec<&str> = slots.iter().flatten().copied().collect();
            v.sort();
            v.dedup();
            v
        };
        for c in comps.iter().filter(|c| **c != "sex") {
            let mut uf = UF((0..n as u32).collect());
            let mut has = vec![false; n];
            for (si, s) in slots.iter().enumerate() {
                if !s.iter().any(|x| determines(x, c)) {
                    continue;
                }
                for g in &all_groups[si] {
                    for &r in g {
                        has[r as usize] = true;
                        uf.union(g[0] as usize, r as usize);
                    }
                }
            }
            let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
            for (r, _) in has.iter().enumerate().filter(|x| *x.1) {
                members.entry(uf.find(r)).or_default().push(r);
            }
            let with: usize = members.values().map(Vec::len).sum();
            let big = members.values().map(Vec::len).max().unwrap_or(0);
            let seen: f64 = members
                .values()
                .map(|m| (m.len() * m.len()) as f64)
                .sum::<f64>()
                / with.max(1) as f64;
            let multi: usize = members
                .values()
                .filter(|m| {
                    let mut p: Vec<u64> = m.iter().map(|&r| recs[r].person).collect();
                    p.sort();
                    p.dedup();
                    p.len() >= 3
                })
                .map(Vec::len)
                .sum();
            out += &format!(
                "{c}: {big} / {seen:.1} / {:.1} %; ",
                100.0 * multi as f64 / n as f64
            );
        }
        // Record chaining over all slots.
        let mut uf = UF((0..n as u32).collect());
        for gs in &all_groups {
            for g in gs {
                for &r in g {
                    uf.union(g[0] as usize, r as usize);
                }
            }
        }
        let mut size: HashMap<usize, usize> = HashMap::new();
        for r in 0..n {
            *size.entry(uf.find(r)).or_insert(0) += 1;
        }
        let rbig = size.values().max().unwrap();
        let rseen: f64 = size.values().map(|&s| (s * s) as f64).sum::<f64>() / n as f64;
        println!(
            "| {dname} | {:.4} | {:.2} | {largest} | {out}| {rbig} / {rseen:.0} |",
            found as f64 / true_pairs as f64,
            covered.len() as f64 / n as f64
        );
    }
}

fn groups_of(col: &[Option<String>]) -> HashMap<&str, Vec<u32>> {
    let mut g: HashMap<&str, Vec<u32>> = HashMap::new();
    for (i, t) in col.iter().enumerate() {
        if let Some(t) = t {
            g.entry(t.as_str()).or_default().push(i as u32);
        }
    }
    g
}
