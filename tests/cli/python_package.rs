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
//!
//! A test that hangs (Spark waits forever when its JVM runs out of heap) fails the suite after
//! [`SUITE_LIMIT`] instead of holding CI: pytest prints every thread's stack after
//! [`STACKS_AFTER`] of one test (its faulthandler), and the suite is killed at the limit.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one pytest test may run before pytest prints every thread's stack.
const STACKS_AFTER: Duration = Duration::from_secs(300);
/// How long the whole suite may run (a few minutes on the CI machine) before it is killed.
const SUITE_LIMIT: Duration = Duration::from_secs(900);

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
    // Output to files, not pipes: the suite is polled for its exit, and a full pipe would
    // block it.
    let dir = tempfile::tempdir().expect("temp dir");
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let file = |p: &std::path::Path| std::fs::File::create(p).expect("output file");
    let mut cmd = Command::new(&py);
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o"])
        .arg(format!("faulthandler_timeout={}", STACKS_AFTER.as_secs()))
        .arg("python/tests")
        .env("PADAN_BIN", env!("CARGO_BIN_EXE_padan"))
        .current_dir(repo())
        .stdout(Stdio::from(file(&out_path)))
        .stderr(Stdio::from(file(&err_path)));
    // Spark's JVM exits by itself once pytest is gone (its gateway reads pytest's pipe).
    let mut child = cmd.spawn().expect("running pytest");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for pytest") {
            break Some(status);
        }
        if start.elapsed() > SUITE_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    let Some(status) = status else {
        panic!(
            "the Python package's tests did not finish in {} s (killed); the stacks of a test \
             running over {} s are in the output:\n{stdout}\n{stderr}",
            SUITE_LIMIT.as_secs(),
            STACKS_AFTER.as_secs()
        );
    };
    assert!(
        status.success(),
        "the Python package's tests failed:\n{stdout}\n{stderr}"
    );
    // pytest exits 5 when it collected nothing; a pass with no test run would also be no check.
    assert!(
        stdout.contains(" passed") && !stdout.contains(" skipped"),
        "the Python package's tests did not all run:\n{stdout}"
    );
}
