//! Pair completeness of blocking alone, per block kind, against a truth file (a tuning aid for
//! developers; `padan link --blocking-only --truth` reports the same).
//!
//! cargo run --release --example blocking_recall -- TRUTH.csv LINK.toml|- FILE...
use padan::io::truth::Truth;
use padan::link::block::Blocks;
use padan::link::records::Records;
use padan::link::LinkConfig;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let truth = Truth::read(std::path::Path::new(&args[0])).expect("truth");
    let cfg = if args[1] == "-" {
        LinkConfig::default()
    } else {
        LinkConfig::load(std::path::Path::new(&args[1])).expect("config")
    };
    let recs = Records::load(&args[2..]).expect("load");
    let person: Vec<u64> = (0..recs.len())
        .map(|i| {
            let a = &recs.agencies[recs.agency_of[i] as usize];
            match truth.lookup(a, &recs.ids[i]) {
                Some(t) => truth.person[t as usize],
                None => u64::MAX - i as u64,
            }
        })
        .collect();
    let t = std::time::Instant::now();
    let blocks = Blocks::build(&recs, &cfg.blocking);
    let built = t.elapsed().as_secs_f64();
    let n = blocks.pairs().len();
    let c = blocks.completeness(&person);
    println!(
        "records {} candidates {} ({:.1}/rec) true pairs {} found {} completeness {:.4} (build {:.1}s)",
        recs.len(),
        n,
        n as f64 / recs.len() as f64,
        c.true_pairs,
        c.found,
        c.found as f64 / c.true_pairs.max(1) as f64,
        built
    );
    if std::env::var_os("DIAG").is_some() {
        diag(&recs, &blocks, &person);
    }
    for (kind, f) in &c.found_by_kind {
        let pairs = blocks
            .stats
            .candidates_by_block
            .get(kind)
            .copied()
            .unwrap_or(0);
        println!(
            "  {kind:<20} completeness {:.4}  pairs {:.1}/rec",
            *f as f64 / c.true_pairs.max(1) as f64,
            pairs as f64 / recs.len() as f64
        );
    }
}

/// Developer diagnosis (DIAG=1): for missed true pairs, the rank of the partner among all
/// records by record-filter Dice.
#[allow(dead_code)]
fn diag(recs: &Records, blocks: &Blocks, person: &[u64]) {
    use padan::link::block::pack;
    use rayon::prelude::*;
    let mut order: Vec<(u64, u32)> = person
        .iter()
        .enumerate()
        .map(|(i, &p)| (p, i as u32))
        .collect();
    order.sort_unstable();
    let mut missed = Vec::new();
    let mut s = 0;
    for i in 1..=order.len() {
        if i == order.len() || order[i].0 != order[s].0 {
            for x in s..i {
                for y in x + 1..i {
                    let (a, b) = (order[x].1, order[y].1);
                    if blocks.pair_kinds(a, b) == 0 {
                        missed.push(pack(a.min(b), a.max(b)));
                    }
                }
            }
            s = i;
        }
    }
    let m = &recs.record_filter;
    let k = padan::link::dice::Kernel::detect();
    let ranks: Vec<usize> = missed
        .par_iter()
        .take(3000)
        .map(|&p| {
            let (a, b) = ((p >> 32) as usize, (p as u32) as usize);
            let d = k.dice(m, a, m, b).unwrap_or(0.0);
            (0..recs.len())
                .filter(|&j| j != a && k.dice(m, a, m, j).unwrap_or(0.0) > d)
                .count()
                .min(
                    (0..recs.len())
                        .filter(|&j| j != b && k.dice(m, b, m, j).unwrap_or(0.0) > d)
                        .count(),
                )
        })
        .collect();
    let mut hist = [0usize; 8];
    for r in ranks {
        hist[match r {
            0..=4 => 0,
            5..=9 => 1,
            10..=19 => 2,
            20..=49 => 3,
            50..=99 => 4,
            100..=499 => 5,
            500..=1999 => 6,
            _ => 7,
        }] += 1;
    }
    println!("missed {} rank (min of both sides) [0-4,5-9,10-19,20-49,50-99,100-499,500-1999,2000+]: {:?}", missed.len(), hist);
}
