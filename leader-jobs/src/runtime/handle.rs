//! The handle to a started runtime: status and graceful shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::status::{Status, StatusBoard};
use crate::backend::Backend;
use crate::error::Error;

/// Time on top of the grace period for runs that were dropped at its end to record their outcome
/// and for elections to be left.
const WIND_DOWN: Duration = Duration::from_secs(1);

/// A running runtime. Cheap to clone; every clone controls the same runtime.
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

struct Inner {
    node: Arc<str>,
    backend: Arc<dyn Backend>,
    status: Arc<StatusBoard>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    grace: Duration,
    failure: Arc<Failure>,
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
    pub(super) fn new(
        node: Arc<str>,
        backend: Arc<dyn Backend>,
        status: Arc<StatusBoard>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
        grace: Duration,
        failure: Arc<Failure>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                node,
                backend,
                status,
                shutdown,
                tracker,
                grace,
                failure,
                backend_closed: AtomicBool::new(false),
            }),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.inner.node
    }

    /// What the node is doing: per lock whether it leads and in which term, per job the next tick,
    /// the last run and counters.
    pub fn status(&self) -> Status {
        self.inner.status.snapshot()
    }

    /// Stops the runtime gracefully: no new runs start, every election is left so other nodes
    /// take over at once, running jobs see cancellation and get the grace period to finish (then
    /// they are dropped), and the backend is closed.
    ///
    /// Returns within the grace period plus one second. Fails with the error that stopped a lock's
    /// scheduler, if one did, or if tasks were still running at the end (a job blocking its
    /// thread). Calling it again, from any clone, waits the same way and then returns `Ok`.
    pub async fn shutdown(&self) -> Result<(), Error> {
        let inner = &self.inner;
        inner.shutdown.cancel();
        inner.tracker.close();
        let waited = inner.grace + WIND_DOWN;
        let finished = tokio::time::timeout(waited, inner.tracker.wait()).await;
        if !inner.backend_closed.swap(true, Ordering::SeqCst) {
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

    /// Completes when a lock's scheduler stopped with an error.
    pub(super) async fn failed(&self) {
        self.inner.failure.happened.cancelled().await;
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("node", &self.inner.node)
            .field("grace", &self.inner.grace)
            .field("shutting_down", &self.inner.shutdown.is_cancelled())
            .field("tasks", &self.inner.tracker.len())
            .finish_non_exhaustive()
    }
}
