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
/// # Idempotency with the run id
///
/// The term refuses stale writers; [`JobContext::run_id`] deduplicates repeats. With
/// [`Delivery::AtLeastOnce`](crate::Delivery::AtLeastOnce) a tick whose leader died mid-run is
/// run again by the next leader, so a side effect may be attempted twice. The run id is the same
/// on every attempt at a tick and on every node, so a downstream system that keeps it once
/// (an e-mail provider's idempotency key, a unique constraint, `ON CONFLICT DO NOTHING`) makes
/// the repeat harmless:
///
/// ```
/// use leader_jobs::JobContext;
///
/// # struct Mailer;
/// # impl Mailer {
/// #     async fn send(&self, _idempotency_key: &str, _body: &str) -> std::io::Result<()> {
/// #         Ok(())
/// #     }
/// # }
/// async fn send_digest(ctx: JobContext, mailer: &Mailer) -> std::io::Result<()> {
///     // The provider sends one message per key, however often it is asked.
///     mailer.send(&ctx.run_id().to_string(), "...").await
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
    pub(crate) rerun: bool,
    pub(crate) manual: bool,
    pub(crate) states: Arc<States>,
}

/// A key per (job, tick), the same on every attempt and every node: see
/// [`JobContext::run_id`]. Its text form is `job@tick` with the tick in RFC 3339, UTC.
///
/// ```
/// # use chrono::TimeZone;
/// let tick = chrono::Utc.with_ymd_and_hms(2026, 3, 29, 9, 0, 0).unwrap();
/// let id = leader_jobs::RunId::new("send_daily_digest", tick);
/// assert_eq!(id.to_string(), "send_daily_digest@2026-03-29T09:00:00Z");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId {
    job: Arc<str>,
    tick: DateTime<Utc>,
}

impl RunId {
    /// The run id of `job`'s `tick`.
    pub fn new(job: &str, tick: DateTime<Utc>) -> Self {
        Self {
            job: job.into(),
            tick,
        }
    }

    /// The job's name.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// The tick.
    pub fn tick(&self) -> DateTime<Utc> {
        self.tick
    }
}

impl core::fmt::Display for RunId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let tick = self
            .tick
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        write!(f, "{}@{tick}", self.job)
    }
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

    /// Whether this attempt runs a tick again because the attempt before it was abandoned: its
    /// leader died, froze past its lease or was fenced mid-run (see
    /// [`Delivery::AtLeastOnce`](crate::Delivery::AtLeastOnce)).
    pub fn is_rerun(&self) -> bool {
        self.rerun
    }

    /// Whether an operator triggered this run ([`Handle::trigger`](crate::Handle::trigger));
    /// its [`tick`](Self::tick) is then the trigger's time.
    pub fn is_manual(&self) -> bool {
        self.manual
    }

    /// A key for this (job, tick), the same on every attempt and every node: for downstream
    /// idempotency (see the type's documentation).
    pub fn run_id(&self) -> RunId {
        RunId {
            job: self.job.clone(),
            tick: self.tick,
        }
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
