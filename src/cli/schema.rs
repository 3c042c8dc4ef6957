//! `padan schema default`, `padan schema v3` and `padan schema check`.

use clap::{Args, Subcommand};
use std::path::PathBuf;

use crate::error::Result;
use crate::schema::{Schema, DEFAULT_SCHEMA_TOML, V3_SCHEMA_TOML};

/// Print or check a linkage schema.
///
/// All agencies of one agreement encode with the same schema: the fields, how each is
/// normalized and encoded. `default` prints the built-in one (salt slots), `v3` the previous
/// default (name salted by birth year; it leaks: see docs/privacy.md), `check` validates a file
/// and prints the fingerprint the agencies compare.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct SchemaArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: SchemaAction,
}

/// Schema actions.
#[derive(Debug, Subcommand)]
pub enum SchemaAction {
    /// Print the commented default schema for victim records (salt slots).
    #[command(after_help = super::footer("  padan schema default > schema.toml"))]
    Default,
    /// Print the default of encoding version 3 (name salted by birth year, record-level filter),
    /// for agreements encoded with it and for comparisons; the self-test recovers most names from
    /// it (docs/privacy.md).
    #[command(after_help = super::footer("  padan schema v3 > schema-v3.toml"))]
    V3,
    /// Validate a schema file and print its fingerprint.
    #[command(after_help = super::footer("  padan schema check schema.toml"))]
    Check {
        /// The schema file.
        file: PathBuf,
    },
}

const EXAMPLES: &str = "
  padan schema default > schema.toml
  padan schema check schema.toml";

/// Runs `padan schema`.
pub fn run(args: SchemaArgs) -> Result<()> {
    match args.action {
        SchemaAction::Default => {
            print!("{DEFAULT_SCHEMA_TOML}");
            Ok(())
        }
        SchemaAction::V3 => {
            print!("{V3_SCHEMA_TOML}");
            Ok(())
        }
        SchemaAction::Check { file } => {
            let s = Schema::load(&file)?;
            println!("{}: valid schema version {}", file.display(), s.version);
            println!("fingerprint: {}", s.fingerprint());
            for slot in &s.slots {
                println!("  slot {:<12} salt: {}", slot.name, slot.salt.join(" + "));
            }
            for (fi, f) in s.fields.iter().enumerate() {
                if f.kind.has_filter() {
                    println!(
                        "  {:<12} {:<9} q={} bits={} hashes={} token={} record_hashes={}{}",
                        f.name,
                        f.kind.as_str(),
                        f.q,
                        f.bits,
                        f.hashes,
                        f.exact_token,
                        f.record_hashes,
                        if f.required { " required" } else { "" }
                    );
                    let h = &f.hardening;
                    if !h.is_off() {
                        let mut parts = Vec::new();
                        if !h.salt.is_empty() {
                            parts.push(format!("salt=year({})", h.salt));
                        }
                        if h.permute {
                            parts.push("permute".into());
                        }
                        if h.balance {
                            parts.push("balance".into());
                        }
                        if h.fold {
                            parts.push("fold".into());
                        }
                        if !h.slots.is_empty() {
                            parts.push(format!("slots={}", h.slots.join(",")));
                        }
                        if h.hashes_per_value > 0 {
                            parts.push(format!("{} hashes per value", h.hashes_per_value));
                        }
                        if h.blip_epsilon > 0.0 {
                            parts.push(format!(
                                "blip ε={} (p={:.3})",
                                h.blip_epsilon,
                                h.blip_probability()
                            ));
                        }
                        println!(
                            "  {:<12} hardened: {} → {} bits stored",
                            "",
                            parts.join(", "),
                            f.stored_bits()
                        );
                    }
                } else if f.exact_token {
                    println!("  {:<12} {:<9} token only", f.name, f.kind.as_str());
                } else {
                    let in_salt = s.slots.iter().any(|sl| {
                        sl.parts(&s)
                            .is_ok_and(|parts| parts.iter().any(|p| p.field() == fi))
                    });
                    let what = if in_salt {
                        "in slot salts only"
                    } else {
                        "not encoded (no token, in no slot salt)"
                    };
                    println!("  {:<12} {:<9} {what}", f.name, f.kind.as_str());
                }
            }
            Ok(())
        }
    }
}
