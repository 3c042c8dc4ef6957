//! `padan completions SHELL` and `padan man`: shell completions and manual pages, generated from
//! the same command definitions as `--help`, so they cannot disagree with it.

use clap::{Args, CommandFactory};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Cli;
use crate::error::{Error, Result};
use crate::io::AtomicFile;

/// Print the shell completion script for bash, zsh, fish, elvish or powershell.
///
/// Load it in the current shell, or install it where the shell looks for completions.
#[derive(Debug, Args)]
#[command(after_help = super::footer(EXAMPLES))]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

const EXAMPLES: &str = "
  source <(padan completions bash)
  padan completions bash > ~/.local/share/bash-completion/completions/padan
  padan completions zsh > ~/.zfunc/_padan      # with fpath+=(~/.zfunc) before compinit
  padan completions fish > ~/.config/fish/completions/padan.fish";

/// Print the manual page (roff), or write one page per command into a directory.
///
/// Without --out, prints padan(1) on standard output. With --out DIR, writes padan.1 and one
/// page per command (padan-encode.1, padan-schema-check.1, …) into DIR.
#[derive(Debug, Args)]
#[command(after_help = super::footer(MAN_EXAMPLES))]
pub struct ManArgs {
    /// Write every page into this directory (created if missing) instead of printing padan.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace pages already in DIR.
    #[arg(long, requires = "out")]
    pub force: bool,
}

const MAN_EXAMPLES: &str = "
  padan man | man -l -
  padan man --out ~/.local/share/man/man1 && man padan-encode";

/// Runs `padan completions`.
pub fn run_completions(args: CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "padan", &mut out);
    write_stdout(&out)
}

/// Runs `padan man`.
pub fn run_man(args: ManArgs) -> Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = args.out else {
        return write_stdout(&render(&cmd)?);
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
    let mut pages = Vec::new();
    collect(&cmd, &mut pages);
    for (name, _) in &pages {
        super::refuse_existing(&dir.join(name), args.force, "--out")?;
    }
    for (name, page) in &pages {
        let path = dir.join(name);
        let mut f = AtomicFile::create(&path)?;
        f.file()
            .write_all(&render(page)?)
            .map_err(|e| Error::io("writing", &path, e))?;
        f.commit()?;
    }
    println!("wrote {} manual pages to {}", pages.len(), dir.display());
    Ok(())
}

/// Every visible command, its own page's file name (`padan-schema-check.1`) with it.
fn collect(cmd: &clap::Command, pages: &mut Vec<(String, clap::Command)>) {
    let name = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string();
    pages.push((format!("{name}.1"), cmd.clone()));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, pages);
    }
}

fn render(cmd: &clap::Command) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(|e| Error::Internal(format!("rendering the manual page: {e}")))?;
    Ok(out)
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    std::io::stdout()
        .write_all(bytes)
        .map_err(|e| Error::io("writing", Path::new("<stdout>"), e))
}
