//! The errors a runtime reports when it is built, started or stopped.

use std::time::Duration;

use crate::backend::BackendError;
use crate::registry::RegistryError;

/// Why a runtime could not be built, started or stopped cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node id cannot serve as a consumer name.
    #[error(
        "invalid node id `{id}`: {reason}; use 1 to 128 characters from A-Z a-z 0-9 `-` `_` `.`, \
         or leave `.node_id(..)` out to get hostname-pid-random"
    )]
    InvalidNodeId {
        /// The rejected id.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The jobs cannot run: two share a name, a schedule, lock or setting is invalid, a state is
    /// missing, or an override names an unknown job. Boxed: it is by far the largest variant.
    #[error(transparent)]
    Registry(Box<RegistryError>),

    /// The Pulsar configuration is unusable.
    #[cfg(feature = "pulsar")]
    #[error(transparent)]
    PulsarConfig(#[from] crate::backend::pulsar::PulsarConfigError),

    /// There is nothing to run.
    #[error(
        "no jobs to run: annotate an `async fn` with `#[leader_jobs::singleton_job(cron = \"...\")]` \
         in a crate linked into this binary, or pass jobs with `.jobs(..)`"
    )]
    NoJobs,

    /// `start` was called outside a Tokio runtime.
    #[error(
        "the runtime must be started inside a Tokio runtime: call it from `#[tokio::main]` or \
         within `tokio::runtime::Runtime::block_on`"
    )]
    NoTokioRuntime,

    /// The backend could not open a lock's election or ledger.
    #[error(
        "could not join lock `{lock}` as node `{node}`: {source}; the runtime stopped, fix the \
         backend's address, credentials or reachability and start it again"
    )]
    Backend {
        /// The lock.
        lock: String,
        /// This node's id.
        node: String,
        /// The backend's error.
        #[source]
        source: BackendError,
    },

    /// A lock's ledger could not be read for the history or the cluster view.
    #[error(
        "could not read the ledger of lock `{lock}`: {source}; nothing was changed, try again \
         once the backend answers"
    )]
    Ledger {
        /// The lock.
        lock: String,
        /// The backend's error.
        #[source]
        source: BackendError,
    },

    /// Runs were still going when the grace period ended.
    #[error(
        "{running} task(s) were still running {waited:?} after shutdown began; a job blocks its \
         thread without awaiting (use `tokio::task::spawn_blocking`) or ignores cancellation"
    )]
    ShutdownTimedOut {
        /// How many tasks were still running.
        running: usize,
        /// How long shutdown waited.
        waited: Duration,
    },
}

impl From<RegistryError> for Error {
    fn from(error: RegistryError) -> Self {
        Self::Registry(Box::new(error))
    }
}
