//! Help, shell completions and manual pages: every command's `--help` shows its examples and the
//! exit codes; `padan completions` and `padan man` are generated from the same definitions.

use super::harness::Dir;

/// Every command and nested command, as typed after `padan`.
const COMMANDS: &[&[&str]] = &[
    &["demo"],
    &["keygen"],
    &["fingerprint"],
    &["synth"],
    &["schema"],
    &["schema", "default"],
    &["schema", "check"],
    &["encode"],
    &["import"],
    &["import", "clkhash"],
    &["link"],
    &["attack"],
    &["bench"],
    &["bench", "dice"],
    &["evaluate"],
    &["report"],
    &["reveal"],
    &["completions"],
    &["man"],
];

#[test]
fn every_commands_help_shows_its_examples_and_the_exit_codes() {
    let d = Dir::new();
    for cmd in COMMANDS {
        for flag in ["--help", "-h"] {
            let mut args = cmd.to_vec();
            args.push(flag);
            let r = d.padan(&args).ok();
            let words = cmd.join(" ");
            let examples = r
                .stdout
                .split_once("\nExamples:\n")
                .unwrap_or_else(|| panic!("padan {words} {flag} has no Examples: {}", r.stdout))
                .1;
            // The first example is a command line of this very command.
            let first = examples.lines().next().unwrap().trim_start();
            assert!(
                first.contains(&format!("padan {words}")),
                "padan {words} {flag}: first example is `{first}`"
            );
            assert!(
                r.stdout.contains("Exit codes:\n  0  success"),
                "padan {words} {flag} lists the exit codes"
            );
        }
    }
    // The long help keeps each command's description (a doc comment on the subcommand list
    // used to replace it with the one-line summary).
    let r = d.padan(["encode", "--help"]).ok();
    assert!(r.stdout.contains("Only the encoded file"), "{}", r.stdout);
    let r = d.padan(["--help"]).ok();
    assert!(r.stdout.contains("Start with `padan demo`"), "{}", r.stdout);
}

#[test]
fn completions_name_every_command_and_flag() {
    let d = Dir::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = d.padan(["completions", shell]).ok();
        for word in [
            "encode",
            "link",
            "reveal",
            "pseudonymize-ids",
            "write-candidates",
        ] {
            assert!(r.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
    d.padan(["completions", "tcsh"]).fails(2);
}

#[test]
fn man_prints_padan_1_and_writes_one_page_per_command() {
    let d = Dir::new();
    let r = d.padan(["man"]).ok();
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH padan 1"),
        "roff"
    );
    assert!(r.stdout.contains(".TH padan 1"));
    assert!(r.stdout.contains("encode"));

    let r = d.padan(["man", "--out", "man1"]).ok();
    assert!(r.stdout.contains("manual pages"), "{r:#?}");
    for page in [
        "padan.1",
        "padan-encode.1",
        "padan-schema-check.1",
        "padan-import-clkhash.1",
    ] {
        let text = std::fs::read_to_string(d.path("man1").join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is a manual page");
    }
    let enc = std::fs::read_to_string(d.path("man1/padan-encode.1")).unwrap();
    assert!(
        enc.contains("\\-\\-pseudonymize\\-ids"),
        "options in the page"
    );
    assert!(enc.contains("Examples"), "examples in the page");
    // The overwrite rule: pages already there are refused, replaced with --force.
    let r = d.padan(["man", "--out", "man1"]).fails(2);
    assert!(r.stderr.contains("--force"), "{r:#?}");
    d.padan(["man", "--out", "man1", "--force"]).ok();
}

/// `padan … | head` closes the pipe early: the process ends quietly (SIGPIPE's default action),
/// without a panic and backtrace on stderr. The pipe is made 4 KiB so that the 5 KiB of the
/// default schema cannot all fit before it is closed (without the fix: "failed printing to
/// stdout" and a backtrace).
#[cfg(target_os = "linux")]
#[test]
fn a_closed_stdout_pipe_ends_the_process_without_a_panic() {
    use std::io::Read;
    use std::os::unix::io::FromRawFd;
    use std::process::{Command, Stdio};
    let mut fds = [0i32; 2];
    // SAFETY: plain pipe2(2) and fcntl(2) calls on descriptors this test owns from here on (close
    // on exec: the child must not hold the read end, or it would never see the pipe closed).
    let (read, write) = unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        libc::fcntl(fds[1], libc::F_SETPIPE_SZ, 4096);
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_padan"))
        .args(["schema", "default"])
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte, then close the pipe while padan still has most of its output to write.
    let mut read = read;
    let mut one = [0u8; 1];
    read.read_exact(&mut one).unwrap();
    drop(read);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
}
