//! Truth files: CSV `agency,record_id,person_id` (as `padan synth` writes them), read once here
//! so that `padan evaluate --truth` and `padan report --truth` judge a file identically.
//!
//! Every row must have all three values (after trimming); an `(agency, record_id)` may appear only
//! once. Errors name the file, the line and the column, never a value.

use std::path::Path;

use ahash::AHashMap;

use crate::error::{Error, Result};
use crate::io::lookup::{Lookup, LookupEntry};

/// The truth: every `(agency, record_id)` mapped once to a dense index.
pub struct Truth {
    /// Data rows of the truth file.
    pub rows: u64,
    /// Agency → agency index.
    pub agencies: AHashMap<String, u32>,
    /// Per agency: record id → dense index.
    pub ids: Vec<AHashMap<String, u32>>,
    /// Per dense index: person (dense id).
    pub person: Vec<u64>,
    /// Per dense index: agency index.
    pub agency: Vec<u32>,
}

impl Truth {
    /// Renames `agency`'s truth ids to their pseudonyms and adds its decoys as one-record persons.
    /// Returns the decoys added.
    pub fn apply_lookup(&mut self, agency: &str, lookup: &Lookup) -> Result<u64> {
        let a = match self.agencies.get(agency) {
            Some(&a) => a,
            None => {
                let a = self.ids.len() as u32;
                self.agencies.insert(agency.to_string(), a);
                self.ids.push(AHashMap::default());
                a
            }
        };
        let by_id = std::mem::take(&mut self.ids[a as usize]);
        let mut next_person = self.person.iter().max().map_or(0, |p| p + 1);
        let mut entries: Vec<(&String, &LookupEntry)> = lookup.entries.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut renamed = AHashMap::default();
        let mut decoys = 0;
        for (pseudonym, entry) in entries {
            let idx = match entry {
                LookupEntry::Record(id) => match by_id.get(id.as_str()) {
                    Some(&idx) => idx,
                    None => continue,
                },
                LookupEntry::Decoy => {
                    let idx = u32::try_from(self.person.len()).map_err(|_| {
                        Error::input_file(&lookup.path, "more than 4 294 967 295 truth records")
                    })?;
                    self.person.push(next_person);
                    self.agency.push(a);
                    next_person += 1;
                    decoys += 1;
                    idx
                }
            };
            renamed.insert(pseudonym.clone(), idx);
        }
        self.ids[a as usize] = renamed;
        Ok(decoys)
    }

    /// The dense index of a record, if the truth has it.
    pub fn lookup(&self, agency: &str, record_id: &str) -> Option<u32> {
        let a = *self.agencies.get(agency)?;
        self.ids[a as usize].get(record_id).copied()
    }

    /// Reads a truth file (see the module docs).
    pub fn read(path: &Path) -> Result<Truth> {
        let at = |line: Option<u64>, column: Option<&str>| super::location(path, line, column);
        let (mut rdr, headers) = super::open_csv_table(path)?;
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| {
                    Error::input(
                        at(Some(1), Some(name)),
                        "missing column (a truth file has columns agency,record_id,person_id)",
                    )
                })
        };
        let (ca, cr, cp) = (col("agency")?, col("record_id")?, col("person_id")?);

        let mut truth = Truth {
            rows: 0,
            agencies: AHashMap::default(),
            ids: Vec::new(),
            person: Vec::new(),
            agency: Vec::new(),
        };
        let mut persons: AHashMap<String, u64> = AHashMap::default();
        let mut rec = csv::ByteRecord::new();
        let mut line = 1u64;
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let l = e.position().map(|p| p.line()).or(Some(line + 1));
                    // csv's messages give positions and lengths, not cell contents.
                    return Err(Error::input(at(l, None), format!("unreadable row: {e}")));
                }
            }
            line = rec.position().map_or(line + 1, |p| p.line());
            let cell = |i: usize, name: &str| -> Result<&str> {
                match rec.get(i).map(std::str::from_utf8) {
                    Some(Ok(v)) if !v.trim().is_empty() => Ok(v.trim()),
                    Some(Err(_)) => Err(Error::input(at(Some(line), Some(name)), "not UTF-8")),
                    _ => Err(Error::input(at(Some(line), Some(name)), "empty value")),
                }
            };
            let (agency, record_id, person) = (
                cell(ca, "agency")?,
                cell(cr, "record_id")?,
                cell(cp, "person_id")?,
            );
            let idx = u32::try_from(truth.person.len()).map_err(|_| {
                Error::input(
                    at(Some(line), None),
                    "more than 4 294 967 295 truth records",
                )
            })?;
            let a = match truth.agencies.get(agency) {
                Some(&a) => a,
                None => {
                    let a = truth.ids.len() as u32;
                    truth.agencies.insert(agency.to_string(), a);
                    truth.ids.push(AHashMap::default());
                    a
                }
            };
            if truth.ids[a as usize]
                .insert(record_id.to_string(), idx)
                .is_some()
            {
                return Err(Error::input(
                    at(Some(line), Some("record_id")),
                    "this (agency, record_id) already appeared on an earlier line",
                ));
            }
            let p = match persons.get(person) {
                Some(&p) => p,
                None => {
                    let p = persons.len() as u64;
                    persons.insert(person.to_string(), p);
                    p
                }
            };
            truth.person.push(p);
            truth.agency.push(a);
            truth.rows += 1;
        }
        Ok(truth)
    }

    /// The person of a record, if the truth has it.
    pub fn person_of(&self, agency: &str, record_id: &str) -> Option<u64> {
        self.lookup(agency, record_id)
            .map(|i| self.person[i as usize])
    }
}
