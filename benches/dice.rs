//! Criterion benchmarks of the Dice kernels: random-access pairs and all pairs above a threshold,
//! naive reference against the fast paths.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use padan::link::bench::random_pair;
use padan::link::dice::{naive, FilterMatrix, Isa, Kernel};
use std::hint::black_box;

fn random_access(c: &mut Criterion) {
    let (a, b, _) = random_pair(4096, 16, 1);
    // A fixed pseudo-random sequence of candidate pairs.
    let pairs: Vec<(usize, usize)> = (0..10_000u64)
        .map(|k| {
            let x = k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            ((x >> 20) as usize % a.len(), (x >> 40) as usize % b.len())
        })
        .collect();
    let mut g = c.benchmark_group("dice_random_access_1024");
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("naive", |bn| {
        bn.iter(|| {
            let mut s = 0f32;
            for &(i, j) in &pairs {
                s += naive::dice(&a, i, &b, j).unwrap_or(0.0);
            }
            black_box(s)
        })
    });
    for isa in Isa::available() {
        let k = Kernel::new(isa).expect("available");
        g.bench_function(BenchmarkId::new("kernel", isa.name()), |bn| {
            bn.iter(|| {
                let mut s = 0f32;
                for &(i, j) in &pairs {
                    s += k.dice(&a, i, &b, j).unwrap_or(0.0);
                }
                black_box(s)
            })
        });
    }
    g.finish();
}

fn all_pairs(c: &mut Criterion) {
    let small = |m: &FilterMatrix, n: usize| {
        FilterMatrix::from_words(m.words(), m.data()[..n * m.words()].to_vec())
    };
    let (a, b, _) = random_pair(2000, 16, 2);
    let mut g = c.benchmark_group("all_pairs_above_1024");
    g.sample_size(10);
    let (na, nb) = (small(&a, 100), small(&b, 100));
    g.throughput(Throughput::Elements(100 * 100));
    g.bench_function("naive_100x100", |bn| {
        bn.iter(|| black_box(naive::all_pairs_above(&na, &nb, 0.95)))
    });
    g.throughput(Throughput::Elements((a.len() * b.len()) as u64));
    for isa in Isa::available() {
        let k = Kernel::new(isa).expect("available");
        g.bench_function(BenchmarkId::new("kernel_2000x2000", isa.name()), |bn| {
            bn.iter(|| black_box(k.all_pairs_above(&a, &b, 0.95)))
        });
        g.bench_function(BenchmarkId::new("raw_2000x2000", isa.name()), |bn| {
            bn.iter(|| black_box(k.raw_and_popcount_sum(&a, &b)))
        });
    }
    g.finish();
}

criterion_group!(benches, random_access, all_pairs);
criterion_main!(benches);
