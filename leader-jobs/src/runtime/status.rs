//! What [`Handle::status`](crate::Handle::status) reports: per lock whether this node leads, per
//! job its next tick, last run and counters.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::backend::RunOutcome;
use crate::scheduler::{Finished, Report, Started, Tally};

/// A snapshot of one node's scheduling state.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Status {
    /// This node's id.
    pub node: String,
    /// Every lock this node takes part in, sorted by name.
    pub locks: Vec<LockStatus>,
}

impl Status {
    /// The status of `lock`, if this node runs jobs under it.
    pub fn lock(&self, lock: &str) -> Option<&LockStatus> {
        self.locks.iter().find(|l| l.name == lock)
    }

    /// The status of the job named `job`.
    pub fn job(&self, job: &str) -> Option<&JobStatus> {
        self.locks
            .iter()
            .flat_map(|l| &l.jobs)
            .find(|j| j.name == job)
    }
}

/// One lock as this node sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LockStatus {
    /// The lock's name.
    pub name: String,
    /// Whether this node leads the lock in a term it began.
    pub leading: bool,
    /// The term this node leads in, while leading; the last one it led in, after.
    pub term: Option<u64>,
    /// The lock's jobs, sorted by name.
    pub jobs: Vec<JobStatus>,
}

/// One job as this node sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct JobStatus {
    /// The job's name.
    pub name: String,
    /// The next tick this node will run, while it leads the job's lock.
    pub next_tick: Option<DateTime<Utc>>,
    /// Runs of the job going on now on this node.
    pub running: usize,
    /// The last run this node finished.
    pub last_run: Option<LastRun>,
    /// What happened to the job's ticks on this node since it started.
    pub counts: RunCounts,
    /// The schedule the lock's latest leader announced for this job (`cron (tz)`, or `off`) when
    /// it differs from this node's: the nodes' configurations disagree, and the leader's applies
    /// while it leads. `None` when they agree or this node leads.
    pub leader_schedule: Option<String>,
    /// Whether the job is paused, as this node last read its ledger (while it leads, at every
    /// tick and about every second).
    pub paused: bool,
}

/// A finished run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LastRun {
    /// The tick it ran for.
    pub tick: DateTime<Utc>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// The error or panic message, when it failed or panicked.
    pub error: Option<String>,
    /// Which attempt at the tick it was: 1, or more for a retry or a rerun.
    pub attempt: u32,
    /// Whether it ran the tick again after an abandoned attempt.
    pub rerun: bool,
    /// Whether an operator triggered it.
    pub manual: bool,
}

/// Counters of what happened to a job's ticks on this node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RunCounts {
    /// Runs that returned success.
    pub ok: u64,
    /// Runs that returned an error.
    pub failed: u64,
    /// Runs that panicked.
    pub panicked: u64,
    /// Runs cancelled by the job's timeout.
    pub timed_out: u64,
    /// Runs dropped because they outlived the grace period after losing leadership or shutdown,
    /// and won claims whose run did not start because leadership lapsed or the verdict came back
    /// later than the ledger's claim window.
    pub cancelled: u64,
    /// Ticks not run because the previous run was still going (overlap policy).
    pub skipped: u64,
    /// Ticks not run because the job was paused.
    pub paused: u64,
    /// Runs an operator triggered (each also counted by how it ended).
    pub manual: u64,
    /// Runs for ticks missed while no node led or this node was late (misfire policy).
    pub caught_up: u64,
    /// Gaps of missed ticks found, each handled once by the misfire policy.
    pub misfires: u64,
    /// Ticks not run because the ledger gave them to another claim, or fenced this node's claim.
    pub lost_claims: u64,
    /// Ticks not run because the ledger could not be reached to claim them.
    pub claim_errors: u64,
    /// Attempts after the first of a tick (see `Job::retries`); each is also counted by how it
    /// ended.
    pub retried: u64,
    /// Runs found at takeover that a previous leader claimed but never recorded an outcome for.
    /// They are reported, and rerun only for a job delivered at least once.
    pub abandoned: u64,
    /// Attempts that ran a tick again because its last attempt was abandoned (delivery at least
    /// once); each is also counted by how it ended. Retries after a failure are `retried`.
    pub reruns: u64,
}

/// The live state behind [`Status`], updated by the scheduler.
#[derive(Debug)]
pub(crate) struct StatusBoard {
    status: Mutex<Status>,
}

impl StatusBoard {
    /// A board for `locks`, each given as its name and its jobs' names, in the order the
    /// scheduler indexes them.
    pub(crate) fn new(node: &str, locks: Vec<(String, Vec<String>)>) -> Self {
        let locks = locks
            .into_iter()
            .map(|(name, jobs)| LockStatus {
                name,
                leading: false,
                term: None,
                jobs: jobs
                    .into_iter()
                    .map(|name| JobStatus {
                        name,
                        next_tick: None,
                        running: 0,
                        last_run: None,
                        counts: RunCounts::default(),
                        leader_schedule: None,
                        paused: false,
                    })
                    .collect(),
            })
            .collect();
        Self {
            status: Mutex::new(Status {
                node: node.to_owned(),
                locks,
            }),
        }
    }

    pub(crate) fn snapshot(&self) -> Status {
        self.lock().clone()
    }

    fn update_lock(&self, lock: usize, update: impl FnOnce(&mut LockStatus)) {
        if let Some(entry) = self.lock().locks.get_mut(lock) {
            update(entry);
        }
    }

    fn update_job(&self, lock: usize, job: usize, update: impl FnOnce(&mut JobStatus)) {
        if let Some(entry) = self
            .lock()
            .locks
            .get_mut(lock)
            .and_then(|l| l.jobs.get_mut(job))
        {
            update(entry);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        // Updates are single assignments, so a panic elsewhere cannot leave the status half-written.
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The status is what the scheduler reports, folded.
impl Report for StatusBoard {
    fn leading(&self, lock: usize, term: u64) {
        self.update_lock(lock, |status| {
            status.leading = true;
            status.term = Some(term);
        });
    }

    fn following(&self, lock: usize, _term: u64, _reason: &'static str) {
        self.update_lock(lock, |status| {
            status.leading = false;
            for job in &mut status.jobs {
                job.next_tick = None;
            }
        });
    }

    fn next_tick(&self, lock: usize, job: usize, next: Option<DateTime<Utc>>) {
        self.update_job(lock, job, |status| status.next_tick = next);
    }

    fn tally(&self, lock: usize, job: usize, what: Tally, _tick: DateTime<Utc>) {
        self.update_job(lock, job, |status| {
            let counts = &mut status.counts;
            match what {
                Tally::Misfire => counts.misfires += 1,
                Tally::Abandoned => counts.abandoned += 1,
                Tally::Skipped => counts.skipped += 1,
                Tally::LostClaim { .. } => counts.lost_claims += 1,
                Tally::ClaimError => counts.claim_errors += 1,
                Tally::Paused => counts.paused += 1,
                Tally::Manual => counts.manual += 1,
            }
        });
    }

    fn run_started(&self, lock: usize, job: usize, _run: Started) {
        self.update_job(lock, job, |status| status.running += 1);
    }

    fn attempt_finished(&self, lock: usize, job: usize, attempt: Finished) {
        self.update_job(lock, job, |status| {
            let counts = &mut status.counts;
            match attempt.outcome {
                RunOutcome::Ok => counts.ok += 1,
                RunOutcome::Failed => counts.failed += 1,
                RunOutcome::Panicked => counts.panicked += 1,
                RunOutcome::TimedOut => counts.timed_out += 1,
                RunOutcome::Cancelled => counts.cancelled += 1,
            }
            if attempt.catch_up && attempt.attempt == 1 {
                counts.caught_up += 1;
            }
            if attempt.rerun {
                counts.reruns += 1;
            } else if attempt.attempt > 1 {
                counts.retried += 1;
            }
            status.last_run = Some(LastRun {
                tick: attempt.tick,
                started_at: attempt.started_at,
                finished_at: attempt.finished_at,
                outcome: attempt.outcome,
                error: attempt.error,
                attempt: attempt.attempt,
                rerun: attempt.rerun,
                manual: attempt.manual,
            });
        });
    }

    fn leader_schedule(&self, lock: usize, job: usize, schedule: Option<String>) {
        self.update_job(lock, job, |status| status.leader_schedule = schedule);
    }

    fn paused(&self, lock: usize, job: usize, paused: bool) {
        self.update_job(lock, job, |status| status.paused = paused);
    }

    fn run_ended(&self, lock: usize, job: usize) {
        self.update_job(lock, job, |status| {
            status.running = status.running.saturating_sub(1);
        });
    }
}
