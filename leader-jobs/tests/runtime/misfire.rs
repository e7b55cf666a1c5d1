//! Ticks missed while no node led: a node runs a per-minute job until 00:10:30 and stops; another
//! starts at 00:20:30 and reads the ledger's history (last claimed tick 00:10).

use std::sync::LazyLock;
use std::time::Duration;

use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::TestClock;
use leader_jobs::job::JobFuture;
use leader_jobs::{Job, JobContext, MisfirePolicy, Runtime, Status};

use crate::support::{RunLog, RunRecord, Spec, advance_to, at, every};

/// Runs `job` on node "before" from 00:00 to 00:10:30, nothing until 00:20:30, then on node "after"
/// until 00:22:30. Returns the status of "after" at the end.
async fn gap_of_ten_minutes(job: &Job) -> Status {
    let cluster = MemoryCluster::new();
    let clock = TestClock::starting_at(at(0, 0, 0));
    let node = |id: &str| {
        Runtime::builder()
            .node_id(id)
            .in_memory(&cluster)
            .clock(clock.clone())
            .jobs([job.clone()])
            .build()
            .unwrap()
            .start()
            .unwrap()
    };
    let before = node("before");
    advance_to(&clock, at(0, 10, 30)).await;
    before.shutdown().await.unwrap();
    advance_to(&clock, at(0, 20, 30)).await;
    let after = node("after");
    advance_to(&clock, at(0, 22, 30)).await;
    let status = after.status();
    after.shutdown().await.unwrap();
    status
}

fn runs_after(log: &RunLog) -> Vec<RunRecord> {
    let runs = log.runs();
    let before: Vec<_> = runs
        .iter()
        .filter(|r| r.node == "before")
        .map(|r| r.tick)
        .collect();
    assert_eq!(before, every(60, at(0, 0, 0), at(0, 10, 0)));
    runs.into_iter().filter(|r| r.node == "after").collect()
}

static ONCE_LOG: RunLog = RunLog::new();
fn once_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        ONCE_LOG.record(&ctx);
        Ok(())
    })
}
static ONCE: LazyLock<Job> =
    LazyLock::new(|| Spec::new("misfire-fire-once", "* * * * *", once_job).build());

#[tokio::test(start_paused = true)]
async fn fire_once_runs_the_latest_missed_tick_once() {
    let status = gap_of_ten_minutes(&ONCE).await;
    let after: Vec<_> = runs_after(&ONCE_LOG)
        .iter()
        .map(|r| (r.tick, r.started_at, r.term))
        .collect();
    assert_eq!(
        after,
        vec![
            (at(0, 20, 0), at(0, 20, 30), 2),
            (at(0, 21, 0), at(0, 21, 0), 2),
            (at(0, 22, 0), at(0, 22, 0), 2),
        ]
    );
    let counts = status.job("misfire-fire-once").unwrap().counts;
    assert_eq!((counts.misfires, counts.caught_up, counts.ok), (1, 1, 3));
}

static SKIP_LOG: RunLog = RunLog::new();
fn skip_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        SKIP_LOG.record(&ctx);
        Ok(())
    })
}
static SKIP: LazyLock<Job> = LazyLock::new(|| {
    Spec {
        misfire: MisfirePolicy::Skip,
        ..Spec::new("misfire-skip", "* * * * *", skip_job)
    }
    .build()
});

#[tokio::test(start_paused = true)]
async fn skip_runs_nothing_for_the_gap() {
    let status = gap_of_ten_minutes(&SKIP).await;
    let after: Vec<_> = runs_after(&SKIP_LOG).iter().map(|r| r.tick).collect();
    assert_eq!(after, vec![at(0, 21, 0), at(0, 22, 0)]);
    let counts = status.job("misfire-skip").unwrap().counts;
    assert_eq!((counts.misfires, counts.caught_up, counts.ok), (1, 0, 2));
}

static ALL_LOG: RunLog = RunLog::new();
fn all_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        ALL_LOG.record(&ctx);
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(())
    })
}
static ALL: LazyLock<Job> = LazyLock::new(|| {
    Spec {
        misfire: MisfirePolicy::FireAll,
        catch_up_window: Duration::from_secs(5 * 60),
        ..Spec::new("misfire-fire-all", "* * * * *", all_job)
    }
    .build()
});

#[tokio::test(start_paused = true)]
async fn fire_all_runs_every_missed_tick_in_the_window_oldest_first_one_at_a_time() {
    let status = gap_of_ten_minutes(&ALL).await;
    let after: Vec<_> = runs_after(&ALL_LOG)
        .iter()
        .map(|r| (r.tick, r.started_at))
        .collect();
    // The window reaches back to 00:15:30: 00:11..00:15 are too old. Each catch-up run takes 1 s,
    // and under the default overlap policy the next starts when the previous ended.
    assert_eq!(
        after,
        vec![
            (at(0, 16, 0), at(0, 20, 30)),
            (at(0, 17, 0), at(0, 20, 31)),
            (at(0, 18, 0), at(0, 20, 32)),
            (at(0, 19, 0), at(0, 20, 33)),
            (at(0, 20, 0), at(0, 20, 34)),
            (at(0, 21, 0), at(0, 21, 0)),
            (at(0, 22, 0), at(0, 22, 0)),
        ]
    );
    let counts = status.job("misfire-fire-all").unwrap().counts;
    assert_eq!((counts.misfires, counts.caught_up, counts.ok), (1, 5, 7));
}
