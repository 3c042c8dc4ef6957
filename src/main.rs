//! The `padan` binary: parse arguments, dispatch to a subcommand, map errors to exit codes.

fn main() {
    // Rust ignores SIGPIPE, so `println!` into a closed pipe (`padan schema default | head -3`)
    // panicked with a backtrace. With the default action the process ends quietly, as other
    // Unix tools do; files are unaffected (SIGPIPE is raised only by pipes and sockets).
    #[cfg(unix)]
    // SAFETY: the first statement of main, before any thread is started; `signal` with SIG_DFL
    // only restores the default disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(padan::cli::main());
}
