//! `padan keygen` and `padan fingerprint`.

use clap::Args;
use std::path::PathBuf;

use crate::error::Result;
use crate::keys::SecretKey;

/// Make a new secret key file and print its fingerprint.
///
/// Once, by one agency; the key is shared with the others out of band, and the officers read the
/// fingerprint to each other to check they hold the same key. An existing key file is refused
/// unless --force.
#[derive(Debug, Args)]
#[command(after_help = super::footer("  padan keygen --out agreement.key"))]
pub struct KeygenArgs {
    /// Where to write the key (64 hex digits, mode 0600).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing key file. Files encoded with the old key no longer link with files
    /// encoded with the new one.
    #[arg(long)]
    pub force: bool,
}

/// Runs `padan keygen`.
pub fn run_keygen(args: KeygenArgs) -> Result<()> {
    super::refuse_existing(&args.out, args.force, "--out")?;
    let key = SecretKey::generate()?;
    if args.force {
        key.save_replacing(&args.out)?;
    } else {
        key.save_new(&args.out)?;
    }
    println!("wrote a new key to {}", args.out.display());
    println!("fingerprint: {}", key.fingerprint());
    println!("Share the key with the other agencies out of band; read the fingerprint to each other to check.");
    Ok(())
}

/// Print the fingerprint of a key file (never the key).
#[derive(Debug, Args)]
#[command(after_help = super::footer("  padan fingerprint agreement.key"))]
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
