//! Runs land exactly on their ticks: across a day, across a DST change, and after a clock step.

use chrono::{TimeDelta, TimeZone, Utc};
use leader_jobs::clock::TestClock;
use leader_jobs::job::JobFuture;
use leader_jobs::{Job, JobContext, Runtime};
use std::sync::LazyLock;

use crate::support::{RunLog, Spec, advance_to, at, every};

static DAY_LOG: RunLog = RunLog::new();
fn day_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        DAY_LOG.record(&ctx);
        Ok(())
    })
}
static DAY: LazyLock<Job> =
    LazyLock::new(|| Spec::new("quarter-hourly", "*/15 * * * *", day_job).build());

#[tokio::test(start_paused = true)]
async fn a_simulated_day_runs_every_tick_once_and_on_time() {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let handle = Runtime::builder()
        .node_id("solo")
        .clock(clock.clone())
        .jobs([DAY.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap();
    let end = at(0, 0, 0) + TimeDelta::days(1);
    advance_to(&clock, end + TimeDelta::seconds(1)).await;
    let status = handle.status();
    handle.shutdown().await.unwrap();

    let runs = DAY_LOG.runs();
    assert_eq!(DAY_LOG.ticks(), every(15 * 60, at(0, 0, 0), end));
    assert_eq!(runs.len(), 96);
    assert!(
        runs.iter()
            .all(|run| run.started_at == run.tick && run.term == 1)
    );
    let lock = status.lock("tests").unwrap();
    assert!(lock.leading);
    assert_eq!(lock.term, Some(1));
    let job = status.job("quarter-hourly").unwrap();
    assert_eq!(job.counts.ok, 96);
    assert_eq!(job.next_tick, Some(end + TimeDelta::minutes(15)));
    assert_eq!(job.last_run.as_ref().map(|run| run.tick), Some(end));
}

static DST_LOG: RunLog = RunLog::new();
fn dst_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        DST_LOG.record(&ctx);
        Ok(())
    })
}
static DST: LazyLock<Job> = LazyLock::new(|| {
    Spec {
        timezone: "Europe/Berlin",
        ..Spec::new("berlin-half-past-two", "30 2 * * *", dst_job)
    }
    .build()
});

#[tokio::test(start_paused = true)]
async fn a_tick_inside_the_spring_forward_gap_runs_once_right_after_the_jump() {
    let start = Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap();
    let clock = TestClock::starting_at(start);
    let handle = Runtime::builder()
        .node_id("berlin")
        .clock(clock.clone())
        .jobs([DST.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap();
    advance_to(&clock, start + TimeDelta::days(2)).await;
    handle.shutdown().await.unwrap();

    // 2026-03-29 02:00 CET jumps to 03:00 CEST: 02:30 does not exist and runs at 03:00 CEST
    // (01:00 UTC); the next day 02:30 CEST is 00:30 UTC.
    assert_eq!(
        DST_LOG.ticks(),
        vec![
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 30, 0, 30, 0).unwrap(),
        ]
    );
}

static JUMP_LOG: RunLog = RunLog::new();
fn jump_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        JUMP_LOG.record(&ctx);
        Ok(())
    })
}
static JUMP: LazyLock<Job> =
    LazyLock::new(|| Spec::new("minutely-through-a-clock-step", "* * * * *", jump_job).build());

#[tokio::test(start_paused = true)]
async fn a_wall_clock_step_forward_is_a_misfire_with_one_catch_up_run() {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let handle = Runtime::builder()
        .node_id("stepped")
        .clock(clock.clone())
        .jobs([JUMP.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap();
    advance_to(&clock, at(0, 5, 30)).await;
    // Like an NTP step or a suspended laptop waking up: ten minutes pass at once.
    clock.jump(TimeDelta::seconds(10 * 60 + 10));
    advance_to(&clock, at(0, 18, 30)).await;
    let status = handle.status();
    handle.shutdown().await.unwrap();

    let runs = JUMP_LOG.runs();
    let ticks: Vec<_> = runs.iter().map(|run| run.tick).collect();
    let mut expected = every(60, at(0, 0, 0), at(0, 5, 0));
    expected.extend([at(0, 15, 0), at(0, 16, 0), at(0, 17, 0), at(0, 18, 0)]);
    assert_eq!(ticks, expected);
    // The leader wakes at least every second (to read the ledger for operators' commands), so it
    // finds the step within a second: one catch-up run for 00:06 to 00:15, then 00:16 on time.
    let found = runs[5].started_at;
    assert!(
        found >= at(0, 15, 40) && found <= at(0, 15, 41),
        "the catch-up began at {found}"
    );
    let counts = status.job("minutely-through-a-clock-step").unwrap().counts;
    assert_eq!((counts.misfires, counts.caught_up, counts.ok), (1, 1, 9));
}
