//! A run is over when its job returns, not when its outcome reaches the ledger: with a slow
//! ledger the next tick must not meet the overlap policy. The fault campaign, with 250 ms added to
//! every trip to the broker, saw an every-second job lose every other tick that way.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use leader_jobs::__private::{JobFuture, boxed};
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::backend::{
    Backend, BackendError, Claim, ClaimVerdict, Election, Ledger, LedgerRecord, RunOutcome,
    TermStart,
};
use leader_jobs::clock::TestClock;
use leader_jobs::{JobContext, JobDescriptor, Runtime};

use crate::support::{RunLog, Spec, advance_to, at, every};

/// How long recording an outcome takes: longer than the job's period.
const RECORD_DELAY: Duration = Duration::from_millis(1500);

/// The in-process backend whose ledger takes [`RECORD_DELAY`] to record an outcome.
struct SlowRecords(MemoryCluster);

struct SlowRecordLedger(Arc<dyn Ledger>);

#[async_trait]
impl Ledger for SlowRecordLedger {
    async fn begin_term(&self, node: &str) -> Result<TermStart, BackendError> {
        self.0.begin_term(node).await
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimVerdict, BackendError> {
        self.0.claim(claim).await
    }

    async fn record(&self, claim: &Claim, outcome: RunOutcome) -> Result<(), BackendError> {
        tokio::time::sleep(RECORD_DELAY).await;
        self.0.record(claim, outcome).await
    }
}

#[async_trait]
impl Backend for SlowRecords {
    async fn election(&self, lock: &str, node: &str) -> Result<Arc<dyn Election>, BackendError> {
        self.0.election(lock, node).await
    }

    async fn ledger(&self, lock: &str, node: &str) -> Result<Arc<dyn Ledger>, BackendError> {
        Ok(Arc::new(SlowRecordLedger(self.0.ledger(lock, node).await?)))
    }
}

static RUNS: RunLog = RunLog::new();
fn quick(ctx: JobContext) -> JobFuture {
    RUNS.record(&ctx);
    boxed(async { Ok(()) })
}
static EVERY_SECOND: JobDescriptor = Spec::new("quick", "* * * * * *", quick).build();

#[tokio::test(start_paused = true)]
async fn a_slow_outcome_record_does_not_make_the_next_tick_an_overlap() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let handle = Runtime::builder()
        .node_id("slow-ledger")
        .backend(SlowRecords(cluster.clone()))
        .clock(clock.clone())
        .jobs([&EVERY_SECOND])
        .build()
        .unwrap()
        .start()
        .unwrap();
    advance_to(&clock, at(0, 0, 10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = handle.status();
    handle.shutdown().await.unwrap();

    assert_eq!(RUNS.ticks(), every(1, at(0, 0, 0), at(0, 0, 10)));
    assert_eq!(status.job("quick").unwrap().counts.skipped, 0);
    let outcomes = cluster
        .records("tests")
        .into_iter()
        .filter(|record| matches!(record, LedgerRecord::Outcome { .. }))
        .count();
    assert_eq!(outcomes, 10, "every outcome still reaches the ledger");
}
