//! Retries: attempts of one tick under its claim and term, each in the ledger, never past the
//! next tick, stopped by a loss of leadership.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leader_jobs::backend::LedgerRecord;
use leader_jobs::backend::RunOutcome;
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::TestClock;
use leader_jobs::{Handle, Job, JobContext, Runtime};

use crate::support::{RunLog, advance_to, at};

fn start(id: &str, job: Job, cluster: &MemoryCluster, clock: &TestClock) -> Handle {
    Runtime::builder()
        .node_id(id)
        .in_memory(cluster)
        .clock(clock.clone())
        .grace_period(Duration::from_secs(1))
        .jobs([job])
        .build()
        .unwrap()
        .start()
        .unwrap()
}

/// The ledger's claims, retries and outcomes, as (kind, tick, term, attempt or outcome).
fn attempts(cluster: &MemoryCluster, lock: &str) -> Vec<String> {
    cluster
        .records(lock)
        .into_iter()
        .filter_map(|record| match record {
            LedgerRecord::Claim(claim) => {
                Some(format!("claim {} t{}", hms(claim.tick), claim.term))
            }
            LedgerRecord::Retry { claim, attempt, .. } => Some(format!(
                "retry {} t{} #{attempt}",
                hms(claim.tick),
                claim.term
            )),
            LedgerRecord::Outcome { claim, outcome, .. } => Some(format!(
                "outcome {} t{} {outcome:?}",
                hms(claim.tick),
                claim.term
            )),
            _ => None,
        })
        .collect()
}

fn hms(tick: DateTime<Utc>) -> String {
    tick.format("%H:%M:%S").to_string()
}

static FLAKY_LOG: RunLog = RunLog::new();
static FLAKY_CALLS: AtomicU32 = AtomicU32::new(0);

#[tokio::test(start_paused = true)]
async fn a_job_failing_twice_runs_its_tick_three_times_then_waits_for_the_next() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let flaky = Job::new("flaky", "* * * * *", |ctx: JobContext| async move {
        FLAKY_LOG.record(&ctx);
        assert_eq!(
            ctx.attempt(),
            FLAKY_CALLS.fetch_add(1, Ordering::SeqCst) % 3 + 1
        );
        if ctx.attempt() < 3 {
            return Err(std::io::Error::other(format!(
                "attempt {} failed",
                ctx.attempt()
            )));
        }
        Ok(())
    })
    .lock("retries")
    .retries(3)
    .retry_backoff(Duration::from_secs(10));
    let handle = start("flaky", flaky, &cluster, &clock);
    advance_to(&clock, at(0, 1, 59)).await;
    handle.shutdown().await.unwrap();

    let runs = FLAKY_LOG.runs();
    let ticks: Vec<_> = runs.iter().map(|run| hms(run.tick)).collect();
    assert_eq!(ticks, ["00:01:00", "00:01:00", "00:01:00"]);
    // 10 s then 20 s, each within the ±20 % jitter.
    let waits: Vec<i64> = runs
        .windows(2)
        .map(|pair| (pair[1].started_at - pair[0].started_at).num_milliseconds())
        .collect();
    assert!(
        (7_500..12_500).contains(&waits[0]) && (15_000..25_000).contains(&waits[1]),
        "{waits:?}"
    );
    assert!(
        runs.iter()
            .all(|run| run.term == runs[0].term && run.node == "flaky")
    );
    let term = runs[0].term;
    assert_eq!(
        attempts(&cluster, "retries"),
        [
            format!("claim 00:01:00 t{term}"),
            format!("outcome 00:01:00 t{term} Failed"),
            format!("retry 00:01:00 t{term} #2"),
            format!("outcome 00:01:00 t{term} Failed"),
            format!("retry 00:01:00 t{term} #3"),
            format!("outcome 00:01:00 t{term} Ok"),
        ]
    );
    let status = handle.status();
    let job = status.job("flaky").unwrap();
    assert_eq!(
        (job.counts.failed, job.counts.ok, job.counts.retried),
        (2, 1, 2)
    );
    let last = job.last_run.as_ref().unwrap();
    assert_eq!((last.attempt, last.outcome), (3, RunOutcome::Ok));
}

#[tokio::test(start_paused = true)]
async fn retries_stop_before_the_next_tick() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let failing = Job::new("always-fails", "* * * * *", |_: JobContext| async {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err::<(), _>("downstream is down")
    })
    .lock("retries-bounded")
    .retries(5)
    .retry_backoff(Duration::from_secs(30));
    let handle = start("bounded", failing, &cluster, &clock);
    advance_to(&clock, at(0, 1, 59)).await;
    // 00:01:00, then 30 s ± 20 % later; the next wait (60 s ± 20 %) would end after 00:02:00.
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
    advance_to(&clock, at(0, 2, 1)).await;
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        3,
        "the next tick runs as usual"
    );
    handle.shutdown().await.unwrap();
}

static LOSER_LOG: RunLog = RunLog::new();

#[tokio::test(start_paused = true)]
async fn retries_stop_when_leadership_is_lost() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let failing = || {
        Job::new(
            "fails-then-moves",
            "0 */5 * * * *",
            |ctx: JobContext| async move {
                LOSER_LOG.record(&ctx);
                Err::<(), _>("downstream is down")
            },
        )
        .lock("retries-moved")
        .retries(3)
        .retry_backoff(Duration::from_secs(30))
    };
    let first = start("first", failing(), &cluster, &clock);
    advance_to(&clock, at(0, 0, 2)).await;
    assert_eq!(cluster.leader("retries-moved").as_deref(), Some("first"));
    let second = start("second", failing(), &cluster, &clock);
    advance_to(&clock, at(0, 5, 10)).await;
    // The 00:05 tick failed on `first`; it is killed before its retry is due.
    cluster.kill("first").unwrap();
    advance_to(&clock, at(0, 9, 0)).await;
    let runs = LOSER_LOG.runs();
    let on_first: Vec<_> = runs.iter().filter(|run| run.node == "first").collect();
    assert_eq!(on_first.len(), 1, "{runs:?}");
    // No node ran another attempt at the 00:05 tick: `second` took over with a new term, and
    // the tick already has its outcome.
    assert!(
        runs.iter()
            .all(|run| run.node == "first" || run.tick != at(0, 5, 0)),
        "{runs:?}"
    );
    second.shutdown().await.unwrap();
    drop(first);
}
