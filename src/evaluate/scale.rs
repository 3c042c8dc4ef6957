//! The evaluation at scale (ignored by default): 1 M records, 1 M pair rows, 3 M candidates,
//! written and evaluated.

use super::*;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use std::sync::Arc;

const AGENCIES: [&str; 7] = crate::synth::AGENCY_NAMES;

fn write(
    path: &Path,
    n: usize,
    cols: impl Fn(std::ops::Range<usize>) -> Vec<(&'static str, ArrayRef)>,
) {
    let file = std::fs::File::create(path).unwrap();
    let first = RecordBatch::try_from_iter(cols(0..0)).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, first.schema(), None).unwrap();
    for start in (0..n).step_by(100_000) {
        let b = RecordBatch::try_from_iter(cols(start..(start + 100_000).min(n))).unwrap();
        w.write(&b).unwrap();
    }
    w.close().unwrap();
}

fn agency(i: usize) -> &'static str {
    AGENCIES[i % 7]
}

fn pair_cols(
    r: std::ops::Range<usize>,
    pair: impl Fn(usize) -> (usize, usize),
) -> Vec<(&'static str, ArrayRef)> {
    let ps: Vec<(usize, usize)> = r.map(pair).collect();
    let s = |f: &dyn Fn(&(usize, usize)) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(ps.iter().map(f)))
    };
    vec![
        ("left_agency", s(&|p| agency(p.0).to_string())),
        ("left_id", s(&|p| format!("R{:08}", p.0))),
        ("right_agency", s(&|p| agency(p.1).to_string())),
        ("right_id", s(&|p| format!("R{:08}", p.1))),
        (
            "match_weight",
            Arc::new(Float64Array::from_iter_values(ps.iter().map(|_| 10.0))),
        ),
    ]
}

/// `cargo test --release --lib -- --ignored evaluate_1m` : 1 M records, 1 M pairs rows,
/// 3 M candidates.
#[test]
#[ignore]
fn evaluate_1m_records() {
    const N: usize = 1_000_000;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let t = std::time::Instant::now();
    let mut truth = String::from("agency,record_id,person_id\n");
    for i in 0..N {
        truth.push_str(&format!("{},R{i:08},P{}\n", agency(i), i / 3));
    }
    std::fs::write(dir.join("truth.csv"), truth).unwrap();
    // Clusters: persons, with every 10th person split off its last record.
    let cluster = |i: usize| {
        if (i / 3).is_multiple_of(10) && i % 3 == 2 {
            (N + i) as i64
        } else {
            (i / 3) as i64
        }
    };
    write(&dir.join(CLUSTERS_FILE), N, |r| {
        vec![
            (
                "cluster_id",
                Arc::new(Int64Array::from_iter_values(r.clone().map(cluster))) as ArrayRef,
            ),
            (
                "agency",
                Arc::new(StringArray::from_iter_values(r.clone().map(agency))),
            ),
            (
                "record_id",
                Arc::new(StringArray::from_iter_values(
                    r.clone().map(|i| format!("R{i:08}")),
                )),
            ),
            (
                "cluster_size",
                Arc::new(Int64Array::from_iter_values(r.clone().map(|_| 3))),
            ),
            (
                "agency_count",
                Arc::new(Int64Array::from_iter_values(r.map(|_| 3))),
            ),
        ]
    });
    // Pairs: consecutive records (2 of 3 true).
    write(&dir.join(PAIRS_FILE), N - 1, |r| {
        let mut c = pair_cols(r.clone(), |i| (i, i + 1));
        c.push((
            "match_probability",
            Arc::new(Float64Array::from_iter_values(r.clone().map(|_| 0.9))),
        ));
        c.push((
            "decision",
            Arc::new(StringArray::from_iter_values(r.map(|i| {
                if i % 2 == 0 {
                    "match"
                } else {
                    "review"
                }
            }))),
        ));
        c
    });
    // Candidates: each record with its next three.
    write(&dir.join(CANDIDATES_FILE), 3 * (N - 3), |r| {
        pair_cols(r, |k| (k / 3, k / 3 + 1 + k % 3))
    });
    eprintln!("wrote the fixture in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let e = evaluate(dir, &dir.join("truth.csv")).unwrap();
    eprintln!("evaluate: {:?}\n{}", t.elapsed(), render_table(&e));
    assert_eq!(e.records.evaluated_records, N as u64);
}
