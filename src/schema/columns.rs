//! The per-agency column map: which extract column feeds which schema field.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use super::Schema;
use crate::error::{Error, Result};

/// The order of day, month and year in an agency's dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Day, month, year (Indonesian usage, the default).
    #[default]
    Dmy,
    /// Month, day, year.
    Mdy,
    /// Year, month, day (ISO).
    Ymd,
}

impl std::str::FromStr for DateOrder {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "dmy" => Ok(DateOrder::Dmy),
            "mdy" => Ok(DateOrder::Mdy),
            "ymd" => Ok(DateOrder::Ymd),
            _ => Err("date order must be dmy, mdy or ymd".into()),
        }
    }
}

/// One or more extract columns feeding a field (several are joined with a space, e.g. given
/// name + surname).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColumnSource {
    /// A single column.
    One(String),
    /// Several columns, joined with a space (empty ones skipped).
    Many(Vec<String>),
}

impl ColumnSource {
    /// The column names.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            ColumnSource::One(c) => vec![c.as_str()],
            ColumnSource::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// An agency's column map (`--columns FILE`, or the `--id-column`/`--column`/`--date-order`
/// flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    /// The agency's name (the `--agency` flag overrides it).
    #[serde(default)]
    pub agency: Option<String>,
    /// The column holding the agency's record id.
    pub id_column: String,
    /// The order of day, month and year in this agency's dates.
    #[serde(default)]
    pub date_order: DateOrder,
    /// Field name → extract column(s). A field without a column is missing for this agency.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnSource>,
}

impl ColumnMap {
    /// Parses a column map from TOML.
    pub fn from_toml(text: &str, source: &str) -> Result<ColumnMap> {
        toml::from_str(text).map_err(|e| {
            let msg = crate::error::redact_parser_message(e.message());
            Error::config(source, msg)
        })
    }

    /// Reads a column-map file.
    pub fn load(path: &Path) -> Result<ColumnMap> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
        ColumnMap::from_toml(&text, &path.display().to_string())
    }

    /// The column map an encode run was given: a column-map file, or an id column with
    /// `field=COL` pairs; `date_order`, when given, overrides the map's. `usage` names the two
    /// ways in the caller's words (flags for the CLI, keyword arguments in Python) for the error
    /// when neither is given.
    pub fn resolve(
        file: Option<&Path>,
        id_column: Option<&str>,
        pairs: &[String],
        date_order: Option<DateOrder>,
        usage: &str,
    ) -> Result<ColumnMap> {
        let mut columns = match (file, id_column) {
            (Some(p), _) => ColumnMap::load(p)?,
            (None, Some(id)) => ColumnMap::from_flags(id, pairs, date_order.unwrap_or_default())?,
            (None, None) => {
                return Err(Error::config(
                    "arguments",
                    format!("say which column feeds which field: {usage}"),
                ))
            }
        };
        if let Some(o) = date_order {
            columns.date_order = o;
        }
        Ok(columns)
    }

    /// Builds a map from `--column field=COL` flags (`COL` may be `A+B` to join columns).
    pub fn from_flags(
        id_column: &str,
        pairs: &[String],
        date_order: DateOrder,
    ) -> Result<ColumnMap> {
        let mut columns = BTreeMap::new();
        for p in pairs {
            let (field, col) = p.split_once('=').ok_or_else(|| {
                Error::config("--column", format!("'{p}' must look like field=COLUMN"))
            })?;
            let cols: Vec<String> = col.split('+').map(|c| c.trim().to_string()).collect();
            let src = if cols.len() == 1 {
                ColumnSource::One(cols.into_iter().next().unwrap_or_default())
            } else {
                ColumnSource::Many(cols)
            };
            if columns.insert(field.trim().to_string(), src).is_some() {
                return Err(Error::config(
                    "--column",
                    format!("field '{field}' is given twice"),
                ));
            }
        }
        Ok(ColumnMap {
            agency: None,
            id_column: id_column.to_string(),
            date_order,
            columns,
        })
    }

    /// Checks the map against the schema: every mapped field exists, required fields are mapped.
    pub fn check(&self, schema: &Schema, source: &str) -> Result<()> {
        for field in self.columns.keys() {
            if schema.field(field).is_none() {
                let known: Vec<_> = schema.fields.iter().map(|f| f.name.as_str()).collect();
                return Err(Error::config(
                    source,
                    format!(
                        "columns.{field}: the schema has no field '{field}' (its fields: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        for f in &schema.fields {
            if f.required && !self.columns.contains_key(&f.name) {
                return Err(Error::config(
                    source,
                    format!(
                        "columns.{}: the schema requires field '{}' but no column feeds it",
                        f.name, f.name
                    ),
                ));
            }
        }
        if self.columns.is_empty() {
            return Err(Error::config(
                source,
                "columns: no field is mapped to a column",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_with_single_and_joined_columns() {
        let m = ColumnMap::from_toml(
            "id_column = \"id\"\ndate_order = \"ymd\"\n[columns]\nname = [\"given\", \"surname\"]\ndob = \"born\"\n",
            "m.toml",
        )
        .unwrap();
        assert_eq!(m.date_order, DateOrder::Ymd);
        assert_eq!(m.columns["name"].columns(), ["given", "surname"]);
        assert_eq!(m.columns["dob"].columns(), ["born"]);
    }

    #[test]
    fn flags_build_the_same_map() {
        let m = ColumnMap::from_flags(
            "id",
            &["name=given+surname".into(), "dob=born".into()],
            DateOrder::Ymd,
        )
        .unwrap();
        assert_eq!(m.columns["name"].columns(), ["given", "surname"]);
        assert!(ColumnMap::from_flags("id", &["nonsense".into()], DateOrder::Dmy).is_err());
    }

    #[test]
    fn check_names_unknown_and_missing_required_fields() {
        let s = Schema::default_victims();
        let m = ColumnMap::from_flags("id", &["nama=x".into()], DateOrder::Dmy).unwrap();
        let e = m.check(&s, "cols").unwrap_err().to_string();
        assert!(e.contains("no field 'nama'"), "{e}");
        let m = ColumnMap::from_flags("id", &["dob=x".into()], DateOrder::Dmy).unwrap();
        let e = m.check(&s, "cols").unwrap_err().to_string();
        assert!(e.contains("requires field 'name'"), "{e}");
    }
}
