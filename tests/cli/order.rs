//! `padan link` as the linkage unit runs it month after month: the same files in any order and at
//! any thread count give a byte-identical match set, and `person_id`s come from the content.

use std::collections::{BTreeMap, BTreeSet};

use super::harness::Dir;
use super::link::{encode_all, link, strings};

const MATCH_SET: [&str; 4] = [
    "pairs.parquet",
    "clusters.parquet",
    "candidates.parquet",
    "manifest.json",
];

#[test]
fn any_input_order_at_any_thread_count_gives_a_byte_identical_match_set() {
    let d = Dir::new();
    let inputs = encode_all(&d);
    let mut reversed = inputs.clone();
    reversed.reverse();
    let mut rotated = inputs.clone();
    rotated.rotate_left(3);
    let runs = [
        ("o1t1", &inputs, "1"),
        ("o2t2", &reversed, "2"),
        ("o3t1", &rotated, "1"),
        ("o3t2", &rotated, "2"),
    ];
    for (out, files, threads) in runs {
        link(
            &d,
            files,
            out,
            &["--threads", threads, "--write-candidates"],
        )
        .ok();
    }
    for f in MATCH_SET {
        let first = std::fs::read(d.path("o1t1").join(f)).unwrap();
        for (out, _, _) in &runs[1..] {
            let other = std::fs::read(d.path(out).join(f)).unwrap();
            assert!(first == other, "{f} of run {out} differs from run o1t1");
        }
    }
    // What does differ, the timings and the thread count, is in run.json.
    for (out, _, threads) in runs {
        let log: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.path(out).join("run.json")).unwrap()).unwrap();
        assert_eq!(log["threads"].to_string(), threads, "run.json of {out}");
        assert!(log["timings"]["total"].as_f64().unwrap() > 0.0);
    }
}

/// (agency, record_id) → (cluster_id, person_id) of a match set's clusters.parquet.
fn people(ms: &std::path::Path) -> BTreeMap<(String, String), (i64, String)> {
    let clusters = ms.join("clusters.parquet");
    let agencies = strings(&clusters, "agency");
    let ids = strings(&clusters, "record_id");
    let persons = strings(&clusters, "person_id");
    let cids = super::link::ints(&clusters, "cluster_id");
    assert_eq!(persons.len(), ids.len(), "a person_id on every row");
    agencies
        .into_iter()
        .zip(ids)
        .zip(cids.into_iter().zip(persons))
        .collect()
}

/// Members of every person, by person_id; checks one person_id per cluster and one cluster per
/// person_id.
fn members(
    p: &BTreeMap<(String, String), (i64, String)>,
) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut by_cluster: BTreeMap<i64, BTreeSet<&String>> = BTreeMap::new();
    let mut out: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for (rec, (c, person)) in p {
        by_cluster.entry(*c).or_default().insert(person);
        out.entry(person.clone()).or_default().insert(rec.clone());
    }
    assert!(
        by_cluster.values().all(|s| s.len() == 1),
        "one person_id per cluster"
    );
    assert_eq!(by_cluster.len(), out.len(), "one cluster per person_id");
    out
}

#[test]
fn person_ids_of_unchanged_people_survive_a_run_where_one_agency_changes() {
    let d = Dir::new();
    let inputs = encode_all(&d);
    link(&d, &inputs, "month1", &[]).ok();
    // Month 2: bp2mi (first by name, so every later record's index and cluster number shifts)
    // sends an extract without every fourth record.
    let csv = std::fs::read_to_string(super::harness::synth_extract("bp2mi")).unwrap();
    let kept: Vec<&str> = csv
        .lines()
        .enumerate()
        .filter(|(i, _)| *i == 0 || i % 4 != 0)
        .map(|(_, l)| l)
        .collect();
    let extract = d.write("bp2mi-month2.csv", kept.join("\n") + "\n");
    let cols = super::harness::synth_columns("bp2mi").display().to_string();
    d.encode(&extract, "bp2mi2.padan.parquet", &["--columns", &cols])
        .ok();
    let month2: Vec<_> = inputs
        .iter()
        .map(|p| {
            if p.ends_with("bp2mi.padan.parquet") {
                d.path("bp2mi2.padan.parquet")
            } else {
                p.clone()
            }
        })
        .collect();
    link(&d, &month2, "month2", &[]).ok();

    let (p1, p2) = (people(&d.path("month1")), people(&d.path("month2")));
    let (m1, m2) = (members(&p1), members(&p2));
    let before: BTreeMap<&BTreeSet<(String, String)>, &String> =
        m1.iter().map(|(p, m)| (m, p)).collect();
    let (mut unchanged, mut renumbered) = (0, 0);
    for (person, m) in &m2 {
        if let Some(&old) = before.get(m) {
            assert_eq!(old, person, "an unchanged person got a new person_id");
            unchanged += 1;
            let rec = m.iter().next().unwrap();
            renumbered += usize::from(p1[rec].0 != p2[rec].0);
        }
    }
    // Most people are untouched by bp2mi's change; their cluster numbers moved, their ids not.
    assert!(
        unchanged * 10 >= m2.len() * 8,
        "{unchanged} of {} people unchanged",
        m2.len()
    );
    assert!(
        renumbered > 0,
        "no cluster_id moved: the test would not catch a counter"
    );
    // pairs.parquet names the left record's person, as clusters.parquet does.
    let pairs = d.path("month2").join("pairs.parquet");
    let (la, li) = (strings(&pairs, "left_agency"), strings(&pairs, "left_id"));
    let pp = strings(&pairs, "person_id");
    assert!(!pp.is_empty());
    for ((a, i), person) in la.into_iter().zip(li).zip(pp) {
        assert_eq!(
            p2[&(a, i)].1,
            person,
            "pairs.parquet person_id disagrees with clusters.parquet"
        );
    }
}
