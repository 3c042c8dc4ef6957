//! Criterion benchmark of normalize + encode: the rows of a small synthetic set of all seven
//! agencies (read once from `padan synth` CSV extracts, outside the timing) turned into encoded
//! columns by [`Encoder::encode_batch`], per agency and all together. Throughput is in records.
//!
//! The encoder is built once per agency, as in `padan encode`, so its per-thread caches (token →
//! bit positions, low-cardinality normalizations) are warm after the first iteration — as they are
//! after the first batch of a real extract. Reading the CSV and writing Parquet are not included
//! (see `scripts/bench-scale.sh` for the whole command, CSV in → Parquet out).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use padan::encode::{EncodeOptions, Encoder};
use padan::extract::{Extract, RawRow, TextEncoding};
use padan::keys::SecretKey;
use padan::schema::{ColumnMap, Schema};
use padan::synth::{self, SynthConfig, AGENCY_NAMES};
use std::hint::black_box;

/// People in the synthetic set (about 4.8 records per person across the seven agencies).
const PEOPLE: u64 = 2000;

struct Agency {
    name: &'static str,
    encoder: Encoder,
    rows: Vec<RawRow>,
}

fn load() -> Vec<Agency> {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = SynthConfig {
        people: PEOPLE,
        seed: 11,
        ..SynthConfig::default()
    };
    synth::generate(&cfg, dir.path()).expect("synth");
    let schema = Schema::default_victims();
    let key = SecretKey::from_bytes([7; 32]);
    AGENCY_NAMES
        .iter()
        .map(|&name| {
            let map = ColumnMap::load(&dir.path().join(format!("{name}.columns.toml")))
                .expect("column map");
            let mut ex = Extract::open(
                &dir.path().join(format!("{name}.csv")),
                &schema,
                &map,
                TextEncoding::Auto,
            )
            .expect("open extract");
            let rows = ex.read_all().expect("read");
            let encoder = Encoder::new(
                &schema,
                &key,
                EncodeOptions {
                    date_order: map.date_order,
                    pseudonymize_ids: false,
                    agency: name.to_string(),
                },
            );
            Agency {
                name,
                encoder,
                rows,
            }
        })
        .collect()
}

fn encode(c: &mut Criterion) {
    let agencies = load();
    let total: usize = agencies.iter().map(|a| a.rows.len()).sum();

    let mut g = c.benchmark_group("encode");
    g.sample_size(20);
    for a in &agencies {
        g.throughput(Throughput::Elements(a.rows.len() as u64));
        g.bench_with_input(BenchmarkId::new("agency", a.name), a, |bn, a| {
            bn.iter(|| black_box(a.encoder.encode_batch(&a.rows)))
        });
    }
    g.throughput(Throughput::Elements(total as u64));
    g.bench_function(BenchmarkId::new("all_agencies", total), |bn| {
        bn.iter(|| {
            for a in &agencies {
                black_box(a.encoder.encode_batch(&a.rows));
            }
        })
    });
    // One thread, for a per-core figure independent of the host's CPU quota.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    g.bench_function(BenchmarkId::new("all_agencies_1_thread", total), |bn| {
        one.install(|| {
            bn.iter(|| {
                for a in &agencies {
                    black_box(a.encoder.encode_batch(&a.rows));
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
