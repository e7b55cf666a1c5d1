//! What the scheduler tells the rest of the node, through the one narrow interface it owns. The
//! runtime's status board implements it; the scheduler knows nothing of the public status types.

use chrono::{DateTime, Utc};

use super::run::RunKind;
use crate::backend::RunOutcome;

/// Something that happened to one of a job's ticks, counted once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tally {
    /// A gap of missed ticks was found and handled by the misfire policy.
    Misfire,
    /// A claim of an earlier leader without an outcome was found and reported.
    Abandoned,
    /// A tick was skipped by the overlap policy.
    Skipped,
    /// The ledger gave a tick to another claim, or fenced this node's claim made under `term`
    /// (`highest_term` had begun).
    LostClaim { term: u64, highest_term: u64 },
    /// The ledger could not be reached to claim a tick.
    ClaimError,
    /// A tick was skipped because the job is paused.
    Paused,
    /// An operator's trigger was run.
    Manual,
}

/// A run that is about to start its first attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Started {
    pub(crate) tick: DateTime<Utc>,
    pub(crate) term: u64,
    /// 1, or the attempt a rerun after abandonment is.
    pub(crate) attempt: u32,
    pub(crate) kind: RunKind,
}

/// How one attempt at a tick ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finished {
    pub(crate) tick: DateTime<Utc>,
    pub(crate) term: u64,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) finished_at: DateTime<Utc>,
    pub(crate) outcome: RunOutcome,
    pub(crate) error: Option<String>,
    /// 1 for the first attempt.
    pub(crate) attempt: u32,
    /// A run for a missed tick, per the misfire policy.
    pub(crate) catch_up: bool,
    /// A rerun after the tick's last attempt was abandoned.
    pub(crate) rerun: bool,
    /// A run an operator triggered.
    pub(crate) manual: bool,
}

/// Receives what the schedulers of one node report; locks and jobs are given by their index in
/// the runtime's plan (locks and jobs sorted by name).
pub(crate) trait Report: Send + Sync {
    /// This node began `term` on lock `lock`.
    fn leading(&self, lock: usize, term: u64);
    /// This node no longer leads lock `lock`, where it led in `term`, for `reason`.
    fn following(&self, lock: usize, term: u64, reason: &'static str);
    /// The job's next tick while this node leads, `None` when it has none.
    fn next_tick(&self, lock: usize, job: usize, next: Option<DateTime<Utc>>);
    /// Counts one `what` for the job's `tick` (for a misfire the latest missed one, for a
    /// trigger its time).
    fn tally(&self, lock: usize, job: usize, what: Tally, tick: DateTime<Utc>);
    /// A run of the job began (its first attempt is about to start).
    fn run_started(&self, lock: usize, job: usize, run: Started);
    /// An attempt ended.
    fn attempt_finished(&self, lock: usize, job: usize, attempt: Finished);
    /// The run is over, with all its attempts: the job is free for its next tick.
    fn run_ended(&self, lock: usize, job: usize);
    /// The schedule the lock's latest leader announced for the job, when it differs from this
    /// node's (`None` when they agree, or this node leads).
    fn leader_schedule(&self, lock: usize, job: usize, schedule: Option<String>);
    /// Whether the job is paused, as this node last read the ledger.
    fn paused(&self, lock: usize, job: usize, paused: bool);
}
