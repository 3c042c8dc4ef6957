//! "Since the last run": for a match set written by `padan link --previous`, the persons by
//! change (new, merged, split, …) overall and per agency, and the chain to the previous run.
//! Ids and counts only.

use super::*;
use crate::io::matchset::Change;

pub(super) fn since(o: &mut String, d: &ReportData) {
    open_section(o, "since");
    let (Some(c), Some(p)) = (&d.changes, &d.manifest.previous) else {
        o.push_str("<p>Not an incremental run: this match set was linked on its own (no <code>padan link --previous</code>), so there is no earlier run to compare with.</p>\n</section>\n");
        return;
    };
    let n = |ch: Change| c.by_change.iter().find(|x| x.0 == ch).map_or(0, |x| x.1);
    kv(
        o,
        &[
            (fmt_int(n(Change::New)), "new people"),
            (fmt_int(n(Change::Merged)), "merges"),
            (fmt_int(n(Change::Split)), "split parts"),
            (fmt_int(n(Change::Grown)), "grown"),
            (fmt_int(n(Change::Shrunk)), "shrunk"),
            (fmt_int(n(Change::Removed)), "removed"),
            (fmt_int(n(Change::Unchanged)), "unchanged"),
        ],
    );
    let _ = std::fmt::Write::write_fmt(
        o,
        format_args!(
            "<p>Previous match set: manifest blake3 <span class=\"mono\">{}</span>. Model {}. Records: {} unchanged, {} added, {} changed, {} dropped. Pairs: {} compared in this run, {} carried from the previous one. Unchanged input files: {}.</p>\n",
            esc(&p.manifest_blake3),
            esc(&p.model),
            fmt_int(p.records_unchanged),
            fmt_int(p.records_added),
            fmt_int(p.records_changed),
            fmt_int(p.records_dropped),
            fmt_int(p.pairs_compared),
            fmt_int(p.pairs_carried),
            esc(&if p.unchanged_inputs.is_empty() { "none".to_string() } else { p.unchanged_inputs.join(", ") }),
        ),
    );
    o.push_str("<h3>People by agency</h3>\n<p>People holding a record of the agency, by what happened to them since the previous run (a person with records of several agencies counts for each).</p>\n");
    let shown = [
        Change::New,
        Change::Merged,
        Change::Split,
        Change::Grown,
        Change::Shrunk,
        Change::Unchanged,
    ];
    let head: Vec<String> = std::iter::once("agency".to_string())
        .chain(shown.iter().map(|c| format!("#{}", c.as_str())))
        .collect();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let rows: Vec<(bool, Vec<String>)> = c
        .by_agency
        .iter()
        .map(|(agency, counts)| {
            let mut r = vec![esc(agency)];
            r.extend(
                shown
                    .iter()
                    .map(|ch| fmt_int(counts.get(ch).copied().unwrap_or(0))),
            );
            (false, r)
        })
        .collect();
    table(o, &head, &rows);
    o.push_str("<p class=\"note\">The full list, one row per person with the previous id(s), is <code>changes.parquet</code> (docs/file-formats.md).</p>\n</section>\n");
}
