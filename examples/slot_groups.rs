//! Salt-slot design aid: for candidate composite salts ("slots"), how large the groups of records
//! sharing one salt are (what a linkage unit sees as an equality class, and the group inside which
//! filter overlaps can be mined), and which share of the true pairs share each slot and at least
//! one (the pair completeness that blocking on the slots' salt tokens can reach).
//!
//! Reads a `padan synth` directory in plaintext (it is a developer's measuring aid, run on
//! synthetic data; it prints counts only, never a value).
//!
//! cargo run --release --example slot_groups -- SYNTH_DIR
use std::collections::HashMap;
use std::path::Path;

#[path = "plaintext/mod.rs"]
mod plaintext;
use plaintext::Rec;

type SlotFn = fn(&Rec) -> Vec<String>;

fn main() {
    let dir = std::env::args().nth(1).expect("SYNTH_DIR");
    let dir = Path::new(&dir);
    let recs = plaintext::load(dir);
    // Each key function gives a record's keys (several for per-word keys).
    let one = |k: Option<String>| k.into_iter().collect::<Vec<_>>();
    let _ = one;
    let slots: Vec<(&str, SlotFn)> = vec![
        ("year (v3 name salt)", |r| {
            r.year.map(|y| y.to_string()).into_iter().collect()
        }),
        ("sex (token_sex)", |r| {
            r.sex.map(String::from).into_iter().collect()
        }),
        ("place (v3 place filter)", |r| {
            r.place.clone().into_iter().collect()
        }),
        ("phonetic name + sex", |r| {
            opt(|| Some(format!("{}|{}", &r.phon()?, r.sex?)))
        }),
        ("s1 {d,m}+year+sex", |r| {
            opt(|| {
                let (a, b) = r.dm?;
                Some(format!("{a}-{b}|{}|{}", r.year?, r.sex?))
            })
        }),
        ("s2 {d,m}+sex+phonetic", |r| {
            opt(|| {
                let (a, b) = r.dm?;
                Some(format!("{a}-{b}|{}|{}", r.sex?, &r.phon()?))
            })
        }),
        ("s3 year+sex+phonetic", |r| {
            opt(|| Some(format!("{}|{}|{}", r.year?, r.sex?, &r.phon()?)))
        }),
        ("s4 passport digits", |r| {
            r.passport.clone().into_iter().collect()
        }),
        ("s5 NIK", |r| r.nik.clone().into_iter().collect()),
        ("s6 sex+phonetic+birthplace", |r| {
            opt(|| Some(format!("{}|{}|{}", r.sex?, &r.phon()?, r.place.as_ref()?)))
        }),
        // Error-tolerant variants: no sex; one key per name word.
        ("t1 {d,m}+year", |r| {
            opt(|| {
                let (a, b) = r.dm?;
                Some(format!("{a}-{b}|{}", r.year?))
            })
        }),
        ("t2 {d,m}+name word (each)", |r| match r.dm {
            Some((a, b)) => r.words.iter().map(|w| format!("{a}-{b}|{w}")).collect(),
            None => vec![],
        }),
        ("t3 year+name word (each)", |r| match r.year {
            Some(y) => r.words.iter().map(|w| format!("{y}|{w}")).collect(),
            None => vec![],
        }),
        ("t6 birthplace+name word (each)", |r| match &r.place {
            Some(p) => r.words.iter().map(|w| format!("{p}|{w}")).collect(),
            None => vec![],
        }),
        ("t7 name word pair (each)", |r| {
            let mut v = vec![];
            for x in 0..r.words.len() {
                for y in x + 1..r.words.len() {
                    v.push(format!("{}|{}", r.words[x], r.words[y]));
                }
            }
            v
        }),
        ("u2 {d,m}+phonetic", |r| {
            opt(|| {
                let (a, b) = r.dm?;
                Some(format!("{a}-{b}|{}", &r.phon()?))
            })
        }),
        ("u3 year+phonetic", |r| {
            opt(|| Some(format!("{}|{}", r.year?, &r.phon()?)))
        }),
        ("u6 phonetic+birthplace", |r| {
            opt(|| Some(format!("{}|{}", &r.phon()?, r.place.as_ref()?)))
        }),
    ];
    let union: Vec<usize> = std::env::var("UNION")
        .unwrap_or_else(|_| "4,5,6,7,8,9".into())
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    let mut count: HashMap<u64, u64> = HashMap::new();
    for r in &recs {
        *count.entry(r.person).or_insert(0) += 1;
    }
    let true_pairs: u64 = count.values().map(|&c| c * (c - 1) / 2).sum();
    println!(
        "records {} persons {} true pairs {true_pairs}",
        recs.len(),
        count.len()
    );
    println!("| key | records with it | distinct | largest group | records in groups ≥ 10 | mean group seen by a record | true pairs sharing it |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    // Union of the slot keys s1..s6 (the salt-slot blocking).
    let mut covered: HashMap<(u32, u32), ()> = HashMap::new();
    let mut cand_pairs = 0u64;
    for (si, (label, f)) in slots.iter().enumerate() {
        let mut groups: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, r) in recs.iter().enumerate() {
            let mut ks = f(r);
            ks.sort_unstable();
            ks.dedup();
            for k in ks {
                groups.entry(k).or_default().push(i as u32);
            }
        }
        let with: usize = groups.values().map(Vec::len).sum();
        let largest = groups.values().map(Vec::len).max().unwrap_or(0);
        let in_big: usize = groups
            .values()
            .filter(|g| g.len() >= 10)
            .map(Vec::len)
            .sum();
        let seen: f64 = groups
            .values()
            .map(|g| (g.len() * g.len()) as f64)
            .sum::<f64>()
            / with.max(1) as f64;
        // A pair in two groups of one slot (two shared words) counts once.
        let mut pairs_here: HashMap<(u32, u32), ()> = HashMap::new();
        let mut shared = 0u64;
        for g in groups.values() {
            if g.len() > 1000 && !union.contains(&si) {
                // A large group of a one-key-per-record slot: count its true pairs by person.
                let mut per: HashMap<u64, u64> = HashMap::new();
                for &i in g {
                    *per.entry(recs[i as usize].person).or_insert(0) += 1;
                }
                shared += per.values().map(|&c| c * (c - 1) / 2).sum::<u64>();
                continue;
            }
            for x in 0..g.len() {
                for y in x + 1..g.len() {
                    let (a, b) = (g[x], g[y]);
                    if pairs_here.insert((a, b), ()).is_some() {
                        continue;
                    }
                    if recs[a as usize].person == recs[b as usize].person {
                        shared += 1;
                    }
                    if union.contains(&si) {
                        let _ = recs[a as usize].agency;
                        if covered.insert((a, b), ()).is_none() {
                            cand_pairs += 1;
                        }
                    }
                }
            }
        }
        println!(
            "| {label} | {with} | {} | {largest} | {in_big} | {seen:.1} | {shared} ({:.2} %) |",
            groups.len(),
            100.0 * shared as f64 / true_pairs as f64
        );
    }
    let found = covered
        .keys()
        .filter(|(a, b)| recs[*a as usize].person == recs[*b as usize].person)
        .count();
    println!(
        "slots {union:?} together: {cand_pairs} candidate pairs ({:.2} per record), true pairs sharing a slot {found} / {true_pairs} = completeness {:.4}",
        cand_pairs as f64 / recs.len() as f64,
        found as f64 / true_pairs as f64
    );
}

fn opt(f: impl FnOnce() -> Option<String>) -> Vec<String> {
    f().into_iter().collect()
}
