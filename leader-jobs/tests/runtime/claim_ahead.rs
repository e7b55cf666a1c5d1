//! Claiming ahead of the tick: where the ledger's verdict takes a trip (Pulsar's), the leader
//! claims a tick shortly before it is due, so the run starts on the tick. A tick claimed ahead
//! that the leader does not start is given back, and the next leader runs it.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::TimeDelta;
use leader_jobs::backend::LedgerRecord;
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::TestClock;
use leader_jobs::job::JobFuture;
use leader_jobs::{Handle, Job, JobContext};

use crate::slow_ledger::SlowLedger;
use crate::support::{RunLog, Spec, advance_to, at, every};

const CLAIM_TRIP: Duration = Duration::from_millis(40);
const LEAD: Duration = Duration::from_millis(100);
const WINDOW: Duration = Duration::from_millis(750);

fn backend(claim_ahead: Option<Duration>) -> SlowLedger {
    SlowLedger {
        cluster: MemoryCluster::new(),
        claim_delay: CLAIM_TRIP,
        slow_claims: None,
        record_delay: Duration::ZERO,
        claim_window: Some(WINDOW),
        claim_ahead,
    }
}

/// Two nodes running `job` (every 5 s), `{name}-a` leading, at 00:00:09.950: 00:00:10 is
/// claimed ahead and not started.
async fn claimed_ahead_by_a(name: &str, job: &Job) -> (SlowLedger, TestClock, Handle, Handle) {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let backend = backend(Some(LEAD));
    let a = backend.start(&format!("{name}-a"), &clock, &[job]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = backend.start(&format!("{name}-b"), &clock, &[job]);
    advance_to(&clock, at(0, 0, 9) + TimeDelta::milliseconds(950)).await;
    let records = backend.cluster.records("tests");
    let claimed_ahead = records
        .iter()
        .any(|record| matches!(record, LedgerRecord::Claim(claim) if claim.tick == at(0, 0, 10)));
    assert!(claimed_ahead, "00:00:10 is claimed ahead: {records:?}");
    (backend, clock, a, b)
}

static ON_TIME_RUNS: RunLog = RunLog::new();
fn on_time_job(ctx: JobContext) -> JobFuture {
    ON_TIME_RUNS.record(&ctx);
    Box::pin(async { Ok(()) })
}
static ON_TIME_JOB: LazyLock<Job> =
    LazyLock::new(|| Spec::new("on-time", "* * * * * *", on_time_job).build());

static LATE_RUNS: RunLog = RunLog::new();
fn late_job(ctx: JobContext) -> JobFuture {
    LATE_RUNS.record(&ctx);
    Box::pin(async { Ok(()) })
}
static LATE_JOB: LazyLock<Job> =
    LazyLock::new(|| Spec::new("late", "* * * * * *", late_job).build());

/// Runs `job` for five seconds on a ledger whose claims take [`CLAIM_TRIP`]; returns how late
/// each run started after its tick.
async fn lateness(claim_ahead: Option<Duration>, job: &Job, runs: &RunLog) -> Vec<TimeDelta> {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let backend = backend(claim_ahead);
    let handle = backend.start("ahead", &clock, &[job]);
    advance_to(&clock, at(0, 0, 5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.shutdown().await.unwrap();
    let runs = runs.runs();
    assert_eq!(
        runs.iter().map(|run| run.tick).collect::<Vec<_>>(),
        every(1, at(0, 0, 0), at(0, 0, 5))
    );
    runs.iter().map(|run| run.started_at - run.tick).collect()
}

#[tokio::test(start_paused = true)]
async fn a_tick_claimed_ahead_starts_on_the_tick() {
    let ahead = lateness(Some(LEAD), &ON_TIME_JOB, &ON_TIME_RUNS).await;
    let at_the_tick = lateness(None, &LATE_JOB, &LATE_RUNS).await;

    assert!(ahead.iter().all(TimeDelta::is_zero), "{ahead:?}");
    let trip = TimeDelta::from_std(CLAIM_TRIP).unwrap();
    assert!(
        at_the_tick.iter().all(|late| *late == trip),
        "claimed at the tick, a run waits for the claim's trip: {at_the_tick:?}"
    );
}

static HANDOVER_RUNS: RunLog = RunLog::new();
fn handover_job(ctx: JobContext) -> JobFuture {
    HANDOVER_RUNS.record(&ctx);
    Box::pin(async { Ok(()) })
}
static HANDOVER_JOB: LazyLock<Job> =
    LazyLock::new(|| Spec::new("handover", "*/5 * * * * *", handover_job).build());

/// The leader shuts down after claiming 00:00:10 ahead and before it came: it gives the tick
/// back before leaving the election, and the node that takes over runs it, once. Without the
/// release the new leader would find the claim open and report it as abandoned, not run it.
#[tokio::test(start_paused = true)]
async fn a_tick_claimed_ahead_by_a_leader_that_shuts_down_runs_on_the_next() {
    let (backend, clock, a, b) = claimed_ahead_by_a("handover", &HANDOVER_JOB).await;
    a.shutdown().await.unwrap();
    advance_to(&clock, at(0, 0, 16)).await;
    let abandoned = b.status().job("handover").unwrap().counts.abandoned;
    b.shutdown().await.unwrap();

    let runs: Vec<_> = HANDOVER_RUNS
        .runs()
        .into_iter()
        .map(|run| (run.tick, run.node))
        .collect();
    assert_eq!(
        runs,
        [
            (at(0, 0, 5), "handover-a".to_owned()),
            (at(0, 0, 10), "handover-b".to_owned()),
            (at(0, 0, 15), "handover-b".to_owned()),
        ]
    );
    assert_eq!(abandoned, 0);
    let releases = backend
        .cluster
        .records("tests")
        .into_iter()
        .filter(|record| matches!(record, LedgerRecord::Release(_)))
        .count();
    assert_eq!(releases, 1);
}

static KILLED_RUNS: RunLog = RunLog::new();
fn killed_job(ctx: JobContext) -> JobFuture {
    KILLED_RUNS.record(&ctx);
    Box::pin(async { Ok(()) })
}
static KILLED_JOB: LazyLock<Job> =
    LazyLock::new(|| Spec::new("killed", "*/5 * * * * *", killed_job).build());

/// A leader killed between claiming ahead and the tick cannot give the tick back: the next leader
/// finds the claim open and reports it as abandoned (at most once: not run again), never silently.
#[tokio::test(start_paused = true)]
async fn a_tick_claimed_ahead_by_a_leader_that_dies_is_reported_abandoned() {
    let (backend, clock, a, b) = claimed_ahead_by_a("killed", &KILLED_JOB).await;
    backend.cluster.kill("killed-a").unwrap();
    advance_to(&clock, at(0, 0, 21)).await;
    let abandoned = b.status().job("killed").unwrap().counts.abandoned;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();

    let ticks = KILLED_RUNS.ticks();
    assert_eq!(ticks.first(), Some(&at(0, 0, 5)));
    assert!(!ticks.contains(&at(0, 0, 10)), "{ticks:?}");
    assert!(ticks.contains(&at(0, 0, 20)), "{ticks:?}");
    assert_eq!(abandoned, 1);
}

static STEPPED_RUNS: RunLog = RunLog::new();
fn stepped_job(ctx: JobContext) -> JobFuture {
    STEPPED_RUNS.record(&ctx);
    Box::pin(async { Ok(()) })
}
static STEPPED_JOB: LazyLock<Job> =
    LazyLock::new(|| Spec::new("stepped", "*/5 * * * * *", stepped_job).build());

/// The wall clock steps back 5 s between the claim of 00:00:10 and its tick: the run starts when
/// the tick was due on the monotonic clock, within the claim window, instead of waiting for the
/// wall clock to read 00:00:10 again, past the window, and leaving the claim open.
#[tokio::test(start_paused = true)]
async fn a_wall_clock_stepped_back_after_the_claim_still_starts_the_run_in_time() {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let backend = backend(Some(LEAD));
    let handle = backend.start("stepped", &clock, &[&STEPPED_JOB]);
    advance_to(&clock, at(0, 0, 9) + TimeDelta::milliseconds(950)).await;
    clock.jump(TimeDelta::seconds(-5));
    tokio::time::sleep(Duration::from_secs(7)).await;
    let counts = handle.status().job("stepped").unwrap().counts;
    handle.shutdown().await.unwrap();

    let ticks = STEPPED_RUNS.ticks();
    assert_eq!(
        ticks.iter().filter(|tick| **tick == at(0, 0, 10)).count(),
        1,
        "{ticks:?}"
    );
    assert_eq!(counts.cancelled, 0, "{counts:?}");
}
