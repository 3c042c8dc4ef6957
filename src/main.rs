//! The `padan` binary: parse arguments, dispatch to a subcommand, map errors to exit codes.

fn main() {
    std::process::exit(padan::cli::main());
}
