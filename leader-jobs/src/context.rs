//! What a running job knows about its run.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::job::States;

/// Handed to every run of a job: which job and tick this is, who runs it, the fencing token, and a
/// cancellation signal.
///
/// # Fencing with the term
///
/// Leadership can overlap briefly: a leader that stalls (GC pause, SIGSTOP, a partition) may wake
/// up still believing it leads, after another node took over. The ledger stops it from *starting*
/// a tick twice, but a run that was already going keeps running. [`JobContext::term`] is a fencing
/// token for that case: terms strictly increase with every change of leader, so a downstream system
/// that remembers the highest term it has seen can reject writes that carry a lower one.
///
/// ```
/// use leader_jobs::JobContext;
///
/// # struct Store;
/// # impl Store {
/// #     async fn put_fenced(&self, _key: &str, _value: &str, _term: u64) -> std::io::Result<bool> {
/// #         Ok(true)
/// #     }
/// # }
/// // `put_fenced` keeps, per key, the highest term it accepted and refuses lower ones, e.g.
/// // `UPDATE reports SET body = $2, term = $3 WHERE id = $1 AND term <= $3` in SQL.
/// async fn publish_report(ctx: JobContext, store: &Store) -> std::io::Result<()> {
///     let accepted = store.put_fenced("daily-report", "...", ctx.term()).await?;
///     if !accepted {
///         // A newer leader already wrote: this run is stale and stops without side effects.
///         return Ok(());
///     }
///     Ok(())
/// }
/// ```
///
/// # Cancellation
///
/// When the node loses leadership or shuts down, the run is told through
/// [`JobContext::cancelled`] / [`JobContext::is_cancelled`]. The job decides how to stop (finish
/// the current step, roll back, ...); if it is still running after the runtime's grace period, its
/// future is dropped and the run is recorded as cancelled.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub(crate) job: Arc<str>,
    pub(crate) lock: Arc<str>,
    pub(crate) tick: DateTime<Utc>,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) node: Arc<str>,
    pub(crate) term: u64,
    pub(crate) cancellation: CancellationToken,
    pub(crate) attempt: u32,
    pub(crate) catch_up: bool,
    pub(crate) states: Arc<States>,
}

impl JobContext {
    /// The job's name.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// The lock the job runs under.
    pub fn lock(&self) -> &str {
        &self.lock
    }

    /// Which attempt at this tick this run is: 1 for the first, 2 for the first retry (see
    /// [`Job::retries`](crate::Job::retries)).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether this run is for a tick that passed while no node led the lock (the misfire
    /// policy's catch-up run), rather than at its scheduled time.
    pub fn is_catch_up(&self) -> bool {
        self.catch_up
    }

    /// The scheduled tick this run is for. For a catch-up run it lies in the past.
    pub fn tick(&self) -> DateTime<Utc> {
        self.tick
    }

    /// When this run actually started (wall clock).
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    /// The id of the node running this tick.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The leader's term: the fencing token. Strictly higher for every new leader of the lock; see
    /// the type's documentation for how to use it downstream.
    pub fn term(&self) -> u64 {
        self.term
    }

    /// Completes when the run should stop: the node lost leadership of the lock or is shutting down.
    pub async fn cancelled(&self) {
        self.cancellation.cancelled().await;
    }

    /// Whether the run has been asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }

    /// The cancellation token itself, to hand to code that takes a [`CancellationToken`] or to
    /// derive child tokens from.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancellation.clone()
    }
}
