//! The README's console blocks run as printed, so they cannot go stale.
//!
//! Every ```` ```console ```` block of README.md is run in order, in one scratch directory laid
//! out like the repository root (its `fixtures/` is the repository's), with `padan` on the PATH
//! and `cargo run --release -- ` read as `padan `. A line `$ COMMAND` (continued by lines after a
//! trailing `\`) is run by `sh -c` and must exit 0; the lines after it, up to the next `$ `, are
//! its output as printed, compared with what it prints (standard output and error). A line `...`
//! ends the comparison of that command's output (the rest is not shown). What legitimately varies
//! from run to run is masked on both sides before comparing: key fingerprints (a new key each
//! run), the figures of a `time` line, and — in a block marked so — every number, and how many
//! consecutive lines of one masked shape there are.
//!
//! An HTML comment on the line before a block (invisible on the rendered page) marks it:
//! `<!-- readme-test: skip -->` (not run: the set-up commands), `<!-- readme-test: numbers vary
//! -->`, `<!-- readme-test: slow -->` (run only with `PADAN_README_SLOW=1`: minutes in a debug
//! build). `PADAN_README_BLESS=1 cargo test --test cli readme` writes the current outputs into
//! README.md instead of comparing (slow blocks too with `PADAN_README_SLOW=1`). The scratch
//! directory's `fixtures/` is the repository's own: the test also checks that the walk-through
//! writes nothing there.

use std::path::Path;
use std::process::Command;

use super::harness::{repo, Dir};

/// One `$ ` command of a block and the output printed after it.
#[derive(Debug)]
struct Step {
    /// The command as printed (continuation lines joined by newlines).
    command: String,
    /// Index in the README's lines of the first output line.
    first_output: usize,
    /// The printed output lines (up to `...`, excluded).
    expected: Vec<String>,
    /// Whether a `...` line ends the printed output (and its index).
    truncated: Option<usize>,
}

#[derive(Debug, Default)]
struct Block {
    skip: bool,
    slow: bool,
    numbers_vary: bool,
    steps: Vec<Step>,
}

fn parse(lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "```console" {
            i += 1;
            continue;
        }
        let marker = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .filter(|l| l.trim_start().starts_with("<!-- readme-test:"))
            .map(|l| l.to_string())
            .unwrap_or_default();
        let mut b = Block {
            skip: marker.contains("skip"),
            slow: marker.contains("slow"),
            numbers_vary: marker.contains("numbers vary"),
            ..Block::default()
        };
        i += 1;
        while i < lines.len() && lines[i].trim_end() != "```" {
            let line = lines[i];
            if let Some(cmd) = line.strip_prefix("$ ") {
                let mut command = cmd.to_string();
                while command.ends_with('\\') && i + 1 < lines.len() {
                    i += 1;
                    command.push('\n');
                    command.push_str(lines[i]);
                }
                b.steps.push(Step {
                    command,
                    first_output: i + 1,
                    expected: Vec::new(),
                    truncated: None,
                });
            } else if let Some(step) = b.steps.last_mut() {
                if step.truncated.is_none() {
                    if line.trim() == "..." {
                        step.truncated = Some(i);
                    } else {
                        step.expected.push(line.to_string());
                    }
                }
            }
            i += 1;
        }
        blocks.push(b);
        i += 1;
    }
    blocks
}

/// `xxxx-xxxx-xxxx` of hex digits: a key fingerprint.
fn is_fingerprint(w: &[u8]) -> bool {
    w.len() == 14
        && w.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 9 {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Masks what varies from run to run (see the module documentation).
fn normalize(line: &str, numbers_vary: bool) -> String {
    let line = line.trim_end();
    if line.trim_start().starts_with("time ") {
        return "time <masked>".to_string();
    }
    let b = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if i + 14 <= b.len()
            && is_fingerprint(&b[i..i + 14])
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        {
            out.push_str("<fingerprint>");
            i += 14;
        } else if numbers_vary && b[i].is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b',') {
                i += 1;
            }
            out.push('#');
            // A figure's width varies with it: the padding after it is not compared.
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            out.push(' ');
        } else {
            let c = line[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    if numbers_vary {
        // Right-aligned figures: the padding before them varies too.
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        out
    }
}

fn run_step(work: &Path, bin_dir: &Path, command: &str) -> (i32, String) {
    let command = command.replace("cargo run --release -- ", "padan ");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{command}"))
        .current_dir(work)
        .env("PATH", path)
        .env_remove("CI")
        .output()
        .expect("running sh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn notice(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "\nNOTICE: {msg}");
}

#[test]
fn readme_console_blocks_run_from_the_repository_root_as_printed() {
    let readme_path = repo().join("README.md");
    let text = std::fs::read_to_string(&readme_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let blocks = parse(&lines);
    assert!(
        blocks.iter().filter(|b| !b.skip).count() >= 5,
        "the README's walk-through is tested: {blocks:#?}"
    );
    let bless = std::env::var_os("PADAN_README_BLESS").is_some();
    let slow = std::env::var_os("PADAN_README_SLOW").is_some();
    let d = Dir::new();
    let work = d.path("");
    std::os::unix::fs::symlink(repo().join("fixtures"), d.path("fixtures")).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_padan")).parent().unwrap();
    let fixtures_before = list(&repo().join("fixtures/synth"));

    // Output lines to write into the README when blessing: (first line, end, new lines).
    let mut replace: Vec<(usize, usize, Vec<String>)> = Vec::new();
    let mut failures = Vec::new();
    for b in &blocks {
        if b.skip {
            continue;
        }
        if b.slow && !slow {
            notice(&format!(
                "README block `$ {}` not run (slow in a debug build; PADAN_README_SLOW=1 runs it)",
                b.steps.first().map_or("", |s| s.command.as_str())
            ));
            continue;
        }
        for s in &b.steps {
            let (code, out) = run_step(&work, bin_dir, &s.command);
            assert_eq!(
                code, 0,
                "README command exits 0 from the repository root:\n$ {}\n{out}",
                s.command
            );
            let actual: Vec<&str> = out.lines().collect();
            if bless {
                let end = s.truncated.unwrap_or(s.first_output + s.expected.len());
                let keep = match s.truncated {
                    Some(_) => actual.len().min(s.expected.len().max(1)),
                    None => actual.len(),
                };
                let new = actual[..keep].iter().map(|l| l.to_string()).collect();
                replace.push((s.first_output, end, new));
                continue;
            }
            let shown = if s.truncated.is_some() {
                actual.len().min(s.expected.len())
            } else {
                actual.len()
            };
            let mut want: Vec<String> = s
                .expected
                .iter()
                .map(|l| normalize(l, b.numbers_vary))
                .collect();
            let mut got: Vec<String> = actual[..shown]
                .iter()
                .map(|l| normalize(l, b.numbers_vary))
                .collect();
            if b.numbers_vary {
                // How many lines of one shape a run prints varies too (the review queue's
                // probability bands hold pairs or not, with each run's new key).
                want.dedup();
                got.dedup();
            }
            if want != got {
                failures.push(format!(
                    "$ {}\n--- README (masked)\n{}\n--- now (masked)\n{}\n",
                    s.command,
                    want.join("\n"),
                    got.join("\n")
                ));
            }
        }
    }
    assert_eq!(
        list(&repo().join("fixtures/synth")),
        fixtures_before,
        "the walk-through writes nothing into fixtures/"
    );
    if bless {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for (start, end, new) in replace.into_iter().rev() {
            // A truncated output keeps its `...` line (at `end`).
            out.splice(start..end, new);
        }
        let mut text = out.join("\n");
        text.push('\n');
        std::fs::write(&readme_path, text).unwrap();
        notice("README.md console outputs rewritten from the current code (PADAN_README_BLESS)");
        return;
    }
    assert!(
        failures.is_empty(),
        "README outputs are stale (PADAN_README_BLESS=1 cargo test --test cli readme rewrites \
         them):\n{}",
        failures.join("\n")
    );
}

fn list(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn masking_hides_what_varies_and_nothing_else() {
    assert_eq!(
        normalize("fingerprint: 0c8f-6fdc-258f", false),
        "fingerprint: <fingerprint>"
    );
    assert_eq!(
        normalize("  time         0.13 s (1133 rows/s)", false),
        "time <masked>"
    );
    assert_eq!(
        normalize("  rows         146 read, 146 encoded", false),
        "  rows         146 read, 146 encoded"
    );
    assert_ne!(
        normalize("  rows 146 read", false),
        normalize("  rows 147 read", false)
    );
    assert_eq!(
        normalize("  quality      precision 0.9953  recall 0.8217", true),
        normalize("  quality      precision 0.99  recall 0.9", true)
    );
    assert_ne!(
        normalize("  quality      precision 0.9953", true),
        normalize("  quality      recall 0.9953", true)
    );
    let b = parse(&[
        "<!-- readme-test: numbers vary -->",
        "```console",
        "$ padan a \\",
        "    --b",
        "one",
        "...",
        "hidden",
        "$ padan c",
        "```",
    ]);
    assert_eq!(b.len(), 1);
    assert!(b[0].numbers_vary && !b[0].skip);
    assert_eq!(b[0].steps[0].command, "padan a \\\n    --b");
    assert_eq!(b[0].steps[0].expected, ["one"]);
    assert_eq!(b[0].steps[0].truncated, Some(5));
    assert!(b[0].steps[1].expected.is_empty());
}
