//! The in-process backend: elections and ledgers kept in memory.
//!
//! It is the embedded default when a runtime is built without a broker (one node, always leader),
//! and a test harness for your own jobs: several runtimes in one process join one
//! [`MemoryCluster`] as nodes, and the test kills or pauses nodes and watches another take over.

mod handles;
mod state;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use self::state::RECORDS_KEPT;
use self::state::{ClusterState, NodeStatus};
use super::LedgerRecord;
use super::{BackendError, Leadership};

/// How fast a [`MemoryCluster`] reacts to faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How long a paused leader keeps its locks before the cluster elects others (default 10 s).
    pub lease: Duration,
    /// How long a killed leader's locks stay without a leader (default 1 s, the Pulsar broker's
    /// `activeConsumerFailoverDelayTimeMillis`).
    pub failover_delay: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(10),
            failover_delay: Duration::from_secs(1),
        }
    }
}

/// A simulated cluster in one process: per lock, an election among the nodes that joined it and a
/// ledger, shared by every runtime built with [`in_memory`](crate::RuntimeBuilder::in_memory).
///
/// Per lock, the leader is the live node that joined the cluster first; a node that joins earlier
/// than the current leader (or resumes) takes the lock over, as a Pulsar consumer does when it
/// returns to its place on the hash ring. Faults a test can inject:
///
/// - [`kill`](Self::kill): the node's elections end at once (it sees `Following`), its ledger
///   writes are refused, and after the failover delay the next node takes over.
/// - [`pause`](Self::pause): the node's own view freezes. It goes on believing what it believed,
///   possibly that it leads, and keeps claiming ticks; after the lease the cluster elects another
///   node, whose new term fences the paused node's claims in the ledger.
/// - [`resume`](Self::resume): the node sees the cluster as it now is.
///
/// Clones share one cluster.
///
/// ```standalone_crate
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
///
/// use chrono::{TimeZone, Utc};
/// use leader_jobs::backend::memory::{MemoryCluster, Timing};
/// use leader_jobs::clock::TestClock;
///
/// static RUNS: AtomicU32 = AtomicU32::new(0);
///
/// #[leader_jobs::singleton_job(cron = "*/10 * * * * *", lock = "billing")]
/// async fn invoice_batch() {
///     RUNS.fetch_add(1, Ordering::SeqCst);
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cluster = MemoryCluster::with_timing(Timing {
///     lease: Duration::from_secs(5),
///     failover_delay: Duration::from_secs(1),
/// });
/// let clock = TestClock::starting_at(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
/// let mut nodes = Vec::new();
/// for id in ["a", "b", "c"] {
///     let runtime = leader_jobs::Runtime::builder()
///         .node_id(id)
///         .in_memory(&cluster)
///         .clock(clock.clone())
///         .build()?;
///     nodes.push(runtime.start()?);
/// }
/// tokio::time::sleep(Duration::from_secs(55)).await;
/// assert_eq!(cluster.leader("billing").as_deref(), Some("a"));
/// cluster.kill("a")?;
/// tokio::time::sleep(Duration::from_secs(60)).await;
/// assert_eq!(cluster.leader("billing").as_deref(), Some("b"));
/// // The ticks from 00:00:10 to 00:01:50, each run once across the failover.
/// assert_eq!(RUNS.load(Ordering::SeqCst), 11);
/// for node in nodes {
///     node.shutdown().await?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryCluster {
    shared: Arc<Shared>,
}

struct Shared {
    timing: Timing,
    state: Mutex<ClusterState>,
}

/// A fault the test harness could not inject.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryClusterError {
    /// No runtime has joined the cluster with this node id.
    #[error(
        "no node `{0}` has joined this cluster; start a runtime with `.node_id(\"{0}\")` first"
    )]
    UnknownNode(String),
    /// The node was killed; it cannot be paused or resumed.
    #[error("node `{0}` was killed; a killed node stays dead, start a runtime with a new node id")]
    Killed(String),
    /// `pause` and `kill` need a Tokio runtime for the lease and failover timers.
    #[error(
        "`MemoryCluster::pause` and `kill` must be called inside a Tokio runtime (they start the \
         lease and failover timers)"
    )]
    NoRuntime,
}

impl MemoryCluster {
    /// A cluster with the default [`Timing`].
    pub fn new() -> Self {
        Self::with_timing(Timing::default())
    }

    /// A cluster that reacts to faults with `timing`.
    pub fn with_timing(timing: Timing) -> Self {
        Self {
            shared: Arc::new(Shared {
                timing,
                state: Mutex::new(ClusterState::default()),
            }),
        }
    }

    /// The node the cluster currently considers the leader of `lock`.
    pub fn leader(&self, lock: &str) -> Option<String> {
        self.state().locks.get(lock)?.leader.clone()
    }

    /// A copy of `lock`'s latest [`RECORDS_KEPT`] ledger records, in ledger order (the ledger
    /// rule itself needs none of them: it keeps their fold).
    pub fn records(&self, lock: &str) -> Vec<LedgerRecord> {
        self.state()
            .locks
            .get(lock)
            .map(|lock| lock.records.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Kills `node`: its elections end, its ledger writes fail, and after the failover delay other
    /// nodes take over its locks.
    pub fn kill(&self, node: &str) -> Result<(), MemoryClusterError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| MemoryClusterError::NoRuntime)?;
        let mut state = self.state();
        state.node_mut(node)?.status = NodeStatus::Killed;
        let vacant_until = tokio::time::Instant::now() + self.shared.timing.failover_delay;
        for lock in state.locks.values_mut() {
            // Dropping the member drops its watch sender: the node sees `Following`, then the end
            // of the election.
            if let Some(at) = lock.members.iter().position(|m| m.node == node) {
                lock.members
                    .remove(at)
                    .view
                    .send_replace(Leadership::Following);
            }
            if lock.leader.as_deref() == Some(node) {
                lock.leader = None;
                lock.vacant_until = Some(vacant_until);
            }
        }
        state.elect_all();
        let cluster = self.clone();
        runtime.spawn(async move {
            tokio::time::sleep_until(vacant_until).await;
            cluster.state().elect_all();
        });
        Ok(())
    }

    /// Pauses `node`: its view of every election freezes, and once the lease has run out the
    /// cluster elects other leaders for the locks it led. Pausing a paused node does nothing.
    pub fn pause(&self, node: &str) -> Result<(), MemoryClusterError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| MemoryClusterError::NoRuntime)?;
        let mut state = self.state();
        state.pauses += 1;
        let pause = state.pauses;
        let entry = state.node_mut(node)?;
        if entry.status != NodeStatus::Live {
            return Ok(());
        }
        entry.status = NodeStatus::Paused {
            pause,
            lease_expired: false,
        };
        let cluster = self.clone();
        let node = node.to_owned();
        runtime.spawn(async move {
            tokio::time::sleep(cluster.shared.timing.lease).await;
            cluster.expire_lease(&node, pause);
        });
        Ok(())
    }

    /// Resumes a paused `node`: it sees the elections as they now are, and takes back locks for
    /// which it is the preferred leader. Resuming a live node does nothing.
    pub fn resume(&self, node: &str) -> Result<(), MemoryClusterError> {
        let mut state = self.state();
        let entry = state.node_mut(node)?;
        if !matches!(entry.status, NodeStatus::Paused { .. }) {
            return Ok(());
        }
        entry.status = NodeStatus::Live;
        for lock in state.locks.values_mut() {
            let leads = lock.leader.as_deref() == Some(node);
            for member in lock.members.iter().filter(|m| m.node == node) {
                if !leads && *member.view.borrow() == Leadership::Leading {
                    member.view.send_replace(Leadership::Following);
                }
            }
        }
        state.elect_all();
        Ok(())
    }

    fn expire_lease(&self, node: &str, pause: u64) {
        let mut state = self.state();
        let Some(entry) = state.nodes.get_mut(node) else {
            return;
        };
        if entry.status
            == (NodeStatus::Paused {
                pause,
                lease_expired: false,
            })
        {
            entry.status = NodeStatus::Paused {
                pause,
                lease_expired: true,
            };
            state.elect_all();
        }
    }

    fn state(&self) -> MutexGuard<'_, ClusterState> {
        // Every mutation leaves the state consistent before anything can panic, so a poisoned lock
        // still holds usable state.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn check_alive(&self, node: &str) -> Result<(), BackendError> {
        match self.state().nodes.get(node).map(|n| n.status) {
            Some(NodeStatus::Killed) => Err(BackendError::new(format!(
                "node `{node}` was killed in the in-memory cluster; its ledger writes are refused"
            ))),
            _ => Ok(()),
        }
    }
}

impl Default for MemoryCluster {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        let mut leaders: Vec<_> = state
            .locks
            .iter()
            .map(|(lock, l)| (lock.clone(), l.leader.clone()))
            .collect();
        leaders.sort();
        f.debug_struct("MemoryCluster")
            .field("timing", &self.shared.timing)
            .field("nodes", &state.nodes.len())
            .field("leaders", &leaders)
            .finish()
    }
}

#[cfg(test)]
mod tests;
