//! Report tests on a fake but realistic match set built from the synthetic fixture.

use super::html::{bin_edges, render, sweep_rows, SECTIONS};
use super::testkit::{build, fixture_dir};
use super::*;

/// A tiny HTML well-formedness checker: every non-void element closed in order, no stray `<`,
/// `<style>` content skipped. Returns the element count.
fn check_well_formed(html: &str) -> usize {
    const VOID: [&str; 8] = ["meta", "br", "hr", "img", "link", "col", "wbr", "input"];
    let b = html.as_bytes();
    let mut stack: Vec<String> = Vec::new();
    let mut i = 0;
    let mut elements = 0;
    assert!(html.starts_with("<!DOCTYPE html>"), "doctype first");
    while i < b.len() {
        if b[i] != b'<' {
            assert!(
                b[i] != b'>' || stack.last().is_some_and(|t| t == "style"),
                "stray '>' at {i}"
            );
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i += html[i..].find("-->").expect("comment closed") + 3;
            continue;
        }
        if html[i..].starts_with("<!DOCTYPE") {
            i += html[i..].find('>').expect("doctype closed") + 1;
            continue;
        }
        let end = i + html[i..].find('>').expect("tag closed");
        let tag = &html[i + 1..end];
        assert!(!tag.contains('<'), "'<' inside a tag at {i}: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "mismatched close at {i}");
        } else {
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>();
            assert!(!name.is_empty(), "bad tag at {i}: {tag}");
            // quotes balanced inside the tag
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in <{tag}>"
            );
            elements += 1;
            let lname = name.to_ascii_lowercase();
            if !tag.ends_with('/') && !VOID.contains(&lname.as_str()) {
                if lname == "style" {
                    let close = end + html[end..].find("</style>").expect("style closed");
                    i = close + "</style>".len();
                    continue;
                }
                stack.push(name);
            }
        }
        i = end + 1;
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    elements
}

/// Every value of the fixture extracts that is not a record id, a header, or too short to mean
/// anything on its own (sex codes, single digits).
fn raw_values() -> Vec<String> {
    let dir = fixture_dir();
    let mut ids = std::collections::HashSet::new();
    let mut rdr = csv::Reader::from_path(dir.join("truth.csv")).expect("truth");
    for r in rdr.records() {
        ids.insert(r.expect("row")[1].to_string());
    }
    let mut vals = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(&dir).expect("fixture dir") {
        let p = e.expect("entry").path();
        let name = p
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        if !name.ends_with(".csv") || name == "truth.csv" {
            continue;
        }
        let bytes = std::fs::read(&p).expect("extract");
        let head = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
        let delim = [b',', b';', b'\t', b'|']
            .into_iter()
            .max_by_key(|d| head.iter().filter(|b| *b == d).count())
            .expect("delimiters");
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .delimiter(delim)
            .from_reader(bytes.as_slice());
        for r in rdr.byte_records() {
            for v in r.expect("row").iter() {
                // the fixture mixes UTF-8 and Windows-1252 extracts
                let v = match std::str::from_utf8(v) {
                    Ok(s) => s.to_string(),
                    Err(_) => encoding_rs::WINDOWS_1252.decode(v).0.into_owned(),
                };
                let v = v.trim();
                if v.chars().count() >= 4 && !ids.contains(v) {
                    vals.insert(v.to_string());
                }
            }
        }
    }
    vals.into_iter().collect()
}

fn report(with_candidates: bool, with_truth: bool) -> (tempfile::TempDir, ReportData, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("matchset");
    let truth = build(&dir, with_candidates);
    let data = load(&dir, with_truth.then_some(truth.as_path())).expect("load");
    let html = render(&data);
    (tmp, data, html)
}

#[test]
fn full_report_has_every_section_and_is_well_formed() {
    let (_t, data, html) = report(true, true);
    for (id, _) in SECTIONS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
        assert!(html.contains(&format!("href=\"#{id}\"")), "toc entry {id}");
    }
    let n = check_well_formed(&html);
    assert!(n > 500, "a real page: {n} elements");
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains("http://")
            || !html
                .replace("http://www.w3.org/2000/svg", "")
                .contains("http://")
    );
    assert!(!html.contains("https://"), "no network reference");
    assert!(
        !html.contains("NaN") && !html.contains("inf<"),
        "no broken numbers"
    );
    assert!(html.contains("@media print") && html.contains("size: A4"));
    // the data behind it is consistent
    let truth = data.truth.as_ref().expect("truth");
    assert!(
        truth.true_pairs > 50,
        "fixture has duplicates across agencies"
    );
    let found = truth.candidate_true_pairs.expect("candidates");
    assert!(found > truth.true_pairs * 9 / 10 && found <= truth.true_pairs);
    assert!(html.contains("Pair completeness"));
    assert!(html.contains("true F1"));
    assert_eq!(data.clusters.records, 1444);
    assert_eq!(
        data.clusters
            .size_counts
            .iter()
            .map(|(s, n)| s * n)
            .sum::<u64>(),
        data.clusters.records
    );
    // waterfalls: pairs near both thresholds, each adding up to its match weight
    assert!(data.waterfalls.len() >= 3, "{}", data.waterfalls.len());
    for w in &data.waterfalls {
        let s: f64 = w.parts.iter().map(|p| p.weight).sum();
        assert!((s - w.pair.match_weight).abs() < 1e-9);
        assert!(w.parts.iter().all(|p| !p.label.starts_with("level ")));
    }
    assert!(data
        .waterfalls
        .iter()
        .any(|w| w.near.contains("below the match")));
    assert!(data
        .waterfalls
        .iter()
        .any(|w| w.near.contains("above the review")));
    // candidates: decisions agree with the counts in the manifest
    let c = data.candidates.as_ref().expect("candidates");
    let m = c
        .decisions
        .iter()
        .filter(|d| **d == Decision::Match)
        .count() as u64;
    assert_eq!(m, data.manifest.counts.pairs_match);
    let r = data
        .pairs
        .decisions
        .iter()
        .filter(|d| **d == Decision::Review)
        .count() as u64;
    assert_eq!(r, data.manifest.counts.pairs_review);
}

#[test]
fn report_contains_no_raw_value_of_the_fixture_extracts() {
    let (_t, _d, html) = report(true, true);
    let vals = raw_values();
    assert!(
        vals.len() > 2000,
        "the scan covers the extracts: {}",
        vals.len()
    );
    let hay = html.to_uppercase();
    let hits: Vec<&String> = vals
        .iter()
        .filter(|v| {
            let e = svg::esc(v);
            hay.contains(&v.to_uppercase()) || (e != **v && html.contains(&e))
        })
        .collect();
    assert!(hits.is_empty(), "raw values in the report: {hits:?}");
    // and no person id of the truth file
    assert!(!html.contains("V00000"), "truth person ids never shown");
}

#[test]
fn pairs_only_without_truth_still_renders_every_section() {
    let (_t, data, html) = report(false, false);
    assert!(data.candidates.is_none() && data.truth.is_none());
    for (id, _) in SECTIONS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    check_well_formed(&html);
    assert!(
        html.contains("upper bound"),
        "says expected recall is over pairs only"
    );
    assert!(html.contains("--truth"));
    assert!(
        !html.contains("below review ("),
        "no below-review series without candidates"
    );
}

#[test]
fn strings_from_the_match_set_are_escaped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ms");
    build(&dir, false);
    let p = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
    m["config"]["note"] = serde_json::json!("<img src=x onerror=alert(1)>");
    m["inputs"][0]["file"] = serde_json::json!("a\"b<c>.padan.parquet");
    m["inputs"][0]["rejects_by_reason"] = serde_json::json!({"<b>bad</b>": 2});
    m["model"]["fields"][0]["levels"][0]["label"] = serde_json::json!("exact & <i>");
    std::fs::write(&p, serde_json::to_string(&m).expect("json")).expect("write");
    let html = render(&load(&dir, None).expect("load"));
    check_well_formed(&html);
    assert!(!html.contains("<img") && !html.contains("<b>bad") && !html.contains("<i>"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("exact &amp; &lt;i&gt;"));
}

#[test]
fn sweep_estimators_match_hand_computation() {
    let s = ScoreSet {
        weights: vec![10.0, 5.0, 0.0, -5.0],
        probabilities: vec![0.9, 0.6, 0.3, 0.2],
        decisions: vec![Decision::Match; 4],
        is_true: Some(vec![true, true, false, true]),
    };
    let rows = sweep_rows(&s, Some(4), 0.1, &[5.0, 20.0, -100.0]);
    // t = 5: pairs 10 and 5
    assert_eq!(rows[0].pairs, 2);
    assert!((rows[0].expected_precision.expect("some") - 0.75).abs() < 1e-12);
    assert!((rows[0].expected_recall - 1.5 / 2.0).abs() < 1e-12);
    let (p, r, f) = rows[0].truth.expect("truth");
    assert_eq!((p, r), (1.0, 0.5));
    assert!((f - 2.0 / 3.0).abs() < 1e-12);
    // above everything: nothing predicted
    assert_eq!(rows[1].pairs, 0);
    assert_eq!(rows[1].expected_precision, None);
    assert_eq!(rows[1].expected_recall, 0.0);
    // below everything: all
    assert_eq!(rows[2].pairs, 4);
    assert!((rows[2].expected_recall - 1.0).abs() < 1e-12);
    assert_eq!(rows[2].truth.expect("truth").1, 0.75);
}

#[test]
fn histogram_bins_put_both_thresholds_on_edges() {
    let e = bin_edges(-20.0, 30.0, &[13.29, 6.64]);
    assert!(e.len() > 30 && e.len() < 120, "{}", e.len());
    assert!(e[0] <= -20.0 && *e.last().expect("edges") > 30.0);
    for t in [13.29, 6.64] {
        assert!(e.iter().any(|x| (x - t).abs() < 1e-9), "{t} is an edge");
    }
    let w = e[1] - e[0];
    assert!(
        e.windows(2).all(|p| ((p[1] - p[0]) - w).abs() < 1e-9),
        "equal widths"
    );
    // degenerate range and no thresholds
    let e = bin_edges(3.0, 3.0, &[]);
    assert!(e.len() >= 2 && e[0] <= 3.0 && *e.last().expect("edges") > 3.0);
}

#[test]
fn heat_map_counts_shared_clusters_symmetrically() {
    let (_t, data, html) = report(false, false);
    let c = &data.clusters;
    assert_eq!(c.agencies.len(), 7);
    for a in 0..7 {
        for b in 0..7 {
            assert_eq!(c.shared[a][b], c.shared[b][a]);
        }
    }
    assert!(c.shared.iter().flatten().any(|v| *v > 0));
    assert!(html.contains("People two agencies share"));
}

#[test]
fn write_report_writes_atomically() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ms");
    build(&dir, true);
    let out = tmp.path().join("report.html");
    write_report(&dir, None, &out).expect("report");
    let html = std::fs::read_to_string(&out).expect("written");
    assert!(html.ends_with("</html>\n"));
    assert!(!tmp.path().join("report.html.tmp").exists());
    // a missing match set is an I/O error naming the manifest
    let e = load(&tmp.path().join("nope"), None).expect_err("missing");
    assert!(e.to_string().contains("manifest.json"));
}

/// Writes sample reports for a visual check (`PADAN_REPORT_SAMPLE=DIR cargo test --lib
/// report::tests::sample`); does nothing otherwise.
#[test]
fn sample_reports_for_screenshots() {
    let Some(out) = std::env::var_os("PADAN_REPORT_SAMPLE") else {
        return;
    };
    let out = std::path::PathBuf::from(out);
    std::fs::create_dir_all(&out).expect("mkdir");
    let dir = out.join("matchset");
    let truth = build(&dir, true);
    write_report(&dir, Some(&truth), &out.join("report.html")).expect("report");
    write_report(&dir, None, &out.join("report-no-truth.html")).expect("report");
}

/// Opens the report in headless Chromium through `scripts/screenshot-report.sh` (no console
/// error, a screenshot written). Skipped, with a note, where Chromium is not installed; CI
/// installs Debian's `chromium`.
#[test]
fn report_opens_in_headless_chromium_without_console_errors() {
    let have = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|c| {
            std::process::Command::new("sh")
                .args(["-c", &format!("command -v {c}")])
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if !have {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("chromium is not installed but CI is set: .ci/run must install it");
        }
        eprintln!("skipped: chromium is not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ms");
    let truth = build(&dir, true);
    let page = tmp.path().join("report.html");
    write_report(&dir, Some(&truth), &page).expect("report");
    let png = tmp.path().join("report.png");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/screenshot-report.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(&page)
        .arg(&png)
        .arg("1280,2000")
        .output()
        .expect("run the screenshot script");
    assert!(
        out.status.success(),
        "screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).expect("png written");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000);
}

/// `report --truth` reads the truth with evaluate's reader: a repeated or empty truth row is an
/// error naming the line and column, never a silently different judgement.
#[test]
fn truth_files_are_judged_as_evaluate_judges_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ms");
    let truth = build(&dir, false);
    let text = std::fs::read_to_string(&truth).expect("truth");
    let first_row = text.lines().nth(1).expect("a row").to_string();
    for (name, extra, column) in [
        ("dup.csv", first_row.clone(), "record_id"),
        (
            "empty.csv",
            format!("{},,p1", &first_row[..first_row.find(',').expect("comma")]),
            "record_id",
        ),
    ] {
        let bad = tmp.path().join(name);
        std::fs::write(&bad, format!("{text}{extra}\n")).expect("write");
        let by_report = load(&dir, Some(&bad))
            .expect_err("report refuses")
            .to_string();
        let by_evaluate = crate::evaluate::evaluate(&dir, &bad)
            .expect_err("evaluate refuses")
            .to_string();
        assert_eq!(by_report, by_evaluate);
        assert!(by_report.contains(column), "{by_report}");
    }
}

/// The summary is read by people: counts by name in words, breakdowns as tables, never a raw
/// JSON key or object; the title says what was linked, not the directory's name.
#[test]
fn summary_speaks_words_not_keys_and_the_title_is_not_the_directory() {
    let (_t, data, html) = report(true, true);
    let start = html.find("<section id=\"summary\">").unwrap();
    let end = start + html[start..].find("</section>").unwrap();
    let summary = &html[start..end];
    let counts = &summary[summary.find("Counts at each stage").unwrap()..];
    let counts = &counts[..counts.find("<h3>Timings").unwrap()];
    for raw in [
        "capped_by_kind",
        "records_by_agency",
        "purged_by_kind",
        "effective_max_block_size",
        "pairs_match_within_agency",
        "clusters_with_duplicates",
        "possible_pairs",
        "{",
        "}",
        "&quot;",
    ] {
        assert!(!counts.contains(raw), "`{raw}` in the counts: {counts}");
    }
    assert!(counts.contains("clusters holding two records of one agency"));
    assert!(counts.contains("record pairs possible"));
    for label in [
        "merges refused (agency rule)",
        "clusters of two or more records",
    ] {
        assert_eq!(counts.matches(label).count(), 1, "{label} once: {counts}");
    }
    assert!(
        !counts.contains("merges refused<"),
        "no count shown twice: {counts}"
    );
    let title = &html[html.find("<title>").unwrap() + 7..html.find("</title>").unwrap()];
    assert!(
        title.starts_with("Record linkage report: ") && !title.contains(&data.dir_name),
        "{title}"
    );
    assert!(
        title.contains(&format!("{} agencies", data.manifest.inputs.len())),
        "{title}"
    );
}
