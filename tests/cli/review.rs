//! The clerical review loop on `padan synth` data: `review export` (queue and stratified sample),
//! verdicts taken from the synthetic truth as a reviewer would give them, `link --decisions`
//! (every verdict honoured, F1 not lower, a non-match splits the cluster a chain held together),
//! `evaluate --decisions` (each band's measured precision within its interval of the true one),
//! `reveal` of a review file at an agency, and no identity in any linkage-side review output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;

use super::harness::{read_columns, test_key, Dir, AGENCIES};
use super::link::{ints, strings};
use super::plaintext::{plain_values, Searcher};

/// `padan synth --people 1000 --seed 5` in `d/sy`, each agency encoded; the encoded files.
fn synth_encoded(d: &Dir) -> Vec<PathBuf> {
    d.padan([
        "synth",
        "--out",
        d.path("sy").to_str().unwrap(),
        "--people",
        "1000",
        "--seed",
        "5",
    ])
    .ok();
    AGENCIES
        .iter()
        .map(|a| {
            let out = d.path(&format!("{a}.padan.parquet"));
            d.padan([
                "encode",
                "--key",
                test_key().to_str().unwrap(),
                "--columns",
                d.path(&format!("sy/{a}.columns.toml")).to_str().unwrap(),
                "--input",
                d.path(&format!("sy/{a}.csv")).to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--quiet",
            ])
            .ok();
            out
        })
        .collect()
}

fn link(d: &Dir, inputs: &[PathBuf], out: &str, extra: &[&str]) -> super::harness::Run {
    super::link::link(d, inputs, out, extra)
}

/// agency, record id → person, from the synthetic truth.
fn truth(path: &Path) -> BTreeMap<(String, String), String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|x| {
            let x = x.unwrap();
            ((x[0].to_string(), x[1].to_string()), x[2].to_string())
        })
        .collect()
}

/// Fills the decision column of a review CSV from the truth (a reviewer who is always right);
/// returns the decided rows: (pair id, left, right, same person).
type Decided = Vec<(String, (String, String), (String, String), bool)>;

fn decide(review: &Path, truth: &BTreeMap<(String, String), String>, out: &Path) -> Decided {
    let mut r = csv::Reader::from_path(review).unwrap();
    let head = r.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (id, la, li, ra, ri, dec, who) = (
        col("pair_id"),
        col("left_agency"),
        col("left_id"),
        col("right_agency"),
        col("right_id"),
        col("decision"),
        col("reviewer"),
    );
    let mut w = csv::Writer::from_path(out).unwrap();
    w.write_record(&head).unwrap();
    let mut decided = Vec::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let l = (rec[la].to_string(), rec[li].to_string());
        let rr = (rec[ra].to_string(), rec[ri].to_string());
        let same = truth.get(&l).is_some() && truth.get(&l) == truth.get(&rr);
        let mut row: Vec<String> = rec.iter().map(str::to_string).collect();
        row[dec] = if same { "match" } else { "non-match" }.into();
        row[who] = "truth".into();
        w.write_record(&row).unwrap();
        decided.push((rec[id].to_string(), l, rr, same));
    }
    w.flush().unwrap();
    decided
}

/// agency, record id → cluster id, from clusters.parquet.
fn clusters(ms: &Path) -> BTreeMap<(String, String), i64> {
    let f = ms.join("clusters.parquet");
    let a = strings(&f, "agency");
    let r = strings(&f, "record_id");
    let c = ints(&f, "cluster_id");
    a.into_iter().zip(r).zip(c).collect()
}

fn pairwise_f1(d: &Dir, ms: &Path, truth: &Path) -> f64 {
    let run = d
        .padan([
            "evaluate",
            ms.to_str().unwrap(),
            "--truth",
            truth.to_str().unwrap(),
            "--json",
        ])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    v["clusters"]["pairwise"]["f1"].as_f64().unwrap()
}

#[test]
fn the_review_loop_honours_every_verdict_and_does_not_lower_f1() {
    let d = Dir::new();
    let inputs = synth_encoded(&d);
    let truth_path = d.path("sy/truth.csv");
    let t = truth(&truth_path);
    link(&d, &inputs, "ms1", &[]).ok();
    let run = d
        .padan([
            "review",
            "export",
            d.path("ms1").to_str().unwrap(),
            "--out",
            d.path("queue").to_str().unwrap(),
        ])
        .ok();
    assert!(run.stdout.contains("review queue"), "{}", run.stdout);
    // The queue is every `review` pair of the run, with empty verdict columns.
    let review = d.path("queue/review.parquet");
    let decisions = strings(&d.path("ms1/pairs.parquet"), "decision");
    let queued = strings(&review, "pair_id").len();
    assert_eq!(
        queued,
        decisions.iter().filter(|x| *x == "review").count(),
        "the queue holds the review pairs"
    );
    assert!(queued >= 20, "a queue worth deciding ({queued} pairs)");
    for (name, arrays) in read_columns(&review) {
        if ["decision", "reviewer", "note"].contains(&name.as_str()) {
            assert!(arrays.iter().all(|a| a.null_count() == a.len()), "{name}");
        }
    }
    let decided = decide(&d.path("queue/review.csv"), &t, &d.path("decided.csv"));
    assert!(decided.iter().any(|x| x.3) && decided.iter().any(|x| !x.3));

    // A verdict kept from an earlier run, on a record no longer there: reported, not dropped.
    let mut text = std::fs::read_to_string(d.path("decided.csv")).unwrap();
    let gone = "kemlu,KML-GONE-1,polri,POL-GONE-2";
    let head = text.lines().next().unwrap().to_string();
    let n_cols = head.split(',').count();
    let mut extra: Vec<String> = vec![String::new(); n_cols];
    let pos = |n: &str| head.split(',').position(|h| h == n).unwrap();
    for (k, v) in ["left_agency", "left_id", "right_agency", "right_id"]
        .iter()
        .zip(gone.split(','))
    {
        extra[pos(k)] = v.to_string();
    }
    extra[pos("decision")] = "match".into();
    text.push_str(&extra.join(","));
    text.push('\n');
    std::fs::write(d.path("decided.csv"), text).unwrap();

    let run = link(
        &d,
        &inputs,
        "ms2",
        &["--decisions", d.path("decided.csv").to_str().unwrap()],
    )
    .ok();
    assert!(
        run.stderr
            .contains("1 verdict(s) name records not in this run"),
        "{}",
        run.stderr
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path("ms2/manifest.json")).unwrap())
            .unwrap();
    let dm = &m["decisions"];
    assert_eq!(dm["not_in_run"], 1);
    assert_eq!(dm["verdicts"].as_u64().unwrap() as usize, decided.len() + 1);
    assert_eq!(dm["conflicts"], 0);

    // Every verdict honoured.
    let c = clusters(&d.path("ms2"));
    for (id, l, r, same) in &decided {
        assert_eq!(c[l] == c[r], *same, "verdict on {id} not honoured");
    }
    // The verdicts are in pairs.parquet's verdict column.
    let pairs = d.path("ms2/pairs.parquet");
    let mut verdicts = 0;
    for (name, arrays) in read_columns(&pairs) {
        if name == "verdict" {
            verdicts += arrays
                .iter()
                .map(|a| a.len() - a.null_count())
                .sum::<usize>();
        }
    }
    assert_eq!(verdicts, decided.len());

    let f1_before = pairwise_f1(&d, &d.path("ms1"), &truth_path);
    let f1_after = pairwise_f1(&d, &d.path("ms2"), &truth_path);
    assert!(
        f1_after >= f1_before,
        "pairwise F1 fell from {f1_before} to {f1_after} with the verdicts"
    );
    eprintln!(
        "pairwise F1 {f1_before:.4} → {f1_after:.4} with {} verdicts",
        decided.len()
    );

    // The same verdicts by pair id only carry over the same way.
    let mut w = csv::Writer::from_path(d.path("by-id.csv")).unwrap();
    w.write_record(["pair_id", "decision"]).unwrap();
    for (id, _, _, same) in &decided {
        w.write_record([id.as_str(), if *same { "match" } else { "non-match" }])
            .unwrap();
    }
    w.flush().unwrap();
    link(
        &d,
        &inputs,
        "ms3",
        &["--decisions", d.path("by-id.csv").to_str().unwrap()],
    )
    .ok();
    assert_eq!(
        std::fs::read(d.path("ms3/clusters.parquet")).unwrap(),
        std::fs::read(d.path("ms2/clusters.parquet")).unwrap(),
        "verdicts by pair id give the clusters verdicts by record ids give"
    );
    // And from Parquet (as pandas or DuckDB would write a filled review file), in upper case.
    let ids: Vec<Option<&str>> = decided.iter().map(|x| Some(x.0.as_str())).collect();
    let words: Vec<Option<&str>> = decided
        .iter()
        .map(|x| Some(if x.3 { "MATCH" } else { "Non-Match" }))
        .collect();
    super::harness::write_parquet_extract(
        &d.path("by-id.parquet"),
        &[("pair_id", ids), ("decision", words)],
    );
    link(
        &d,
        &inputs,
        "ms4",
        &["--decisions", d.path("by-id.parquet").to_str().unwrap()],
    )
    .ok();
    assert_eq!(
        std::fs::read(d.path("ms4/clusters.parquet")).unwrap(),
        std::fs::read(d.path("ms2/clusters.parquet")).unwrap(),
        "verdicts from Parquet give the same clusters"
    );
}

#[test]
fn a_non_match_verdict_splits_the_cluster_a_chain_held_together() {
    let d = Dir::new();
    let inputs = synth_encoded(&d);
    link(&d, &inputs, "ms1", &[]).ok();
    let before = clusters(&d.path("ms1"));
    // The match edges of the run.
    let p = d.path("ms1/pairs.parquet");
    let (la, li, ra, ri, dec) = (
        strings(&p, "left_agency"),
        strings(&p, "left_id"),
        strings(&p, "right_agency"),
        strings(&p, "right_id"),
        strings(&p, "decision"),
    );
    let mut edges = BTreeSet::new();
    for i in 0..la.len() {
        if dec[i] == "match" {
            let (a, b) = (
                (la[i].clone(), li[i].clone()),
                (ra[i].clone(), ri[i].clone()),
            );
            edges.insert((a.clone(), b.clone()));
            edges.insert((b, a));
        }
    }
    let mut members: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
    for (r, c) in &before {
        members.entry(*c).or_default().push(r.clone());
    }
    // A cluster of three or more whose two records no edge joins directly: a chain holds them.
    let (cid, a, b) = members
        .iter()
        .filter(|(_, m)| m.len() >= 3)
        .find_map(|(c, m)| {
            for i in 0..m.len() {
                for j in i + 1..m.len() {
                    if !edges.contains(&(m[i].clone(), m[j].clone())) {
                        return Some((*c, m[i].clone(), m[j].clone()));
                    }
                }
            }
            None
        })
        .expect("a cluster held by a chain");
    std::fs::write(
        d.path("no.csv"),
        format!(
            "left_agency,left_id,right_agency,right_id,decision\n{},{},{},{},non-match\n",
            a.0, a.1, b.0, b.1
        ),
    )
    .unwrap();
    let run = link(
        &d,
        &inputs,
        "ms2",
        &["--decisions", d.path("no.csv").to_str().unwrap()],
    )
    .ok();
    assert!(run.stdout.contains("1 non-match"), "{}", run.stdout);
    let after = clusters(&d.path("ms2"));
    assert_ne!(after[&a], after[&b], "the two records are apart");
    // That cluster split (its records now in two or more clusters); every other one unchanged.
    let split: BTreeSet<i64> = members[&cid].iter().map(|r| after[r]).collect();
    assert!(split.len() >= 2);
    let groups = |m: &BTreeMap<(String, String), i64>| -> BTreeSet<Vec<(String, String)>> {
        let mut g: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
        for (r, c) in m {
            if !members[&cid].contains(r) {
                g.entry(*c).or_default().push(r.clone());
            }
        }
        g.into_values().collect()
    };
    assert_eq!(groups(&before), groups(&after), "no other cluster changed");
}

#[test]
fn a_400_pair_stratified_sample_measures_each_bands_precision_within_its_interval() {
    let d = Dir::new();
    let inputs = synth_encoded(&d);
    let t = truth(&d.path("sy/truth.csv"));
    link(&d, &inputs, "ms", &["--write-candidates"]).ok();
    let ms = d.path("ms");
    let export = |out: &str, n: &str, seed: &str| {
        d.padan([
            "review",
            "export",
            ms.to_str().unwrap(),
            "--out",
            d.path(out).to_str().unwrap(),
            "--sample",
            n,
            "--seed",
            seed,
        ])
        .ok()
    };
    export("sample", "400", "7");
    // The sample depends on the seed and the match set only.
    export("again", "400", "7");
    assert_eq!(
        std::fs::read(d.path("sample/review.parquet")).unwrap(),
        std::fs::read(d.path("again/review.parquet")).unwrap()
    );
    export("other", "400", "8");
    assert_ne!(
        strings(&d.path("sample/review.parquet"), "pair_id"),
        strings(&d.path("other/review.parquet"), "pair_id")
    );
    let ids = strings(&d.path("sample/review.parquet"), "pair_id");
    assert_eq!(ids.len(), 400);
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        400,
        "no pair twice"
    );

    // The truth of every band: all candidates, labelled.
    export("census", "100000000", "1");
    let census = decide(&d.path("census/review.csv"), &t, &d.path("census.csv"));
    let bands = dict_rows(&d.path("census/review.parquet"), "band");
    let mut truth_by_band: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (row, band) in census.iter().zip(&bands) {
        let e = truth_by_band.entry(band.clone()).or_default();
        e.0 += 1;
        e.1 += u64::from(row.3);
    }
    assert!(truth_by_band.len() >= 5, "{truth_by_band:?}");

    decide(&d.path("sample/review.csv"), &t, &d.path("decided.csv"));
    let run = d
        .padan([
            "evaluate",
            ms.to_str().unwrap(),
            "--decisions",
            d.path("decided.csv").to_str().unwrap(),
            "--json",
        ])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let m = &v["measured"];
    let mut checked = 0;
    for b in m["bands"].as_array().unwrap() {
        let name = b["band"].as_str().unwrap();
        let (n, k) = truth_by_band[name];
        assert_eq!(b["pairs"].as_u64().unwrap(), n, "band {name}: pairs");
        let truth_p = k as f64 / n as f64;
        let e = &b["precision"];
        let (lo, hi) = (e["lo"].as_f64().unwrap(), e["hi"].as_f64().unwrap());
        assert!(
            lo - 1e-9 <= truth_p && truth_p <= hi + 1e-9,
            "band {name}: true precision {truth_p:.3} outside the measured interval {lo:.3}–{hi:.3}"
        );
        if b["labelled"].as_u64().unwrap() < n {
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "at least three bands are sampled, not labelled in full"
    );
    // The recall from each band up, against the truth of all candidates.
    let all_true: u64 = truth_by_band.values().map(|x| x.1).sum();
    let mut above = 0u64;
    for b in m["bands"].as_array().unwrap().iter().rev() {
        above += truth_by_band[b["band"].as_str().unwrap()].1;
        let truth_r = above as f64 / all_true as f64;
        let e = &b["recall_from_here"];
        let (lo, hi) = (e["lo"].as_f64().unwrap(), e["hi"].as_f64().unwrap());
        assert!(
            lo - 1e-9 <= truth_r && truth_r <= hi + 1e-9,
            "band {}: true recall from here {truth_r:.3} outside {lo:.3}–{hi:.3}",
            b["band"]
        );
    }
    // The precision of the match decision and the recall, against the truth of all candidates.
    let m_true: (u64, u64) = m["bands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["is_match"].as_bool().unwrap())
        .map(|b| truth_by_band[b["band"].as_str().unwrap()])
        .fold((0, 0), |a, x| (a.0 + x.0, a.1 + x.1));
    for (what, truth_v) in [
        ("precision", m_true.1 as f64 / m_true.0 as f64),
        ("recall", m_true.1 as f64 / all_true as f64),
    ] {
        let e = &m[what];
        let (lo, hi) = (e["lo"].as_f64().unwrap(), e["hi"].as_f64().unwrap());
        assert!(
            lo <= truth_v && truth_v <= hi,
            "{what}: true {truth_v:.3} outside {lo:.3}–{hi:.3}"
        );
    }
    // The table says the same, next to the model's estimate.
    let run = d
        .padan([
            "evaluate",
            ms.to_str().unwrap(),
            "--decisions",
            d.path("decided.csv").to_str().unwrap(),
        ])
        .ok();
    assert!(run.stdout.contains("precision of match") && run.stdout.contains("model"));
}

#[test]
fn review_files_hold_ids_and_words_and_an_agency_reveals_its_own_side() {
    let d = Dir::new();
    let inputs = super::link::encode_all(&d);
    link(&d, &inputs, "ms", &["--write-candidates"]).ok();
    let ms = d.path("ms");
    d.padan([
        "review",
        "export",
        ms.to_str().unwrap(),
        "--out",
        d.path("q").to_str().unwrap(),
    ])
    .ok();
    // A second export into the same place would overwrite reviewers' work: refused.
    let again = d
        .padan([
            "review",
            "export",
            ms.to_str().unwrap(),
            "--out",
            d.path("q").to_str().unwrap(),
        ])
        .fails(2);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    d.padan([
        "review",
        "export",
        ms.to_str().unwrap(),
        "--out",
        d.path("s").to_str().unwrap(),
        "--sample",
        "200",
    ])
    .ok();
    // Labels are words from the model's levels (the default schema has no name token, so no
    // "exact" level for the name: its levels are Dice bands inside a shared slot).
    let labels: BTreeSet<String> = strings_dict(&d.path("s/review.parquet"), "label_name");
    assert!(labels.contains("dice ≥ 0.92"), "{labels:?}");
    assert!(labels
        .iter()
        .all(|l| l == "exact" || l == "missing" || l == "else" || l.starts_with("dice ≥ ")));
    let pair_labels = strings_dict(&ms.join("pairs.parquet"), "label_dob");
    assert!(
        pair_labels.iter().any(|l| l.starts_with("dice ≥ ")),
        "{pair_labels:?}"
    );

    // The agency's reveal: its own side next to its own extract's fields.
    let run = d
        .padan([
            "reveal",
            d.path("s/review.csv").to_str().unwrap(),
            "--agency",
            "kemlu",
            "--extract",
            super::harness::synth_extract("kemlu").to_str().unwrap(),
            "--columns",
            super::harness::synth_columns("kemlu").to_str().unwrap(),
            "--out",
            d.path("kemlu-review.csv").to_str().unwrap(),
        ])
        .ok();
    assert!(
        run.stdout.contains("keep it at the agency"),
        "{}",
        run.stdout
    );
    let mut r = csv::Reader::from_path(d.path("kemlu-review.csv")).unwrap();
    let head = r.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (own_id, own_name, other) = (col("own_record_id"), col("own_name"), col("other_agency"));
    let extract = super::harness::synth_extract("kemlu");
    let mut ex = csv::Reader::from_path(&extract).unwrap();
    let names: BTreeMap<String, String> = ex
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[0].to_string(), x[1].to_string())
        })
        .collect();
    let mut rows = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        assert_eq!(
            rec[own_name], names[&rec[own_id]],
            "own name from the extract"
        );
        let _ = &rec[other];
        rows += 1;
    }
    assert!(rows > 0);
    assert_eq!(
        col("decision"),
        head.len() - 3,
        "the verdict columns stay for the reviewer"
    );

    // No identity in the linkage side's review outputs (nor in evaluate / report with them).
    let t = truth(&super::harness::fixture("synth/truth.csv"));
    decide(&d.path("s/review.csv"), &t, &d.path("decided.csv"));
    let eval = d
        .padan([
            "evaluate",
            ms.to_str().unwrap(),
            "--decisions",
            d.path("decided.csv").to_str().unwrap(),
        ])
        .ok();
    let report = d.path("report.html");
    d.padan([
        "report",
        ms.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
        "--decisions",
        d.path("decided.csv").to_str().unwrap(),
    ])
    .ok();
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("Measured quality") && html.contains("precision of the match decision"));
    let mut needles: BTreeMap<String, String> = BTreeMap::new();
    for a in AGENCIES {
        for (n, o) in plain_values(a).needles {
            if n.len() >= 6 {
                needles.insert(n, o);
            }
        }
    }
    let searcher = Searcher::new(needles.keys().map(String::as_str));
    let hay: Vec<(&str, Vec<u8>)> = vec![
        (
            "q/review.csv",
            std::fs::read(d.path("q/review.csv")).unwrap(),
        ),
        (
            "q/review.parquet",
            std::fs::read(d.path("q/review.parquet")).unwrap(),
        ),
        (
            "s/review.csv",
            std::fs::read(d.path("s/review.csv")).unwrap(),
        ),
        (
            "pairs.parquet",
            std::fs::read(ms.join("pairs.parquet")).unwrap(),
        ),
        ("evaluate stdout", eval.stdout.into_bytes()),
        ("report", html.into_bytes()),
    ];
    let mut problems = Vec::new();
    for (where_, h) in &hay {
        for (n, at) in searcher.hits(h) {
            problems.push(format!("{n:?} ({}) in {where_} at {at}", needles[n]));
        }
    }
    assert!(
        problems.is_empty(),
        "identity in review outputs:\n{}",
        problems.join("\n")
    );
}

fn strings_dict(path: &Path, col: &str) -> BTreeSet<String> {
    dict_rows(path, col).into_iter().collect()
}

/// A string column, row by row (written dictionary-encoded; read back as plain strings, since
/// padan's files carry no embedded Arrow schema).
fn dict_rows(path: &Path, col: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (name, arrays) in read_columns(path) {
        if name != col {
            continue;
        }
        for a in arrays {
            if let Some(d) = a.as_any_dictionary_opt() {
                let values = d.values().as_string::<i32>();
                out.extend(
                    d.normalized_keys()
                        .into_iter()
                        .map(|k| values.value(k).to_string()),
                );
            } else {
                let values = a.as_string::<i32>();
                out.extend(values.iter().map(|v| v.unwrap_or_default().to_string()));
            }
        }
    }
    out
}

#[test]
fn verdicts_give_byte_identical_clusters_in_any_input_order_and_thread_count() {
    let d = Dir::new();
    let inputs = super::link::encode_all(&d);
    link(&d, &inputs, "ms", &[]).ok();
    d.padan([
        "review",
        "export",
        d.path("ms").to_str().unwrap(),
        "--out",
        d.path("q").to_str().unwrap(),
    ])
    .ok();
    let t = truth(&super::harness::fixture("synth/truth.csv"));
    let decided = decide(&d.path("q/review.csv"), &t, &d.path("decided.csv"));
    assert!(!decided.is_empty());
    let dec = d.path("decided.csv");
    let mut reversed = inputs.clone();
    reversed.reverse();
    link(
        &d,
        &inputs,
        "a",
        &["--threads", "1", "--decisions", dec.to_str().unwrap()],
    )
    .ok();
    link(
        &d,
        &reversed,
        "b",
        &["--threads", "2", "--decisions", dec.to_str().unwrap()],
    )
    .ok();
    for f in ["pairs.parquet", "clusters.parquet", "manifest.json"] {
        assert_eq!(
            std::fs::read(d.path("a").join(f)).unwrap(),
            std::fs::read(d.path("b").join(f)).unwrap(),
            "{f} differs with the inputs reversed and another thread count"
        );
    }
}

#[test]
fn bad_decisions_files_are_refused_naming_file_row_and_column_never_a_cell() {
    let d = Dir::new();
    let inputs = super::link::encode_all(&d);
    const S: &str = "SENTINEL-7f3a";
    let cases: [(&str, String, &str); 4] = [
        (
            "word.csv",
            format!("left_agency,left_id,right_agency,right_id,decision\nkemlu,{S}1,polri,{S}2,{S}\n"),
            "decision",
        ),
        (
            "id.csv",
            format!("pair_id,left_agency,left_id,right_agency,right_id,decision\n{S},kemlu,{S}1,polri,{S}2,match\n"),
            "pair_id",
        ),
        ("nocol.csv", format!("pair_id,verdict\n{S},match\n"), "decision"),
        ("noids.csv", format!("who,decision\n{S},match\n"), "pair_id"),
    ];
    for (name, text, column) in cases {
        let f = d.write(name, text);
        let run = link(&d, &inputs, "ms", &["--decisions", f.to_str().unwrap()]).fails(3);
        assert!(
            run.stderr.contains(name) && run.stderr.contains(column),
            "{name}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains(S) && !run.stdout.contains(S),
            "{name}: a cell in the message"
        );
        let eval = d.padan([
            "evaluate",
            d.path("nowhere").to_str().unwrap(),
            "--decisions",
            f.to_str().unwrap(),
        ]);
        assert!(
            !eval.stderr.contains(S),
            "{name}: a cell in evaluate's message"
        );
    }
}

#[test]
fn a_pseudonymized_agency_reveals_its_side_of_a_review_file_through_its_lookup() {
    let d = Dir::new();
    let inputs = d.encode_pseudonymized_kemlu_polri_bp2mi();
    link(&d, &inputs, "ms", &["--write-candidates"]).ok();
    d.padan([
        "review",
        "export",
        d.path("ms").to_str().unwrap(),
        "--out",
        d.path("s").to_str().unwrap(),
        "--sample",
        "300",
    ])
    .ok();
    // The review file names kemlu's records by pseudonym only.
    let extract = super::harness::synth_extract("kemlu");
    let mut ex = csv::Reader::from_path(&extract).unwrap();
    let names: BTreeMap<String, String> = ex
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[0].to_string(), x[1].to_string())
        })
        .collect();
    let review_ids: Vec<String> = strings(&d.path("s/review.parquet"), "left_id")
        .into_iter()
        .chain(strings(&d.path("s/review.parquet"), "right_id"))
        .collect();
    assert!(review_ids.iter().all(|id| !names.contains_key(id)));
    // Without its lookup the agency's reveal finds none of its records in its extract.
    let args = |out: &str, lookup: bool| {
        let mut v: Vec<String> = vec![
            "reveal".into(),
            d.path("s/review.parquet").display().to_string(),
            "--agency".into(),
            "kemlu".into(),
            "--extract".into(),
            extract.display().to_string(),
            "--columns".into(),
            super::harness::synth_columns("kemlu").display().to_string(),
            "--out".into(),
            d.path(out).display().to_string(),
        ];
        if lookup {
            v.push("--lookup".into());
            v.push(d.path("kemlu.lookup.csv").display().to_string());
        }
        v
    };
    let run = d.padan(args("plain.csv", false)).ok();
    assert!(
        run.stdout.contains("not found in the extract"),
        "{}",
        run.stdout
    );
    let run = d.padan(args("own.csv", true)).ok();
    assert!(
        !run.stdout.contains("not found in the extract"),
        "{}",
        run.stdout
    );
    let mut r = csv::Reader::from_path(d.path("own.csv")).unwrap();
    let head = r.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (own_id, own_name) = (col("own_record_id"), col("own_name"));
    let mut rows = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        assert_eq!(rec[own_name], names[&rec[own_id]]);
        rows += 1;
    }
    assert!(rows > 0, "kemlu has pairs in the sample");
}
