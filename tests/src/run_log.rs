//! An execution log outside leader-jobs: every node process appends one JSON line per run start
//! and end to its own file, opened with `O_APPEND` and synced after every line, so the record
//! survives SIGKILL. The checker reads all files afterwards and judges the guarantees from what
//! actually ran, not from what leader-jobs says it did.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEvent {
    /// `start` or `end`.
    pub event: String,
    /// The job's name.
    pub job: String,
    /// The job's lock: terms are per lock.
    pub lock: String,
    /// The scheduled tick.
    pub tick: DateTime<Utc>,
    /// The term (fencing token) the run holds.
    pub term: u64,
    /// The node that ran it.
    pub node: String,
    /// Wall-clock time of the event.
    pub at: DateTime<Utc>,
    /// Which attempt at the tick the run is: 1, or more for a retry or a rerun.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// Whether the run is a rerun after an abandoned attempt.
    #[serde(default)]
    pub rerun: bool,
    /// `JobContext::run_id`, the same on every attempt at the tick.
    #[serde(default)]
    pub run_id: String,
}

fn first_attempt() -> u32 {
    1
}

impl RunEvent {
    /// The `event` (`start`, `end`, ...) of the run `ctx` describes, now.
    pub fn of(ctx: &leader_jobs::JobContext, event: &str) -> Self {
        Self {
            event: event.to_owned(),
            job: ctx.job().to_owned(),
            lock: ctx.lock().to_owned(),
            tick: ctx.tick(),
            term: ctx.term(),
            node: ctx.node().to_owned(),
            // The real time, not a node's shifted clock: the checker compares nodes.
            at: Utc::now(),
            attempt: ctx.attempt(),
            rerun: ctx.is_rerun(),
            run_id: ctx.run_id().to_string(),
        }
    }
}

/// Appends JSON lines to one node's log file.
#[derive(Debug)]
pub struct RunLogWriter {
    file: File,
}

impl RunLogWriter {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self { file })
    }

    /// Appends one JSON line and syncs it to disk before returning.
    pub fn append(&mut self, event: &impl Serialize) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(event)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }
}

/// Every event of every `*.jsonl` file in `dir`, in wall-clock order.
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<RunEvent>> {
    let mut events = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    paths.sort();
    for path in paths {
        for line in BufReader::new(File::open(&path)?).lines() {
            let line = line?;
            // A process killed mid-write can leave a torn last line; it never finished a run.
            if let Ok(event) = serde_json::from_str::<RunEvent>(&line) {
                events.push(event);
            }
        }
    }
    events.sort_by_key(|e| e.at);
    Ok(events)
}

/// What the checker found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Run starts per job.
    pub runs: BTreeMap<String, usize>,
    /// Run starts per node.
    pub runs_per_node: BTreeMap<String, usize>,
    /// (job, tick) started more than once, with the nodes that started it.
    pub duplicates: Vec<(String, DateTime<Utc>, Vec<String>)>,
    /// Runs started under a term lower than one a run of the same lock had already started under.
    pub stale_terms: Vec<RunEvent>,
    /// Expected ticks (per the `expected` function) with no run.
    pub lost: Vec<(String, DateTime<Utc>)>,
}

impl Verdict {
    /// True when no guarantee was broken.
    pub fn is_clean(&self) -> bool {
        self.duplicates.is_empty() && self.stale_terms.is_empty() && self.lost.is_empty()
    }

    /// Fails the calling test, naming what broke and where the logs are, unless the verdict is
    /// clean.
    pub fn assert_clean(&self, logs: &std::path::Path) {
        assert!(
            self.duplicates.is_empty(),
            "ticks ran twice: {:?} (logs in {})",
            self.duplicates,
            logs.display()
        );
        assert!(
            self.stale_terms.is_empty(),
            "runs under stale terms: {:?} (logs in {})",
            self.stale_terms,
            logs.display()
        );
        assert!(
            self.lost.is_empty(),
            "ticks lost: {:?} (logs in {})",
            self.lost,
            logs.display()
        );
    }
}

/// Checks the run log: no tick started twice, no run under a stale term, and every tick that
/// `expected(job)` lists has a run.
pub fn check(events: &[RunEvent], expected: impl Fn(&str) -> Vec<DateTime<Utc>>) -> Verdict {
    let mut verdict = Verdict::default();
    let mut starts: HashMap<(String, DateTime<Utc>), Vec<String>> = HashMap::new();
    let mut highest_term: HashMap<&str, u64> = HashMap::new();
    for event in events.iter().filter(|e| e.event == "start") {
        *verdict.runs.entry(event.job.clone()).or_default() += 1;
        *verdict.runs_per_node.entry(event.node.clone()).or_default() += 1;
        starts
            .entry((event.job.clone(), event.tick))
            .or_default()
            .push(event.node.clone());
        let highest = highest_term.entry(event.lock.as_str()).or_default();
        if event.term < *highest {
            verdict.stale_terms.push(event.clone());
        }
        *highest = (*highest).max(event.term);
    }
    let mut duplicates: Vec<_> = starts
        .iter()
        .filter(|(_, nodes)| nodes.len() > 1)
        .map(|((job, tick), nodes)| (job.clone(), *tick, nodes.clone()))
        .collect();
    duplicates.sort();
    verdict.duplicates = duplicates;
    let jobs: Vec<String> = verdict.runs.keys().cloned().collect();
    for job in jobs {
        for tick in expected(&job) {
            if !starts.contains_key(&(job.clone(), tick)) {
                verdict.lost.push((job.clone(), tick));
            }
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn start(job: &str, second: u32, term: u64, node: &str, at: u32) -> RunEvent {
        let t = |s| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, s).unwrap();
        RunEvent {
            event: "start".into(),
            job: job.into(),
            lock: "l".into(),
            tick: t(second),
            term,
            node: node.into(),
            at: t(at),
            attempt: 1,
            rerun: false,
            run_id: String::new(),
        }
    }

    #[test]
    fn the_checker_finds_duplicates_stale_terms_and_lost_ticks() {
        let events = vec![
            start("j", 0, 1, "a", 0),
            start("j", 1, 2, "b", 1),
            start("j", 1, 1, "a", 2),
            start("j", 3, 2, "b", 3),
        ];
        let expected = |_: &str| {
            (0..4)
                .map(|s| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, s).unwrap())
                .collect()
        };
        let verdict = check(&events, expected);
        assert_eq!(verdict.duplicates.len(), 1);
        assert_eq!(verdict.stale_terms.len(), 1);
        assert_eq!(verdict.lost.len(), 1);
        assert!(!verdict.is_clean());
    }

    #[test]
    fn writer_and_reader_round_trip() {
        let dir = std::env::temp_dir().join(format!("run-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut writer = RunLogWriter::open(&path).unwrap();
        writer.append(&start("j", 0, 1, "a", 0)).unwrap();
        writer.append(&start("j", 1, 1, "a", 1)).unwrap();
        assert_eq!(read_dir(&dir).unwrap().len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
