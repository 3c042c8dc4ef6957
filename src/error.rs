//! One error type for the whole crate.
//!
//! Variants say whose fault it is: the user's configuration, the input data, the file system, an
//! incompatibility between inputs, or an internal bug. Context (file, row, column, config key) is
//! carried as names and numbers — **never as an identifier value**: a message may name the file,
//! the line, the record id and the column, but not what the cell contained.

use std::path::{Path, PathBuf};

/// Result alias used throughout padan.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in an input a problem was found. Never holds a cell value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file, when known.
    pub file: Option<PathBuf>,
    /// 1-based line (CSV, header = line 1) or 1-based row (Parquet).
    pub line: Option<u64>,
    /// The column or field name.
    pub column: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(p) = &self.file {
            parts.push(p.display().to_string());
        }
        if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let Some(c) = &self.column {
            parts.push(format!("column '{c}'"));
        }
        if parts.is_empty() {
            f.write_str("<input>")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Every error padan reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user's configuration (schema, column map, link config, flags) is wrong.
    #[error("configuration error in {source_name}: {message}")]
    Config {
        /// The file or flag the problem is in.
        source_name: String,
        /// What is wrong (names keys, never values of identifiers).
        message: String,
    },
    /// The input data is malformed in a way that stops the run.
    #[error("bad input at {location}: {message}")]
    Input {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// Inputs cannot be used together (different keys, schemas, versions, duplicate agency).
    #[error("incompatible inputs: {0}")]
    Incompatible(String),
    /// The run would not fit in the memory budget (the message names the block kind and the
    /// setting to change); refused before the work starts.
    #[error("refused, too large for memory: {0}")]
    TooLarge(String),
    /// A file system or OS error, with the path it concerns.
    #[error("{action} {path}: {source}")]
    Io {
        /// What padan was doing ("reading", "writing", "creating" ...).
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A Parquet or Arrow error while reading or writing a file.
    #[error("{action} {path}: {message}")]
    Format {
        /// What padan was doing.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The library's message (never contains cell values for our files).
        message: String,
    },
    /// A check the user asked for failed (e.g. `padan attack --max-reidentified`).
    #[error("check failed: {0}")]
    CheckFailed(String),
    /// Too many of an extract's rows were rejected (`padan encode --max-reject-rate`, or all of
    /// them): the rejects file is written, the encoded file is not.
    #[error("{0}")]
    TooManyRejects(String),
    /// A bug in padan: please report it.
    #[error("internal error (a bug in padan, please report it): {0}")]
    Internal(String),
}

/// Whether a fragment quoted by a parser may be shown: it looks like a configuration key or
/// keyword (lower-case ASCII letters, digits, `_`, `-`, `.`; at most 40 characters). A fragment
/// of a data file handed over as a configuration by mistake (a name, a number) is not shown.
pub fn looks_like_config_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        })
}

/// A TOML / JSON parser's message with every quoted fragment that does not look like a
/// configuration key replaced by `…` (parsers quote the file's text: `unknown field `X``).
pub fn redact_parser_message(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(['`', '"', '\'']) {
        let q = rest[i..].chars().next().expect("found above");
        out.push_str(&rest[..i + 1]);
        let after = &rest[i + 1..];
        match after.find(q) {
            Some(j) => {
                let frag = &after[..j];
                out.push_str(if looks_like_config_key(frag) {
                    frag
                } else {
                    "…"
                });
                out.push(q);
                rest = &after[j + 1..];
            }
            None => {
                // An unbalanced quote: drop the rest rather than risk echoing text.
                out.push('…');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The exit codes, for every command's `--help` (docs/cli.md has the same table).
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  success (rows may still have been rejected: see the summary and the rejects file)
  1  internal error (a bug in padan, please report it)
  2  usage or configuration error (also: an output that exists, without --force)
  3  bad input data (an unsupported or empty file, a mapped column missing, a bad key file)
  4  incompatible inputs (files of different keys, schemas or encoding versions)
  5  I/O or file format error
  6  a check you asked for failed (attack --max-reidentified)
  7  too many rows rejected (encode --max-reject-rate, default 0.5, or every row): the rejects
     file is written, no encoded file";

impl Error {
    /// A configuration error.
    pub fn config(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            source_name: source_name.into(),
            message: message.into(),
        }
    }

    /// An input error at a location.
    pub fn input(location: Location, message: impl Into<String>) -> Self {
        Error::Input {
            location,
            message: message.into(),
        }
    }

    /// An input error for a whole file.
    pub fn input_file(path: &Path, message: impl Into<String>) -> Self {
        Error::Input {
            location: Location {
                file: Some(path.to_path_buf()),
                ..Location::default()
            },
            message: message.into(),
        }
    }

    /// An I/O error with its path.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// A Parquet / Arrow error with its path.
    pub fn format(action: &'static str, path: &Path, err: impl std::fmt::Display) -> Self {
        Error::Format {
            action,
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    }

    /// The process exit code for this error (documented in docs/cli.md).
    ///
    /// | code | meaning |
    /// | --- | --- |
    /// | 0 | success |
    /// | 1 | internal error |
    /// | 2 | usage or configuration error |
    /// | 3 | bad input data |
    /// | 4 | incompatible inputs, or a link that would not fit in memory |
    /// | 5 | I/O or file format error |
    /// | 6 | a requested check failed (`padan attack --max-reidentified`) |
    /// | 7 | too many rows rejected (`padan encode --max-reject-rate`, or all rows) |
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Internal(_) => 1,
            Error::Config { .. } => 2,
            Error::Input { .. } => 3,
            Error::Incompatible(_) | Error::TooLarge(_) => 4,
            Error::Io { .. } | Error::Format { .. } => 5,
            Error::CheckFailed(_) => 6,
            Error::TooManyRejects(_) => 7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_messages_keep_config_keys_and_drop_other_fragments() {
        assert_eq!(
            redact_parser_message("unknown field `ZQXV03`, expected one of `agency`, `id_column`"),
            "unknown field `…`, expected one of `agency`, `id_column`"
        );
        assert_eq!(
            redact_parser_message("unknown field `bitz`, expected `bits`"),
            "unknown field `bitz`, expected `bits`"
        );
        assert_eq!(
            redact_parser_message("invalid value \"Siti Aminah\" here"),
            "invalid value \"…\" here"
        );
        assert_eq!(redact_parser_message("bad `3201014703900001"), "bad `…");
        assert_eq!(redact_parser_message("no quotes"), "no quotes");
    }
}
