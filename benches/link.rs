//! Criterion benchmarks of the linkage unit's two hot stages on a small synthetic set: blocking
//! (`padan::link::block::Blocks::build`, then every distinct candidate pair) and comparing every candidate pair on every field
//! (`Comparator::levels_of`, the per-pair Dice kernel plus token checks). The seven agencies'
//! extracts are synthesized and encoded once, outside the timing. Throughput is in records for
//! blocking and in candidate pairs for comparison.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use padan::encode::EncodeJob;
use padan::keys::SecretKey;
use padan::link::block;
use padan::link::compare::Comparator;
use padan::link::records::Records;
use padan::link::LinkConfig;
use padan::schema::{ColumnMap, Schema};
use padan::synth::{self, SynthConfig, AGENCY_NAMES};
use std::hint::black_box;
use std::path::PathBuf;

/// People in the synthetic set (about 4.8 records per person across the seven agencies).
const PEOPLE: u64 = 2000;

fn encoded_set(dir: &std::path::Path) -> Vec<PathBuf> {
    let cfg = SynthConfig {
        people: PEOPLE,
        seed: 11,
        ..SynthConfig::default()
    };
    let src = dir.join("synth");
    synth::generate(&cfg, &src).expect("synth");
    let schema = Schema::default_victims();
    let key = SecretKey::from_bytes([7; 32]);
    AGENCY_NAMES
        .iter()
        .map(|&name| {
            let columns =
                ColumnMap::load(&src.join(format!("{name}.columns.toml"))).expect("column map");
            let output = dir.join(format!("{name}.padan.parquet"));
            let input = src.join(format!("{name}.csv"));
            EncodeJob::new(&schema, &key, &columns, name, &input, &output)
                .run(&|_, _| {})
                .expect("encode");
            output
        })
        .collect()
}

fn link(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = encoded_set(dir.path());
    let recs = Records::load(&files).expect("load");
    let cfg = LinkConfig::default();
    let pairs = block::Blocks::build(&recs, &cfg.blocking).pairs();
    let comparator = Comparator::new(&recs, &cfg);

    let mut g = c.benchmark_group("link");
    g.sample_size(20);
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.bench_function(format!("block_{}_records", recs.len()), |bn| {
        bn.iter(|| black_box(block::Blocks::build(&recs, &cfg.blocking).pairs().len()))
    });
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function(
        format!("compare_{}_pairs_{}", pairs.len(), comparator.isa()),
        |bn| bn.iter(|| black_box(comparator.levels_of(&pairs))),
    );
    g.finish();
}

criterion_group!(benches, link);
criterion_main!(benches);
