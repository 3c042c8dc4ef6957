//! `padan keygen` and `padan fingerprint`.

use clap::Args;
use std::path::PathBuf;

use crate::error::Result;
use crate::keys::SecretKey;

/// Make a new secret key (once, by one agency; shared with the others out of band).
///
/// Examples:
///   padan keygen --out agreement-2026.key
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the key (64 hex digits, mode 0600). Never overwritten.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `padan keygen`.
pub fn run_keygen(args: KeygenArgs) -> Result<()> {
    let key = SecretKey::generate()?;
    key.save_new(&args.out)?;
    println!("wrote a new key to {}", args.out.display());
    println!("fingerprint: {}", key.fingerprint());
    println!("Share the key with the other agencies out of band; read the fingerprint to each other to check.");
    Ok(())
}

/// Print a key file's fingerprint (never the key).
///
/// Examples:
///   padan fingerprint agreement-2026.key
#[derive(Debug, Args)]
pub struct FingerprintArgs {
    /// The key file.
    pub key: PathBuf,
}

/// Runs `padan fingerprint`.
pub fn run_fingerprint(args: FingerprintArgs) -> Result<()> {
    let key = SecretKey::load(&args.key)?;
    println!("{}", key.fingerprint());
    Ok(())
}
