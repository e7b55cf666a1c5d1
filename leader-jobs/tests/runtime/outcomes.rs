//! How runs end: ok, failed, panicked, timed out, cancelled at shutdown or on losing leadership,
//! abandoned by a killed leader.

use std::sync::LazyLock;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leader_jobs::backend::LedgerRecord;
use leader_jobs::backend::RunOutcome;
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::TestClock;
use leader_jobs::job::{JobFailure, JobFuture};
use leader_jobs::{Handle, Job, JobContext};

use crate::support::{RunLog, Spec, advance_to, at, every, start};

fn outcomes(cluster: &MemoryCluster) -> Vec<(DateTime<Utc>, RunOutcome)> {
    cluster
        .records("tests")
        .into_iter()
        .filter_map(|record| match record {
            LedgerRecord::Outcome { claim, outcome, .. } => Some((claim.tick, outcome)),
            _ => None,
        })
        .collect()
}

static SLOW_FINISHED: AtomicBool = AtomicBool::new(false);
fn slow_job(_ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        SLOW_FINISHED.store(true, Ordering::SeqCst);
        Ok(())
    })
}
static SLOW: LazyLock<Job> = LazyLock::new(|| {
    Spec {
        timeout: Some(Duration::from_secs(5)),
        ..Spec::new("times-out", "* * * * *", slow_job)
    }
    .build()
});

#[tokio::test(start_paused = true)]
async fn a_run_past_its_timeout_is_cancelled_and_recorded_as_timed_out() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let handle = start("timeouts", &SLOW, &cluster, &clock);
    advance_to(&clock, at(0, 3, 10)).await;
    let status = handle.status();
    handle.shutdown().await.unwrap();

    let job = status.job("times-out").unwrap();
    assert_eq!((job.counts.timed_out, job.running), (3, 0));
    let last = job.last_run.clone().unwrap();
    assert_eq!((last.tick, last.finished_at), (at(0, 3, 0), at(0, 3, 5)));
    assert!(
        !SLOW_FINISHED.load(Ordering::SeqCst),
        "the future must be dropped"
    );
    let expected: Vec<_> = every(60, at(0, 0, 0), at(0, 3, 0))
        .into_iter()
        .map(|tick| (tick, RunOutcome::TimedOut))
        .collect();
    assert_eq!(outcomes(&cluster), expected);
}

static PANIC_LOG: RunLog = RunLog::new();
fn panicking_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        PANIC_LOG.record(&ctx);
        panic!("the report template is missing");
    })
}
static PANICKING: LazyLock<Job> =
    LazyLock::new(|| Spec::new("panics", "* * * * *", panicking_job).build());

#[tokio::test(start_paused = true)]
async fn a_panicking_run_is_recorded_and_the_scheduler_goes_on() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let handle = start("panics", &PANICKING, &cluster, &clock);
    advance_to(&clock, at(0, 3, 30)).await;
    let status = handle.status();
    handle.shutdown().await.unwrap();

    assert_eq!(PANIC_LOG.ticks(), every(60, at(0, 0, 0), at(0, 3, 0)));
    let job = status.job("panics").unwrap();
    assert_eq!(job.counts.panicked, 3);
    let last = job.last_run.clone().unwrap();
    assert_eq!(last.outcome, RunOutcome::Panicked);
    assert_eq!(
        last.error.as_deref(),
        Some("the report template is missing")
    );
    assert!(
        outcomes(&cluster)
            .iter()
            .all(|(_, outcome)| *outcome == RunOutcome::Panicked)
    );
}

fn failing_job(_ctx: JobContext) -> JobFuture {
    Box::pin(async move { Err(JobFailure::new("mail server refused the connection")) })
}
static FAILING: LazyLock<Job> =
    LazyLock::new(|| Spec::new("fails", "* * * * *", failing_job).build());

#[tokio::test(start_paused = true)]
async fn a_failed_run_keeps_its_error_message() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let handle = start("fails", &FAILING, &cluster, &clock);
    advance_to(&clock, at(0, 2, 30)).await;
    let status = handle.status();
    handle.shutdown().await.unwrap();

    let job = status.job("fails").unwrap();
    assert_eq!(job.counts.failed, 2);
    let last = job.last_run.clone().unwrap();
    assert_eq!(
        last.error.as_deref(),
        Some("mail server refused the connection")
    );
}

static COOPERATIVE_STOPPED_AT: Mutex<Option<tokio::time::Instant>> = Mutex::new(None);
fn cooperative_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        tokio::select! {
            () = ctx.cancelled() => {
                *COOPERATIVE_STOPPED_AT.lock().unwrap() = Some(tokio::time::Instant::now());
                Ok(())
            }
            () = tokio::time::sleep(Duration::from_secs(3600)) => Err(JobFailure::new("not cancelled")),
        }
    })
}
static COOPERATIVE: LazyLock<Job> =
    LazyLock::new(|| Spec::new("stops-when-asked", "* * * * *", cooperative_job).build());

#[tokio::test(start_paused = true)]
async fn losing_leadership_cancels_a_running_job_through_its_context() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let a = start("a", &COOPERATIVE, &cluster, &clock);
    let b = start("b", &COOPERATIVE, &cluster, &clock);
    advance_to(&clock, at(0, 1, 20)).await;
    let killed = tokio::time::Instant::now();
    cluster.kill("a").unwrap();
    advance_to(&clock, at(0, 1, 40)).await;
    assert_eq!(*COOPERATIVE_STOPPED_AT.lock().unwrap(), Some(killed));
    let status = a.status();
    assert!(!status.lock("tests").unwrap().leading);
    assert_eq!(status.job("stops-when-asked").unwrap().counts.ok, 1);
    // The killed node's outcome never reached the ledger, so the new leader reports the run as
    // abandoned and does not run 00:01 again.
    let status = b.status();
    assert!(status.lock("tests").unwrap().leading);
    assert_eq!(status.job("stops-when-asked").unwrap().counts.abandoned, 1);
    assert_eq!(status.job("stops-when-asked").unwrap().running, 0);
    b.shutdown().await.unwrap();
    a.shutdown().await.unwrap();
}

fn half_minute_job(_ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(())
    })
}
static HALF_MINUTE: LazyLock<Job> =
    LazyLock::new(|| Spec::new("half-minute", "* * * * *", half_minute_job).build());

#[tokio::test(start_paused = true)]
async fn an_abandoned_run_is_reported_by_one_leader_only() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let nodes: Vec<Handle> = ["a", "b", "c", "d"]
        .into_iter()
        .map(|id| start(id, &HALF_MINUTE, &cluster, &clock))
        .collect();
    // The first leader dies in the middle of 00:01's run; three takeovers follow, each after
    // the run of its minute finished.
    let mut killed = Vec::new();
    for minute in 1..=3 {
        advance_to(&clock, at(0, minute, 10)).await;
        let leader = cluster.leader("tests").unwrap();
        if minute > 1 {
            advance_to(&clock, at(0, minute, 40)).await;
        }
        cluster.kill(&leader).unwrap();
        killed.push(leader);
    }
    advance_to(&clock, at(0, 4, 40)).await;
    let abandoned: u64 = nodes
        .iter()
        .map(|node| node.status().job("half-minute").unwrap().counts.abandoned)
        .sum();
    assert_eq!(abandoned, 1, "killed in turn: {killed:?}");
    let reports: Vec<_> = cluster
        .records("tests")
        .into_iter()
        .filter_map(|record| match record {
            LedgerRecord::Abandoned { claim, .. } => Some(claim.tick),
            _ => None,
        })
        .collect();
    assert_eq!(reports, vec![at(0, 1, 0)]);
    for node in nodes {
        let _ = node.shutdown().await;
    }
}

static STUBBORN_LOG: RunLog = RunLog::new();
fn stubborn_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        STUBBORN_LOG.record(&ctx);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(())
    })
}
static STUBBORN: LazyLock<Job> =
    LazyLock::new(|| Spec::new("ignores-cancellation", "* * * * *", stubborn_job).build());

#[tokio::test(start_paused = true)]
async fn shutdown_drops_a_run_that_ignores_cancellation_after_the_grace_period() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let handle = start("stubborn", &STUBBORN, &cluster, &clock);
    advance_to(&clock, at(0, 1, 10)).await;
    let began = tokio::time::Instant::now();
    handle.shutdown().await.unwrap();
    assert_eq!(began.elapsed(), Duration::from_secs(5));
    assert_eq!(STUBBORN_LOG.ticks(), vec![at(0, 1, 0)]);
    let status = handle.status();
    assert_eq!(
        status.job("ignores-cancellation").unwrap().counts.cancelled,
        1
    );
    assert_eq!(
        outcomes(&cluster),
        vec![(at(0, 1, 0), RunOutcome::Cancelled)]
    );
    // The node left the election on the way out.
    assert_eq!(cluster.leader("tests"), None);
}
