use super::*;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// The 8 evaluated records, in the order of `metrics`' tests (persons 10,10,10,20,20,30,30,40):
/// V1 has two kemlu records (a within-agency duplicate) and one polri record.
/// True pairs: 5, of which 1 within an agency (KML-1, KML-2).
const RECORDS: [(&str, &str, &str); 8] = [
    ("kemlu", "KML-1", "V001"),
    ("kemlu", "KML-2", "V001"),
    ("polri", "POL-1", "V001"),
    ("kemlu", "KML-3", "V002"),
    ("polri", "POL-2", "V002"),
    ("polri", "POL-3", "V003"),
    ("bp2mi", "BP-1", "V003"),
    ("bp2mi", "BP-2", "V004"),
];
/// In the truth only (rejected at encode): a second record of V004.
const TRUTH_ONLY: (&str, &str, &str) = ("bp2mi", "BP-9", "V004");
/// In the match set only.
const SET_ONLY: (&str, &str) = ("bp2mi", "BP-X");

fn strs(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn write_parquet(path: &Path, cols: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn a_lookup_renames_truth_ids_and_makes_each_decoy_its_own_person() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("t.csv");
    std::fs::write(
        &t,
        "agency,record_id,person_id\na,A1,p1\nb,B1,p1\na,A2,p2\n",
    )
    .unwrap();
    let l = tmp.path().join("l.csv");
    std::fs::write(
        &l,
        "record_id,pseudonym,decoy\nA1,ps-1,false\n,ps-d1,true\n,ps-d2,true\n",
    )
    .unwrap();
    let mut truth = Truth::read(&t).unwrap();
    let added = truth.apply_lookup("a", &Lookup::read(&l).unwrap()).unwrap();
    assert_eq!(added, 2);
    let a1 = truth.lookup("a", "ps-1").unwrap() as usize;
    assert_eq!(truth.lookup("a", "A1"), None);
    // A2 is not in the lookup (rejected at encode): it can no longer be found.
    assert_eq!(truth.lookup("a", "A2"), None);
    let b1 = truth.lookup("b", "B1").unwrap() as usize;
    assert_eq!(truth.person[a1], truth.person[b1]);
    let d1 = truth.lookup("a", "ps-d1").unwrap() as usize;
    let d2 = truth.lookup("a", "ps-d2").unwrap() as usize;
    let persons: BTreeSet<u64> = truth.person.iter().copied().collect();
    assert_eq!(persons.len(), 4, "p1, p2 and one person per decoy");
    assert_ne!(truth.person[d1], truth.person[d2]);
    assert_eq!(truth.agency[d1], truth.agency[a1]);
}

fn write_truth(dir: &Path) -> PathBuf {
    let path = dir.join("truth.csv");
    let mut s = String::from("agency,record_id,person_id\n");
    for (a, r, p) in RECORDS.iter().chain([&TRUTH_ONLY]) {
        s.push_str(&format!("{a},{r},{p}\n"));
    }
    std::fs::write(&path, s).unwrap();
    path
}

/// clusters.parquet from one cluster id per record of [`RECORDS`], then [`SET_ONLY`].
fn write_clusters(dir: &Path, ids: [i64; 8], set_only_cluster: i64) {
    let mut rows: Vec<(i64, &str, &str)> = RECORDS
        .iter()
        .zip(ids)
        .map(|(&(a, r, _), c)| (c, a, r))
        .collect();
    rows.push((set_only_cluster, SET_ONLY.0, SET_ONLY.1));
    rows.sort();
    let mut size: BTreeMap<i64, i64> = BTreeMap::new();
    let mut agencies: BTreeMap<i64, BTreeSet<&str>> = BTreeMap::new();
    for &(c, a, _) in &rows {
        *size.entry(c).or_default() += 1;
        agencies.entry(c).or_default().insert(a);
    }
    write_parquet(
        &dir.join(CLUSTERS_FILE),
        vec![
            (
                "cluster_id",
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))) as ArrayRef,
            ),
            (
                "agency",
                strs(&rows.iter().map(|r| r.1).collect::<Vec<_>>()),
            ),
            (
                "record_id",
                strs(&rows.iter().map(|r| r.2).collect::<Vec<_>>()),
            ),
            (
                "cluster_size",
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| size[&r.0]),
                )),
            ),
            (
                "agency_count",
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| agencies[&r.0].len() as i64),
                )),
            ),
        ],
    );
}

type Pair<'a> = (&'a str, &'a str, &'a str, &'a str);

fn pair_columns<'a>(pairs: &[Pair<'a>]) -> Vec<(&'static str, ArrayRef)> {
    vec![
        (
            "left_agency",
            strs(&pairs.iter().map(|p| p.0).collect::<Vec<_>>()),
        ),
        (
            "left_id",
            strs(&pairs.iter().map(|p| p.1).collect::<Vec<_>>()),
        ),
        (
            "right_agency",
            strs(&pairs.iter().map(|p| p.2).collect::<Vec<_>>()),
        ),
        (
            "right_id",
            strs(&pairs.iter().map(|p| p.3).collect::<Vec<_>>()),
        ),
        (
            "match_weight",
            Arc::new(Float64Array::from_iter_values(
                (0..pairs.len()).map(|i| 20.0 - i as f64),
            )),
        ),
    ]
}

fn write_pairs(dir: &Path, pairs: &[(Pair<'_>, &str)]) {
    let p: Vec<Pair<'_>> = pairs.iter().map(|x| x.0).collect();
    let mut cols = pair_columns(&p);
    cols.push((
        "match_probability",
        Arc::new(Float64Array::from_iter_values(pairs.iter().map(|_| 0.99))),
    ));
    cols.push((
        "decision",
        strs(&pairs.iter().map(|x| x.1).collect::<Vec<_>>()),
    ));
    cols.push((
        "cluster_id",
        Arc::new(Int64Array::from_iter_values(pairs.iter().map(|_| 0))),
    ));
    write_parquet(&dir.join(PAIRS_FILE), cols);
}

fn write_candidates(dir: &Path, pairs: &[Pair<'_>]) {
    write_parquet(&dir.join(CANDIDATES_FILE), pair_columns(pairs));
}

/// A match set with the given clustering, no pair, no candidates.
fn set_with_clusters(ids: [i64; 8], set_only_cluster: i64) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let truth = write_truth(tmp.path());
    write_clusters(tmp.path(), ids, set_only_cluster);
    write_pairs(tmp.path(), &[]);
    (tmp, truth)
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

fn check_clusters(e: &Evaluation, pw: (f64, f64, f64), b3: (f64, f64, f64)) {
    let c = &e.clusters;
    close(c.pairwise.precision, pw.0);
    close(c.pairwise.recall, pw.1);
    close(c.pairwise.f1, pw.2);
    close(c.bcubed.precision, b3.0);
    close(c.bcubed.recall, b3.1);
    close(c.bcubed.f1, b3.2);
}

#[test]
fn perfect_clustering_and_coverage() {
    let (tmp, truth) = set_with_clusters([7, 7, 7, 3, 3, 9, 9, 1], 100);
    let e = evaluate(tmp.path(), &truth).unwrap();
    check_clusters(&e, (1.0, 1.0, 1.0), (1.0, 1.0, 1.0));
    assert_eq!((e.clusters.clusters, e.clusters.persons), (4, 4));
    assert_eq!(e.clusters.persons_exact, 4);
    assert_eq!(
        e.records,
        Coverage {
            truth_records: 9,
            match_set_records: 9,
            evaluated_records: 8,
            truth_not_in_match_set: 1,
            match_set_not_in_truth: 1,
            // V004's BP-2 + BP-9 is a true pair of the truth, not evaluated.
            true_pairs_in_truth: 6,
            true_pairs_evaluated: 5,
            decoys: 0,
        }
    );
    assert!(matches!(e.blocking, Blocking::NotRecorded { .. }));
    // No pair decided: precision 1 by convention, recall 0.
    assert_eq!(e.pairs.rows, 0);
    assert_eq!(e.pairs.matched.scores.recall, 0.0);
}

#[test]
fn all_singletons() {
    let (tmp, truth) = set_with_clusters([0, 1, 2, 3, 4, 5, 6, 7], 8);
    let e = evaluate(tmp.path(), &truth).unwrap();
    // P = 1 (nothing predicted), R = 0/5. B-cubed R = (3·1/3 + 2·1/2 + 2·1/2 + 1)/8 = 1/2.
    check_clusters(&e, (1.0, 0.0, 0.0), (1.0, 0.5, 2.0 / 3.0));
    assert_eq!(e.clusters.persons_exact, 1);
    close(e.clusters.exact_share, 0.25);
}

#[test]
fn all_in_one_ignores_records_outside_the_truth() {
    // BP-X (not in the truth) is in the one cluster too: it is not evaluated.
    let (tmp, truth) = set_with_clusters([0; 8], 0);
    let e = evaluate(tmp.path(), &truth).unwrap();
    // Predicted C(8,2) = 28, right 5: P = 5/28, R = 1, F1 = 10/33.
    // B-cubed P = (9 + 4 + 4 + 1)/64 = 9/32, R = 1, F1 = 18/41.
    check_clusters(
        &e,
        (5.0 / 28.0, 1.0, 10.0 / 33.0),
        (9.0 / 32.0, 1.0, 18.0 / 41.0),
    );
    assert_eq!(
        (e.clusters.predicted_pairs, e.clusters.persons_exact),
        (28, 0)
    );
}

#[test]
fn one_person_split() {
    // V001 split: {KML-1, KML-2} and {POL-1}.
    let (tmp, truth) = set_with_clusters([1, 1, 2, 3, 3, 4, 4, 5], 6);
    let e = evaluate(tmp.path(), &truth).unwrap();
    // P = 3/3, R = 3/5, F1 = 3/4. B-cubed R = (2/3 + 2/3 + 1/3 + 5)/8 = 5/6, F1 = 10/11.
    check_clusters(
        &e,
        (1.0, 3.0 / 5.0, 3.0 / 4.0),
        (1.0, 5.0 / 6.0, 10.0 / 11.0),
    );
    assert_eq!(e.clusters.persons_exact, 3);
}

#[test]
fn two_persons_merged() {
    // V002 and V003 in one cluster.
    let (tmp, truth) = set_with_clusters([0, 0, 0, 1, 1, 1, 1, 2], 3);
    let e = evaluate(tmp.path(), &truth).unwrap();
    // Predicted 3 + 6 = 9, right 5: P = 5/9, R = 1, F1 = 5/7.
    // B-cubed P = (4·1/2 + 4)/8 = 3/4, R = 1, F1 = 6/7.
    check_clusters(&e, (5.0 / 9.0, 1.0, 5.0 / 7.0), (0.75, 1.0, 6.0 / 7.0));
    assert_eq!(e.clusters.persons_exact, 2);
}

#[test]
fn pair_decisions_with_a_wrong_match() {
    let (tmp, truth) = set_with_clusters([7, 7, 7, 3, 3, 9, 9, 1], 100);
    write_pairs(
        tmp.path(),
        &[
            (("kemlu", "KML-1", "kemlu", "KML-2"), "match"), // right (within agency)
            (("polri", "POL-2", "kemlu", "KML-3"), "match"), // right, reversed
            (("polri", "POL-2", "polri", "POL-3"), "match"), // wrong
            (("kemlu", "KML-1", "polri", "POL-1"), "review"), // right
            (("kemlu", "KML-2", "kemlu", "KML-1"), "review"), // duplicate of the first
            (("bp2mi", "BP-2", "bp2mi", "BP-X"), "match"),   // BP-X not evaluated
        ],
    );
    let e = evaluate(tmp.path(), &truth).unwrap();
    let p = &e.pairs;
    assert_eq!((p.rows, p.rows_not_evaluated, p.duplicate_rows), (6, 1, 1));
    // match: 3 pairs, 2 right, of 5 true: P = 2/3, R = 2/5, F1 = 1/2.
    let m = &p.matched;
    assert_eq!(
        (m.predicted_pairs, m.true_positive_pairs, m.true_pairs),
        (3, 2, 5)
    );
    close(m.scores.precision, 2.0 / 3.0);
    close(m.scores.recall, 2.0 / 5.0);
    close(m.scores.f1, 0.5);
    // match + review: 4 pairs, 3 right: P = 3/4, R = 3/5, F1 = 2·(9/20)/(27/20) = 2/3.
    let mr = &p.match_or_review;
    assert_eq!((mr.predicted_pairs, mr.true_positive_pairs), (4, 3));
    close(mr.scores.precision, 0.75);
    close(mr.scores.recall, 0.6);
    close(mr.scores.f1, 2.0 / 3.0);
}

#[test]
fn blocking_completeness_with_a_missing_true_pair() {
    let (tmp, truth) = set_with_clusters([7, 7, 7, 3, 3, 9, 9, 1], 100);
    // Every true pair but POL-3–BP-1 (cross-agency) was compared.
    write_candidates(
        tmp.path(),
        &[
            ("kemlu", "KML-1", "kemlu", "KML-2"),
            ("kemlu", "KML-1", "polri", "POL-1"),
            ("polri", "POL-1", "kemlu", "KML-2"),
            ("kemlu", "KML-3", "polri", "POL-2"),
            ("polri", "POL-2", "polri", "POL-3"), // false pair
            ("kemlu", "KML-2", "kemlu", "KML-1"), // repeated
            ("bp2mi", "BP-2", "bp2mi", "BP-X"),   // not in the truth
            ("bp2mi", "BP-2", "bp2mi", "BP-9"),   // not in the match set
        ],
    );
    let e = evaluate(tmp.path(), &truth).unwrap();
    let Blocking::Recorded(b) = &e.blocking else {
        panic!("candidates not read");
    };
    assert_eq!((b.candidates, b.candidates_not_evaluated), (8, 2));
    assert_eq!((b.all.compared, b.all.true_pairs), (4, 5));
    close(b.all.completeness, 0.8);
    assert_eq!((b.cross_agency.compared, b.cross_agency.true_pairs), (3, 4));
    close(b.cross_agency.completeness, 0.75);
    assert_eq!(
        (b.within_agency.compared, b.within_agency.true_pairs),
        (1, 1)
    );
    close(b.within_agency.completeness, 1.0);
}

fn err_text(dir: &Path, truth: &Path) -> String {
    evaluate(dir, truth).unwrap_err().to_string()
}

#[test]
fn errors_name_the_file_and_the_column() {
    let (tmp, truth) = set_with_clusters([0, 1, 2, 3, 4, 5, 6, 7], 8);
    let dir = tmp.path();

    // Missing pairs.parquet.
    std::fs::remove_file(dir.join(PAIRS_FILE)).unwrap();
    let msg = err_text(dir, &truth);
    assert!(
        msg.contains("pairs.parquet") && msg.contains("not found"),
        "{msg}"
    );

    // A missing column.
    let mut cols = pair_columns(&[("kemlu", "KML-1", "kemlu", "KML-2")]);
    cols.push(("decision", strs(&["match"])));
    write_parquet(&dir.join(PAIRS_FILE), cols);
    let msg = err_text(dir, &truth);
    assert!(
        msg.contains("pairs.parquet") && msg.contains("'match_probability'"),
        "{msg}"
    );

    // A wrong type.
    write_pairs(dir, &[]);
    write_parquet(
        &dir.join(CLUSTERS_FILE),
        vec![
            ("cluster_id", strs(&["0"])),
            ("agency", strs(&["kemlu"])),
            ("record_id", strs(&["KML-1"])),
            (
                "cluster_size",
                Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            ),
            ("agency_count", Arc::new(Int64Array::from(vec![1]))),
        ],
    );
    let msg = err_text(dir, &truth);
    assert!(
        msg.contains("clusters.parquet")
            && msg.contains("'cluster_id'")
            && msg.contains("expected Int64"),
        "{msg}"
    );

    // A null record id: file, row and column, no value.
    write_parquet(
        &dir.join(CLUSTERS_FILE),
        vec![
            (
                "cluster_id",
                Arc::new(Int64Array::from(vec![0, 0])) as ArrayRef,
            ),
            ("agency", strs(&["kemlu", "kemlu"])),
            (
                "record_id",
                Arc::new(StringArray::from(vec![Some("KML-1"), None])),
            ),
            ("cluster_size", Arc::new(Int64Array::from(vec![2, 2]))),
            ("agency_count", Arc::new(Int64Array::from(vec![1, 1]))),
        ],
    );
    let msg = err_text(dir, &truth);
    assert!(
        msg.contains("clusters.parquet") && msg.contains("line 2") && msg.contains("'record_id'"),
        "{msg}"
    );

    // A record twice in the clusters: named by row, not by id.
    write_clusters(dir, [0, 0, 0, 1, 1, 2, 2, 3], 4);
    let mut rows = read_clusters_rows(dir);
    rows.push(rows[0].clone());
    write_cluster_rows(dir, &rows);
    let msg = err_text(dir, &truth);
    assert!(msg.contains("line 10") && !msg.contains("KML-"), "{msg}");

    // A bad decision.
    write_clusters(dir, [0, 0, 0, 1, 1, 2, 2, 3], 4);
    write_pairs(dir, &[(("kemlu", "KML-1", "kemlu", "KML-2"), "maybe")]);
    let msg = err_text(dir, &truth);
    assert!(
        msg.contains("'decision'") && msg.contains("line 1"),
        "{msg}"
    );
    write_pairs(dir, &[]);

    // The truth: a missing column, a duplicate record.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "agency,record_id\nkemlu,KML-1\n").unwrap();
    let msg = err_text(dir, &bad);
    assert!(
        msg.contains("bad.csv") && msg.contains("'person_id'"),
        "{msg}"
    );
    std::fs::write(
        &bad,
        "agency,record_id,person_id\nkemlu,KML-1,V001\nkemlu,KML-1,V002\n",
    )
    .unwrap();
    let msg = err_text(dir, &bad);
    assert!(msg.contains("line 3") && !msg.contains("KML-"), "{msg}");

    // A truth of another run.
    std::fs::write(&bad, "agency,record_id,person_id\nkemlu,OTHER,V001\n").unwrap();
    let msg = err_text(dir, &bad);
    assert!(msg.contains("no record"), "{msg}");

    // A missing directory.
    let msg = err_text(&dir.join("nope"), &truth);
    assert!(
        msg.contains("clusters.parquet") && msg.contains("not found"),
        "{msg}"
    );
}

fn read_clusters_rows(dir: &Path) -> Vec<crate::io::matchset::ClusterRow> {
    crate::io::matchset::read_clusters(&dir.join(CLUSTERS_FILE)).unwrap()
}

fn write_cluster_rows(dir: &Path, rows: &[crate::io::matchset::ClusterRow]) {
    write_parquet(
        &dir.join(CLUSTERS_FILE),
        vec![
            (
                "cluster_id",
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.cluster_id),
                )) as ArrayRef,
            ),
            (
                "agency",
                strs(&rows.iter().map(|r| r.agency.as_str()).collect::<Vec<_>>()),
            ),
            (
                "record_id",
                strs(
                    &rows
                        .iter()
                        .map(|r| r.record_id.as_str())
                        .collect::<Vec<_>>(),
                ),
            ),
            (
                "cluster_size",
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.cluster_size),
                )),
            ),
            (
                "agency_count",
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.agency_count),
                )),
            ),
        ],
    );
}

#[test]
fn readers_round_trip_and_accept_dictionary_strings() {
    use arrow_array::types::Int32Type;
    use arrow_array::DictionaryArray;
    let tmp = tempfile::tempdir().unwrap();
    write_candidates(tmp.path(), &[("kemlu", "KML-1", "polri", "POL-1")]);
    let c = crate::io::matchset::read_candidates(&tmp.path().join(CANDIDATES_FILE)).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].left_id.as_str(), c[0].right_agency.as_str()),
        ("KML-1", "polri")
    );
    assert_eq!(c[0].match_weight, 20.0);

    let agency: DictionaryArray<Int32Type> = vec!["kemlu", "polri", "kemlu"].into_iter().collect();
    write_parquet(
        &tmp.path().join(CLUSTERS_FILE),
        vec![
            (
                "cluster_id",
                Arc::new(Int64Array::from(vec![0, 0, 1])) as ArrayRef,
            ),
            ("agency", Arc::new(agency)),
            ("record_id", strs(&["KML-1", "POL-1", "KML-2"])),
            ("cluster_size", Arc::new(Int64Array::from(vec![2, 2, 1]))),
            ("agency_count", Arc::new(Int64Array::from(vec![2, 2, 1]))),
        ],
    );
    let rows = read_clusters_rows(tmp.path());
    let got: Vec<(i64, &str, &str)> = rows
        .iter()
        .map(|r| (r.cluster_id, r.agency.as_str(), r.record_id.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (0, "kemlu", "KML-1"),
            (0, "polri", "POL-1"),
            (1, "kemlu", "KML-2")
        ]
    );

    write_pairs(
        tmp.path(),
        &[(("kemlu", "KML-1", "polri", "POL-1"), "review")],
    );
    let p = crate::io::matchset::read_pairs(&tmp.path().join(PAIRS_FILE)).unwrap();
    assert_eq!(p[0].decision, Decision::Review);
    assert_eq!(p[0].match_probability, 0.99);
}

#[test]
fn cli_prints_json_and_an_aggregate_only_table() {
    use crate::cli::{Cli, Command};
    use clap::Parser;
    let (tmp, truth) = set_with_clusters([1, 1, 2, 3, 3, 4, 4, 5], 6);
    write_pairs(
        tmp.path(),
        &[(("kemlu", "KML-1", "kemlu", "KML-2"), "match")],
    );
    let dir = tmp.path().to_str().unwrap();
    let truth = truth.to_str().unwrap();
    let run = |extra: &[&str]| -> String {
        let mut argv = vec!["padan", "evaluate", dir, "--truth", truth];
        argv.extend_from_slice(extra);
        let Command::Evaluate(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not parsed as evaluate");
        };
        let mut out = Vec::new();
        crate::cli::evaluate::execute(args, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };

    let json: serde_json::Value = serde_json::from_str(&run(&["--json"])).unwrap();
    assert_eq!(json["records"]["evaluated_records"], 8);
    assert_eq!(json["records"]["truth_not_in_match_set"], 1);
    assert_eq!(json["clusters"]["pairwise"]["recall"], 0.6);
    assert_eq!(json["clusters"]["persons_exact"], 3);
    assert_eq!(json["pairs"]["matched"]["true_positive_pairs"], 1);
    assert_eq!(json["pairs"]["matched"]["scores"]["precision"], 1.0);
    assert_eq!(json["blocking"]["status"], "not_recorded");

    let table = run(&[]);
    for needle in ["pairwise", "B-cubed", "match + review", CANDIDATES_HINT] {
        assert!(table.contains(needle), "{needle} missing from:\n{table}");
    }
    for id in ["KML-", "POL-", "BP-", "V00"] {
        assert!(!table.contains(id), "identifier {id} in:\n{table}");
    }

    write_candidates(tmp.path(), &[("kemlu", "KML-1", "kemlu", "KML-2")]);
    let table = run(&[]);
    assert!(table.contains("1 / 5 (20.00%)"), "{table}");
    assert!(table.contains("0 / 4 (0.00%)"), "{table}");
}
