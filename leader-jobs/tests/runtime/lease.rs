//! A node claims nothing once its lease has run out, even before its election reports the loss,
//! and drops nothing either: the ticks wait for the election's verdict.
//! A process resumed after a freeze runs its timers before its election task notices that the
//! lease lapsed meanwhile; the fault campaign saw such a node claim a fire_once catch-up that it
//! then did not run, so the ticks it stood for were lost to the next leader as well.

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::backend::{Backend, BackendError, Election, Leadership, Ledger, LedgerRecord};
use leader_jobs::clock::TestClock;
use leader_jobs::job::JobFuture;
use leader_jobs::{Job, JobContext, Runtime};
use tokio::sync::watch;

use crate::support::{RunLog, Spec, advance_to, at, every};

/// The in-process backend, with a switch that makes every election's lease lapse while its
/// reported leadership stays `Leading`: the moment between a resumed process's first timer and
/// its election task's next look.
struct LapsingLease {
    cluster: MemoryCluster,
    lapsed: Arc<AtomicBool>,
}

struct LapsingElection {
    inner: Arc<dyn Election>,
    lapsed: Arc<AtomicBool>,
}

#[async_trait]
impl Election for LapsingElection {
    fn leadership(&self) -> watch::Receiver<Leadership> {
        self.inner.leadership()
    }

    fn leading_now(&self) -> bool {
        !self.lapsed.load(Ordering::SeqCst) && self.inner.leading_now()
    }

    async fn resign(&self) {
        self.inner.resign().await;
    }
}

#[async_trait]
impl Backend for LapsingLease {
    async fn election(&self, lock: &str, node: &str) -> Result<Arc<dyn Election>, BackendError> {
        let inner = self.cluster.election(lock, node).await?;
        Ok(Arc::new(LapsingElection {
            inner,
            lapsed: Arc::clone(&self.lapsed),
        }))
    }

    async fn ledger(&self, lock: &str, node: &str) -> Result<Arc<dyn Ledger>, BackendError> {
        self.cluster.ledger(lock, node).await
    }
}

static RUNS: RunLog = RunLog::new();
fn logged(ctx: JobContext) -> JobFuture {
    RUNS.record(&ctx);
    Box::pin(async { Ok(()) })
}
static EVERY_SECOND: LazyLock<Job> =
    LazyLock::new(|| Spec::new("every-second", "* * * * * *", logged).build());

fn claimed_ticks(cluster: &MemoryCluster) -> Vec<chrono::DateTime<chrono::Utc>> {
    cluster
        .records("tests")
        .into_iter()
        .filter_map(|record| match record {
            LedgerRecord::Claim(claim) => Some(claim.tick),
            _ => None,
        })
        .collect()
}

/// Half a second past a tick, so that the tick's claim and run are done.
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}

#[tokio::test(start_paused = true)]
async fn a_lapsed_lease_stops_claims_before_the_election_reports_the_loss() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let lapsed = Arc::new(AtomicBool::new(false));
    let handle = Runtime::builder()
        .node_id("resumed")
        .backend(LapsingLease {
            cluster: cluster.clone(),
            lapsed: Arc::clone(&lapsed),
        })
        .clock(clock.clone())
        .jobs([EVERY_SECOND.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap();

    advance_to(&clock, at(0, 0, 5)).await;
    settle().await;
    let before = every(1, at(0, 0, 0), at(0, 0, 5));
    assert_eq!(
        RUNS.ticks(),
        before,
        "the job must run while the lease holds"
    );

    lapsed.store(true, Ordering::SeqCst);
    advance_to(&clock, at(0, 0, 10)).await;
    settle().await;
    assert_eq!(
        claimed_ticks(&cluster),
        before,
        "ticks were claimed on a lapsed lease"
    );
    assert_eq!(RUNS.ticks(), before);

    lapsed.store(false, Ordering::SeqCst);
    advance_to(&clock, at(0, 0, 12)).await;
    settle().await;
    handle.shutdown().await.unwrap();
    // The ticks due while the lease had lapsed waited: renewed, the node gave them to the
    // misfire policy (fire_once: one catch-up run for the latest) instead of dropping them.
    let mut expected = before;
    expected.extend([at(0, 0, 10), at(0, 0, 11), at(0, 0, 12)]);
    assert_eq!(RUNS.ticks(), expected, "claims must resume with the lease");
}
