//! The agencies' shared secret key, its fingerprint, and per-field, per-purpose subkeys.
//!
//! The key is 32 random bytes kept as 64 hex digits in a file readable only by its owner. It never
//! leaves the agencies: the linkage unit works on what it produced and compares fingerprints only.
//! Every hash padan computes is keyed blake3 under a subkey derived with blake3's `derive_key`
//! mode from the key, a purpose and a field name, so a filter bit position or a token cannot be
//! recomputed without the key, and two fields (or two purposes) never share hash outputs.

use std::fmt;
use std::path::Path;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// The context string of every subkey derivation (blake3 `derive_key` mode).
const SUBKEY_CONTEXT: &str = "padan 2026-11 v1 subkey (field, purpose)";
/// The fixed label hashed under the key to make its fingerprint.
const FINGERPRINT_LABEL: &[u8] = b"padan key fingerprint v1";

/// What a subkey is for (domain separation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Bit positions in a field's Bloom filter.
    FieldFilter,
    /// Bit positions in the record-level filter.
    RecordFilter,
    /// Exact tokens.
    Token,
    /// Blocking keys.
    Block,
    /// Record-id pseudonyms.
    Pseudonym,
    /// Hardening (permutations, flips, salts).
    Hardening,
    /// Decoy records: where they go, what they hold, their pseudonyms.
    Decoy,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::FieldFilter => b"field-filter",
            Purpose::RecordFilter => b"record-filter",
            Purpose::Token => b"token",
            Purpose::Block => b"block",
            Purpose::Pseudonym => b"pseudonym",
            Purpose::Hardening => b"hardening",
            Purpose::Decoy => b"decoy",
        }
    }
}

/// The shared secret key. Zeroized on drop; `Debug` prints `Secret(..)`; it has no `Display`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl SecretKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Result<SecretKey> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Internal(format!("the OS random number generator failed: {e}")))?;
        Ok(SecretKey(bytes))
    }

    /// A key from raw bytes (tests and known-answer vectors).
    pub fn from_bytes(bytes: [u8; 32]) -> SecretKey {
        SecretKey(bytes)
    }

    /// Parses the key file's text: 64 hex digits, surrounding white space allowed, `#` comment
    /// lines allowed. The message never echoes the text.
    pub fn from_hex_text(text: &str, source: &Path) -> Result<SecretKey> {
        let mut hex_digits = String::with_capacity(64);
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            hex_digits.push_str(line);
        }
        let bad = |what: &str| {
            Error::input_file(
                source,
                format!("not a padan key file: {what} (expected 64 hex digits, as written by `padan keygen`)"),
            )
        };
        if hex_digits.len() != 64 {
            let n = hex_digits.len();
            hex_digits.zeroize();
            return Err(bad(&format!("found {n} characters")));
        }
        let mut bytes = [0u8; 32];
        let ok = hex::decode_to_slice(&hex_digits, &mut bytes).is_ok();
        hex_digits.zeroize();
        if !ok {
            return Err(bad("it holds characters that are not hex digits"));
        }
        Ok(SecretKey(bytes))
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<SecretKey> {
        let mut text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => Error::input_file(
                path,
                "not a padan key file: it is not text (expected 64 hex digits)",
            ),
            _ => Error::io("reading key file", path, e),
        })?;
        let key = SecretKey::from_hex_text(&text, path);
        text.zeroize();
        key
    }

    /// Writes a new key file (mode 0600 on Unix), refusing to overwrite an existing file.
    pub fn save_new(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::config(
                    "--out",
                    format!(
                        "{} already exists: give --force to replace the key, or choose another name",
                        path.display()
                    ),
                )
            } else {
                Error::io("creating key file", path, e)
            }
        })?;
        let mut text = hex::encode(self.0);
        text.push('\n');
        let res = file
            .write_all(text.as_bytes())
            .and_then(|_| file.sync_all());
        text.zeroize();
        res.map_err(|e| Error::io("writing key file", path, e))
    }

    /// Writes a new key file in place of `path`, which may exist: written to a new temporary file
    /// (mode 0600) beside it, then renamed over it, so a failure leaves the old key whole.
    pub fn save_replacing(&self, path: &Path) -> Result<()> {
        let name = path.file_name().ok_or_else(|| {
            Error::config("--out", format!("{} is not a file name", path.display()))
        })?;
        let tmp = path.with_file_name(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        self.save_new(&tmp)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io("renaming", path, e)
        })
    }

    /// The key's fingerprint: a keyed hash of a fixed label, 12 hex digits in three groups
    /// (`7f3a-91c2-0b4d`), short enough to read aloud, useless for recovering the key.
    pub fn fingerprint(&self) -> String {
        let h = blake3::keyed_hash(&self.0, FINGERPRINT_LABEL);
        let x = hex::encode(&h.as_bytes()[..6]);
        format!("{}-{}-{}", &x[0..4], &x[4..8], &x[8..12])
    }

    /// The subkey for one field and purpose.
    pub fn subkey(&self, purpose: Purpose, field: &str) -> Subkey {
        let mut h = blake3::Hasher::new_derive_key(SUBKEY_CONTEXT);
        h.update(&self.0);
        h.update(purpose.label());
        h.update(&[0]);
        h.update(field.as_bytes());
        Subkey(*h.finalize().as_bytes())
    }
}

/// A derived subkey; zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Subkey([u8; 32]);

impl fmt::Debug for Subkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Subkey {
    /// A keyed blake3 hasher under this subkey.
    pub fn hasher(&self) -> blake3::Hasher {
        blake3::Hasher::new_keyed(&self.0)
    }

    /// The first 16 bytes of the keyed hash of `data`.
    pub fn token(&self, data: &[u8]) -> [u8; 16] {
        let h = blake3::keyed_hash(&self.0, data);
        let mut out = [0u8; 16];
        out.copy_from_slice(&h.as_bytes()[..16]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let k = SecretKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{k:?}"), "Secret(..)");
        assert_eq!(
            format!("{:?}", k.subkey(Purpose::Token, "name")),
            "Secret(..)"
        );
    }

    #[test]
    fn fingerprint_is_short_stable_and_key_dependent() {
        let a = SecretKey::from_bytes([1; 32]);
        let b = SecretKey::from_bytes([2; 32]);
        assert_eq!(a.fingerprint().len(), 14);
        assert_eq!(
            a.fingerprint(),
            SecretKey::from_bytes([1; 32]).fingerprint()
        );
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(!a.fingerprint().contains("0101"));
    }

    #[test]
    fn subkeys_are_separated_by_field_and_purpose() {
        let k = SecretKey::from_bytes([7; 32]);
        let t1 = k.subkey(Purpose::Token, "name").token(b"x");
        let t2 = k.subkey(Purpose::Token, "nik").token(b"x");
        let t3 = k.subkey(Purpose::Block, "name").token(b"x");
        assert_ne!(t1, t2);
        assert_ne!(t1, t3);
    }

    #[test]
    fn parses_hex_with_comments_and_rejects_garbage_without_echo() {
        let p = Path::new("k.key");
        let hexs = "ab".repeat(32);
        let k = SecretKey::from_hex_text(&format!("# padan key\n{hexs}\n"), p).unwrap();
        assert_eq!(
            k.fingerprint(),
            SecretKey::from_bytes([0xab; 32]).fingerprint()
        );
        let e = SecretKey::from_hex_text("zz".repeat(32).as_str(), p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("k.key") && !e.contains("zzzz"), "{e}");
        let e = SecretKey::from_hex_text("abc", p).unwrap_err().to_string();
        assert!(e.contains("found 3 characters"), "{e}");
    }

    #[test]
    fn save_refuses_to_overwrite_replaces_on_request_and_sets_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.key");
        let k = SecretKey::generate().unwrap();
        k.save_new(&p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(k.save_new(&p).is_err());
        assert_eq!(SecretKey::load(&p).unwrap().fingerprint(), k.fingerprint());
        let k2 = SecretKey::generate().unwrap();
        k2.save_replacing(&p).unwrap();
        assert_eq!(SecretKey::load(&p).unwrap().fingerprint(), k2.fingerprint());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let left: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left beside the key");
    }
}
