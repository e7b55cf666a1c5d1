//! A tick that arrives while the previous run of its job is still going: skip, queue or allow.
//! Every job here fires every 10 s and works for 22 s.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use leader_jobs::clock::TestClock;
use leader_jobs::job::JobFuture;
use leader_jobs::{Job, JobContext, OverlapPolicy, Runtime, Status};

use crate::support::{RunLog, Spec, advance_to, at};

const WORK: Duration = Duration::from_secs(22);

async fn run_for_65_seconds(job: &Job) -> Status {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let handle = Runtime::builder()
        .node_id("overlap")
        .clock(clock.clone())
        .jobs([job.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap();
    advance_to(&clock, at(0, 1, 5)).await;
    let status = handle.status();
    handle.shutdown().await.unwrap();
    status
}

static SKIP_LOG: RunLog = RunLog::new();
fn skip_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        SKIP_LOG.record(&ctx);
        tokio::time::sleep(WORK).await;
        Ok(())
    })
}
static SKIP: LazyLock<Job> =
    LazyLock::new(|| Spec::new("overlap-skip", "*/10 * * * * *", skip_job).build());

#[tokio::test(start_paused = true)]
async fn skip_drops_ticks_that_arrive_during_a_run() {
    let status = run_for_65_seconds(&SKIP).await;
    let started: Vec<_> = SKIP_LOG
        .runs()
        .iter()
        .map(|r| (r.tick, r.started_at))
        .collect();
    assert_eq!(
        started,
        vec![(at(0, 0, 10), at(0, 0, 10)), (at(0, 0, 40), at(0, 0, 40))]
    );
    // 20 and 30 during the first run, 50 and 60 during the second.
    let counts = status.job("overlap-skip").unwrap().counts;
    assert_eq!((counts.skipped, counts.ok), (4, 2));
}

static QUEUE_LOG: RunLog = RunLog::new();
fn queue_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        QUEUE_LOG.record(&ctx);
        tokio::time::sleep(WORK).await;
        Ok(())
    })
}
static QUEUE: LazyLock<Job> = LazyLock::new(|| {
    Spec {
        overlap: OverlapPolicy::Queue,
        ..Spec::new("overlap-queue", "*/10 * * * * *", queue_job)
    }
    .build()
});

#[tokio::test(start_paused = true)]
async fn queue_runs_one_waiting_tick_right_after_the_run() {
    let status = run_for_65_seconds(&QUEUE).await;
    let started: Vec<_> = QUEUE_LOG
        .runs()
        .iter()
        .map(|r| (r.tick, r.started_at))
        .collect();
    assert_eq!(
        started,
        vec![
            (at(0, 0, 10), at(0, 0, 10)),
            (at(0, 0, 20), at(0, 0, 32)),
            (at(0, 0, 40), at(0, 0, 54)),
        ]
    );
    // 30 and 50 found a tick already waiting; 60 waits at the end.
    let counts = status.job("overlap-queue").unwrap().counts;
    assert_eq!((counts.skipped, counts.ok), (2, 2));
}

static ALLOW_LOG: RunLog = RunLog::new();
static ALLOW_RUNNING: AtomicUsize = AtomicUsize::new(0);
static ALLOW_MOST_RUNNING: AtomicUsize = AtomicUsize::new(0);
fn allow_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        ALLOW_LOG.record(&ctx);
        let running = ALLOW_RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        ALLOW_MOST_RUNNING.fetch_max(running, Ordering::SeqCst);
        tokio::time::sleep(WORK).await;
        ALLOW_RUNNING.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    })
}
static ALLOW: LazyLock<Job> = LazyLock::new(|| {
    Spec {
        overlap: OverlapPolicy::Allow,
        ..Spec::new("overlap-allow", "*/10 * * * * *", allow_job)
    }
    .build()
});

#[tokio::test(start_paused = true)]
async fn allow_runs_every_tick_on_time_beside_the_others() {
    let status = run_for_65_seconds(&ALLOW).await;
    let runs = ALLOW_LOG.runs();
    assert_eq!(runs.len(), 6);
    assert!(runs.iter().all(|run| run.started_at == run.tick));
    assert_eq!(ALLOW_MOST_RUNNING.load(Ordering::SeqCst), 3);
    let job = status.job("overlap-allow").unwrap();
    assert_eq!((job.counts.skipped, job.counts.ok, job.running), (0, 4, 2));
}
