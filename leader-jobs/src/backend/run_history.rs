//! The runs a lock's ledger remembers per job: the latest few, the last success and failure, and
//! counts. The fold keeps them in its state, so a checkpoint carries them and any node that reads
//! the ledger knows who ran which tick, however long ago the records themselves were dropped.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Claim, RunOutcome};

/// How many of a job's latest runs the ledger's state keeps. With the last success, the last
/// failure and the counts, that is what a checkpoint holds per job: about 4 KB.
pub const RECENT_RUNS: usize = 20;

/// How one attempt at a claimed tick ended: what [`Ledger::record`](super::Ledger::record)
/// appends after it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunEnd {
    /// How it ended.
    pub outcome: RunOutcome,
    /// Which attempt at the tick it was: 1, or more for a retry.
    pub attempt: u32,
    /// When the attempt started.
    pub started: DateTime<Utc>,
    /// How long it ran.
    pub duration: Duration,
}

impl RunEnd {
    /// Attempt `attempt` that started at `started` and ended at `finished` with `outcome`. An end
    /// before the start (a clock stepped back) counts as no time.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use leader_jobs::backend::{RunEnd, RunOutcome};
    ///
    /// let started = Utc::now();
    /// let end = RunEnd::new(RunOutcome::Ok, 1, started, started + TimeDelta::milliseconds(1500));
    /// assert_eq!(end.duration.as_millis(), 1500);
    /// ```
    pub fn new(
        outcome: RunOutcome,
        attempt: u32,
        started: DateTime<Utc>,
        finished: DateTime<Utc>,
    ) -> Self {
        Self {
            outcome,
            attempt,
            started,
            duration: (finished - started).to_std().unwrap_or_default(),
        }
    }
}

/// One run of a job as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct PastRun {
    /// The tick it ran for.
    pub tick: DateTime<Utc>,
    /// The term of the leader that ran it.
    pub term: u64,
    /// The node that ran it.
    pub node: String,
    /// Which attempt at the tick it was: 1, or more for a retry.
    pub attempt: u32,
    /// When it started; `None` for an abandoned run and for records of versions that did not
    /// write it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<DateTime<Utc>>,
    /// How long it ran, as `started`.
    #[serde(
        default,
        rename = "duration_ms",
        with = "millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<Duration>,
    /// How it ended; `None` for a run abandoned by its leader (crashed, frozen past its lease,
    /// or fenced), reported by a later one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RunOutcome>,
    /// Whether it ran the tick again after the attempt before was abandoned (a rerun under
    /// at-least-once delivery, not a retry after a failure).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub rerun: bool,
    /// Whether an operator triggered it (its tick is the trigger's time).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub manual: bool,
}

impl PastRun {
    /// Attempt `attempt` at `claim`'s tick, abandoned by its leader: no end is known.
    pub(crate) fn abandoned(claim: &Claim, attempt: u32) -> Self {
        Self {
            tick: claim.tick,
            term: claim.term,
            node: claim.node.clone(),
            attempt,
            started: None,
            duration: None,
            outcome: None,
            rerun: false,
            manual: false,
        }
    }

    /// Whether it failed on its own: an error, a panic or its timeout.
    pub fn failed(&self) -> bool {
        matches!(
            self.outcome,
            Some(RunOutcome::Failed | RunOutcome::Panicked | RunOutcome::TimedOut)
        )
    }
}

/// Counts of a job's runs over the ledger's whole life, by how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct RunTotals {
    /// Attempts that returned success.
    pub ok: u64,
    /// Attempts that returned an error.
    pub failed: u64,
    /// Attempts that panicked.
    pub panicked: u64,
    /// Attempts cancelled by the job's timeout.
    pub timed_out: u64,
    /// Attempts dropped after their leader lost the lock or shut down, or never started.
    pub cancelled: u64,
    /// Runs a leader never reported an end of, reported by a later leader.
    pub abandoned: u64,
    /// Attempts that ran a tick again after an abandoned one (each also counted by its end).
    #[serde(default)]
    pub reruns: u64,
}

/// What the ledger remembers of one job's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct JobRuns {
    /// The latest [`RECENT_RUNS`] runs, oldest first.
    pub recent: VecDeque<PastRun>,
    /// The latest run that returned success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<PastRun>,
    /// The latest run that failed on its own (see [`PastRun::failed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<PastRun>,
    /// Every run the ledger ever held, counted.
    #[serde(default)]
    pub totals: RunTotals,
}

impl JobRuns {
    /// Adds the run that just ended (or was reported abandoned) in ledger order.
    pub(crate) fn push(&mut self, run: PastRun) {
        let totals = &mut self.totals;
        match run.outcome {
            Some(RunOutcome::Ok) => totals.ok += 1,
            Some(RunOutcome::Failed) => totals.failed += 1,
            Some(RunOutcome::Panicked) => totals.panicked += 1,
            Some(RunOutcome::TimedOut) => totals.timed_out += 1,
            Some(RunOutcome::Cancelled) => totals.cancelled += 1,
            None => totals.abandoned += 1,
        }
        if run.rerun {
            totals.reruns += 1;
        }
        if run.outcome == Some(RunOutcome::Ok) {
            self.last_success = Some(run.clone());
        } else if run.failed() {
            self.last_failure = Some(run.clone());
        }
        if self.recent.len() == RECENT_RUNS {
            self.recent.pop_front();
        }
        self.recent.push_back(run);
    }
}

/// `Option<Duration>` as whole milliseconds, the unit the records use for every duration.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(
        clippy::ref_option,
        reason = "serde's `with` passes the field by reference"
    )]
    pub(super) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => {
                serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
            }
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn run(second: u32, outcome: Option<RunOutcome>) -> PastRun {
        let claim = Claim {
            job: "j".into(),
            tick: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, second)
                .single()
                .unwrap(),
            term: 1,
            node: "a".into(),
        };
        PastRun {
            outcome,
            ..PastRun::abandoned(&claim, 1)
        }
    }

    #[test]
    fn keeps_the_latest_runs_the_last_success_and_failure_and_counts_all() {
        let mut runs = JobRuns::default();
        runs.push(run(0, Some(RunOutcome::Panicked)));
        runs.push(run(1, Some(RunOutcome::Ok)));
        for second in 2..2 + RECENT_RUNS as u32 {
            runs.push(run(second, None));
        }
        assert_eq!(runs.recent.len(), RECENT_RUNS);
        assert_eq!(runs.recent.front(), Some(&run(2, None)));
        assert_eq!(runs.last_success, Some(run(1, Some(RunOutcome::Ok))));
        assert_eq!(runs.last_failure, Some(run(0, Some(RunOutcome::Panicked))));
        assert_eq!(runs.totals.abandoned, RECENT_RUNS as u64);
        assert_eq!((runs.totals.ok, runs.totals.panicked), (1, 1));
    }

    #[test]
    fn a_duration_is_written_in_milliseconds_and_read_back() {
        let mut past = run(0, Some(RunOutcome::Ok));
        past.duration = Some(Duration::from_millis(1234));
        let json = serde_json::to_value(&past).unwrap();
        assert_eq!(json["duration_ms"], 1234);
        assert_eq!(serde_json::from_value::<PastRun>(json).unwrap(), past);
    }
}
