//! `evaluate` and `report --truth` on a match set where one agency encoded with
//! `--pseudonymize-ids`: with that agency's `--lookup` they give the figures of the same run
//! without pseudonyms; without it they evaluate the others only and name the agency in a warning
//! that suggests `--lookup`.

use super::harness::{synth_columns, synth_extract, test_key, Dir};

const AGENCIES: [&str; 3] = ["kemlu", "polri", "kpppa"];

/// Encodes the three agencies (kpppa pseudonymized when `pseudo`) into `sub/` and links them.
fn run(d: &Dir, sub: &str, pseudo: bool) {
    std::fs::create_dir(d.path(sub)).unwrap();
    let mut link = vec![
        "link".to_string(),
        "-q".into(),
        "--write-candidates".into(),
        "--out".into(),
        format!("{sub}/ms"),
    ];
    for a in AGENCIES {
        let out = format!("{sub}/{a}.padan.parquet");
        let mut args = vec![
            "encode".to_string(),
            "-q".into(),
            "--key".into(),
            test_key().display().to_string(),
            "--columns".into(),
            synth_columns(a).display().to_string(),
            "--input".into(),
            synth_extract(a).display().to_string(),
            "--out".into(),
            out.clone(),
        ];
        if pseudo && a == "kpppa" {
            args.extend([
                "--pseudonymize-ids".into(),
                "--lookup".into(),
                format!("{sub}/kpppa.lookup.csv"),
            ]);
        }
        d.padan(&args).ok();
        link.push(out);
    }
    d.padan(&link).ok();
}

fn evaluate(d: &Dir, sub: &str, lookup: bool) -> (serde_json::Value, String) {
    let truth = super::harness::fixture("synth/truth.csv");
    let mut args = vec![
        "evaluate".to_string(),
        format!("{sub}/ms"),
        "--truth".into(),
        truth.display().to_string(),
        "--json".into(),
    ];
    if lookup {
        args.extend(["--lookup".into(), format!("kpppa={sub}/kpppa.lookup.csv")]);
    }
    let r = d.padan(&args).ok();
    (serde_json::from_str(&r.stdout).unwrap(), r.stderr)
}

/// Writes the report and returns (its threshold-sweep section, the whole page, stderr).
fn report(d: &Dir, sub: &str, lookup: bool) -> (String, String, String) {
    let truth = super::harness::fixture("synth/truth.csv");
    let out = format!("{sub}/report-{lookup}.html");
    let mut args = vec![
        "report".to_string(),
        format!("{sub}/ms"),
        "--out".into(),
        out.clone(),
        "--truth".into(),
        truth.display().to_string(),
    ];
    if lookup {
        args.extend(["--lookup".into(), format!("kpppa={sub}/kpppa.lookup.csv")]);
    }
    let r = d.padan(&args).ok();
    let page = std::fs::read_to_string(d.path(&out)).unwrap();
    let start = page
        .find("<section id=\"sweep\">")
        .expect("a sweep section");
    let len = page[start..].find("</section>").unwrap();
    (page[start..start + len].to_string(), page, r.stderr)
}

#[test]
fn evaluate_and_report_judge_a_pseudonymized_agency_with_its_lookup_and_hint_without() {
    let d = Dir::new();
    run(&d, "plain", false);
    run(&d, "pseudo", true);

    // evaluate: with the lookup, the figures of the run without pseudonyms.
    let (plain, _) = evaluate(&d, "plain", false);
    let (with, err) = evaluate(&d, "pseudo", true);
    assert_eq!(with["warnings"].as_array().unwrap().len(), 0, "{with}");
    assert!(!err.contains("warning"), "{err}");
    for part in ["clusters", "pairs", "blocking"] {
        assert!(with[part].is_object(), "{part}: {with}");
        assert_eq!(with[part], plain[part], "evaluate {part} with --lookup");
    }
    assert_eq!(with["records"]["match_set_not_in_truth"], 0);
    // Without it: kpppa's records are not evaluated, and the warning says so and what to do.
    let (without, err) = evaluate(&d, "pseudo", false);
    let w = without["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{without}");
    let w = w[0].as_str().unwrap();
    assert!(
        w.contains("agency 'kpppa'") && w.contains("--lookup"),
        "{w}"
    );
    assert!(
        err.contains("warning: none of the"),
        "on standard error too: {err}"
    );
    assert!(
        without["records"]["match_set_not_in_truth"]
            .as_u64()
            .unwrap()
            > 100
    );
    assert_ne!(without["clusters"], plain["clusters"]);

    // report: the sweep (true precision, recall, F1 at each threshold) with the lookup is the
    // one of the run without pseudonyms; without it, it differs and the page carries the warning.
    let (sweep_plain, _, _) = report(&d, "plain", false);
    assert!(sweep_plain.contains("true precision"), "{sweep_plain}");
    let (sweep_with, page_with, err) = report(&d, "pseudo", true);
    assert_eq!(
        sweep_with, sweep_plain,
        "report --lookup gives the plain run's figures"
    );
    assert!(!err.contains("warning"), "{err}");
    assert!(!page_with.contains("class=\"warning\""));
    let (sweep_without, page_without, err) = report(&d, "pseudo", false);
    assert_ne!(sweep_without, sweep_plain);
    assert!(
        err.contains("warning: none of the") && err.contains("agency 'kpppa'"),
        "{err}"
    );
    assert!(
        page_without.contains("class=\"warning\""),
        "the warning is in the report"
    );
    assert!(page_without.contains("--lookup AGENCY=FILE"));

    // --lookup needs --truth.
    d.padan([
        "report",
        "pseudo/ms",
        "--out",
        "x.html",
        "--lookup",
        "kpppa=pseudo/kpppa.lookup.csv",
    ])
    .fails(2);
}
