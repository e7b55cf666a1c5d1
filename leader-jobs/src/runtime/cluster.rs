//! What any node can tell about the whole cluster, read from the ledgers rather than from its own
//! memory: who leads each lock since when, and per job its runs ([`Handle::history`] and
//! [`Handle::cluster`]). A follower answers as well as the leader.
//!
//! [`Handle::history`]: crate::Handle::history
//! [`Handle::cluster`]: crate::Handle::cluster

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::Schedule;
use crate::backend::{BackendError, Ledger, LedgerHistory, PastRun, RunTotals};
use crate::clock::Clock;
use crate::error::Error;
use crate::registry::RegistryError;
use crate::scheduler::{LockPlan, OpenLedgers, describe_schedule};

/// The cluster as the ledgers of this node's locks hold it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ClusterView {
    /// The node that read it.
    pub node: String,
    /// This node's locks, sorted by name.
    pub locks: Vec<LockView>,
}

impl ClusterView {
    /// The view of `lock`, if this node runs jobs under it.
    pub fn lock(&self, lock: &str) -> Option<&LockView> {
        self.locks.iter().find(|l| l.name == lock)
    }

    /// The view of the job named `job`.
    pub fn job(&self, job: &str) -> Option<&JobView> {
        self.locks
            .iter()
            .flat_map(|l| &l.jobs)
            .find(|j| j.name == job)
    }
}

/// One lock as its ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LockView {
    /// The lock's name.
    pub name: String,
    /// The node that began the latest term: the leader, unless it died since and no other node
    /// has begun a term yet.
    pub leader: Option<String>,
    /// The latest term (0 before any node led).
    pub term: u64,
    /// When the leader began it, by its clock (unknown for terms begun by older versions).
    pub since: Option<DateTime<Utc>>,
    /// The lock's jobs, sorted by name.
    pub jobs: Vec<JobView>,
}

/// One job as its lock's ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct JobView {
    /// The job's name.
    pub name: String,
    /// Its schedule as `cron (tz)`: as the leader announced it, or this node's before any did;
    /// `off` when the leader switched the job off.
    pub schedule: String,
    /// The same schedule in English words ("at 09:00 on Monday to Friday (Europe/Berlin)", see
    /// [`Schedule::describe`](crate::Schedule::describe)), or `off`.
    pub in_words: String,
    /// Its next tick after now, when the schedule is this node's too (otherwise the leader's
    /// configuration differs and this node cannot tell).
    pub next_tick: Option<DateTime<Utc>>,
    /// The latest tick a leader claimed.
    pub last_claimed: Option<DateTime<Utc>>,
    /// Its latest runs, newest first (at most [`RECENT_RUNS`](crate::backend::RECENT_RUNS)).
    pub recent: Vec<PastRun>,
    /// The latest run that returned success.
    pub last_success: Option<PastRun>,
    /// The latest run that failed on its own.
    pub last_failure: Option<PastRun>,
    /// Every run the ledger holds, counted by how it ended.
    pub totals: RunTotals,
    /// Whether it is paused.
    pub paused: bool,
    /// Triggers of it not run yet.
    pub triggers: usize,
}

/// Reads the latest runs of `job`, newest first, at most `limit`.
pub(super) async fn history(
    plans: &[Arc<LockPlan>],
    ledgers: &OpenLedgers,
    job: &str,
    limit: usize,
) -> Result<Vec<PastRun>, Error> {
    let index = lock_of(plans, job, "`Handle::history(..)`")?;
    let history = read(plans, ledgers, index).await?;
    Ok(history
        .runs
        .get(job)
        .map(|runs| runs.recent.iter().rev().take(limit).cloned().collect())
        .unwrap_or_default())
}

/// The index of the lock of `job`, or the error naming the known jobs, `what` naming the call.
pub(super) fn lock_of(plans: &[Arc<LockPlan>], job: &str, what: &str) -> Result<usize, Error> {
    plans
        .iter()
        .position(|plan| plan.jobs.iter().any(|j| j.job.name() == job))
        .ok_or_else(|| {
            let known = plans
                .iter()
                .flat_map(|plan| plan.jobs.iter().map(|j| j.job.name().to_owned()))
                .collect();
            RegistryError::UnknownJob {
                what: what.to_owned(),
                name: job.to_owned(),
                known,
            }
            .into()
        })
}

/// Reads every lock's ledger.
pub(super) async fn view(
    node: &str,
    plans: &[Arc<LockPlan>],
    ledgers: &OpenLedgers,
    clock: &dyn Clock,
) -> Result<ClusterView, Error> {
    let mut locks = Vec::with_capacity(plans.len());
    for (index, plan) in plans.iter().enumerate() {
        let history = read(plans, ledgers, index).await?;
        locks.push(lock_view(plan, history, clock.now()));
    }
    locks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ClusterView {
        node: node.to_owned(),
        locks,
    })
}

fn lock_view(plan: &LockPlan, history: LedgerHistory, now: DateTime<Utc>) -> LockView {
    let mut jobs: Vec<JobView> = plan
        .jobs
        .iter()
        .map(|scheduled| {
            let name = scheduled.job.name();
            let ours = describe_schedule(scheduled.job.cron(), scheduled.job.get_tz());
            let schedule = match &history.schedules {
                Some(announced) => announced
                    .schedules
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| "off".to_owned()),
                None => ours.clone(),
            };
            let runs = history.runs.get(name).cloned().unwrap_or_default();
            let in_words = if schedule == ours {
                scheduled.schedule.describe()
            } else {
                announced_in_words(&schedule)
            };
            JobView {
                name: name.to_owned(),
                next_tick: (schedule == ours)
                    .then(|| scheduled.schedule.next_after(now))
                    .flatten(),
                schedule,
                in_words,
                recent: runs.recent.iter().rev().cloned().collect(),
                last_claimed: history.last_claimed.get(name).copied(),
                last_success: runs.last_success,
                last_failure: runs.last_failure,
                totals: runs.totals,
                paused: history.paused.contains(name),
                triggers: history.triggers.iter().filter(|t| t.job == name).count(),
            }
        })
        .collect();
    jobs.sort_by(|a, b| a.name.cmp(&b.name));
    LockView {
        name: plan.lock.to_string(),
        leader: history.term_holder,
        term: history.highest_term,
        since: history.term_began,
        jobs,
    }
}

/// A leader's announced schedule (`cron (tz)`) in words; the text itself when it does not parse
/// (a leader of a newer version may write what this one cannot read).
fn announced_in_words(announced: &str) -> String {
    let parsed = announced
        .rsplit_once(" (")
        .and_then(|(cron, tz)| Some((cron, tz.strip_suffix(')')?)))
        .and_then(|(cron, tz)| Schedule::parse(cron).ok()?.in_timezone(tz).ok());
    parsed.map_or_else(|| announced.to_owned(), |schedule| schedule.describe())
}

async fn read(
    plans: &[Arc<LockPlan>],
    ledgers: &OpenLedgers,
    index: usize,
) -> Result<LedgerHistory, Error> {
    let open = LockLedger::of(plans, ledgers, index)?;
    open.ledger
        .history()
        .await
        .map_err(|source| open.failed(source))
}

/// The open ledger of one lock, with the lock's name for errors.
pub(super) struct LockLedger {
    lock: String,
    pub(super) ledger: Arc<dyn Ledger>,
}

impl LockLedger {
    /// The ledger of the lock at `index`, if this node has opened it.
    pub(super) fn of(
        plans: &[Arc<LockPlan>],
        ledgers: &OpenLedgers,
        index: usize,
    ) -> Result<Self, Error> {
        let lock = plans
            .get(index)
            .map(|plan| plan.lock.to_string())
            .unwrap_or_default();
        match ledgers.get(index) {
            Some(ledger) => Ok(Self { lock, ledger }),
            None => Err(Error::Ledger {
                lock,
                source: BackendError::new(
                    "this node has not opened the lock's ledger yet (it is still connecting to the backend)",
                ),
            }),
        }
    }

    /// The error of a failed read or append.
    pub(super) fn failed(&self, source: BackendError) -> Error {
        Error::Ledger {
            lock: self.lock.clone(),
            source,
        }
    }
}
