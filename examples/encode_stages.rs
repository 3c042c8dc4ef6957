//! Where an encode run's time goes: reading the extract, normalizing + encoding, writing Parquet,
//! each timed alone on the same rows (the command overlaps them in three threads).
//!
//! ```text
//! cargo run --release --example encode_stages -- EXTRACT.csv COLUMNS.toml [SCHEMA.toml]
//! ```
//!
//! Without a schema the default (hardened) one is used. The key is a fixed test key. Encoding is
//! repeated `ROUNDS` times (default 3; the best is printed) on rayon's pool (`RAYON_NUM_THREADS`).
//! Per-row costs are CPU microseconds per row (wall time × threads used), the figure to compare
//! with a target rate on a given number of cores.

use padan::encode::{EncodeOptions, Encoder};
use padan::extract::{Extract, TextEncoding, DEFAULT_BATCH_ROWS};
use padan::io::encoded::EncodedWriter;
use padan::keys::SecretKey;
use padan::schema::{ColumnMap, Schema};
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: encode_stages EXTRACT.csv COLUMNS.toml [SCHEMA.toml]".into());
    }
    let schema = match args.get(2) {
        Some(p) => Schema::load(Path::new(p))?,
        None => Schema::default_victims(),
    };
    let map = ColumnMap::load(Path::new(&args[1]))?;
    let key = SecretKey::from_bytes([7; 32]);
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let threads = rayon::current_num_threads();
    let line = |stage: &str, secs: f64, rows: usize, threads: usize| {
        println!(
            "{stage:<10} {secs:>7.2} s  {:>9.0} rows/s  {:>6.2} µs CPU/row ({threads} thread{})",
            rows as f64 / secs,
            secs * 1e6 * threads as f64 / rows as f64,
            if threads == 1 { "" } else { "s" }
        )
    };

    let t = Instant::now();
    let mut ex = Extract::open(Path::new(&args[0]), &schema, &map, TextEncoding::Auto)?;
    let all = ex.read_all()?;
    let rows = all.len();
    line("read", t.elapsed().as_secs_f64(), rows, 1);

    let encoder = Encoder::new(
        &schema,
        &key,
        EncodeOptions {
            date_order: map.date_order,
            pseudonymize_ids: false,
            agency: map.agency.clone().unwrap_or_else(|| "agency".into()),
        },
    );
    let mut best = f64::MAX;
    let mut encoded = Vec::new();
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        encoded = all
            .chunks(DEFAULT_BATCH_ROWS)
            .map(|b| encoder.encode_batch(b))
            .collect();
        best = best.min(t.elapsed().as_secs_f64());
    }
    line("encode", best, rows, threads);

    let out = std::env::temp_dir().join(format!("encode-stages-{}.parquet", std::process::id()));
    let t = Instant::now();
    let mut w = EncodedWriter::create(&out, encoder.layout())?;
    for b in &encoded {
        w.write(&b.ids, &b.columns)?;
    }
    drop(w); // not committed: the temporary file is removed
    line("write", t.elapsed().as_secs_f64(), rows, 1);
    Ok(())
}
