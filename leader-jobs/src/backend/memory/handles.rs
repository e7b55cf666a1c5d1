//! What a node gets from the simulated cluster: per lock an election and a ledger handle.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::MemoryCluster;
use super::state::Member;
use crate::backend::LedgerRecord;
use crate::backend::ledger_state::Applied;
use crate::backend::{
    AnnouncedSchedules, Backend, BackendError, Claim, ClaimVerdict, Command, Election, Leadership,
    Ledger, LedgerHistory, PendingCommands, RetryCause, RunEnd, TermStart,
};

#[async_trait]
impl Backend for MemoryCluster {
    async fn election(&self, lock: &str, node: &str) -> Result<Arc<dyn Election>, BackendError> {
        let mut guard = self.state();
        let state = &mut *guard;
        state.join(node)?;
        let nodes = &state.nodes;
        let entry = state.locks.entry(lock.to_owned()).or_default();
        if entry.members.iter().any(|m| m.node == node) {
            return Err(BackendError::new(format!(
                "node `{node}` already joined the election of lock `{lock}`; give every runtime \
                 its own node id"
            )));
        }
        let (view, leadership) = watch::channel(Leadership::Following);
        entry.members.push(Member {
            node: node.to_owned(),
            view,
        });
        entry.elect(nodes);
        Ok(Arc::new(MemoryElection {
            cluster: self.clone(),
            lock: lock.to_owned(),
            node: node.to_owned(),
            leadership,
        }))
    }

    async fn ledger(&self, lock: &str, node: &str) -> Result<Arc<dyn Ledger>, BackendError> {
        let mut state = self.state();
        state.join(node)?;
        state.locks.entry(lock.to_owned()).or_default();
        Ok(Arc::new(MemoryLedger {
            cluster: self.clone(),
            lock: lock.to_owned(),
            node: node.to_owned(),
        }))
    }
}

struct MemoryElection {
    cluster: MemoryCluster,
    lock: String,
    node: String,
    leadership: watch::Receiver<Leadership>,
}

#[async_trait]
impl Election for MemoryElection {
    fn leadership(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    /// A paused node goes on believing it leads until its lease runs out.
    fn lease(&self) -> Duration {
        self.cluster.shared.timing.lease
    }

    async fn resign(&self) {
        let mut guard = self.cluster.state();
        let state = &mut *guard;
        let nodes = &state.nodes;
        if let Some(lock) = state.locks.get_mut(&self.lock) {
            if let Some(at) = lock.members.iter().position(|m| m.node == self.node) {
                lock.members
                    .remove(at)
                    .view
                    .send_replace(Leadership::Following);
            }
            if lock.leader.as_deref() == Some(self.node.as_str()) {
                lock.leader = None;
            }
            lock.elect(nodes);
        }
    }
}

struct MemoryLedger {
    cluster: MemoryCluster,
    lock: String,
    node: String,
}

impl MemoryLedger {
    /// Appends a claim of some kind and returns its verdict.
    fn judged(&self, record: LedgerRecord) -> Result<ClaimVerdict, BackendError> {
        match self.append(record)? {
            Applied::Claim(verdict) => Ok(verdict),
            _ => Err(BackendError::new(
                "the in-memory ledger folded a claim as another record",
            )),
        }
    }

    /// Appends `record` and folds it through the ledger rule.
    fn append(&self, record: LedgerRecord) -> Result<Applied, BackendError> {
        self.cluster.check_alive(&self.node)?;
        let mut state = self.cluster.state();
        let lock = state.locks.entry(self.lock.clone()).or_default();
        let applied = lock.state.apply(&record);
        lock.keep(record);
        Ok(applied)
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn begin_term(&self, node: &str, at: DateTime<Utc>) -> Result<TermStart, BackendError> {
        self.cluster.check_alive(node)?;
        let mut state = self.cluster.state();
        let lock = state.locks.entry(self.lock.clone()).or_default();
        // Reading the history and appending happen under one lock: no other node can slip a
        // term-start in between, so the new term is always valid.
        let history = lock.state.history();
        let term = history.highest_term + 1;
        let record = LedgerRecord::term_start(term, node, at);
        lock.state.apply(&record);
        lock.keep(record);
        Ok(TermStart { term, history })
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimVerdict, BackendError> {
        self.judged(LedgerRecord::Claim(claim.clone()))
    }

    async fn claim_manual(
        &self,
        claim: &Claim,
        request: &str,
    ) -> Result<ClaimVerdict, BackendError> {
        self.judged(LedgerRecord::Manual {
            claim: claim.clone(),
            request: request.to_owned(),
        })
    }

    async fn command(&self, command: &Command) -> Result<(), BackendError> {
        self.append(command.into()).map(|_| ())
    }

    async fn retry(
        &self,
        claim: &Claim,
        attempt: u32,
        after: RetryCause,
    ) -> Result<ClaimVerdict, BackendError> {
        let record = LedgerRecord::Retry {
            claim: claim.clone(),
            attempt,
            after,
        };
        self.judged(record)
    }

    async fn announce_schedules(&self, announced: &AnnouncedSchedules) -> Result<(), BackendError> {
        self.append(LedgerRecord::Schedules(announced.clone()))
            .map(|_| ())
    }

    async fn history(&self) -> Result<LedgerHistory, BackendError> {
        self.cluster.check_alive(&self.node)?;
        let state = self.cluster.state();
        Ok(state
            .locks
            .get(&self.lock)
            .map(|lock| lock.state.history())
            .unwrap_or_default())
    }

    async fn commands(&self) -> Result<PendingCommands, BackendError> {
        self.cluster.check_alive(&self.node)?;
        let state = self.cluster.state();
        Ok(state
            .locks
            .get(&self.lock)
            .map(|lock| lock.state.commands())
            .unwrap_or_default())
    }

    async fn record(&self, claim: &Claim, end: &RunEnd) -> Result<(), BackendError> {
        let record = LedgerRecord::outcome(claim, end);
        self.append(record).map(|_| ())
    }

    async fn release(&self, claim: &Claim) -> Result<bool, BackendError> {
        let applied = self.append(LedgerRecord::Release(claim.clone()))?;
        Ok(applied == Applied::Release { valid: true })
    }

    async fn record_abandoned(
        &self,
        claim: &Claim,
        term: u64,
        node: &str,
    ) -> Result<(), BackendError> {
        let report = LedgerRecord::Abandoned {
            claim: claim.clone(),
            term,
            node: node.to_owned(),
        };
        self.append(report).map(|_| ())
    }
}
