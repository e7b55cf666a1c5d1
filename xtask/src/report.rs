//! What the long steps of a command tell their user, one line each and in cargo's style (a verb
//! right-aligned in 12 columns, so that these lines and cargo's own line up): live on a terminal,
//! where a step's line shows its progress and then becomes its result, and plain in a log (CI),
//! where a step says when it starts and when it is done.
//!
//! Lines that may be printed while another thread's step is live go through [`line()`] and
//! [`warn`], which print above the live lines instead of through them.

use std::io::IsTerminal as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// The width of the verb column, as in cargo's `   Compiling foo`.
const VERB_WIDTH: usize = 12;

/// How often a live line is redrawn (its elapsed time moves on by itself).
const TICK: Duration = Duration::from_millis(200);

/// A live step before its total is known, e.g. `   Resolving Apache Pulsar 4.0.7 ⠋ 3 s`.
const SPINNER_TEMPLATE: &str = "{prefix:>12} {msg} {spinner} {seconds}";
/// A live step with a total: `   Resolving [=====>    ] 212/317 jars, 160.3 MB fetched, 34 s`.
const BAR_TEMPLATE: &str = "{prefix:>12} [{bar:30}] {pos}/{len} {msg}, {seconds}";

struct Console {
    /// Every live line of the process, so that two steps running side by side (the plain and the
    /// secured broker of `cargo xtask test`) each keep a line of their own.
    bars: MultiProgress,
    live: bool,
}

fn console() -> &'static Console {
    static CONSOLE: OnceLock<Console> = OnceLock::new();
    CONSOLE.get_or_init(|| {
        // Live lines go to stdout with the rest of this tool's report, so a redirected stdout
        // (CI, a test capturing the tool's output) gets plain lines only.
        let live = std::io::stdout().is_terminal();
        let target = if live {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        };
        Console {
            bars: MultiProgress::with_draw_target(target),
            live,
        }
    })
}

/// Whether steps show live progress (stdout is a terminal).
pub(crate) fn is_live() -> bool {
    console().live
}

/// Prints one line of the report, above any live step lines.
pub(crate) fn line(text: &str) {
    let console = console();
    if console.live {
        // Only fails if stdout is gone, and then there is nobody to tell.
        let _ = console.bars.println(text);
    } else {
        println!("{text}");
    }
}

/// Prints a warning or note on stderr, above any live step lines.
pub(crate) fn warn(text: &str) {
    console().bars.suspend(|| eprintln!("{text}"));
}

/// Prints `verb` and `text` as one line in cargo's style.
pub(crate) fn status(verb: &str, text: &str) {
    line(&status_line(verb, text));
}

/// `verb` right-aligned in the verb column, then `text`.
pub(crate) fn status_line(verb: &str, text: &str) -> String {
    format!("{verb:>VERB_WIDTH$} {text}")
}

/// A duration as the report gives it: `7.1 s`.
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

/// A size in decimal megabytes, as Maven gives them: `245.0 MB`.
pub(crate) fn megabytes(bytes: u64) -> String {
    // Lossless for any size a disk holds: f64 is exact up to 2^53 bytes.
    let megabytes = bytes as f64 / 1_000_000.0;
    format!("{megabytes:.1} MB")
}

/// One long step of a command: on a terminal a live line (what it does, its progress, how long
/// it has taken so far) that [`Step::finish`] turns into its result; elsewhere a line at its
/// start and one at its end.
#[derive(Debug)]
pub(crate) struct Step {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Step {
    /// Starts a step whose progress this process follows: live on a terminal (see
    /// [`Step::set_message`] and [`Step::set_progress`]), a plain start line elsewhere.
    pub(crate) fn live(verb: &str, what: &str) -> Self {
        let started = Instant::now();
        if !is_live() {
            status(verb, what);
            return Self { bar: None, started };
        }
        let bar = console().bars.add(ProgressBar::new_spinner());
        bar.set_style(spinner_style());
        bar.set_prefix(verb.to_owned());
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(TICK);
        Self {
            bar: Some(bar),
            started,
        }
    }

    /// Starts a step whose own output follows (a cargo command): its start is a plain line
    /// wherever the report goes, so that the child's lines come after it.
    pub(crate) fn announce(verb: &str, what: &str) -> Self {
        status(verb, what);
        Self {
            bar: None,
            started: Instant::now(),
        }
    }

    /// What the live line says after the verb.
    pub(crate) fn set_message(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        }
    }

    /// Turns the live line into a bar of `done` out of `total`, followed by `text`.
    pub(crate) fn set_progress(&self, done: u64, total: u64, text: String) {
        if let Some(bar) = &self.bar {
            if bar.length() != Some(total) {
                bar.set_style(bar_style());
                bar.set_length(total);
            }
            bar.set_position(done);
            bar.set_message(text);
        }
    }

    /// How long the step has taken so far.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Ends the step with its result: `verb` and `text` replace the live line, or follow the
    /// start line in a log.
    pub(crate) fn finish(self, verb: &str, text: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            console().bars.remove(bar);
        }
        status(verb, text);
    }
}

impl Drop for Step {
    /// A step that ends without [`Step::finish`] (an error on its way up) leaves no stale live
    /// line: the error says what happened.
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            console().bars.remove(&bar);
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template(SPINNER_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key("seconds", write_seconds)
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(BAR_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("seconds", write_seconds)
        .progress_chars("=> ")
}

/// The live line's elapsed time in whole seconds: tenths would flicker.
fn write_seconds(state: &ProgressState, out: &mut dyn std::fmt::Write) {
    let _ = write!(out, "{} s", state.elapsed().as_secs());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_line_up_with_cargos() {
        assert_eq!(
            status_line("Resolved", "317 jars (245.0 MB) in 22.4 s"),
            "    Resolved 317 jars (245.0 MB) in 22.4 s"
        );
        // cargo's own line, for comparison: the verbs end in the same column.
        assert_eq!(
            status_line("Finished", "x").find('x'),
            "    Finished `dev` profile".find('`')
        );
    }

    #[test]
    fn durations_and_sizes_read_as_the_report_gives_them() {
        assert_eq!(seconds(Duration::from_millis(22_440)), "22.4 s");
        assert_eq!(seconds(Duration::from_millis(40)), "0.0 s");
        assert_eq!(megabytes(244_978_000), "245.0 MB");
        assert_eq!(megabytes(49_000), "0.0 MB");
    }

    #[test]
    fn the_live_line_templates_are_valid() {
        assert!(ProgressStyle::with_template(SPINNER_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
    }
}
