//! [`AgencyName`]: an agency's name, checked once wherever a name enters padan (`encode
//! --agency` or the column map, `import clkhash --agency`, `synth`, every input of `link`).
//!
//! A name is what the linkage unit and the match set call the agency: non-empty, no comma (files
//! and messages list agencies comma-separated) and no control character.

use std::fmt;

use crate::error::{Error, Result};

/// A checked agency name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgencyName(String);

impl AgencyName {
    /// The rule, as error messages state it.
    pub const RULE: &'static str =
        "the agency name must be non-empty, without commas or control characters";

    /// Checks `name`: the reason when it breaks [`AgencyName::RULE`] (never echoing the name).
    pub fn check(name: &str) -> std::result::Result<(), &'static str> {
        if name.is_empty() || name.chars().any(|c| c.is_control() || c == ',') {
            Err(Self::RULE)
        } else {
            Ok(())
        }
    }

    /// A checked name; a bad one is a configuration error of `what` (e.g. `--agency`).
    pub fn new(name: &str, what: &str) -> Result<AgencyName> {
        Self::check(name).map_err(|rule| Error::config(what, rule))?;
        Ok(AgencyName(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AgencyName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_non_empty_without_commas_or_control_characters() {
        for good in ["kemlu", "Polri Jakarta", "b-2_x.y", "badan ö"] {
            assert_eq!(AgencyName::new(good, "--agency").unwrap().as_str(), good);
        }
        for bad in ["", "a,b", "a\nb", "tab\there", "\u{7f}"] {
            let e = AgencyName::new(bad, "--agency").unwrap_err().to_string();
            assert!(e.contains("--agency") && e.contains("non-empty"), "{e}");
        }
    }
}
