//! A tiny, realistic match-set builder for the report's tests.
//!
//! It takes the record ids of the synthetic fixture (`fixtures/synth/truth.csv`), draws
//! comparison levels for every true pair from m and for random non-pairs from u of a plausible
//! five-field model, scores them exactly as the contract says (Σ log2(m/u), probability from λ),
//! clusters the match pairs, and writes `pairs.parquet`, `clusters.parquet`, optionally
//! `candidates.parquet`, and `manifest.json` with the match set's one writer
//! ([`crate::io::matchset::MatchSetWriter`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::io::manifest::Manifest;
use crate::io::matchset::{MatchSetWriter, PairsData, RecordIds};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::scoring::probability_from_weight;

/// The fixture extracts and truth.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synth")
}

/// A level: (label, m, u).
type Level = (&'static str, f64, f64);

/// (field, levels 1.. in order).
fn model() -> Vec<(&'static str, Vec<Level>)> {
    vec![
        (
            "name",
            vec![
                ("exact", 0.62, 0.0008),
                ("dice ≥ 0.85", 0.25, 0.006),
                ("dice ≥ 0.65", 0.09, 0.05),
                ("else", 0.04, 0.9432),
            ],
        ),
        (
            "passport",
            vec![
                ("exact", 0.80, 0.0001),
                ("dice ≥ 0.75", 0.12, 0.002),
                ("else", 0.08, 0.9979),
            ],
        ),
        (
            "dob",
            vec![
                ("exact", 0.78, 0.004),
                ("dice ≥ 0.75", 0.15, 0.03),
                ("else", 0.07, 0.966),
            ],
        ),
        ("sex", vec![("agree", 0.97, 0.52), ("disagree", 0.03, 0.48)]),
        (
            "place",
            vec![
                ("exact", 0.70, 0.02),
                ("dice ≥ 0.7", 0.14, 0.05),
                ("else", 0.16, 0.93),
            ],
        ),
    ]
}

fn draw(rng: &mut ChaCha8Rng, probs: &[f64]) -> usize {
    let mut x = rng.random::<f64>();
    for (i, p) in probs.iter().enumerate() {
        if x < *p {
            return i;
        }
        x -= p;
    }
    probs.len() - 1
}

/// One fake pair.
struct Pair {
    l: usize,
    r: usize,
    levels: Vec<i64>,
    weights: Vec<f64>,
    weight: f64,
    prob: f64,
}

/// Builds a match set from the fixture into `dir`; returns the truth file path.
pub fn build(dir: &Path, with_candidates: bool) -> PathBuf {
    let truth = fixture_dir().join("truth.csv");
    let mut rdr = csv::Reader::from_path(&truth).expect("fixture truth");
    let mut recs: Vec<(String, String, String)> = Vec::new();
    for r in rdr.records() {
        let r = r.expect("truth row");
        recs.push((r[0].to_string(), r[1].to_string(), r[2].to_string()));
    }
    let mut agencies: Vec<String> = Vec::new();
    for r in &recs {
        if !agencies.contains(&r.0) {
            agencies.push(r.0.clone());
        }
    }
    let mut by_person: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in recs.iter().enumerate() {
        by_person.entry(r.2.as_str()).or_default().push(i);
    }
    let m = model();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut raw: Vec<(usize, usize, bool)> = Vec::new();
    for ids in by_person.values() {
        for a in 0..ids.len() {
            for b in a + 1..ids.len() {
                // blocking misses a few true pairs
                if rng.random::<f64>() < 0.96 {
                    raw.push((ids[a], ids[b], true));
                }
            }
        }
    }
    let n_true = raw.len();
    for _ in 0..n_true * 12 {
        let a = rng.random_range(0..recs.len());
        let b = rng.random_range(0..recs.len());
        if a != b && recs[a].2 != recs[b].2 {
            raw.push((a.min(b), a.max(b), false));
        }
    }
    raw.sort();
    raw.dedup_by(|x, y| x.0 == y.0 && x.1 == y.1);
    let lambda = n_true as f64 / raw.len() as f64;
    let prior = (lambda / (1.0 - lambda)).log2();
    let mut pairs: Vec<Pair> = raw
        .iter()
        .map(|&(l, r, t)| {
            let mut levels = Vec::new();
            let mut weights = Vec::new();
            for (_, lv) in &m {
                if rng.random::<f64>() < 0.12 {
                    levels.push(0);
                    weights.push(0.0);
                    continue;
                }
                let probs: Vec<f64> = lv.iter().map(|x| if t { x.1 } else { x.2 }).collect();
                let k = draw(&mut rng, &probs);
                levels.push(k as i64 + 1);
                weights.push((lv[k].1 / lv[k].2).log2());
            }
            let weight: f64 = weights.iter().sum();
            Pair {
                l,
                r,
                levels,
                weights,
                weight,
                prob: probability_from_weight(weight, lambda),
            }
        })
        .collect();
    pairs.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then_with(|| (a.l, a.r).cmp(&(b.l, b.r)))
    });
    let to_w = |p: f64| (p / (1.0 - p)).log2() - prior;
    let (mp, rp) = (0.99, 0.5);
    let (mw, rw) = (to_w(mp), to_w(rp));

    // clusters: union of match pairs (no agency constraint needed for a fixture)
    let mut parent: Vec<usize> = (0..recs.len()).collect();
    fn find(p: &mut [usize], x: usize) -> usize {
        let mut x = x;
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for p in pairs.iter().filter(|p| p.weight >= mw) {
        let (a, b) = (find(&mut parent, p.l), find(&mut parent, p.r));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut cid_of_root: BTreeMap<usize, i64> = BTreeMap::new();
    let mut cid = vec![0i64; recs.len()];
    for (i, c) in cid.iter_mut().enumerate() {
        let root = find(&mut parent, i);
        let next = cid_of_root.len() as i64;
        *c = *cid_of_root.entry(root).or_insert(next);
    }
    let mut size: BTreeMap<i64, i64> = BTreeMap::new();
    for c in &cid {
        *size.entry(*c).or_insert(0) += 1;
    }

    let inputs: Vec<_> = agencies
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let rows = recs.iter().filter(|r| &r.0 == a).count() as u64;
            let rejected = (k as u64 * 3) % 5;
            json!({
                "file": format!("{a}.padan.parquet"),
                "blake3": blake3::hash(format!("{a}.padan.parquet").as_bytes()).to_hex().to_string(),
                "agency": a, "rows": rows, "rows_read": rows + rejected, "rows_rejected": rejected,
                "encoding_version": 1, "schema_fingerprint": "3f9a1c0e5b7d2468",
                "key_fingerprint": "k7q2-9dzm-x4pe",
                "rejects_by_reason": if rejected > 0 { json!({"name_missing": rejected}) } else { json!({}) },
                "dropped_by_reason": {"passport_invalid": k as u64 * 2 + 1, "dob_unparseable": k as u64 % 3},
                "flags_by_reason": if k % 2 == 0 { json!({"nik_disagrees_with_dob": k as u64 + 1}) } else { json!({}) },
            })
        })
        .collect();
    let fields_json: Vec<_> = m
        .iter()
        .map(|(f, lv)| {
            json!({"name": f, "levels": lv.iter().enumerate().map(|(i, (label, mm, uu))| json!({
                "index": i + 1, "label": label, "m": mm, "u": uu, "weight": (mm / uu).log2()
            })).collect::<Vec<_>>()})
        })
        .collect();
    let n_match = pairs.iter().filter(|p| p.weight >= mw).count();
    let n_review = pairs
        .iter()
        .filter(|p| p.weight >= rw && p.weight < mw)
        .count();
    let n = recs.len() as f64;
    let manifest = json!({
        "format": "padan-match-set", "format_version": 1, "padan_version": crate::VERSION,
        "inputs": inputs,
        "schema_fingerprint": "3f9a1c0e5b7d2468", "key_fingerprint": "k7q2-9dzm-x4pe",
        "config": {"blocking": {"lsh": {"bands": 24, "rows": 12}, "max_block": 5000},
                   "thresholds": {"match_probability": mp, "review_probability": rp},
                   "resolve": {"within_agency_duplicates": true}, "output": {"candidates": with_candidates}},
        "model": {"lambda": lambda, "prior_weight": prior, "u_source": "random pairs",
                  "random_pairs": 100000, "fields": fields_json,
                  "em": {"iterations": 14, "last_change": 3.2e-7, "converged": true, "log_likelihood": -18234.5}},
        "thresholds": {"match_probability": mp, "review_probability": rp, "match_weight": mw, "review_weight": rw},
        "counts": {"records": recs.len(), "candidates": pairs.len(),
                   "candidates_by_block": {"token_passport": pairs.len() / 5, "token_nik": pairs.len() / 9,
                                           "dob_sex": pairs.len() / 3, "name_year": pairs.len() / 4, "lsh": pairs.len() / 2},
                   "reduction_ratio": 1.0 - pairs.len() as f64 / (n * (n - 1.0) / 2.0),
                   "largest_blocks": [{"kind": "dob_sex", "size": 41}, {"kind": "lsh", "size": 37}],
                   "capped_blocks": 0, "pairs_review": n_review, "pairs_match": n_match,
                   "clusters": size.len(), "clusters_multi": size.values().filter(|s| **s > 1).count(),
                   "merges_refused": 3},
        "timings": {"read": 0.04, "block": 0.11, "compare": 0.35, "fit": 0.08, "score": 0.02,
                    "resolve": 0.01, "write": 0.05, "total": 0.66},
        "threads": 2, "isa": "avx512-vpopcntdq",
        "outputs": {"pairs": "pairs.parquet", "clusters": "clusters.parquet",
                    "candidates": if with_candidates { json!("candidates.parquet") } else { json!(null) }}
    });
    // The files, through the match set's one writer.
    let mut manifest: Manifest = serde_json::from_value(manifest).expect("a manifest");
    let agency_of: Vec<u16> = recs
        .iter()
        .map(|r| agencies.iter().position(|a| *a == r.0).expect("agency") as u16)
        .collect();
    let ids: Vec<String> = recs.iter().map(|r| r.1.clone()).collect();
    let records = RecordIds {
        agencies: &agencies,
        agency_of: &agency_of,
        ids: &ids,
    };
    let cluster_of: Vec<u32> = cid.iter().map(|&c| c as u32).collect();
    let written: Vec<&Pair> = pairs.iter().filter(|p| p.weight >= rw).collect();
    let ab: Vec<(u32, u32)> = written.iter().map(|p| (p.l as u32, p.r as u32)).collect();
    let at: BTreeMap<(u32, u32), usize> = ab.iter().enumerate().map(|(i, &k)| (k, i)).collect();
    let names: Vec<String> = m.iter().map(|(f, _)| f.to_string()).collect();
    let w = MatchSetWriter::try_new(dir, &manifest, records).expect("writer");
    w.write_pairs(
        &PairsData {
            pairs: &ab,
            weights: &written.iter().map(|p| p.weight).collect::<Vec<_>>(),
            probabilities: &written.iter().map(|p| p.prob).collect::<Vec<_>>(),
            is_match: &written.iter().map(|p| p.weight >= mw).collect::<Vec<_>>(),
            cluster_of: &cluster_of,
            fields: &names,
            labels: &[],
            verdicts: &[],
        },
        |f, a, b| {
            let p = written[at[&(a, b)]];
            let sim = match p.levels[f] {
                0 => None,
                l => Some(1.0 - 0.15 * (l - 1) as f32),
            };
            (sim, p.levels[f], p.weights[f])
        },
    )
    .expect("pairs");
    w.write_clusters(&cluster_of).expect("clusters");
    if with_candidates {
        let all: Vec<(u32, u32)> = pairs.iter().map(|p| (p.l as u32, p.r as u32)).collect();
        let weights: Vec<f64> = pairs.iter().map(|p| p.weight).collect();
        w.write_candidates(&all, &weights).expect("candidates");
    }
    w.close(&mut manifest).expect("manifest");
    truth
}
