//! `padan reveal REVIEW_FILE --extract …`: at an agency, its own side of each pair of a review
//! file next to its own extract's fields, for a reviewer to judge (run locally: the output holds
//! identities and stays at the agency).
//!
//! Each agency opens only its own records; the other side of a pair stays an id (and its labels
//! say how its fields compared). Two agencies compare by talking over their two revealed files,
//! pair by pair (the pair id is the same on both), without either sending its extract to the
//! linkage unit. The output keeps `decision`, `reviewer` and `note` for the verdicts, and `padan
//! link --decisions` / `padan evaluate --decisions` read it as it is (they need only the pair id
//! and the decision).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::extract::{Extract, TextEncoding};
use crate::io::lookup::{Lookup, LookupEntry};
use crate::io::AtomicFile;
use crate::schema::{ColumnMap, Schema};

/// What a review reveal did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ReviewRevealSummary {
    /// Rows of the review file.
    pub review_rows: u64,
    /// Rows written (pairs with a record of this agency).
    pub rows: u64,
    /// Pairs without a record of this agency (not written).
    pub not_ours: u64,
    /// Pairs with one of this agency's decoys (not written).
    pub decoys: u64,
    /// Own records of the review file not found in the extract (their fields left empty).
    pub not_in_extract: u64,
}

/// The default output: `review-AGENCY.csv` beside the review file.
pub fn default_output(review: &Path, agency: &str) -> PathBuf {
    let safe: String = agency
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    review.with_file_name(format!("review-{safe}.csv"))
}

/// The inputs of a review reveal.
#[derive(Debug, Clone)]
pub struct ReviewReveal<'a> {
    /// The review file (from `padan review export`).
    pub review: &'a Path,
    /// This agency.
    pub agency: &'a str,
    /// Its extract.
    pub extract: &'a Path,
    /// The shared schema.
    pub schema: &'a Schema,
    /// Its column map.
    pub columns: &'a ColumnMap,
    /// Its pseudonym lookup, when it encoded with `--pseudonymize-ids`.
    pub lookup: Option<&'a Lookup>,
    /// The CSV to write.
    pub out: &'a Path,
}

const REVIEW_COLUMNS: [&str; 10] = [
    "pair_id",
    "band",
    "match_probability",
    "left_agency",
    "left_id",
    "right_agency",
    "right_id",
    "decision",
    "reviewer",
    "note",
];

/// Writes this agency's side of every pair of the review file.
pub fn reveal_review(r: &ReviewReveal<'_>) -> Result<ReviewRevealSummary> {
    let fields: Vec<String> = r.schema.fields.iter().map(|f| f.name.clone()).collect();
    let label_cols: Vec<String> = fields.iter().map(|f| format!("label_{f}")).collect();
    let mut wanted: Vec<&str> = REVIEW_COLUMNS.to_vec();
    wanted.extend(label_cols.iter().map(String::as_str));
    let t = super::table::read(r.review, &wanted)?;
    for (i, name) in REVIEW_COLUMNS.iter().enumerate().take(7) {
        if !t.has(i) && *name != "band" && *name != "match_probability" {
            return Err(Error::input(
                crate::io::location(r.review, Some(1), Some(name)),
                "missing column: is this a review file written by padan review export?",
            ));
        }
    }

    // The extract: id → cells per schema field.
    let mut ex = Extract::open(r.extract, r.schema, r.columns, TextEncoding::Auto)?;
    let mut own: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for row in ex.read_all()? {
        if !row.id.is_empty() {
            own.entry(row.id).or_insert(row.cells);
        }
    }

    let mut s = ReviewRevealSummary {
        review_rows: t.rows.len() as u64,
        ..Default::default()
    };
    // Resolves one of this agency's ids: Ok(None) for a decoy.
    let resolve = |id: &str, line: u64, col: &str| -> Result<Option<String>> {
        match r.lookup {
            None => Ok(Some(id.to_string())),
            Some(l) => match l.get(id) {
                Some(LookupEntry::Record(own)) => Ok(Some(own.clone())),
                Some(LookupEntry::Decoy) => Ok(None),
                None => Err(Error::input(
                    crate::io::location(r.review, Some(line), Some(col)),
                    format!(
                        "this record of agency '{}' is not in the lookup {} (the lookup of another agency or of another encode run?)",
                        r.agency,
                        l.path.display()
                    ),
                )),
            },
        }
    };

    let mut out = AtomicFile::create(r.out)?;
    {
        let mut w = csv::Writer::from_writer(std::io::BufWriter::new(out.file()));
        let mut header: Vec<String> = ["pair_id", "band", "match_probability"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        header.extend(label_cols.iter().cloned());
        header.push("own_record_id".into());
        header.extend(fields.iter().map(|f| format!("own_{f}")));
        header.push("other_agency".into());
        header.push("other_record_id".into());
        header.extend(fields.iter().map(|f| format!("other_{f}")));
        header.extend(["decision", "reviewer", "note"].map(String::from));
        let io = |e: csv::Error| Error::io("writing", r.out, std::io::Error::other(e.to_string()));
        w.write_record(&header).map_err(io)?;
        let empty = vec![None; fields.len()];
        for (line, c) in &t.rows {
            let cell = |i: usize| c[i].clone().unwrap_or_default();
            let (la, li, ra, ri) = (cell(3), cell(4), cell(5), cell(6));
            let (own_col, own_id, other_agency, other_id, other_col) = if la == r.agency {
                ("left_id", li, ra, ri, "right_id")
            } else if ra == r.agency {
                ("right_id", ri, la, li, "left_id")
            } else {
                s.not_ours += 1;
                continue;
            };
            let Some(own_id) = resolve(&own_id, *line, own_col)? else {
                s.decoys += 1;
                continue;
            };
            // The other side is ours too (a within-agency pair): reveal it as well.
            let other_own = if other_agency == r.agency {
                match resolve(&other_id, *line, other_col)? {
                    Some(id) => Some(id),
                    None => {
                        s.decoys += 1;
                        continue;
                    }
                }
            } else {
                None
            };
            let own_cells = match own.get(&own_id) {
                Some(v) => v,
                None => {
                    s.not_in_extract += 1;
                    &empty
                }
            };
            let mut rec: Vec<String> = vec![cell(0), cell(1), cell(2)];
            rec.extend((0..label_cols.len()).map(|k| cell(REVIEW_COLUMNS.len() + k)));
            rec.push(own_id.clone());
            rec.extend(own_cells.iter().map(|x| x.clone().unwrap_or_default()));
            rec.push(other_agency.clone());
            match &other_own {
                Some(id) => {
                    rec.push(id.clone());
                    let o = own.get(id).unwrap_or(&empty);
                    rec.extend(o.iter().map(|x| x.clone().unwrap_or_default()));
                }
                None => {
                    rec.push(other_id.clone());
                    rec.extend(fields.iter().map(|_| String::new()));
                }
            }
            rec.extend([cell(7), cell(8), cell(9)]);
            w.write_record(&rec).map_err(io)?;
            s.rows += 1;
        }
        w.flush().map_err(|e| Error::io("writing", r.out, e))?;
    }
    out.commit()?;
    Ok(s)
}
