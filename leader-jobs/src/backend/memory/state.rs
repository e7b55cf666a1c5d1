//! The simulated cluster's state: who joined, who is alive, paused or killed, and per lock who
//! leads and what the ledger holds.

use std::collections::{HashMap, VecDeque};

use tokio::sync::watch;

use super::MemoryClusterError;
use crate::backend::LedgerRecord;
use crate::backend::ledger_state::LedgerState;
use crate::backend::{BackendError, Leadership};

#[derive(Default)]
pub(super) struct ClusterState {
    pub(super) nodes: HashMap<String, Node>,
    pub(super) locks: HashMap<String, Lock>,
    pub(super) joined: u64,
    pub(super) pauses: u64,
}

pub(super) struct Node {
    pub(super) join_order: u64,
    pub(super) status: NodeStatus,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum NodeStatus {
    Live,
    Paused { pause: u64, lease_expired: bool },
    Killed,
}

#[derive(Default)]
pub(super) struct Lock {
    pub(super) members: Vec<Member>,
    pub(super) leader: Option<String>,
    /// After a leader was killed, nobody leads until then.
    pub(super) vacant_until: Option<tokio::time::Instant>,
    /// The latest [`RECORDS_KEPT`] records, for tests and tools to inspect.
    pub(super) records: VecDeque<LedgerRecord>,
    /// Every record ever appended, folded through the ledger rule.
    pub(super) state: LedgerState,
}

/// Records a lock's in-process ledger keeps for inspection. The ledger rule needs only the fold,
/// so memory stays bounded however long the process runs: about 1 MB per lock at this count.
pub const RECORDS_KEPT: usize = 10_000;

impl Lock {
    /// Keeps `record`, already folded into `state`, among the latest ones.
    pub(super) fn keep(&mut self, record: LedgerRecord) {
        if self.records.len() == RECORDS_KEPT {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }
}

pub(super) struct Member {
    pub(super) node: String,
    pub(super) view: watch::Sender<Leadership>,
}

impl ClusterState {
    pub(super) fn node_mut(&mut self, node: &str) -> Result<&mut Node, MemoryClusterError> {
        match self.nodes.get_mut(node) {
            None => Err(MemoryClusterError::UnknownNode(node.to_owned())),
            Some(entry) if entry.status == NodeStatus::Killed => {
                Err(MemoryClusterError::Killed(node.to_owned()))
            }
            Some(entry) => Ok(entry),
        }
    }

    pub(super) fn join(&mut self, node: &str) -> Result<(), BackendError> {
        if !self.nodes.contains_key(node) {
            self.joined += 1;
            let join_order = self.joined;
            self.nodes.insert(
                node.to_owned(),
                Node {
                    join_order,
                    status: NodeStatus::Live,
                },
            );
        }
        match self.node_mut(node) {
            Ok(_) => Ok(()),
            Err(err) => Err(BackendError::with_source(
                format!("node `{node}` cannot join the in-memory cluster"),
                err,
            )),
        }
    }

    pub(super) fn elect_all(&mut self) {
        let nodes = &self.nodes;
        for lock in self.locks.values_mut() {
            lock.elect(nodes);
        }
    }
}

impl Lock {
    /// Re-evaluates the leader: a killed leader's lock stays vacant for the failover delay; a paused
    /// leader keeps the lock until its lease expires (nobody can tell it is paused before that);
    /// otherwise the live member that joined first leads.
    pub(super) fn elect(&mut self, nodes: &HashMap<String, Node>) {
        if self
            .vacant_until
            .is_some_and(|until| tokio::time::Instant::now() < until)
        {
            return;
        }
        let status = |node: &str| nodes.get(node).map(|n| n.status);
        let leader_status = self.leader.as_deref().and_then(status);
        if let Some(NodeStatus::Paused {
            lease_expired: false,
            ..
        }) = leader_status
        {
            return;
        }
        let preferred = self
            .members
            .iter()
            .filter(|m| status(&m.node) == Some(NodeStatus::Live))
            .min_by_key(|m| nodes.get(&m.node).map(|n| n.join_order))
            .map(|m| m.node.clone());
        if preferred == self.leader {
            return;
        }
        if let Some(old) = self.leader.take() {
            // A paused node's view stays frozen; it learns the news when it resumes.
            if leader_status == Some(NodeStatus::Live) {
                self.send(&old, Leadership::Following);
            }
        }
        if let Some(new) = &preferred {
            self.send(new, Leadership::Leading);
        }
        self.leader = preferred;
    }

    fn send(&self, node: &str, leadership: Leadership) {
        for member in self.members.iter().filter(|m| m.node == node) {
            member.view.send_replace(leadership);
        }
    }
}
