//! The handle to a started runtime: status, the cluster's history and view, graceful shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::cluster::{self, ClusterView};
use super::control;
use super::events::{Event, Reports};
use super::status::{Status, StatusBoard};
use crate::backend::{Backend, Command, PastRun};
use crate::clock::Clock;
use crate::error::Error;
use crate::scheduler::{LockPlan, OpenLedgers};

/// Time on top of the grace period for runs that were dropped at its end to record their outcome
/// and for elections to be left.
const WIND_DOWN: Duration = Duration::from_secs(1);

/// A running runtime. Cheap to clone; every clone controls the same runtime.
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

/// What a started runtime hands its handle.
pub(super) struct Parts {
    pub(super) node: Arc<str>,
    pub(super) backend: Arc<dyn Backend>,
    pub(super) status: Arc<StatusBoard>,
    pub(super) reports: Arc<Reports>,
    /// The receiver subscribed at start, for the first caller of [`Handle::events`].
    pub(super) since_start: Mutex<Option<tokio::sync::broadcast::Receiver<Event>>>,
    pub(super) shutdown: CancellationToken,
    pub(super) tracker: TaskTracker,
    pub(super) grace: Duration,
    pub(super) failure: Arc<Failure>,
    /// The locks and their jobs, in the order the schedulers index them.
    pub(super) plans: Vec<Arc<LockPlan>>,
    pub(super) ledgers: Arc<OpenLedgers>,
    pub(super) clock: Arc<dyn Clock>,
}

struct Inner {
    parts: Parts,
    backend_closed: AtomicBool,
}

/// The first error that stopped a lock's scheduler.
#[derive(Default)]
pub(super) struct Failure {
    error: Mutex<Option<Error>>,
    happened: CancellationToken,
}

impl Failure {
    pub(super) fn set(&self, error: Error) {
        let mut slot = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(error);
        self.happened.cancel();
    }

    fn take(&self) -> Option<Error> {
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl Handle {
    pub(super) fn new(parts: Parts) -> Self {
        Self {
            inner: Arc::new(Inner {
                parts,
                backend_closed: AtomicBool::new(false),
            }),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.inner.parts.node
    }

    /// What the node is doing: per lock whether it leads and in which term, per job the next tick,
    /// the last run and counters.
    pub fn status(&self) -> Status {
        self.inner.parts.status.snapshot()
    }

    /// Every event of this node's scheduling, as it happens: leadership gained and lost, runs
    /// started and finished, ticks not run and why, claims lost, misfires, abandoned runs found,
    /// triggers, pauses. The first call's receiver has every event since
    /// [`Runtime::start`](crate::Runtime::start) (none is missed between the start and the
    /// call); each later call's, those from then on. A receiver that falls more than
    /// [`EVENTS_BUFFERED`](crate::EVENTS_BUFFERED) events behind misses the oldest and is told so
    /// by `RecvError::Lagged`.
    ///
    /// ```no_run
    /// # async fn example(handle: leader_jobs::Handle) {
    /// let mut events = handle.events();
    /// while let Ok(event) = events.recv().await {
    ///     if let leader_jobs::Event::RunFinished { job, outcome, .. } = &event {
    ///         println!("{job}: {outcome:?}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<Event> {
        let parts = &self.inner.parts;
        let first = parts
            .since_start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        first.unwrap_or_else(|| parts.reports.subscribe())
    }

    /// The latest runs of `job` cluster-wide, newest first, at most `limit` (the ledger keeps the
    /// latest [`RECENT_RUNS`](crate::backend::RECENT_RUNS)): tick, term, node, attempt, start,
    /// duration and outcome of each, as its lock's ledger holds them. Any node answers, leader or
    /// follower, with a read of the ledger.
    ///
    /// ```no_run
    /// # async fn example(handle: leader_jobs::Handle) -> Result<(), leader_jobs::Error> {
    /// for run in handle.history("send_daily_digest", 5).await? {
    ///     println!("{} on {} (term {}): {:?}", run.tick, run.node, run.term, run.outcome);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Registry`] naming the known jobs when this node has no job `job`;
    /// [`Error::Ledger`] when the ledger cannot be read (the broker is unreachable: the read
    /// gives up after the ledger's operation bound).
    pub async fn history(&self, job: &str, limit: usize) -> Result<Vec<PastRun>, Error> {
        let parts = &self.inner.parts;
        cluster::history(&parts.plans, &parts.ledgers, job, limit).await
    }

    /// Pauses `job` cluster-wide: from the moment the command lands in its lock's ledger, no
    /// claim of the job is valid, whichever node makes it (a stale leader included), so its
    /// ticks are skipped (counted `paused`, never lost or caught up) from the next one on. A run
    /// going on is not stopped. Any node may pause any job of its own configuration.
    ///
    /// ```no_run
    /// # async fn example(handle: leader_jobs::Handle) -> Result<(), leader_jobs::Error> {
    /// handle.pause("send_daily_digest").await?; // the mail provider is down
    /// // ...
    /// handle.resume("send_daily_digest").await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Registry`] naming the known jobs when this node has no job `job`;
    /// [`Error::Ledger`] when the command could not be appended (the broker is unreachable:
    /// it gives up after the ledger's operation bound). Then nothing changed.
    pub async fn pause(&self, job: &str) -> Result<(), Error> {
        let command = Command::Pause {
            job: job.to_owned(),
            by: self.node_id().to_owned(),
        };
        self.command(job, "`Handle::pause(..)`", command).await
    }

    /// Resumes a paused `job`: its next tick runs; ticks skipped while it was paused are not
    /// caught up, and triggers that waited run now.
    ///
    /// # Errors
    ///
    /// As [`pause`](Self::pause).
    pub async fn resume(&self, job: &str) -> Result<(), Error> {
        let command = Command::Resume {
            job: job.to_owned(),
            by: self.node_id().to_owned(),
        };
        self.command(job, "`Handle::resume(..)`", command).await
    }

    /// Asks for a run of `job` now, whatever its schedule, and returns the request's id. The
    /// lock's leader runs it once within about a second (a manual run:
    /// [`JobContext::is_manual`](crate::JobContext::is_manual), its tick the request's time),
    /// beside any scheduled run, without retries; a paused job's trigger waits for
    /// [`resume`](Self::resume). To retry a request that may or may not have landed without
    /// running it twice, use [`trigger_request`](Self::trigger_request).
    ///
    /// # Errors
    ///
    /// As [`pause`](Self::pause).
    pub async fn trigger(&self, job: &str) -> Result<String, Error> {
        let request = control::request_id(&self.inner.parts.node);
        self.trigger_request(job, &request).await?;
        Ok(request)
    }

    /// [`trigger`](Self::trigger) with the caller's request id: a request repeated with the same
    /// id (a retry after a timeout, from any node) runs once. The ledger remembers the latest
    /// [`REQUESTS_KEPT`](crate::backend::REQUESTS_KEPT) ids per job.
    ///
    /// # Errors
    ///
    /// As [`pause`](Self::pause).
    pub async fn trigger_request(&self, job: &str, request: &str) -> Result<(), Error> {
        let parts = &self.inner.parts;
        let command = control::trigger(job, request, &parts.node, parts.clock.now());
        self.command(job, "`Handle::trigger(..)`", command).await
    }

    /// Appends `command` to the ledger of `job`'s lock; `what` names the call in errors.
    async fn command(&self, job: &str, what: &str, command: Command) -> Result<(), Error> {
        let parts = &self.inner.parts;
        control::send(&parts.plans, &parts.ledgers, job, what, command).await
    }

    /// The cluster as the ledgers of this node's locks hold it: per lock the node that leads,
    /// its term and since when; per job its schedule, next tick, last success and failure and
    /// counts. Unlike [`status`](Self::status), which is this node's own, any node gives the same
    /// answer.
    ///
    /// # Errors
    ///
    /// [`Error::Ledger`] when a lock's ledger cannot be read.
    pub async fn cluster(&self) -> Result<ClusterView, Error> {
        let parts = &self.inner.parts;
        cluster::view(&parts.node, &parts.plans, &parts.ledgers, &*parts.clock).await
    }

    /// Stops the runtime gracefully: no new runs start, every election is left so other nodes
    /// take over at once, running jobs see cancellation and get the grace period to finish (then
    /// they are dropped), and the backend is closed.
    ///
    /// Returns within the grace period plus one second. Fails with the error that stopped a lock's
    /// scheduler, if one did, or if tasks were still running at the end (a job blocking its
    /// thread). Calling it again, from any clone, waits the same way and then returns `Ok`.
    pub async fn shutdown(&self) -> Result<(), Error> {
        let inner = &self.inner.parts;
        inner.shutdown.cancel();
        inner.tracker.close();
        let waited = inner.grace + WIND_DOWN;
        let finished = tokio::time::timeout(waited, inner.tracker.wait()).await;
        if !self.inner.backend_closed.swap(true, Ordering::SeqCst) {
            inner.backend.close().await;
        }
        if let Some(failure) = inner.failure.take() {
            return Err(failure);
        }
        match finished {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::ShutdownTimedOut {
                running: inner.tracker.len(),
                waited,
            }),
        }
    }

    /// [`Runtime::run_until`](crate::Runtime::run_until) for a runtime already started: waits
    /// until `shutdown` completes or a lock's scheduler fails, then [shuts
    /// down](Self::shutdown). For applications that need the handle while the runtime runs
    /// (to serve the dashboard, say).
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), leader_jobs::Error> {
    /// let handle = leader_jobs::Runtime::builder().build()?.start()?;
    /// // ... hand clones of `handle` to what needs it ...
    /// handle
    ///     .run_until(async {
    ///         let _ = tokio::signal::ctrl_c().await;
    ///     })
    ///     .await
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`shutdown`](Self::shutdown).
    pub async fn run_until(&self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        tokio::select! {
            () = shutdown => {}
            () = self.failed() => {}
        }
        self.shutdown().await
    }

    /// Completes once shutdown has begun, for servers that live as long as the runtime.
    #[cfg_attr(not(feature = "dashboard"), allow(dead_code))]
    pub(crate) async fn shutting_down(&self) {
        self.inner.parts.shutdown.cancelled().await;
    }

    /// Completes when a lock's scheduler stopped with an error.
    async fn failed(&self) {
        self.inner.parts.failure.happened.cancelled().await;
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("node", &self.inner.parts.node)
            .field("grace", &self.inner.parts.grace)
            .field("shutting_down", &self.inner.parts.shutdown.is_cancelled())
            .field("tasks", &self.inner.parts.tracker.len())
            .finish_non_exhaustive()
    }
}
