//! Progress bars on standard error, only when it is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that draws nothing when stderr is not a terminal or `--quiet` is given.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar counting bytes (or rows) towards a total.
    pub fn bytes(quiet: bool, label: &str) -> Progress {
        let target = ProgressDrawTarget::stderr();
        if quiet || target.is_hidden() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:>10} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        Progress { bar: Some(bar) }
    }

    /// A spinner for a stage without a known total.
    pub fn spinner(quiet: bool, label: &str) -> Progress {
        let target = ProgressDrawTarget::stderr();
        if quiet || target.is_hidden() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, target);
        // Without a style of its own a bar of unknown length draws an empty `0/0` bar.
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"),
        );
        bar.set_message(label.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    /// Sets position and total.
    pub fn update(&self, done: u64, total: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total.max(done));
            b.set_position(done);
        }
    }

    /// Changes the label.
    pub fn message(&self, label: &str) {
        if let Some(b) = &self.bar {
            b.set_message(label.to_string());
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
