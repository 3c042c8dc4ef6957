//! `padan link --previous`: a month's extracts linked against last month's match set give the
//! clusters of a full run (within the pinned, documented difference), keep the person_ids of
//! unchanged people, and say in changes.parquet who is new, merged, split, shrunk or removed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::Array;

use super::harness::{read_columns, synth_columns, synth_extract, Dir};
use super::link::{encode_all, ints, link, strings};

type Rec = (String, String);

/// (agency, record_id) → person_id of a match set.
fn people(ms: &Path) -> BTreeMap<Rec, String> {
    let c = ms.join("clusters.parquet");
    strings(&c, "agency")
        .into_iter()
        .zip(strings(&c, "record_id"))
        .zip(strings(&c, "person_id"))
        .collect()
}

/// Members of each person.
fn members(p: &BTreeMap<Rec, String>) -> BTreeMap<String, BTreeSet<Rec>> {
    let mut out: BTreeMap<String, BTreeSet<Rec>> = BTreeMap::new();
    for (r, person) in p {
        out.entry(person.clone()).or_default().insert(r.clone());
    }
    out
}

/// The partition of the records into clusters, as sets of records.
fn partition(ms: &Path) -> BTreeSet<BTreeSet<Rec>> {
    members(&people(ms)).into_values().collect()
}

/// One row of changes.parquet.
#[derive(Debug, Clone)]
struct Row {
    person: Option<String>,
    change: String,
    previous: Option<String>,
    previous_all: Vec<String>,
    records: i64,
    dropped: i64,
}

fn changes(ms: &Path) -> Vec<Row> {
    let path = ms.join("changes.parquet");
    let mut cols: BTreeMap<String, Vec<arrow_array::ArrayRef>> = BTreeMap::new();
    for (name, arrays) in read_columns(&path) {
        cols.insert(name, arrays);
    }
    let opt_strings = |name: &str| -> Vec<Option<String>> {
        cols[name]
            .iter()
            .flat_map(|a| {
                a.as_string::<i32>()
                    .iter()
                    .map(|v| v.map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let lists: Vec<Vec<String>> = cols["previous_person_ids"]
        .iter()
        .flat_map(|a| {
            let l = a.as_list::<i32>();
            (0..l.len())
                .map(|i| {
                    let v = l.value(i);
                    v.as_string::<i32>()
                        .iter()
                        .map(|s| s.unwrap().to_string())
                        .collect()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let person = opt_strings("person_id");
    let change = opt_strings("change");
    let previous = opt_strings("previous_person_id");
    let records = ints(&path, "records");
    let dropped = ints(&path, "records_dropped");
    (0..person.len())
        .map(|i| Row {
            person: person[i].clone(),
            change: change[i].clone().unwrap(),
            previous: previous[i].clone(),
            previous_all: lists[i].clone(),
            records: records[i],
            dropped: dropped[i],
        })
        .collect()
}

fn manifest(ms: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(ms.join("manifest.json")).unwrap()).unwrap()
}

/// Encodes `agency`'s synthetic extract keeping the data rows `keep(i)` (0-based) as `out`.
fn encode_rows(d: &Dir, agency: &str, out: &str, keep: impl Fn(usize) -> bool) -> PathBuf {
    encode_rows_with(d, agency, out, keep, &[])
}

/// [`encode_rows`] with more encode flags (e.g. `--schema`).
fn encode_rows_with(
    d: &Dir,
    agency: &str,
    out: &str,
    keep: impl Fn(usize) -> bool,
    extra: &[&str],
) -> PathBuf {
    let csv = std::fs::read_to_string(synth_extract(agency)).unwrap();
    let mut lines = csv.lines();
    let mut kept = vec![lines.next().unwrap()];
    kept.extend(lines.enumerate().filter(|(i, _)| keep(*i)).map(|(_, l)| l));
    let extract = d.write(&format!("{out}.csv"), kept.join("\n") + "\n");
    let cols = synth_columns(agency).display().to_string();
    let mut args = vec!["--columns", cols.as_str()];
    args.extend_from_slice(extra);
    d.encode(&extract, out, &args).ok();
    d.path(out)
}

fn replace(inputs: &[PathBuf], agency: &str, with: &Path) -> Vec<PathBuf> {
    inputs
        .iter()
        .map(|p| {
            if p.ends_with(format!("{agency}.padan.parquet")) {
                with.to_path_buf()
            } else {
                p.clone()
            }
        })
        .collect()
}

fn previous_args(d: &Dir, prev: &str) -> Vec<String> {
    vec!["--previous".into(), d.path(prev).display().to_string()]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A link config whose match threshold is `match_probability`, with review pairs never joining
/// clusters (only the match pairs make the persons).
fn strict_config(d: &Dir, name: &str, match_probability: f64) -> String {
    let toml = format!(
        "[thresholds]\nmatch_probability = {match_probability}\n[resolution]\nreview_support = 0\n"
    );
    d.write(name, toml).display().to_string()
}

/// Records of a partition whose cluster differs between the two partitions.
fn records_in_differing_clusters(
    a: &BTreeSet<BTreeSet<Rec>>,
    b: &BTreeSet<BTreeSet<Rec>>,
) -> usize {
    a.symmetric_difference(b).map(BTreeSet::len).sum::<usize>()
}

#[test]
fn a_month_linked_incrementally_gives_the_clusters_of_a_full_run() {
    // The default (salt-slot) schema: the incremental run scores new pairs with month 1's slot
    // model, the full run refits it on both months; 22 of the 1,444 records land in clusters
    // that differ when measured.
    month_linked_incrementally(&[], 30);
}

#[test]
fn a_month_linked_incrementally_gives_the_clusters_of_a_full_run_with_the_v3_schema() {
    // Per-field weights reused (the version-3 schema): 22 of the 1,444 records land in clusters
    // that differ (none did before the low name and date levels and the name's frequency bands:
    // more levels give month 1's fit and the full refit more to differ on; with the old levels
    // and the bands, 4).
    let d = Dir::new();
    let v3 = d.write("v3.toml", padan::schema::V3_SCHEMA_TOML);
    month_linked_incrementally(&["--schema", v3.to_str().unwrap()], 30);
}

/// Month 1 (BP2MI's first half) linked in full, month 2 linked with `--previous`, against a full
/// run of month 2: at most `max_differ` records in clusters that differ.
fn month_linked_incrementally(schema: &[&str], max_differ: usize) {
    let d = Dir::new();
    let all: Vec<PathBuf> = super::harness::AGENCIES
        .iter()
        .map(|a| {
            let out = format!("{a}.padan.parquet");
            d.encode_synth(a, &out, schema).ok();
            d.path(&out)
        })
        .collect();
    // BP2MI's extract, split: month 1 holds its first half; month 2's extract is the whole file
    // (month 1's rows, unchanged, and the new ones), as an agency re-sends its register.
    let n_bp2mi = std::fs::read_to_string(synth_extract("bp2mi"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let half = encode_rows_with(
        &d,
        "bp2mi",
        "bp2mi-m1.padan.parquet",
        |i| i < n_bp2mi / 2,
        schema,
    );
    let month1 = replace(&all, "bp2mi", &half);
    link(&d, &month1, "m1", &[]).ok();
    let prev = previous_args(&d, "m1");
    let run = link(&d, &all, "inc", &args(&prev)).ok();
    assert!(run.stdout.contains("changes.parquet"), "{}", run.stdout);
    link(&d, &all, "full", &[]).ok();

    let m = manifest(&d.path("inc"));
    let p = &m["previous"];
    assert_eq!(p["model"], "reused");
    assert_eq!(p["records_added"], (n_bp2mi - n_bp2mi / 2) as u64);
    assert_eq!(p["records_changed"], 0);
    assert_eq!(p["records_dropped"], 0);
    assert_eq!(p["unchanged_inputs"].as_array().unwrap().len(), 6);
    assert!(p["pairs_carried"].as_u64().unwrap() > 0);
    // Only pairs with a new record were compared: far fewer than a full run compares.
    let full_candidates = manifest(&d.path("full"))["counts"]["candidates"]
        .as_u64()
        .unwrap();
    let compared = p["pairs_compared"].as_u64().unwrap();
    assert!(
        compared > 0 && compared < full_candidates,
        "compared {compared} of {full_candidates}"
    );
    // The audit chain: the previous manifest by hash.
    let prev_manifest = std::fs::read(d.path("m1").join("manifest.json")).unwrap();
    assert_eq!(
        p["manifest_blake3"].as_str().unwrap(),
        blake3::hash(&prev_manifest).to_hex().as_str()
    );

    // Clusters: the incremental run against the full one. They may differ only through the
    // model (the incremental run scores with month 1's, the full run refits on both months) and
    // the pair budgets (docs/file-formats.md, "Incremental runs"); this pins how much.
    let (inc, full) = (partition(&d.path("inc")), partition(&d.path("full")));
    let records: usize = full.iter().map(BTreeSet::len).sum();
    let differ = records_in_differing_clusters(&inc, &full);
    assert!(
        differ <= max_differ,
        "{differ} of {records} records are in clusters that differ from the full run"
    );
    // The report says what changed since the last run, in counts and per agency.
    let html = d.path("report.html");
    d.padan([
        "report",
        d.path("inc").to_str().unwrap(),
        "--out",
        html.to_str().unwrap(),
    ])
    .ok();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Since the last run") && page.contains("new people"));
    assert!(page.contains(p["manifest_blake3"].as_str().unwrap()));
    assert!(!page.contains("Not an incremental run"));
    // With --refit the incremental run is the full run: the same clusters exactly, and the same
    // pairs file byte for byte but for the carried person ids.
    link(
        &d,
        &all,
        "refit",
        &args(&[prev.clone(), vec!["--refit".into()]].concat()),
    )
    .ok();
    assert_eq!(partition(&d.path("refit")), full);
    assert_eq!(manifest(&d.path("refit"))["previous"]["model"], "refit");

    // Linking again with nothing changed compares nothing and changes nothing.
    let again = previous_args(&d, "inc");
    link(&d, &all, "again", &args(&again)).ok();
    let m = manifest(&d.path("again"));
    assert_eq!(m["previous"]["pairs_compared"], 0);
    assert_eq!(people(&d.path("again")), people(&d.path("inc")));
    assert!(changes(&d.path("again"))
        .iter()
        .all(|r| r.change == "unchanged"));
}

#[test]
fn unchanged_people_keep_their_person_ids_and_new_ones_are_new() {
    let d = Dir::new();
    let all = encode_all(&d);
    let n = std::fs::read_to_string(synth_extract("kemlu"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let part = encode_rows(&d, "kemlu", "kemlu-m1.padan.parquet", |i| i < n - 40);
    link(&d, &replace(&all, "kemlu", &part), "m1", &[]).ok();
    link(&d, &all, "m2", &args(&previous_args(&d, "m1"))).ok();
    let (p1, p2) = (people(&d.path("m1")), people(&d.path("m2")));
    let (m1, m2) = (members(&p1), members(&p2));
    let rows = changes(&d.path("m2"));
    let by_person: BTreeMap<&str, &Row> = rows
        .iter()
        .filter_map(|r| r.person.as_deref().map(|p| (p, r)))
        .collect();
    assert_eq!(by_person.len(), m2.len(), "one changes row per person");
    let mut unchanged = 0;
    for (person, m) in &m2 {
        let row = by_person[person.as_str()];
        assert_eq!(row.records as usize, m.len());
        match m1.get(person) {
            // Same id, same members: unchanged; same id, more members: grown.
            Some(old) if old == m => {
                assert_eq!(row.change, "unchanged", "{person}");
                unchanged += 1;
            }
            // More members: grown when they are all new to month 2, merged when some were
            // another person's in month 1.
            Some(old) if old.is_subset(m) => {
                let from_others = m.difference(old).any(|r| p1.contains_key(r));
                let want = if from_others { "merged" } else { "grown" };
                assert_eq!(row.change, want, "{person}");
            }
            Some(_) => assert!(["merged", "split"].contains(&row.change.as_str())),
            None => {
                // A new id: nothing of it was in month 1, or a part split off.
                let known = m.iter().filter(|r| p1.contains_key(*r)).count();
                if known == 0 {
                    assert_eq!(row.change, "new", "{person}");
                    assert!(row.previous.is_none() && row.previous_all.is_empty());
                } else {
                    assert!(["split", "merged"].contains(&row.change.as_str()));
                }
            }
        }
    }
    assert!(
        unchanged * 10 >= m2.len() * 8,
        "{unchanged} of {}",
        m2.len()
    );
    assert!(rows.iter().any(|r| r.change == "new"), "no new person");
    // Every person whose records did not change keeps its id.
    let before: BTreeMap<&BTreeSet<Rec>, &String> = m1.iter().map(|(p, m)| (m, p)).collect();
    for (person, m) in &m2 {
        if let Some(&old) = before.get(m) {
            assert_eq!(old, person);
        }
    }
}

#[test]
fn merges_and_splits_show_in_changes_parquet() {
    let d = Dir::new();
    let all = encode_all(&d);
    // Month 1 decides with a strict match threshold; month 2, same files, with the default one:
    // review pairs become matches and merge month 1's persons. Then back: they split.
    let strict = strict_config(&d, "strict.toml", 0.999_999);
    link(&d, &all, "strict", &["--config", &strict]).ok();
    // The default threshold, with the same resolution as month 1 (a [resolution] change needs
    // --refit).
    let loose = d
        .write("loose.toml", "[resolution]\nreview_support = 0\n")
        .display()
        .to_string();
    let mut month2 = previous_args(&d, "strict");
    month2.extend(["--config".to_string(), loose]);
    link(&d, &all, "loose", &args(&month2)).ok();
    let mut back = previous_args(&d, "loose");
    back.extend(["--config".to_string(), strict.clone()]);
    link(&d, &all, "back", &args(&back)).ok();

    let (strict_p, loose_p, back_p) = (
        people(&d.path("strict")),
        people(&d.path("loose")),
        people(&d.path("back")),
    );
    let strict_m = members(&strict_p);
    let loose_m = members(&loose_p);

    // Merges: each merged person holds every record of each previous person it lists, and the
    // previous persons listed are exactly those its records came from.
    let rows = changes(&d.path("loose"));
    let merged: Vec<&Row> = rows.iter().filter(|r| r.change == "merged").collect();
    assert!(!merged.is_empty(), "a looser threshold merged nobody");
    for r in &merged {
        let now = &loose_m[r.person.as_ref().unwrap()];
        let from: BTreeSet<&String> = now.iter().map(|rec| &strict_p[rec]).collect();
        assert_eq!(
            from,
            r.previous_all.iter().collect(),
            "previous_person_ids of a merge"
        );
        assert!(r.previous_all.len() >= 2);
        // It keeps one of their ids: the one with the most records.
        let kept = r.previous.as_ref().unwrap();
        assert_eq!(r.person.as_ref(), Some(kept));
        for p in &r.previous_all {
            assert!(strict_m[p].is_subset(now));
            assert!(strict_m[p].len() <= strict_m[kept].len());
        }
    }
    assert!(rows.iter().all(|r| r.change != "split"));

    // Splits: back to the strict threshold, the merged persons come apart as in month 1.
    let rows = changes(&d.path("back"));
    let split: Vec<&Row> = rows.iter().filter(|r| r.change == "split").collect();
    assert!(!split.is_empty(), "a stricter threshold split nobody");
    assert_eq!(partition(&d.path("back")), partition(&d.path("strict")));
    for r in &split {
        let prev = r.previous.as_ref().unwrap();
        let before = &loose_m[prev];
        let now = members(&back_p)[r.person.as_ref().unwrap()].clone();
        assert!(now.is_subset(before) && now.len() < before.len());
    }
    // The part with the most records keeps the merged id; the others get new ids.
    let by_prev: BTreeMap<&String, Vec<&&Row>> = split.iter().fold(BTreeMap::new(), |mut m, r| {
        m.entry(r.previous.as_ref().unwrap()).or_default().push(r);
        m
    });
    for (prev, parts) in by_prev {
        assert!(parts.len() >= 2);
        let keeper = parts
            .iter()
            .filter(|r| r.person.as_ref() == Some(prev))
            .count();
        assert_eq!(keeper, 1, "one part keeps {prev}");
    }
}

#[test]
fn a_replacement_extract_that_drops_records_shows_them_leaving() {
    let d = Dir::new();
    let all = encode_all(&d);
    link(&d, &all, "m1", &[]).ok();
    let n = std::fs::read_to_string(synth_extract("polri"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let fewer = encode_rows(&d, "polri", "polri-m2.padan.parquet", |i| i % 5 != 0);
    let dropped = (0..n).filter(|i| i % 5 == 0).count();
    link(
        &d,
        &replace(&all, "polri", &fewer),
        "m2",
        &args(&previous_args(&d, "m1")),
    )
    .ok();
    let m = manifest(&d.path("m2"));
    assert_eq!(m["previous"]["records_dropped"], dropped as u64);
    assert_eq!(m["previous"]["records_added"], 0);
    assert_eq!(m["previous"]["pairs_compared"], 0);
    let rows = changes(&d.path("m2"));
    let p1 = people(&d.path("m1"));
    let m1 = members(&p1);
    let p2 = people(&d.path("m2"));
    let gone: BTreeSet<&Rec> = p1.keys().filter(|r| !p2.contains_key(*r)).collect();
    assert_eq!(gone.len(), dropped);
    // Each dropped record's person is removed (all its records gone) or lives on in a row that
    // names it; the rows that continue a person (removed, shrunk, or keeping the id) count its
    // dropped records once.
    let mut counted = 0;
    for r in &rows {
        match r.change.as_str() {
            "removed" => {
                assert!(r.person.is_none() && r.records == 0);
                let old = &m1[r.previous.as_ref().unwrap()];
                assert!(old.iter().all(|rec| gone.contains(rec)));
                assert_eq!(r.dropped as usize, old.len());
                counted += r.dropped;
            }
            "shrunk" => {
                assert!(r.dropped > 0);
                counted += r.dropped;
            }
            "split" | "merged" if r.person == r.previous => counted += r.dropped,
            "split" | "merged" => {}
            _ => assert_eq!(r.dropped, 0, "{:?}", r),
        }
    }
    assert!(counted as usize <= dropped && counted > 0);
    for rec in &gone {
        let p = &p1[*rec];
        assert!(
            rows.iter()
                .any(|r| r.previous.as_ref() == Some(p) || r.previous_all.contains(p)),
            "the person of a dropped record is in no row"
        );
    }
    assert!(rows.iter().any(|r| r.change == "removed"));
    assert!(rows.iter().any(|r| r.change == "shrunk"));
}

#[test]
fn a_previous_match_set_of_another_key_schema_or_version_is_refused() {
    let d = Dir::new();
    let all = encode_all(&d);
    link(&d, &all, "m1", &[]).ok();
    // Another key: every file encoded again with it.
    let key2 = d.path("other.key");
    d.padan(["keygen", "--out", key2.to_str().unwrap()]).ok();
    let other: Vec<PathBuf> = ["kemlu", "polri"]
        .iter()
        .map(|a| {
            let out = format!("{a}-k2.padan.parquet");
            d.encode_synth_keyed(&key2, a, &out, &[]).ok();
            d.path(&out)
        })
        .collect();
    let run = link(&d, &other, "x", &args(&previous_args(&d, "m1"))).fails(4);
    assert!(run.stderr.contains("another key"), "{}", run.stderr);
    // Another schema or encoding version in the previous manifest.
    let text = std::fs::read_to_string(d.path("m1").join("manifest.json")).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (what, edit) in [
        (
            "another schema",
            Box::new(|m: &mut serde_json::Value| m["schema_fingerprint"] = "0000".into())
                as Box<dyn Fn(&mut serde_json::Value)>,
        ),
        (
            "another encoding version",
            Box::new(|m: &mut serde_json::Value| m["inputs"][0]["encoding_version"] = 1.into()),
        ),
    ] {
        let mut edited = m.clone();
        edit(&mut edited);
        let dir = d.path("edited");
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["clusters.parquet", "pairs.parquet"] {
            std::fs::copy(d.path("m1").join(f), dir.join(f)).unwrap();
        }
        std::fs::write(dir.join("manifest.json"), edited.to_string()).unwrap();
        let run = link(&d, &all, "y", &args(&previous_args(&d, "edited"))).fails(4);
        assert!(run.stderr.contains(what), "{what}: {}", run.stderr);
        assert!(!d.path("y").join("manifest.json").exists());
    }
    // Another comparison config cannot reuse the model (exit 2), but can refit.
    m["config"]["comparison"] = serde_json::json!({"x": 1});
    std::fs::write(d.path("edited").join("manifest.json"), m.to_string()).unwrap();
    let run = link(&d, &all, "z", &args(&previous_args(&d, "edited"))).fails(2);
    assert!(run.stderr.contains("--refit"), "{}", run.stderr);
    let mut refit = previous_args(&d, "edited");
    refit.push("--refit".into());
    link(&d, &all, "z", &args(&refit)).ok();
    // A directory that is not a match set.
    let run = link(&d, &all, "w", &args(&previous_args(&d, "nothing-here"))).fails(2);
    assert!(run.stderr.contains("--previous"), "{}", run.stderr);
    // Meta-blocking ranks neighbours among all records: not incremental, unless --refit.
    let cfg = d.path("knn.toml");
    std::fs::write(&cfg, "[blocking]\nknn_k = 10\n").unwrap();
    let mut knn = previous_args(&d, "m1");
    knn.extend(["--config".to_string(), cfg.display().to_string()]);
    let run = link(&d, &all, "v", &args(&knn)).fails(2);
    assert!(run.stderr.contains("blocking.knn_k"), "{}", run.stderr);
    assert!(!d.path("v").join("manifest.json").exists());
}
