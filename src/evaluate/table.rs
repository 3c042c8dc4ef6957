//! The evaluation as a terminal table (aggregate numbers only).

use super::*;

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

/// The evaluation as a terminal table (aggregate numbers only).
pub fn render_table(e: &Evaluation) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let r = &e.records;
    let c = &e.clusters;
    let _ = writeln!(s, "padan evaluate: {} against {}", e.match_set, e.truth);
    let _ = writeln!(s);
    let _ = writeln!(s, "Records");
    let _ = writeln!(s, "  {:<42}{:>12}", "truth records", r.truth_records);
    let _ = writeln!(
        s,
        "  {:<42}{:>12}",
        "match-set records", r.match_set_records
    );
    let _ = writeln!(
        s,
        "  {:<42}{:>12}",
        "evaluated (in both)", r.evaluated_records
    );
    let _ = writeln!(
        s,
        "  {:<42}{:>12}",
        "truth records not in the match set", r.truth_not_in_match_set
    );
    let _ = writeln!(
        s,
        "  {:<42}{:>12}",
        "match-set records not in the truth", r.match_set_not_in_truth
    );
    if r.decoys > 0 {
        let _ = writeln!(
            s,
            "  {:<42}{:>12}",
            "decoys (from --lookup, one person each)", r.decoys
        );
    }
    let _ = writeln!(
        s,
        "  {:<42}{:>12}",
        "true pairs (all truth / evaluated)",
        format!("{} / {}", r.true_pairs_in_truth, r.true_pairs_evaluated)
    );
    let _ = writeln!(s);

    let _ = writeln!(s, "Clusters (clusters.parquet)");
    let _ = writeln!(
        s,
        "  {:<20}{:>10}{:>10}{:>10}",
        "", "precision", "recall", "F1"
    );
    for (name, m) in [("pairwise", &c.pairwise), ("B-cubed", &c.bcubed)] {
        let _ = writeln!(
            s,
            "  {:<20}{:>10.4}{:>10.4}{:>10.4}",
            name, m.precision, m.recall, m.f1
        );
    }
    let _ = writeln!(
        s,
        "  {:<42}{:>12}",
        "clusters / true persons",
        format!("{} / {}", c.clusters, c.persons)
    );
    let _ = writeln!(
        s,
        "  {:<42}{:>12}",
        "persons reconstructed exactly",
        format!("{} ({})", c.persons_exact, pct(c.exact_share))
    );
    let _ = writeln!(
        s,
        "  {:<42}{:>12}",
        "pairs: predicted / true / both",
        format!(
            "{} / {} / {}",
            c.predicted_pairs, c.true_pairs, c.true_positive_pairs
        )
    );
    let _ = writeln!(s);

    let p = &e.pairs;
    let _ = writeln!(s, "Pairs (pairs.parquet decisions)");
    let _ = writeln!(
        s,
        "  {:<20}{:>10}{:>10}{:>10}{:>10}{:>10}",
        "", "pairs", "right", "precision", "recall", "F1"
    );
    for (name, m) in [
        ("match", &p.matched),
        ("match + review", &p.match_or_review),
    ] {
        let _ = writeln!(
            s,
            "  {:<20}{:>10}{:>10}{:>10.4}{:>10.4}{:>10.4}",
            name,
            m.predicted_pairs,
            m.true_positive_pairs,
            m.scores.precision,
            m.scores.recall,
            m.scores.f1
        );
    }
    let _ = writeln!(
        s,
        "  {:<42}{:>12}",
        "rows / not evaluated / duplicates",
        format!(
            "{} / {} / {}",
            p.rows, p.rows_not_evaluated, p.duplicate_rows
        )
    );
    let _ = writeln!(s);

    let _ = writeln!(s, "Blocking pair completeness (candidates.parquet)");
    match &e.blocking {
        Blocking::NotRecorded { hint } => {
            let _ = writeln!(s, "  {hint}");
        }
        Blocking::Recorded(b) => {
            let _ = writeln!(
                s,
                "  {:<42}{:>12}",
                "candidates (compared pairs)", b.candidates
            );
            let _ = writeln!(
                s,
                "  {:<42}{:>12}",
                "candidates not evaluated", b.candidates_not_evaluated
            );
            for (name, m) in [
                ("all true pairs", &b.all),
                ("cross-agency true pairs", &b.cross_agency),
                ("within-agency true pairs", &b.within_agency),
            ] {
                let _ = writeln!(
                    s,
                    "  {:<28}{:>26}",
                    name,
                    format!(
                        "{} / {} ({})",
                        m.compared,
                        m.true_pairs,
                        pct(m.completeness)
                    )
                );
            }
        }
    }
    for w in &e.warnings {
        let _ = writeln!(s);
        let _ = writeln!(s, "warning: {w}");
    }
    s
}
