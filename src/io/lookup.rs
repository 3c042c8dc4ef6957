//! The pseudonym lookup written by `padan encode --pseudonymize-ids` (stays at the agency):
//! `record_id,pseudonym`, or `record_id,pseudonym,decoy` when the file holds decoys
//! (docs/file-formats.md §1). Read by `padan reveal` and `padan evaluate --lookup`.

use std::path::{Path, PathBuf};

use ahash::AHashMap;

use crate::error::{Error, Result};

/// What a pseudonym stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupEntry {
    /// A real record: the agency's own record id.
    Record(String),
    /// A decoy record (no record id).
    Decoy,
}

/// A pseudonym lookup, by pseudonym.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// The file it was read from.
    pub path: PathBuf,
    /// Pseudonym → entry.
    pub entries: AHashMap<String, LookupEntry>,
    /// Entries that are decoys.
    pub decoys: u64,
}

impl Lookup {
    /// The entry of a pseudonym.
    pub fn get(&self, pseudonym: &str) -> Option<&LookupEntry> {
        self.entries.get(pseudonym)
    }

    /// Entries (real records and decoys).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the lookup is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Reads a lookup file. Errors name the file, line and column, never a value.
    pub fn read(path: &Path) -> Result<Lookup> {
        let at = |line: Option<u64>, column: Option<&str>| crate::io::location(path, line, column);
        let (mut rdr, headers) = crate::io::open_csv_table(path)?;
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let (Some(cr), Some(cp)) = (col("record_id"), col("pseudonym")) else {
            return Err(Error::input(
                at(Some(1), None),
                "not a pseudonym lookup: expected the header record_id,pseudonym[,decoy] (as written by padan encode --pseudonymize-ids)",
            ));
        };
        let cd = col("decoy");
        let mut lookup = Lookup {
            path: path.to_path_buf(),
            ..Lookup::default()
        };
        let mut rec = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                // csv's messages give positions and lengths, not cell contents.
                Err(e) => {
                    let line = e.position().map(|p| p.line());
                    return Err(Error::input(at(line, None), format!("unreadable row: {e}")));
                }
            }
            let line = rec.position().map(|p| p.line());
            let pseudonym = rec.get(cp).unwrap_or("").trim();
            if pseudonym.is_empty() {
                return Err(Error::input(at(line, Some("pseudonym")), "empty value"));
            }
            let decoy = match cd.map(|i| rec.get(i).unwrap_or("").trim()) {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => {
                    return Err(Error::input(
                        at(line, Some("decoy")),
                        "expected true or false",
                    ))
                }
            };
            let entry = if decoy {
                lookup.decoys += 1;
                LookupEntry::Decoy
            } else {
                let id = rec.get(cr).unwrap_or("");
                if id.is_empty() {
                    return Err(Error::input(at(line, Some("record_id")), "empty value"));
                }
                LookupEntry::Record(id.to_string())
            };
            if lookup
                .entries
                .insert(pseudonym.to_string(), entry)
                .is_some()
            {
                return Err(Error::input(
                    at(line, Some("pseudonym")),
                    "this pseudonym already appeared on an earlier line",
                ));
            }
        }
        Ok(lookup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Lookup> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l.csv");
        std::fs::write(&p, text).unwrap();
        Lookup::read(&p)
    }

    #[test]
    fn reads_both_formats() {
        let l = read("record_id,pseudonym\nA1,ps-1\nA2,ps-2\n").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l.decoys, 0);
        assert_eq!(l.get("ps-2"), Some(&LookupEntry::Record("A2".into())));
        let l = read("record_id,pseudonym,decoy\nA1,ps-1,false\n,ps-9,true\n").unwrap();
        assert_eq!(l.get("ps-1"), Some(&LookupEntry::Record("A1".into())));
        assert_eq!(l.get("ps-9"), Some(&LookupEntry::Decoy));
        assert_eq!(l.decoys, 1);
        assert_eq!(l.get("ps-3"), None);
    }

    #[test]
    fn errors_name_the_line_and_column_not_the_value() {
        let e = read("id,pseudo\nA1,ps-1\n").unwrap_err().to_string();
        assert!(e.contains("record_id,pseudonym"), "{e}");
        let e = read("record_id,pseudonym\nSECRET1,ps-1\nSECRET2,ps-1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && !e.contains("SECRET"), "{e}");
        let e = read("record_id,pseudonym,decoy\nSECRET1,ps-1,maybe\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'decoy'") && !e.contains("SECRET"), "{e}");
        let e = read("record_id,pseudonym,decoy\n,ps-1,false\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'record_id'"), "{e}");
    }
}
