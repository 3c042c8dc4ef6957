//! `padan encode --decoys` and `padan reveal`: decoys are deterministic, indistinguishable in the
//! shared file and marked only in the lookup; reveal resolves the agency's own ids, drops its
//! decoys, leaves other agencies' ids alone, and refuses a wrong agency or lookup clearly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::Array;

use super::harness::{
    big_extract, check_counts, fixture, kv_metadata, kv_num, parquet_rows, read_columns,
    record_ids, rejects_of, synth_extract, Dir, AGENCIES,
};

/// A lookup file: (record_id, pseudonym, decoy).
fn read_lookup(path: &Path) -> Vec<(String, String, bool)> {
    let mut r = csv::Reader::from_path(path).expect("the lookup file");
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["record_id", "pseudonym", "decoy"]
    );
    r.records()
        .map(|x| {
            let x = x.unwrap();
            (x[0].to_string(), x[1].to_string(), &x[2] == "true")
        })
        .collect()
}

fn column(path: &Path, name: &str) -> Vec<std::sync::Arc<dyn Array>> {
    read_columns(path)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no column {name} in {}", path.display()))
        .1
}

fn strs(path: &Path, name: &str) -> Vec<Option<String>> {
    column(path, name)
        .iter()
        .flat_map(|a| {
            a.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn ints(path: &Path, name: &str) -> Vec<i64> {
    column(path, name)
        .iter()
        .flat_map(|a| a.as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

fn floats(path: &Path, name: &str) -> Vec<Option<f64>> {
    column(path, name)
        .iter()
        .flat_map(|a| a.as_primitive::<Float64Type>().iter().collect::<Vec<_>>())
        .collect()
}

#[test]
fn decoys_are_deterministic_indistinguishable_and_only_in_the_lookup() {
    let d = Dir::new();
    let (input, n_rows) = big_extract(&d);
    let cols = super::harness::synth_columns("bp2mi").display().to_string();
    let run = |out: &str, extra: &[&str]| {
        let lookup = format!("{out}.lookup.csv");
        let mut args = vec![
            "--columns",
            cols.as_str(),
            "--pseudonymize-ids",
            "--lookup",
            lookup.as_str(),
        ];
        args.extend_from_slice(extra);
        d.encode(&input, out, &args).ok();
        (d.path(out), d.path(&lookup))
    };
    let (t1, l1) = run("t1.padan.parquet", &["--decoys", "0.1", "--threads", "1"]);
    let (t2, l2) = run("t2.padan.parquet", &["--decoys", "0.1", "--threads", "2"]);
    let (b37, l37) = run(
        "b37.padan.parquet",
        &["--decoys", "0.1", "--batch-rows", "37"],
    );
    let (plain, _) = run("plain.padan.parquet", &[]);
    assert!(
        std::fs::read(&t1).unwrap() == std::fs::read(&t2).unwrap(),
        "encoded files differ"
    );
    assert_eq!(std::fs::read(&l1).unwrap(), std::fs::read(&l2).unwrap());
    assert_eq!(
        std::fs::read(rejects_of(&t1)).unwrap(),
        std::fs::read(rejects_of(&t2)).unwrap()
    );
    // Positions and contents do not depend on batch boundaries either.
    assert!(std::fs::read(&t1).unwrap() == std::fs::read(&b37).unwrap());
    assert_eq!(std::fs::read(&l1).unwrap(), std::fs::read(&l37).unwrap());

    // The rejects file (the agency's own rows) is the one of the run without decoys.
    assert_eq!(
        std::fs::read(rejects_of(&t1)).unwrap(),
        std::fs::read(rejects_of(&plain)).unwrap()
    );

    let lookup = read_lookup(&l1);
    let ids = record_ids(&t1);
    let decoys: Vec<usize> = (0..lookup.len()).filter(|&i| lookup[i].2).collect();
    let real_encoded = parquet_rows(&plain) as usize;
    assert_eq!(ids.len(), real_encoded + decoys.len());
    assert_eq!(lookup.len(), ids.len(), "one lookup line per encoded row");
    assert_eq!(
        lookup.iter().map(|l| l.1.clone()).collect::<Vec<_>>(),
        ids,
        "the lookup is in file order"
    );
    // About 10 % extra rows, spread through the file (not appended at the end).
    let rate = decoys.len() as f64 / n_rows as f64;
    assert!((0.07..0.13).contains(&rate), "decoy rate {rate}");
    assert!(decoys[0] < ids.len() / 10 && *decoys.last().unwrap() > ids.len() * 9 / 10);
    // Real rows keep their pseudonyms and their order.
    let real: Vec<&String> = (0..ids.len())
        .filter(|i| !lookup[*i].2)
        .map(|i| &ids[i])
        .collect();
    assert_eq!(real, record_ids(&plain).iter().collect::<Vec<_>>());
    // Decoy pseudonyms look like the others; decoys have no record id in the lookup.
    let len = ids[0].len();
    assert!(ids.iter().all(|i| i.starts_with("ps-") && i.len() == len));
    assert!(decoys.iter().all(|&i| lookup[i].0.is_empty()));
    assert!(lookup.iter().filter(|l| !l.2).all(|l| !l.0.is_empty()));
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());

    // Metadata: counts include decoys, nothing names them.
    let (read, encoded, rejected) = check_counts(&t1);
    assert_eq!(encoded as usize, ids.len());
    assert_eq!(read, encoded + rejected);
    assert_eq!(read as usize, n_rows + decoys.len());
    let kv = kv_metadata(&t1);
    let plain_kv = kv_metadata(&plain);
    assert_eq!(
        kv.keys().collect::<Vec<_>>(),
        plain_kv.keys().collect::<Vec<_>>()
    );
    for (k, v) in &kv {
        assert!(
            !v.to_lowercase().contains("decoy"),
            "{k} mentions decoys: {v}"
        );
    }
    assert_eq!(
        kv_num(&kv, "padan.rows_rejected"),
        kv_num(&plain_kv, "padan.rows_rejected")
    );
}

#[test]
fn decoys_need_pseudonyms_and_a_sane_fraction() {
    let d = Dir::new();
    let r = d
        .encode_synth("kemlu", "a.padan.parquet", &["--decoys", "0.05"])
        .fails(2);
    assert!(r.stderr.contains("pseudonymize-ids"), "{}", r.stderr);
    for bad in [
        "--decoys=0",
        "--decoys=1.5",
        "--decoys=-0.1",
        "--decoys=NaN",
    ] {
        let r = d
            .encode_synth(
                "kemlu",
                "a.padan.parquet",
                &["--pseudonymize-ids", "--lookup", "l.csv", bad],
            )
            .fails(2);
        assert!(r.stderr.contains("--decoys"), "{}", r.stderr);
    }
    assert!(!d.path("a.padan.parquet").exists());
}

/// Encodes every synthetic agency with pseudonyms (and decoys at `fraction`) and links them.
fn encode_and_link(d: &Dir, fraction: &str) -> PathBuf {
    let mut inputs = Vec::new();
    for a in AGENCIES {
        let out = format!("{a}.padan.parquet");
        let lookup = format!("{a}.lookup.csv");
        d.encode_synth(
            a,
            &out,
            &[
                "--pseudonymize-ids",
                "--lookup",
                &lookup,
                "--decoys",
                fraction,
            ],
        )
        .ok();
        inputs.push(d.path(&out).display().to_string());
    }
    let mut args = vec!["link".to_string(), "--out".into(), "ms".into()];
    args.extend(inputs);
    d.padan(&args).ok();
    d.path("ms")
}

#[test]
fn reveal_resolves_own_ids_drops_decoys_and_leaves_other_agencies_alone() {
    let d = Dir::new();
    let ms = encode_and_link(&d, "0.3");
    let agency = "kemlu";
    let lookup_path = d.path("kemlu.lookup.csv");
    let run = d
        .padan([
            "reveal",
            ms.to_str().unwrap(),
            "--agency",
            agency,
            "--lookup",
            lookup_path.to_str().unwrap(),
        ])
        .ok();
    assert!(run.stdout.contains("decoys dropped"), "{}", run.stdout);
    let out = ms.join("revealed-kemlu.parquet");
    let lookup = read_lookup(&lookup_path);
    let own_ids: BTreeMap<&str, &str> = lookup
        .iter()
        .filter(|l| !l.2)
        .map(|l| (l.1.as_str(), l.0.as_str()))
        .collect();
    let decoys: BTreeSet<&str> = lookup
        .iter()
        .filter(|l| l.2)
        .map(|l| l.1.as_str())
        .collect();
    assert!(decoys.len() > 10, "{} decoys", decoys.len());

    // The match set as the linkage unit wrote it.
    let c = ms.join("clusters.parquet");
    let (c_cid, c_agency, c_id) = (
        ints(&c, "cluster_id"),
        strs(&c, "agency"),
        strs(&c, "record_id"),
    );
    let mut members: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
    for i in 0..c_cid.len() {
        members
            .entry(c_cid[i])
            .or_default()
            .push((c_agency[i].clone().unwrap(), c_id[i].clone().unwrap()));
    }
    let all_ids: BTreeSet<(String, String)> = members.values().flatten().cloned().collect();
    let decoys_in_ms = all_ids
        .iter()
        .filter(|(a, id)| a == agency && decoys.contains(id.as_str()))
        .count();
    assert!(decoys_in_ms > 10, "{decoys_in_ms}");

    let own = strs(&out, "own_record_id");
    let cid = ints(&out, "cluster_id");
    let size = ints(&out, "cluster_size");
    let oa = strs(&out, "other_agency");
    let oid = strs(&out, "other_record_id");
    let prob = floats(&out, "match_probability");
    let kv = kv_metadata(&out);
    assert_eq!(kv["padan.format"], "revealed");
    assert_eq!(kv["padan.agency"], agency);

    // Own ids resolved: every real kemlu record of the match set once or more, no pseudonym.
    let own_set: BTreeSet<String> = own.iter().map(|o| o.clone().unwrap()).collect();
    let want: BTreeSet<String> = all_ids
        .iter()
        .filter(|(a, _)| a == agency)
        .filter_map(|(_, id)| own_ids.get(id.as_str()).map(|s| s.to_string()))
        .collect();
    assert_eq!(own_set, want);
    assert!(own_set.iter().all(|o| o.starts_with("KML-")), "{own_set:?}");
    for i in 0..own.len() {
        let Some(other_agency) = &oa[i] else {
            assert!(oid[i].is_none() && prob[i].is_none());
            continue;
        };
        let other = oid[i].as_deref().unwrap();
        assert!(!decoys.contains(other), "a decoy is still in the output");
        if other_agency == agency {
            assert!(other.starts_with("KML-"), "own other id not resolved");
        } else {
            // Other agencies' ids exactly as in the match set.
            assert!(
                all_ids.contains(&(other_agency.clone(), other.to_string())),
                "other id changed"
            );
            assert!(other.starts_with("ps-"));
        }
    }
    // Cluster sizes are recomputed without this agency's decoys.
    let mut saw_shrunk = false;
    for i in 0..own.len() {
        let m = &members[&cid[i]];
        let without = m
            .iter()
            .filter(|(a, id)| !(a == agency && decoys.contains(id.as_str())))
            .count() as i64;
        assert_eq!(size[i], without, "cluster {}", cid[i]);
        saw_shrunk |= (m.len() as i64) != without;
    }
    // Every pair between a real kemlu record and another real record is in the output.
    let p = ms.join("pairs.parquet");
    let (la, li, ra, ri) = (
        strs(&p, "left_agency"),
        strs(&p, "left_id"),
        strs(&p, "right_agency"),
        strs(&p, "right_id"),
    );
    let pprob = floats(&p, "match_probability");
    let rows: BTreeSet<(String, String, String, u64)> = (0..own.len())
        .filter(|&i| oa[i].is_some() && prob[i].is_some())
        .map(|i| {
            (
                own[i].clone().unwrap(),
                oa[i].clone().unwrap(),
                oid[i].clone().unwrap(),
                prob[i].unwrap().to_bits(),
            )
        })
        .collect();
    let mut checked = 0;
    let mut dropped = 0;
    for i in 0..la.len() {
        let (l_a, l_i, r_a, r_i) = (
            la[i].as_deref().unwrap(),
            li[i].as_deref().unwrap(),
            ra[i].as_deref().unwrap(),
            ri[i].as_deref().unwrap(),
        );
        let resolve = |a: &str, id: &str| {
            if a == agency {
                own_ids.get(id).map(|s| s.to_string())
            } else {
                Some(id.to_string())
            }
        };
        if l_a != agency && r_a != agency {
            continue;
        }
        let (Some(l), Some(r)) = (resolve(l_a, l_i), resolve(r_a, r_i)) else {
            dropped += 1;
            continue;
        };
        let bits = pprob[i].unwrap().to_bits();
        if l_a == agency {
            assert!(rows.contains(&(l.clone(), r_a.to_string(), r.clone(), bits)));
        }
        if r_a == agency {
            assert!(rows.contains(&(r, l_a.to_string(), l, bits)));
        }
        checked += 1;
    }
    assert!(checked > 20, "{checked} pairs checked");
    let counts: serde_json::Value = serde_json::from_str(&kv["padan.counts"]).unwrap();
    assert_eq!(counts["pairs_dropped"], dropped);
    assert_eq!(counts["decoys_dropped"], decoys_in_ms as u64);
    eprintln!("pairs with a decoy dropped: {dropped}; clusters shrunk: {saw_shrunk}");

    // Deterministic, and --out is honoured.
    let again = d.path("again.parquet");
    d.padan([
        "reveal",
        ms.to_str().unwrap(),
        "--agency",
        agency,
        "--lookup",
        lookup_path.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--quiet",
    ])
    .ok();
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&again).unwrap());

    // evaluate --lookup: decoys become persons of their own; without lookups nothing is evaluated.
    let truth = fixture("synth/truth.csv");
    let mut args: Vec<String> = vec![
        "evaluate".into(),
        ms.display().to_string(),
        "--truth".into(),
        truth.display().to_string(),
        "--json".into(),
    ];
    d.padan(&args).fails(4);
    let mut all_but_last = args.clone();
    for a in &AGENCIES[..AGENCIES.len() - 1] {
        all_but_last.push("--lookup".into());
        all_but_last.push(format!(
            "{a}={}",
            d.path(&format!("{a}.lookup.csv")).display()
        ));
    }
    // One pseudonymized agency without its lookup: evaluated without it, and told why.
    let last = AGENCIES[AGENCIES.len() - 1];
    let partial: serde_json::Value =
        serde_json::from_str(&d.padan(&all_but_last).ok().stdout).unwrap();
    let warnings = partial["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0].as_str().unwrap();
    assert!(
        w.contains(&format!("agency '{last}'")) && w.contains("--lookup"),
        "{w}"
    );
    all_but_last.retain(|a| a != "--json");
    let table = d.padan(&all_but_last).ok().stdout;
    assert!(table.contains("warning: none of the"), "{table}");
    for a in AGENCIES {
        args.push("--lookup".into());
        args.push(format!(
            "{a}={}",
            d.path(&format!("{a}.lookup.csv")).display()
        ));
    }
    let ev: serde_json::Value = serde_json::from_str(&d.padan(&args).ok().stdout).unwrap();
    let all_decoys: usize = AGENCIES
        .iter()
        .map(|a| {
            read_lookup(&d.path(&format!("{a}.lookup.csv")))
                .iter()
                .filter(|l| l.2)
                .count()
        })
        .sum();
    assert_eq!(ev["records"]["decoys"], all_decoys as u64);
    assert_eq!(ev["warnings"].as_array().unwrap().len(), 0, "{ev}");
    assert_eq!(ev["records"]["match_set_not_in_truth"], 0);
    let f1 = ev["clusters"]["pairwise"]["f1"].as_f64().unwrap();
    assert!(f1 > 0.8, "pairwise F1 with decoys {f1}");
}

#[test]
fn reveal_refuses_a_wrong_agency_or_lookup() {
    let d = Dir::new();
    let ms = encode_and_link(&d, "0.1");
    let ms_s = ms.to_str().unwrap();
    let reveal = |agency: &str, lookup: &Path| {
        d.padan([
            "reveal",
            ms_s,
            "--agency",
            agency,
            "--lookup",
            lookup.to_str().unwrap(),
        ])
    };
    let r = reveal("kemenlu", &d.path("kemlu.lookup.csv")).fails(2);
    assert!(
        r.stderr.contains("'kemenlu'") && r.stderr.contains("kemlu, "),
        "{}",
        r.stderr
    );
    // Another agency's lookup.
    let r = reveal("kemlu", &d.path("polri.lookup.csv")).fails(3);
    assert!(
        r.stderr.contains("polri.lookup.csv") && r.stderr.contains("not the lookup"),
        "{}",
        r.stderr
    );
    // A lookup that misses one record: named by file, row and column, never by value.
    let text = std::fs::read_to_string(d.path("kemlu.lookup.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let gone = lines.remove(5).split(',').nth(1).unwrap().to_string();
    d.write("short.csv", lines.join("\n") + "\n");
    let r = reveal("kemlu", &d.path("short.csv")).fails(3);
    assert!(
        r.stderr.contains("short.csv") && r.stderr.contains("clusters.parquet"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(&gone));
    // Not a lookup at all; a missing lookup file.
    let r = reveal("kemlu", &super::harness::test_key()).fails(3);
    assert!(r.stderr.contains("record_id,pseudonym"), "{}", r.stderr);
    reveal("kemlu", &d.path("nope.csv")).fails(5);
    assert!(!ms.join("revealed-kemlu.parquet").exists());
    // An old two-column lookup (no decoys) is still read.
    let two: String = text
        .lines()
        .filter(|l| !l.ends_with(",true"))
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect();
    d.write("two.csv", two);
    let r = reveal("kemlu", &d.path("two.csv")).fails(3);
    // ... and without the decoy column, this agency's decoys are unknown pseudonyms: refused.
    assert!(r.stderr.contains("two.csv"), "{}", r.stderr);
}

#[test]
fn reveal_reads_a_lookup_without_decoys() {
    // Pseudonyms without decoys: the two-column lookup of earlier padan versions.
    let d = Dir::new();
    let mut args = vec!["link".to_string(), "--out".into(), "ms".into()];
    for a in ["kemlu", "polri"] {
        let out = format!("{a}.padan.parquet");
        let lookup = format!("{a}.lookup.csv");
        d.encode_synth(a, &out, &["--pseudonymize-ids", "--lookup", &lookup])
            .ok();
        args.push(d.path(&out).display().to_string());
    }
    d.padan(&args).ok();
    let header = std::fs::read_to_string(d.path("polri.lookup.csv")).unwrap();
    assert!(header.starts_with("record_id,pseudonym\n"));
    let run = d
        .padan([
            "reveal",
            "ms",
            "--agency",
            "polri",
            "--lookup",
            "polri.lookup.csv",
        ])
        .ok();
    assert!(run.stdout.contains("0 decoys dropped"), "{}", run.stdout);
    let out = d.path("ms/revealed-polri.parquet");
    let own: BTreeSet<String> = strs(&out, "own_record_id")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(
        own.len() as u64,
        parquet_rows(&d.path("polri.padan.parquet"))
    );
    let extract = std::fs::read_to_string(synth_extract("polri")).unwrap();
    let ids: BTreeSet<String> = extract
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert!(own.is_subset(&ids));
    // Linked kemlu records are kemlu's pseudonyms, unchanged.
    let other = strs(&out, "other_record_id");
    let oa = strs(&out, "other_agency");
    let kemlu_ids: BTreeSet<String> = record_ids(&d.path("kemlu.padan.parquet"))
        .into_iter()
        .collect();
    let mut n = 0;
    for (a, o) in oa.iter().zip(&other) {
        if a.as_deref() == Some("kemlu") {
            assert!(kemlu_ids.contains(o.as_deref().unwrap()));
            n += 1;
        }
    }
    assert!(n > 10, "{n} links to kemlu");
}
