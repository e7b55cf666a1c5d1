//! The runtime: one per process (a node). Build it with [`Runtime::builder`], then either
//! [`run_until`](Runtime::run_until) a shutdown signal, or [`start`](Runtime::start) it and keep
//! the [`Handle`].

mod builder;
pub(crate) mod cluster;
mod control;
pub(crate) mod events;
mod handle;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
mod node_id;
mod overrides;
pub(crate) mod status;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::builder::{DEFAULT_GRACE_PERIOD, RuntimeBuilder};
use self::events::Reports;
use self::handle::Failure;
pub use self::handle::Handle;
pub use self::overrides::{SCHEDULES_ENV, ScheduleOverrides, ScheduleOverridesError};
use self::status::StatusBoard;
use crate::backend::Backend;
use crate::clock::Clock;
use crate::error::Error;
use crate::job::States;
use crate::scheduler::{self, LockPlan, NodeEnv, OpenLedgers};

/// A node's scheduler, built and checked, not yet running.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> Result<(), leader_jobs::Error> {
///     leader_jobs::Runtime::builder()
///         .build()?
///         .run_until(async {
///             let _ = tokio::signal::ctrl_c().await;
///         })
///         .await
/// }
/// ```
pub struct Runtime {
    node: Arc<str>,
    backend: Arc<dyn Backend>,
    clock: Arc<dyn Clock>,
    grace: Duration,
    states: Arc<States>,
    locks: Vec<LockPlan>,
}

impl Runtime {
    /// Starts configuring a runtime.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node
    }

    /// Starts one scheduler task per lock on the current Tokio runtime and returns at once.
    ///
    /// Each task joins its lock's election; whenever this node leads a lock, its jobs run at their
    /// ticks. Stop with [`Handle::shutdown`].
    pub fn start(self) -> Result<Handle, Error> {
        let tokio = tokio::runtime::Handle::try_current().map_err(|_| Error::NoTokioRuntime)?;
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let names: Vec<(String, Vec<String>)> = self
            .locks
            .iter()
            .map(|lock| {
                let jobs = lock.jobs.iter().map(|job| job.job.name().to_owned());
                (lock.lock.to_string(), jobs.collect())
            })
            .collect();
        let status = Arc::new(StatusBoard::new(&self.node, names.clone()));
        let reports = Arc::new(Reports::new(status.clone(), names));
        // Subscribed before any scheduler runs, so the first `Handle::events` misses nothing.
        let since_start = std::sync::Mutex::new(Some(reports.subscribe()));
        let failure = Arc::new(Failure::default());
        let ledgers = Arc::new(OpenLedgers::default());
        let plans: Vec<Arc<LockPlan>> = self.locks.into_iter().map(Arc::new).collect();
        let env = NodeEnv {
            node: self.node.clone(),
            backend: self.backend.clone(),
            clock: self.clock.clone(),
            report: reports.clone(),
            shutdown: shutdown.clone(),
            tracker: tracker.clone(),
            grace: self.grace,
            states: self.states,
            ledgers: ledgers.clone(),
        };
        for (lock_index, plan) in plans.iter().enumerate() {
            for job in &plan.jobs {
                let job = &job.job;
                tracing::info!(
                    node = %self.node,
                    lock = &*plan.lock,
                    job = job.name(),
                    cron = job.cron(),
                    tz = job.get_tz(),
                    misfire = %job.get_misfire(),
                    overlap = %job.get_overlap(),
                    retries = job.get_retries(),
                    "job registered"
                );
            }
            let (env, failure, plan) = (env.clone(), failure.clone(), Arc::clone(plan));
            tracker.spawn_on(
                async move {
                    if let Err(err) = scheduler::run_lock(env, lock_index, plan).await {
                        tracing::error!(error = %err, "a lock's scheduler stopped");
                        failure.set(err);
                    }
                },
                &tokio,
            );
        }
        Ok(Handle::new(handle::Parts {
            node: self.node,
            backend: self.backend,
            status,
            reports,
            since_start,
            shutdown,
            tracker,
            grace: self.grace,
            failure,
            plans,
            ledgers,
            clock: self.clock,
        }))
    }

    /// Runs until `shutdown` completes (or a lock's backend fails to open), then shuts down
    /// gracefully: leaves every election so other nodes take over at once, and waits for running
    /// jobs up to the grace period.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), leader_jobs::Error> {
    /// leader_jobs::Runtime::builder()
    ///     .build()?
    ///     .run_until(async {
    ///         let _ = tokio::signal::ctrl_c().await;
    ///     })
    ///     .await
    /// # }
    /// ```
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        self.start()?.run_until(shutdown).await
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("node", &self.node)
            .field("clock", &self.clock)
            .field("grace", &self.grace)
            .field("locks", &self.locks)
            .finish_non_exhaustive()
    }
}
