//! What [`Handle::events`](crate::Handle::events) delivers (and, with the feature `metrics`,
//! what the node's metrics are made of): this node's scheduling as typed
//! events, in the order they happened, for a dashboard, a test harness or an alerting hook that
//! would otherwise match log lines or poll the status. Their serde form (a JSON object tagged
//! `event`) is the documented schema.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use super::status::StatusBoard;
use crate::backend::RunOutcome;
use crate::scheduler::{self, Finished, Report, Started, Tally};

/// How many events a slow receiver may fall behind before it misses some (and is told so by
/// [`broadcast::error::RecvError::Lagged`]).
pub const EVENTS_BUFFERED: usize = 1024;

/// Why a run starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunKind {
    /// At its tick.
    Scheduled,
    /// For a missed tick, per the misfire policy.
    CatchUp,
    /// Again, after its previous attempt was abandoned (delivery at least once).
    Rerun,
    /// Now, because an operator triggered it.
    Manual,
}

/// Why a tick did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotRun {
    /// The previous run was still going (overlap policy).
    Overlap,
    /// The job is paused.
    Paused,
    /// The ledger could not be reached to claim it.
    ClaimError,
}

/// Something that happened on this node.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// This node began `term` on `lock`: its jobs run here from now on.
    LeadershipGained {
        /// The lock.
        lock: String,
        /// The term begun.
        term: u64,
    },
    /// This node stopped leading `lock`.
    LeadershipLost {
        /// The lock.
        lock: String,
        /// The term it led in.
        term: u64,
        /// Why: `shutdown`, `the election changed`, ...
        reason: String,
    },
    /// A run began (its first attempt, or a rerun, or a manual run).
    RunStarted {
        /// The job.
        job: String,
        /// Its lock.
        lock: String,
        /// The tick (for a manual run, the trigger's time).
        tick: DateTime<Utc>,
        /// The leader's term.
        term: u64,
        /// Which attempt.
        attempt: u32,
        /// Why it runs.
        kind: RunKind,
    },
    /// An attempt ended.
    RunFinished {
        /// The job.
        job: String,
        /// Its lock.
        lock: String,
        /// The tick.
        tick: DateTime<Utc>,
        /// The leader's term.
        term: u64,
        /// Which attempt.
        attempt: u32,
        /// How it ended.
        outcome: RunOutcome,
        /// When it started.
        started_at: DateTime<Utc>,
        /// When it ended.
        finished_at: DateTime<Utc>,
        /// The error or panic message, when it failed or panicked.
        error: Option<String>,
    },
    /// A tick did not run.
    TickNotRun {
        /// The job.
        job: String,
        /// Its lock.
        lock: String,
        /// The tick.
        tick: DateTime<Utc>,
        /// Why.
        why: NotRun,
    },
    /// The ledger refused this node's claim of a tick, so it did not run here: another claim came
    /// first, or a newer term had begun (this node's belief that it leads was stale).
    ClaimLost {
        /// The job.
        job: String,
        /// Its lock.
        lock: String,
        /// The tick.
        tick: DateTime<Utc>,
        /// The term this node claimed under.
        term: u64,
        /// The latest term the ledger knew.
        highest_term: u64,
    },
    /// Ticks were missed (while no node led, or this one was late); the misfire policy decided
    /// them.
    Misfire {
        /// The job.
        job: String,
        /// Its lock.
        lock: String,
        /// The latest tick missed.
        latest: DateTime<Utc>,
    },
    /// A run an earlier leader claimed but never reported the end of was found.
    AbandonedRun {
        /// The job.
        job: String,
        /// Its lock.
        lock: String,
        /// Its tick.
        tick: DateTime<Utc>,
    },
    /// An operator's trigger was claimed and its run is starting.
    Triggered {
        /// The job.
        job: String,
        /// Its lock.
        lock: String,
        /// The trigger's time: the manual run's tick.
        at: DateTime<Utc>,
    },
    /// This node found the job paused or resumed in its ledger.
    PauseChanged {
        /// The job.
        job: String,
        /// Its lock.
        lock: String,
        /// Whether it is paused now.
        paused: bool,
    },
}

/// The scheduler's reports, folded into the status board and sent as events.
pub(crate) struct Reports {
    status: Arc<StatusBoard>,
    events: broadcast::Sender<Event>,
    /// Per lock its name, and its jobs' names with whether each was last seen paused.
    names: Vec<(String, Vec<(String, AtomicBool)>)>,
}

impl Reports {
    /// Reports for the locks and jobs of `names`, in the scheduler's order.
    pub(crate) fn new(status: Arc<StatusBoard>, names: Vec<(String, Vec<String>)>) -> Self {
        let names = names
            .into_iter()
            .map(|(lock, jobs)| {
                let jobs = jobs
                    .into_iter()
                    .map(|job| (job, AtomicBool::new(false)))
                    .collect();
                (lock, jobs)
            })
            .collect();
        #[cfg(feature = "metrics")]
        super::metrics::describe();
        Self {
            status,
            events: broadcast::channel(EVENTS_BUFFERED).0,
            names,
        }
    }

    /// A new receiver of the events from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn lock_name(&self, lock: usize) -> String {
        self.names
            .get(lock)
            .map(|(name, _)| name.clone())
            .unwrap_or_default()
    }

    fn job_names(&self, lock: usize, job: usize) -> (String, String) {
        let job = self
            .names
            .get(lock)
            .and_then(|(_, jobs)| jobs.get(job))
            .map(|(name, _)| name.clone())
            .unwrap_or_default();
        (job, self.lock_name(lock))
    }

    fn send(&self, event: Event) {
        // No receiver is no error: nobody listens.
        let _ = self.events.send(event);
    }
}

impl Report for Reports {
    fn leading(&self, lock: usize, term: u64) {
        self.status.leading(lock, term);
        #[cfg(feature = "metrics")]
        super::metrics::leading(&self.lock_name(lock), term);
        self.send(Event::LeadershipGained {
            lock: self.lock_name(lock),
            term,
        });
    }

    fn following(&self, lock: usize, term: u64, reason: &'static str) {
        self.status.following(lock, term, reason);
        #[cfg(feature = "metrics")]
        super::metrics::following(&self.lock_name(lock));
        self.send(Event::LeadershipLost {
            lock: self.lock_name(lock),
            term,
            reason: reason.to_owned(),
        });
    }

    fn next_tick(&self, lock: usize, job: usize, next: Option<DateTime<Utc>>) {
        self.status.next_tick(lock, job, next);
        #[cfg(feature = "metrics")]
        super::metrics::next_tick(&self.job_names(lock, job).0, next);
    }

    fn tally(&self, lock: usize, job: usize, what: Tally, tick: DateTime<Utc>) {
        self.status.tally(lock, job, what, tick);
        let (job, lock) = self.job_names(lock, job);
        let not_run = |why| Event::TickNotRun {
            job: job.clone(),
            lock: lock.clone(),
            tick,
            why,
        };
        let event = match what {
            Tally::Skipped => not_run(NotRun::Overlap),
            Tally::Paused => not_run(NotRun::Paused),
            Tally::LostClaim { term, highest_term } => Event::ClaimLost {
                job,
                lock,
                tick,
                term,
                highest_term,
            },
            Tally::ClaimError => not_run(NotRun::ClaimError),
            Tally::Misfire => Event::Misfire {
                job,
                lock,
                latest: tick,
            },
            Tally::Abandoned => Event::AbandonedRun { job, lock, tick },
            Tally::Manual => Event::Triggered {
                job,
                lock,
                at: tick,
            },
        };
        self.send(event);
    }

    fn run_started(&self, lock: usize, job: usize, run: Started) {
        self.status.run_started(lock, job, run);
        let (job, lock) = self.job_names(lock, job);
        self.send(Event::RunStarted {
            job,
            lock,
            tick: run.tick,
            term: run.term,
            attempt: run.attempt,
            kind: match run.kind {
                scheduler::RunKind::Scheduled => RunKind::Scheduled,
                scheduler::RunKind::CatchUp => RunKind::CatchUp,
                scheduler::RunKind::Rerun => RunKind::Rerun,
                scheduler::RunKind::Manual => RunKind::Manual,
            },
        });
    }

    fn attempt_finished(&self, lock: usize, job: usize, attempt: Finished) {
        let (job_name, lock_name) = self.job_names(lock, job);
        #[cfg(feature = "metrics")]
        super::metrics::attempt_finished(&job_name, &lock_name, &attempt);
        let event = Event::RunFinished {
            job: job_name,
            lock: lock_name,
            tick: attempt.tick,
            term: attempt.term,
            attempt: attempt.attempt,
            outcome: attempt.outcome,
            started_at: attempt.started_at,
            finished_at: attempt.finished_at,
            error: attempt.error.clone(),
        };
        self.status.attempt_finished(lock, job, attempt);
        self.send(event);
    }

    fn run_ended(&self, lock: usize, job: usize) {
        self.status.run_ended(lock, job);
    }

    fn leader_schedule(&self, lock: usize, job: usize, schedule: Option<String>) {
        self.status.leader_schedule(lock, job, schedule);
    }

    fn paused(&self, lock: usize, job: usize, paused: bool) {
        self.status.paused(lock, job, paused);
        let was = self
            .names
            .get(lock)
            .and_then(|(_, jobs)| jobs.get(job))
            .map(|(_, seen)| seen.swap(paused, Ordering::SeqCst));
        if was.is_some_and(|was| was != paused) {
            let (job, lock) = self.job_names(lock, job);
            self.send(Event::PauseChanged { job, lock, paused });
        }
    }
}
