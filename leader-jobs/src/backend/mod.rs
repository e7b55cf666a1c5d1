//! The two things a cluster backend provides per lock: an **election** that says whether this node
//! currently leads the lock, and a **ledger**, a totally ordered log of terms, claims and outcomes
//! that fences stale leaders.
//!
//! The scheduler only talks to these traits; the in-process backend and the Pulsar backend
//! implement them. Data flows one way: election says "leading" → ledger `begin_term` gives the term
//! and history → for every tick, `claim` decides whether this node may run it → `record` the outcome.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

pub(crate) mod control;
pub(crate) mod ledger_state;
pub mod memory;
#[cfg(feature = "pulsar")]
pub mod pulsar;
mod record;
mod run_history;

pub use control::{Command, REQUESTS_KEPT, Trigger};
pub use record::{LedgerRecord, RetryCause};
pub use run_history::{JobRuns, PastRun, RECENT_RUNS, RunEnd, RunTotals};

/// Whether this node currently leads a lock, as the election sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leadership {
    /// Another node leads, or nobody does yet.
    Following,
    /// This node leads; its lease is valid until the election says otherwise.
    Leading,
}

/// A failure of the backend (broker unreachable, ledger unreadable, ...).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl BackendError {
    /// An error with a message that says what failed and what to do.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error caused by `source`.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// A claim of one tick of one job, appended to the ledger before the run starts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Claim {
    /// The job's name.
    pub job: String,
    /// The scheduled tick being claimed.
    pub tick: DateTime<Utc>,
    /// The claimant's term.
    pub term: u64,
    /// The claimant's node id.
    pub node: String,
}

/// How a run ended, appended to the ledger after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunOutcome {
    /// The job returned success.
    Ok,
    /// The job returned an error.
    Failed,
    /// The job panicked.
    Panicked,
    /// The job ran past its timeout and was cancelled.
    TimedOut,
    /// The node lost leadership or shut down while the job ran.
    Cancelled,
}

impl LedgerHistory {
    /// Its paused jobs and pending triggers.
    pub fn commands(&self) -> PendingCommands {
        PendingCommands {
            paused: self.paused.clone(),
            triggers: self.triggers.clone(),
        }
    }
}

/// What operators asked of a lock's jobs that still holds: [`Ledger::commands`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingCommands {
    /// The jobs paused now.
    pub paused: BTreeSet<String>,
    /// Triggers not run yet, oldest first.
    pub triggers: Vec<Trigger>,
}

/// The verdict on a claim, read back from the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimVerdict {
    /// This claim is the first valid one for its (job, tick): run the tick.
    Won,
    /// Another claim won, or a higher term began before this claim: do not run.
    Lost {
        /// The claim that won, if any did.
        winner: Option<Claim>,
        /// The highest term seen before this claim in ledger order.
        highest_term: u64,
    },
    /// The job is paused: its tick is skipped (and counts as handled, so no later leader
    /// catches it up).
    Paused,
}

/// What a new leader learns from reading the ledger to its end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerHistory {
    /// The highest term any node began.
    pub highest_term: u64,
    /// The node that began it: the lock's leader as far as the ledger knows.
    pub term_holder: Option<String>,
    /// When it began it, by that node's clock (unknown for terms begun by older versions).
    pub term_began: Option<DateTime<Utc>>,
    /// Per job, the latest tick that has a winning claim (a fenced claim never ran, so it does not
    /// count).
    pub last_claimed: HashMap<String, DateTime<Utc>>,
    /// Claims that never got an outcome and that no earlier leader reported yet: runs abandoned
    /// by a crashed or fenced leader.
    pub abandoned: Vec<Claim>,
    /// Which attempt each claim in `abandoned` was, keyed by (job, tick), where it was not the
    /// first.
    pub abandoned_attempts: BTreeMap<(String, DateTime<Utc>), u32>,
    /// The earliest each claim in `abandoned` can have begun, keyed by (job, tick), where its
    /// leader's term start said when: the later of the tick and that term start (a catch-up
    /// begins after both). A rerun window counts from here.
    pub abandoned_began: BTreeMap<(String, DateTime<Utc>), DateTime<Utc>>,
    /// The schedules the latest leader announced for the lock's jobs, if any did.
    pub schedules: Option<AnnouncedSchedules>,
    /// Per job, the runs the ledger remembers: the latest [`RECENT_RUNS`], the last success
    /// and failure, and counts over the ledger's life.
    pub runs: BTreeMap<String, JobRuns>,
    /// The jobs paused now.
    pub paused: BTreeSet<String>,
    /// Triggers not run yet, oldest first.
    pub triggers: Vec<Trigger>,
}

/// The schedules a leader runs a lock's jobs on, announced in the ledger when it begins its term,
/// so that nodes configured otherwise can tell.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnnouncedSchedules {
    /// The leader's term.
    pub term: u64,
    /// The leader.
    pub node: String,
    /// Per job of the lock that the leader runs, its schedule as `cron (tz)`. A job the leader
    /// has switched off is missing.
    pub schedules: BTreeMap<String, String>,
}

/// The result of `Ledger::begin_term`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermStart {
    /// This node's new term, higher than any term in the ledger before it.
    pub term: u64,
    /// The history up to and including this node's term-start record: claims that landed while
    /// the term was being begun are in it.
    pub history: LedgerHistory,
}

/// One lock's election.
#[async_trait]
pub trait Election: Send + Sync {
    /// A watch of this node's leadership of the lock; it changes when leadership is gained or lost
    /// (including when the lease runs out).
    ///
    /// Send only on transitions, never to renew: the scheduler takes every change notification
    /// whose value is `Leading` as a fresh grant (a loss and a regain may coalesce into one
    /// notification) and begins a new term for it.
    fn leadership(&self) -> watch::Receiver<Leadership>;

    /// Whether this node's leadership holds at this instant. The watch above is updated by a
    /// task, and a process that was frozen resumes all its tasks at once, so a run could start
    /// before that task noticed the lease ran out; this answers from the lease itself. The
    /// default reads the watch.
    fn leading_now(&self) -> bool {
        *self.leadership().borrow() == Leadership::Leading
    }

    /// Waits until this node's leadership is confirmed recently enough that no other node can
    /// have begun a newer term yet, and says whether it was: `false` once the lease ends or
    /// about a lease has passed without such a confirmation. Asked right before a claim and
    /// right before a run starts. The default answers [`leading_now`](Self::leading_now) at
    /// once, which suits a backend whose leadership changes only when it says so.
    async fn confirm(&self) -> bool {
        self.leading_now()
    }

    /// Asks for a new confirmation to be on its way now, without waiting for it: called as a
    /// claim is sent, so that the confirmation comes back with the claim's verdict and the run
    /// starts without a second wait. The default does nothing.
    fn refresh(&self) {}

    /// How long a leader that lost the role may still believe it leads: its lease, counted from
    /// its last confirmation, which came before any other node could gain the role. A rerun of
    /// an abandoned run waits this long (plus the grace period) after the takeover. The default,
    /// zero, suits a backend whose leadership changes only when it says so.
    fn lease(&self) -> Duration {
        Duration::ZERO
    }

    /// Leaves the election so another node takes over at once (graceful handoff).
    async fn resign(&self);
}

/// One lock's ledger.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Reads the ledger to its end, appends a term-start record with a term higher than any seen,
    /// and returns that term with the history. Called by a node each time it gains leadership;
    /// `at` is the time by the node's scheduler clock, which the record keeps: no claim of the
    /// term is made before it, so it bounds when the term's runs can have begun.
    async fn begin_term(&self, node: &str, at: DateTime<Utc>) -> Result<TermStart, BackendError>;

    /// Appends `claim`, waits until it is durable, and reads the ledger up to it: the first valid
    /// claim for (job, tick) in ledger order wins, where a claim is valid only if no higher term
    /// began earlier in the ledger.
    async fn claim(&self, claim: &Claim) -> Result<ClaimVerdict, BackendError>;

    /// Appends attempt `attempt` (2 for the first retry) at `claim`'s tick, under `claim`'s term
    /// (the retrying leader's), and says whether it may run: by the same rule as a claim, it wins
    /// only under the latest term, for the job's latest claimed tick, once the previous attempt
    /// has an outcome. A rerun (`after` = [`RetryCause::Abandonment`]) may also find the previous
    /// attempt open under an older term: the same record then abandons it, so the abandonment and
    /// the claim of the rerun land together or not at all.
    async fn retry(
        &self,
        claim: &Claim,
        attempt: u32,
        after: RetryCause,
    ) -> Result<ClaimVerdict, BackendError>;

    /// Appends the schedules the leader of `announced.term` runs the lock's jobs on. Informational:
    /// valid only from the holder of the latest term, and no claim depends on it.
    async fn announce_schedules(&self, announced: &AnnouncedSchedules) -> Result<(), BackendError>;

    /// Reads the ledger to its end without appending anything: what a follower knows of the lock.
    async fn history(&self) -> Result<LedgerHistory, BackendError>;

    /// Reads the ledger to its end for operators' commands alone: what the leader looks at every
    /// second, without copying the whole history (the runs of every job) each time.
    async fn commands(&self) -> Result<PendingCommands, BackendError> {
        Ok(self.history().await?.commands())
    }

    /// Appends how an attempt at a tick that won its claim (or retry) ended.
    async fn record(&self, claim: &Claim, end: &RunEnd) -> Result<(), BackendError>;

    /// Appends an operator's command (pause, resume, trigger). Any node may; the fold applies it
    /// in ledger order.
    async fn command(&self, command: &Command) -> Result<(), BackendError>;

    /// Appends the leader's claim of the triggered run `request`, `claim.tick` being the
    /// trigger's time, and says whether it may run: valid under the latest term, while the
    /// trigger is pending and the job not paused.
    async fn claim_manual(
        &self,
        claim: &Claim,
        request: &str,
    ) -> Result<ClaimVerdict, BackendError>;

    /// Appends that the leader of `term`, `node`, reported `claim` (found in
    /// [`LedgerHistory::abandoned`]) as an abandoned run, so that later leaders do not report it
    /// again.
    async fn record_abandoned(
        &self,
        claim: &Claim,
        term: u64,
        node: &str,
    ) -> Result<(), BackendError>;

    /// Appends that this node gives `claim`, which it won and did not start, back (see
    /// [`LedgerRecord::Release`]), and says whether the ledger took it: `false` once a newer term
    /// began, whose leader then found the claim open and reports or reruns it.
    async fn release(&self, claim: &Claim) -> Result<bool, BackendError>;

    /// Called by the leader of `term` before it leaves the election gracefully, so the backend
    /// can leave the ledger quick to take over (Pulsar: a last checkpoint). Never fails: a
    /// handoff goes on without it. Nothing to do for a ledger that keeps its fold.
    async fn hand_over(&self, _term: u64) {}

    /// Called when this node follows the lock and has read what it needed: the backend may let
    /// go of what it holds open for leading (Pulsar: the reader and producer, each of which the
    /// `pulsar` crate wakes every second), keeping what it has read, so that a follower of many
    /// locks costs little. The next operation opens them again. Nothing to do by default.
    async fn rest(&self) {}

    /// How long after a claim was sent its run may still start, for a ledger whose verdicts
    /// take a trip to a remote store; `None` (the default) for one that answers at once.
    ///
    /// This keeps terms from going backwards whatever the election does. A run starts only
    /// within this window of its claim being sent; a claim is valid only if it landed before any
    /// newer term's start; and a new term whose ledger holds claims of older terms without an
    /// outcome ([`LedgerHistory::abandoned`]) begins only this long after its own term start is
    /// durable. So every run of an older term starts before the newer term's first.
    fn claim_window(&self) -> Option<Duration> {
        None
    }

    /// How long before a tick the leader claims it, so that the claim's trip to the ledger is
    /// behind it when the tick comes and the run starts on time; `None` (the default) claims at
    /// the tick, which suits a ledger that answers at once. Kept well inside
    /// [`claim_window`](Self::claim_window), which still bounds when the run may start. A tick
    /// claimed ahead that this node does not start (leadership ended, shutdown) is
    /// [released](Self::release).
    fn claim_ahead(&self) -> Option<Duration> {
        None
    }
}

/// A cluster backend: hands out one election and one ledger per lock for this node.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Joins the election of `lock` as `node`.
    async fn election(&self, lock: &str, node: &str) -> Result<Arc<dyn Election>, BackendError>;

    /// Opens the ledger of `lock` for `node`.
    async fn ledger(&self, lock: &str, node: &str) -> Result<Arc<dyn Ledger>, BackendError>;

    /// Releases connections; called once at the end of a graceful shutdown.
    async fn close(&self) {}
}
