//! The bench's table: one row per figure, ours beside a peer measured in the same run, printed
//! and written as `target/bench/report.md`. Every row ends `name ours=<x> <peer>=<y> ratio=<r>`
//! so a script can read it.

use std::fmt::Write as _;
use std::path::Path;

/// One figure.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// What is measured, with its unit (`takeover_sigkill_p50_s`).
    pub(crate) name: String,
    /// leader-jobs' value.
    pub(crate) ours: f64,
    /// The peer's name and value, when there is one.
    pub(crate) peer: Option<(String, f64)>,
    /// What the row means, for the markdown report.
    pub(crate) note: String,
}

impl Row {
    pub(crate) fn new(name: impl Into<String>, ours: f64, note: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ours,
            peer: None,
            note: note.into(),
        }
    }

    pub(crate) fn beside(mut self, peer: &str, value: f64) -> Self {
        self.peer = Some((peer.to_owned(), value));
        self
    }

    /// The machine-readable line.
    pub(crate) fn line(&self) -> String {
        let mut line = format!("{} ours={}", self.name, number(self.ours));
        if let Some((peer, value)) = &self.peer {
            let ratio = if *value == 0.0 {
                "inf".to_owned()
            } else {
                format!("{:.3}", self.ours / value)
            };
            let _ = write!(line, " {peer}={} ratio={ratio}", number(*value));
        }
        line
    }
}

fn number(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.4}")
    }
}

/// The report as markdown: the context, then one table row per figure with its line.
pub(crate) fn markdown(rows: &[Row], context: &[String]) -> String {
    let mut text = String::from("# leader-jobs benchmarks\n\n");
    for line in context {
        let _ = writeln!(text, "- {line}");
    }
    text.push_str("\n| figure | what | line |\n|---|---|---|\n");
    for row in rows {
        let _ = writeln!(text, "| {} | {} | `{}` |", row.name, row.note, row.line());
    }
    text.push_str("\nRerun with `cargo xtask bench`. The takeover distributions are plotted in `takeover.svg`.\n");
    text
}

/// Writes `report.md` into `dir`.
pub(crate) fn write(dir: &Path, rows: &[Row], context: &[String]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.md"), markdown(rows, context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_with_ours_peer_and_ratio() {
        let row = Row::new("takeover_sigkill_p50_s", 1.1, "").beside("raw_pulsar", 1.0);
        assert_eq!(
            row.line(),
            "takeover_sigkill_p50_s ours=1.10 raw_pulsar=1.00 ratio=1.100"
        );
        assert_eq!(Row::new("x", 250.0, "").line(), "x ours=250");
    }
}
