//! Scheduling one lock's jobs: follow the election, and while this node leads, run each job at its
//! ticks under its overlap, misfire and timeout policies.
//!
//! One task per lock. It waits until the election says `Leading`, begins a term in the ledger
//! ([`term`]), and runs the term until leadership changes, the ledger fences the node, or the
//! runtime shuts down; then it waits for the election again.

mod misfire;
mod report;
mod run;
mod schedule_check;
mod term;
mod timer;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backend::{Backend, Claim, Leadership, Ledger};
use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::error::Error;
use crate::job::{Job, States};
use leader_jobs_cron::Schedule;

pub(crate) use self::report::{Finished, Report, Started, Tally};
pub(crate) use self::run::RunKind;
use self::schedule_check::ScheduleCheck;
pub(crate) use self::schedule_check::describe as describe_schedule;
use self::term::TermEnd;

/// First delay before a fenced node that still believes it leads begins a newer term.
const FENCED_RETRY_MIN: Duration = Duration::from_secs(2);
/// Longest such delay.
const FENCED_RETRY_MAX: Duration = Duration::from_secs(60);
/// How long a node follows a lock before it reads the leader's announced schedules from the
/// ledger: long enough that a cluster starting together has settled who leads.
const FOLLOWER_CHECK_DELAY: Duration = Duration::from_secs(10);

/// A job with its schedule parsed in its time zone.
#[derive(Debug)]
pub(crate) struct ScheduledJob {
    pub(crate) job: Arc<Job>,
    pub(crate) schedule: Schedule,
}

/// The jobs that share one lock.
#[derive(Debug)]
pub(crate) struct LockPlan {
    pub(crate) lock: Arc<str>,
    pub(crate) jobs: Vec<ScheduledJob>,
}

/// Each lock's ledger once its scheduler has opened it, by lock index, so that the handle reads
/// the same ledger the scheduler writes.
#[derive(Default)]
pub(crate) struct OpenLedgers(std::sync::Mutex<HashMap<usize, Arc<dyn Ledger>>>);

impl OpenLedgers {
    fn insert(&self, lock_index: usize, ledger: Arc<dyn Ledger>) {
        self.slots().insert(lock_index, ledger);
    }

    /// The ledger of the lock at `lock_index`, if it is open.
    pub(crate) fn get(&self, lock_index: usize) -> Option<Arc<dyn Ledger>> {
        self.slots().get(&lock_index).cloned()
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Arc<dyn Ledger>>> {
        // Inserts and clones only: a panic elsewhere cannot leave the map half-written.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What the schedulers of all locks of one node share.
#[derive(Clone)]
pub(crate) struct NodeEnv {
    pub(crate) node: Arc<str>,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Where the scheduler reports what it does (the runtime's status board).
    pub(crate) report: Arc<dyn Report>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) grace: Duration,
    /// What `RuntimeBuilder::state` was given, for the jobs' `State<T>` parameters.
    pub(crate) states: Arc<States>,
    /// Where each lock's ledger goes once open.
    pub(crate) ledgers: Arc<OpenLedgers>,
}

/// Schedules `plan` (the lock at `lock_index` in the status) until shutdown, then leaves the
/// election so another node takes over at once.
pub(crate) async fn run_lock(
    env: NodeEnv,
    lock_index: usize,
    plan: Arc<LockPlan>,
) -> Result<(), Error> {
    let opened = tokio::select! {
        () = env.shutdown.cancelled() => return Ok(()),
        opened = open(&env, &plan.lock) => opened,
    };
    let (election, ledger) = opened.map_err(|source| Error::Backend {
        lock: plan.lock.to_string(),
        node: env.node.to_string(),
        source,
    })?;
    env.ledgers.insert(lock_index, Arc::clone(&ledger));
    let (finished_tx, finished_rx) = mpsc::unbounded_channel();
    let mut scheduler = LockScheduler {
        running: plan.jobs.iter().map(|_| Arc::default()).collect(),
        env,
        lock_index,
        plan,
        ledger,
        election: Arc::clone(&election),
        finished_tx,
        finished_rx,
        schedule_check: Arc::default(),
        leading: Arc::default(),
        stopped_by: HashMap::new(),
    };
    scheduler.check_schedules_later();
    scheduler.follow_election(election.leadership()).await;
    election.resign().await;
    Ok(())
}

async fn open(
    env: &NodeEnv,
    lock: &str,
) -> Result<(Arc<dyn crate::backend::Election>, Arc<dyn Ledger>), crate::backend::BackendError> {
    let election = env.backend.election(lock, &env.node).await?;
    match env.backend.ledger(lock, &env.node).await {
        Ok(ledger) => Ok((election, ledger)),
        Err(err) => {
            election.resign().await;
            Err(err)
        }
    }
}

/// One lock's scheduling state that outlives a term: runs started in one term may still be going
/// in the next.
struct LockScheduler {
    env: NodeEnv,
    lock_index: usize,
    plan: Arc<LockPlan>,
    ledger: Arc<dyn Ledger>,
    election: Arc<dyn crate::backend::Election>,
    /// Per job, runs going on now.
    running: Vec<Arc<AtomicUsize>>,
    finished_tx: mpsc::UnboundedSender<usize>,
    finished_rx: mpsc::UnboundedReceiver<usize>,
    /// What this node warned about the cluster's schedules.
    schedule_check: Arc<ScheduleCheck>,
    /// Whether a term of this node's is going on.
    leading: Arc<AtomicBool>,
    /// Per abandoned claim this node planned to run again, the instant its attempt had surely
    /// stopped by, as first worked out. A later term of this node finds the same claim open
    /// when faults ended the earlier one before the rerun; the bound still holds, so the rerun
    /// need not wait a lease and a grace period again. Only claims still open are kept.
    stopped_by: HashMap<Claim, tokio::time::Instant>,
}

impl LockScheduler {
    /// After [`FOLLOWER_CHECK_DELAY`], unless this node leads by then, reads the schedules the
    /// lock's leader announced and compares them with this node's.
    fn check_schedules_later(&self) {
        let ledger = Arc::clone(&self.ledger);
        let (plan, check) = (Arc::clone(&self.plan), Arc::clone(&self.schedule_check));
        let (report, leading) = (Arc::clone(&self.env.report), Arc::clone(&self.leading));
        let (shutdown, node, lock_index) = (
            self.env.shutdown.clone(),
            self.env.node.clone(),
            self.lock_index,
        );
        self.env.tracker.spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(FOLLOWER_CHECK_DELAY) => {}
            }
            if leading.load(Ordering::SeqCst) {
                return;
            }
            let history = tokio::select! {
                () = shutdown.cancelled() => return,
                history = ledger.history() => history,
            };
            if !leading.load(Ordering::SeqCst) {
                ledger.rest().await;
            }
            match history {
                Ok(history) => {
                    if let Some(announced) = history.schedules.filter(|a| *a.node != *node) {
                        check.compare(&plan, lock_index, &announced, &*report);
                    }
                }
                Err(error) => tracing::debug!(
                    lock = &*plan.lock,
                    %error,
                    "could not read the leader's schedules from the ledger"
                ),
            }
        });
    }

    async fn follow_election(&mut self, mut leadership: watch::Receiver<Leadership>) {
        let mut wait_for_change = false;
        // After the ledger fenced this node while its election still says `Leading`, it waits
        // for a change, but not forever: the broker may have moved the role away and back within
        // one lease, so the election never reported a change although another node began a term
        // in between. Then the only way on is to begin a newer term. The delay doubles while
        // that keeps happening, so a node with a stale view cannot fence the real leader often.
        let mut fenced_retry: Option<Duration> = None;
        let mut fenced_backoff = Backoff::new(FENCED_RETRY_MIN, FENCED_RETRY_MAX);
        // Whether the last term ended to begin a newer one at once (`TermEnd::Renew`): a second
        // in a row waits like a fenced node, so a ledger too slow for any run to start in time
        // does not get a new term every few round trips.
        let mut renewed = false;
        loop {
            if wait_for_change {
                let retry = async {
                    match fenced_retry {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = self.env.shutdown.cancelled() => return,
                    changed = leadership.changed() => {
                        if changed.is_err() {
                            self.election_ended().await;
                            return;
                        }
                        fenced_retry = None;
                        fenced_backoff.reset();
                    },
                    () = retry => {}
                    // Runs that end while following free their job for nothing; drain the notices.
                    Some(_) = self.finished_rx.recv() => continue,
                }
            }
            wait_for_change = true;
            if *leadership.borrow_and_update() != Leadership::Leading {
                continue;
            }
            let end = term::lead(self, &mut leadership).await;
            let renewed_before = std::mem::replace(&mut renewed, matches!(end, TermEnd::Renew));
            match end {
                TermEnd::Shutdown => return,
                TermEnd::ElectionEnded => {
                    self.election_ended().await;
                    return;
                }
                // A loss and regain can coalesce into one notification: look at the value now.
                TermEnd::LeadershipChanged => {
                    wait_for_change = false;
                    fenced_retry = None;
                    fenced_backoff.reset();
                    self.check_schedules_later();
                }
                TermEnd::Fenced => fenced_retry = Some(fenced_backoff.next_delay()),
                // Still the leader, as far as the ledger knows: at once, not after a backoff.
                TermEnd::Renew if !renewed_before => wait_for_change = false,
                TermEnd::Renew => fenced_retry = Some(fenced_backoff.next_delay()),
            }
        }
    }

    async fn election_ended(&self) {
        tracing::warn!(
            lock = &*self.plan.lock,
            node = %self.env.node,
            "the election ended (the backend dropped it); this node will not lead the lock again \
             until it restarts"
        );
        self.env.shutdown.cancelled().await;
    }
}
