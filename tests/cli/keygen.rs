//! `padan keygen` and `padan fingerprint`.

use super::harness::{test_key, Dir};

/// The fingerprint of fixtures/test.key. It is a keyed hash of a fixed label: if it changes,
/// every agency's fingerprint changes and officers can no longer check keys against old records.
const TEST_KEY_FINGERPRINT: &str = "490a-100f-f493";

#[test]
fn fingerprint_of_the_test_key_is_pinned() {
    let d = Dir::new();
    let r = d
        .padan(["fingerprint".as_ref(), test_key().as_os_str()])
        .ok();
    assert_eq!(r.stdout.trim(), TEST_KEY_FINGERPRINT);
}

#[test]
fn keygen_writes_a_0600_key_whose_fingerprint_it_prints() {
    let d = Dir::new();
    let r = d.padan(["keygen", "--out", "a.key"]).ok();
    let text = std::fs::read_to_string(d.path("a.key")).unwrap();
    let hex = text.trim();
    assert_eq!(hex.len(), 64, "64 hex digits");
    assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!r.stdout.contains(hex), "keygen must not print the key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path("a.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode");
    }
    let fp = d
        .padan(["fingerprint", "a.key"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(
        r.stdout.contains(&format!("fingerprint: {fp}")),
        "keygen prints the same fingerprint as `padan fingerprint`: {r:#?}"
    );
    // xxxx-xxxx-xxxx, short enough to read over the phone
    assert_eq!(fp.len(), 14);
    assert_eq!(fp.matches('-').count(), 2);

    // Two keys differ.
    d.padan(["keygen", "--out", "b.key"]).ok();
    assert_ne!(text, std::fs::read_to_string(d.path("b.key")).unwrap());
}

#[test]
fn keygen_refuses_to_overwrite() {
    let d = Dir::new();
    d.write("a.key", "precious\n");
    let r = d.padan(["keygen", "--out", "a.key"]).fails(2);
    assert!(r.stderr.contains("already exists"), "{r:#?}");
    assert_eq!(
        std::fs::read_to_string(d.path("a.key")).unwrap(),
        "precious\n"
    );
}

#[test]
fn key_files_accept_comments_and_white_space() {
    let d = Dir::new();
    let hex = std::fs::read_to_string(test_key())
        .unwrap()
        .lines()
        .find(|l| !l.starts_with('#'))
        .unwrap()
        .to_string();
    d.write(
        "spaced.key",
        format!("\n# a comment\n  {hex}  \r\n\n# another\n"),
    );
    let r = d.padan(["fingerprint", "spaced.key"]).ok();
    assert_eq!(r.stdout.trim(), TEST_KEY_FINGERPRINT);
}
