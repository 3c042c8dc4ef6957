//! Pair completeness of blocking alone, against a truth file (a tuning aid for developers).
//!
//! cargo run --release --example blocking_recall -- TRUTH.csv LINK.toml|- FILE...
use std::collections::HashMap;

use padan::link::block::{unpack, Blocks};
use padan::link::records::Records;
use padan::link::LinkConfig;
use rayon::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let truth = std::fs::read_to_string(&args[0]).expect("truth");
    let cfg = if args[1] == "-" {
        LinkConfig::default()
    } else {
        LinkConfig::load(std::path::Path::new(&args[1])).expect("config")
    };
    let recs = Records::load(&args[2..]).expect("load");
    let mut person: HashMap<(String, String), u64> = HashMap::new();
    let mut names: HashMap<String, u64> = HashMap::new();
    for line in truth.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let n = names.len() as u64;
        let p = *names.entry(f[2].to_string()).or_insert(n);
        person.insert((f[0].to_string(), f[1].to_string()), p);
    }
    let pid: Vec<u64> = (0..recs.len())
        .map(|i| {
            let a = &recs.agencies[recs.agency_of[i] as usize];
            person
                .get(&(a.clone(), recs.ids[i].clone()))
                .copied()
                .unwrap_or(u64::MAX - i as u64)
        })
        .collect();
    let mut count: HashMap<u64, u64> = HashMap::new();
    for &p in &pid {
        *count.entry(p).or_insert(0) += 1;
    }
    let true_pairs: u64 = count.values().map(|&c| c * (c - 1) / 2).sum();
    let t = std::time::Instant::now();
    let blocks = Blocks::build(&recs, &cfg.blocking);
    let pairs = blocks.pairs();
    let found = pairs
        .par_iter()
        .filter(|&&p| {
            let (a, b) = unpack(p);
            pid[a as usize] == pid[b as usize]
        })
        .count();
    println!(
        "records {} candidates {} ({:.1}/rec) true pairs {} found {} completeness {:.4} ({:.1}s)",
        recs.len(),
        pairs.len(),
        pairs.len() as f64 / recs.len() as f64,
        true_pairs,
        found,
        found as f64 / true_pairs as f64,
        t.elapsed().as_secs_f64()
    );
}
