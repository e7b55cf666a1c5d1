//! The abandoned runs a node reported, kept where the checkers can read them.
//!
//! A new leader that finds a claim without an outcome warns ("abandoned run") and then notes it
//! in the ledger, so the next leader does not report it again. The checkers excuse a tick with no
//! run only when it was reported: either by a node, which this layer writes down (synced, before
//! the note is appended, so a node killed in between leaves the claim open in the ledger), or,
//! for claims still open when a test ends, by the checker's own read of the ledger.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

use crate::run_log::RunLogWriter;

/// How the runtime's warning begins.
const MESSAGE: &str = "abandoned run";

/// One reported abandoned run, a line of `<node>.abandoned`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbandonedReport {
    /// The job whose tick was abandoned.
    pub job: String,
    /// The abandoned tick.
    pub tick: DateTime<Utc>,
    /// When the node reported it.
    pub at: DateTime<Utc>,
}

/// A `tracing` layer that appends every "abandoned run" warning to `<dir>/<node>.abandoned`.
#[derive(Debug)]
pub struct AbandonedRecorder {
    writer: Mutex<RunLogWriter>,
}

impl AbandonedRecorder {
    /// Opens (creating) `<dir>/<node>.abandoned` for appending.
    pub fn open(dir: &Path, node: &str) -> std::io::Result<Self> {
        let writer = RunLogWriter::open(&dir.join(format!("{node}.abandoned")))?;
        Ok(Self {
            writer: Mutex::new(writer),
        })
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for AbandonedRecorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() != tracing::Level::WARN {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if !fields.message.starts_with(MESSAGE) {
            return;
        }
        let (Some(job), Some(tick)) = (fields.job, fields.tick.as_deref().and_then(parse_tick))
        else {
            // The recorder cannot be more lenient than the checker: a report it cannot read
            // leaves the tick unexcused, and the test fails saying it was lost.
            tracing::error!(target: "leader_jobs_tests", "unreadable abandoned-run report");
            return;
        };
        let report = AbandonedReport {
            job,
            tick,
            at: Utc::now(),
        };
        if let Ok(mut writer) = self.writer.lock() {
            if let Err(error) = writer.append(&report) {
                tracing::error!(target: "leader_jobs_tests", %error, "abandoned-run log");
            }
        }
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    job: Option<String>,
    tick: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        // `%value` fields and the message arrive here; their Debug is their Display.
        self.record(field, format!("{value:?}"));
    }
}

impl Fields {
    fn record(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "job" => self.job = Some(value),
            "tick" => self.tick = Some(value),
            _ => {}
        }
    }
}

/// Reads a tick as `DateTime<Utc>`'s `Display` writes it (`2026-11-29 22:48:15 UTC`).
fn parse_tick(text: &str) -> Option<DateTime<Utc>> {
    let naive = text.strip_suffix(" UTC")?;
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

/// Every (job, tick) reported abandoned by any node whose `<node>.abandoned` is in `dir`.
pub fn read_dir(dir: &Path) -> std::io::Result<BTreeSet<(String, DateTime<Utc>)>> {
    let mut reported = BTreeSet::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "abandoned") {
            for line in std::fs::read_to_string(&path)?.lines() {
                // A node killed mid-write leaves a torn last line, whose claim stays open in
                // the ledger (the note is appended after the report) and is found there.
                if let Ok(report) = serde_json::from_str::<AbandonedReport>(line) {
                    reported.insert((report.job, report.tick));
                }
            }
        }
    }
    Ok(reported)
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn a_warning_of_the_runtime_is_read_back_as_its_tick() {
        let dir = std::env::temp_dir().join(format!("abandoned-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let recorder = AbandonedRecorder::open(&dir, "node-a").unwrap();
        let tick: DateTime<Utc> = "2026-11-29T22:48:15Z".parse().unwrap();
        let subscriber = tracing_subscriber::registry().with(recorder);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(job = %"j", tick = %tick, "abandoned run: claimed, no outcome");
            tracing::warn!(job = %"j", tick = %tick, "something else");
            tracing::info!(job = %"k", tick = %tick, "abandoned run, but not a warning");
        });
        let reported = read_dir(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(reported, BTreeSet::from([("j".to_owned(), tick)]));
    }
}
