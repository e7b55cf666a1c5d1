//! The ledger's claim window keeps terms from going backwards without leaning on the election's
//! failover delay: a won claim whose verdict comes back later than the window starts no run, and
//! a new term that finds claims of older terms without an outcome waits one window before its
//! first run, so every run those claims could still start starts before it.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leader_jobs::backend::LedgerRecord;
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::TestClock;
use leader_jobs::job::JobFuture;
use leader_jobs::{Job, JobContext, Runtime};

use crate::slow_ledger::SlowLedger;
use crate::support::{RunLog, Spec, advance_to, at};

const WINDOW: Duration = Duration::from_millis(750);

static LATE_VERDICT_RUNS: RunLog = RunLog::new();
fn late_verdict_job(ctx: JobContext) -> JobFuture {
    LATE_VERDICT_RUNS.record(&ctx);
    Box::pin(async { Ok(()) })
}
static LATE_VERDICT_JOB: LazyLock<Job> =
    LazyLock::new(|| Spec::new("late-verdict", "* * * * * *", late_verdict_job).build());

#[tokio::test(start_paused = true)]
async fn a_verdict_later_than_the_window_starts_no_run() {
    let backend = SlowLedger {
        cluster: MemoryCluster::new(),
        claim_delay: Duration::from_millis(300),
        record_delay: Duration::ZERO,
        claim_window: Some(Duration::from_millis(250)),
        claim_ahead: None,
    };
    let clock = TestClock::starting_at(at(0, 0, 0));
    let handle = Runtime::builder()
        .node_id("late-verdict")
        .backend(backend.clone())
        .clock(clock.clone())
        .jobs([LATE_VERDICT_JOB.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap();
    advance_to(&clock, at(0, 0, 5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = handle.status().job("late-verdict").unwrap().counts;
    handle.shutdown().await.unwrap();

    assert!(LATE_VERDICT_RUNS.ticks().is_empty(), "no run may start");
    assert_eq!((counts.ok, counts.cancelled), (0, 5), "{counts:?}");
    let records = backend.cluster.records("tests");
    let claims = records
        .iter()
        .filter(|record| matches!(record, LedgerRecord::Claim { .. }))
        .count();
    assert_eq!(claims, 5, "every tick was still claimed: {records:?}");
    assert!(
        !records
            .iter()
            .any(|record| matches!(record, LedgerRecord::Outcome { .. })),
        "a run that never started has no outcome, so the next leader reports it: {records:?}"
    );
}

static TICK_RUNS: RunLog = RunLog::new();
fn tick_job(ctx: JobContext) -> JobFuture {
    TICK_RUNS.record(&ctx);
    Box::pin(async { Ok(()) })
}
static TICK_JOB: LazyLock<Job> =
    LazyLock::new(|| Spec::new("window-tick", "* * * * * *", tick_job).build());

fn slow_job(_ctx: JobContext) -> JobFuture {
    Box::pin(async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(())
    })
}
static SLOW_JOB: LazyLock<Job> =
    LazyLock::new(|| Spec::new("window-slow", "*/10 * * * * *", slow_job).build());

/// Two nodes on one lock; the leader is killed at 00:00:12.5, while the slow job's run of
/// 00:00:10 is still going when `slow_run_open`. Returns when the follower's first run started.
async fn first_run_after_takeover(
    name: &str,
    claim_window: Option<Duration>,
    slow_run_open: bool,
) -> DateTime<Utc> {
    let backend = SlowLedger {
        cluster: MemoryCluster::new(),
        claim_delay: Duration::ZERO,
        record_delay: Duration::ZERO,
        claim_window,
        claim_ahead: None,
    };
    let clock = TestClock::starting_at(at(0, 0, 0));
    let jobs: &[&Job] = if slow_run_open {
        &[&TICK_JOB, &SLOW_JOB]
    } else {
        &[&TICK_JOB]
    };
    let (leader, follower) = (format!("{name}-a"), format!("{name}-b"));
    let a = backend.start(&leader, &clock, jobs);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = backend.start(&follower, &clock, jobs);
    advance_to(&clock, at(0, 0, 12)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(backend.cluster.leader("tests"), Some(leader.clone()));
    backend.cluster.kill(&leader).unwrap();
    advance_to(&clock, at(0, 0, 20)).await;
    let abandoned = b
        .status()
        .job("window-slow")
        .map(|job| job.counts.abandoned);
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();

    assert_eq!(abandoned, slow_run_open.then_some(1));
    TICK_RUNS
        .runs()
        .into_iter()
        .filter(|run| run.node == follower)
        .map(|run| run.started_at)
        .min()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_term_that_finds_an_open_claim_starts_one_window_later() {
    let without = first_run_after_takeover("open-unbounded", None, true).await;
    let with = first_run_after_takeover("open-window", Some(WINDOW), true).await;

    assert_eq!((with - without).to_std().unwrap(), WINDOW);
}

#[tokio::test(start_paused = true)]
async fn a_term_that_finds_no_open_claim_starts_at_once() {
    let without = first_run_after_takeover("closed-unbounded", None, false).await;
    let with = first_run_after_takeover("closed-window", Some(WINDOW), false).await;

    assert_eq!(with, without);
}
