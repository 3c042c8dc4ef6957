//! The Python package (`python/`, `pip install .`): its pytest suite (python/tests) encodes and
//! links the synthetic fixtures from Python and compares with this build's `padan` binary (byte
//! for byte from a path, row for row from a table or data frame), checks the errors against the
//! CLI's with sentinel cells, and runs the doc examples (docstrings, docs/python.md).
//!
//! The interpreter is `$PADAN_PYTHON` (set by .ci/run to its venv, where it installs the package
//! with `pip install .`), else `python3`. Without an interpreter that can import `padan` and
//! `pytest` the test passes with a notice on the terminal — except in CI (`CI` set), where it
//! fails. The package is built from the source at install time: after changing the core,
//! reinstall it (`pip install .`) before this test means anything locally.

use std::process::Command;

use super::harness::repo;

#[test]
fn python_package_pytest_suite() {
    let py = std::env::var("PADAN_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = Command::new(&py)
        .args(["-c", "import padan, pytest, pyarrow, pandas, polars"])
        .current_dir(std::env::temp_dir())
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        let msg = format!(
            "python package check skipped: `{py}` cannot import padan, pytest, pyarrow, pandas \
             and polars (`pip install . pytest pandas polars`, or set PADAN_PYTHON to such an \
             interpreter, e.g. .venv-ci/bin/python after .ci/run)"
        );
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("{msg}; CI is set, so this check must run");
        }
        use std::io::Write;
        let _ = writeln!(std::io::stderr().lock(), "\nNOTICE: {msg}");
        return;
    }
    let out = Command::new(&py)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "python/tests",
        ])
        .env("PADAN_BIN", env!("CARGO_BIN_EXE_padan"))
        .current_dir(repo())
        .output()
        .expect("running pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the Python package's tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // pytest exits 5 when it collected nothing; a pass with no test run would also be no check.
    assert!(
        stdout.contains(" passed") && !stdout.contains(" skipped"),
        "the Python package's tests did not all run:\n{stdout}"
    );
}
