//! Delivery per job: a tick whose leader died mid-run is run again by the next leader when the
//! job is delivered at least once, with the same run id, and only reported when at most once; a
//! paused leader that wakes up after the rerun began cannot settle the tick with its stale run.

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::backend::{Backend, LedgerRecord, RetryCause, RunOutcome};
use leader_jobs::clock::{Clock, TestClock};
use leader_jobs::{Delivery, Handle, Job, JobContext};

use crate::support::{advance_to, at, start};

/// What a run saw: its node, run id, attempt and whether it was a rerun; and whether it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    node: String,
    run_id: String,
    attempt: u32,
    rerun: bool,
    finished: bool,
}

/// A job that runs for `seconds` and writes when it starts and when it ends to `log`.
fn logged_job(name: &str, log: &'static Mutex<Vec<Seen>>, seconds: fn(&JobContext) -> u64) -> Job {
    Job::new(name, "* * * * *", move |ctx: JobContext| async move {
        let seen = |finished| Seen {
            node: ctx.node().to_owned(),
            run_id: ctx.run_id().to_string(),
            attempt: ctx.attempt(),
            rerun: ctx.is_rerun(),
            finished,
        };
        log.lock().unwrap().push(seen(false));
        tokio::time::sleep(Duration::from_secs(seconds(&ctx))).await;
        log.lock().unwrap().push(seen(true));
    })
}

/// The entries of `log` for the run id of 00:01.
fn first_minute(log: &Mutex<Vec<Seen>>, job: &str) -> Vec<Seen> {
    let id = format!("{job}@2026-01-01T00:01:00Z");
    log.lock()
        .unwrap()
        .iter()
        .filter(|seen| seen.run_id == id)
        .cloned()
        .collect()
}

/// Starts three nodes, kills the leader 10 s into the 30 s run of 00:01, and runs on to 00:02:40.
async fn kill_mid_run(job: &Job) -> (MemoryCluster, Vec<Handle>, String) {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let nodes: Vec<Handle> = ["a", "b", "c"]
        .into_iter()
        .map(|id| start(id, job, &cluster, &clock))
        .collect();
    advance_to(&clock, at(0, 1, 10)).await;
    let first = cluster.leader(job.get_lock()).unwrap();
    cluster.kill(&first).unwrap();
    advance_to(&clock, at(0, 2, 40)).await;
    (cluster, nodes, first)
}

static AT_LEAST_ONCE_LOG: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
static AT_LEAST_ONCE: LazyLock<Job> = LazyLock::new(|| {
    logged_job("digest", &AT_LEAST_ONCE_LOG, |_| 30).delivery(Delivery::AtLeastOnce)
});

#[tokio::test(start_paused = true)]
async fn an_at_least_once_tick_abandoned_mid_run_is_finished_once_by_the_next_leader() {
    let (cluster, nodes, first) = kill_mid_run(&AT_LEAST_ONCE).await;
    let second = cluster.leader("digest").unwrap();
    let seen = first_minute(&AT_LEAST_ONCE_LOG, "digest");
    let id = "digest@2026-01-01T00:01:00Z".to_owned();
    let entry = |node: &str, attempt, rerun, finished| Seen {
        node: node.to_owned(),
        run_id: id.clone(),
        attempt,
        rerun,
        finished,
    };
    assert_eq!(
        seen,
        [
            entry(&first, 1, false, false),
            entry(&second, 2, true, false),
            entry(&second, 2, true, true),
        ]
    );
    let status = nodes
        .iter()
        .map(Handle::status)
        .find(|status| status.node == second)
        .unwrap();
    let counts = status.job("digest").unwrap().counts;
    assert_eq!((counts.abandoned, counts.reruns, counts.retried), (1, 1, 0));
    let reruns: Vec<_> = cluster
        .records("digest")
        .into_iter()
        .filter_map(|record| match record {
            LedgerRecord::Retry {
                claim,
                attempt,
                after: RetryCause::Abandonment,
            } => Some((claim.tick, attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(reruns, [(at(0, 1, 0), 2)]);
    // 00:02 ran on time, once.
    let later = AT_LEAST_ONCE_LOG
        .lock()
        .unwrap()
        .iter()
        .filter(|seen| seen.run_id.ends_with("00:02:00Z") && !seen.finished)
        .count();
    assert_eq!(later, 1);
    for node in nodes {
        let _ = node.shutdown().await;
    }
}

static AT_MOST_ONCE_LOG: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
static AT_MOST_ONCE: LazyLock<Job> =
    LazyLock::new(|| logged_job("report", &AT_MOST_ONCE_LOG, |_| 30));

#[tokio::test(start_paused = true)]
async fn an_at_most_once_tick_abandoned_mid_run_is_reported_and_not_run_again() {
    let (cluster, nodes, first) = kill_mid_run(&AT_MOST_ONCE).await;
    let seen = first_minute(&AT_MOST_ONCE_LOG, "report");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (seen[0].node.as_str(), seen[0].finished),
        (first.as_str(), false)
    );
    let abandoned: u64 = nodes
        .iter()
        .map(|node| node.status().job("report").unwrap().counts.abandoned)
        .sum();
    let reruns: u64 = nodes
        .iter()
        .map(|node| node.status().job("report").unwrap().counts.reruns)
        .sum();
    assert_eq!((abandoned, reruns), (1, 0));
    assert!(
        !cluster
            .records("report")
            .iter()
            .any(|record| matches!(record, LedgerRecord::Retry { .. }))
    );
    for node in nodes {
        let _ = node.shutdown().await;
    }
}

static STALE_LOG: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
/// The first attempt runs for 45 s, past the moment the rerun begins; reruns take 5 s.
static STALE: LazyLock<Job> = LazyLock::new(|| {
    logged_job("ledger-sync", &STALE_LOG, |ctx| {
        if ctx.attempt() == 1 { 45 } else { 5 }
    })
    .delivery(Delivery::AtLeastOnce)
});

#[tokio::test(start_paused = true)]
async fn a_paused_leader_that_wakes_after_the_rerun_began_cannot_settle_the_tick() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let nodes: Vec<Handle> = ["a", "b"]
        .into_iter()
        .map(|id| start(id, &STALE, &cluster, &clock))
        .collect();
    advance_to(&clock, at(0, 1, 10)).await;
    let first = cluster.leader("ledger-sync").unwrap();
    cluster.pause(&first).unwrap();
    // The lease (10 s) ends at 00:01:20, the rerun waits lease and grace (15 s) after the
    // takeover; the paused leader's run ends at 00:01:45 and writes its outcome.
    advance_to(&clock, at(0, 1, 50)).await;
    let second = cluster.leader("ledger-sync").unwrap();
    cluster.resume(&first).unwrap();
    advance_to(&clock, at(0, 1, 58)).await;
    let seen = first_minute(&STALE_LOG, "ledger-sync");
    let rerun_started = seen.iter().position(|s| s.rerun && !s.finished);
    let stale_finished = seen.iter().position(|s| s.node == first && s.finished);
    assert!(
        rerun_started.is_some() && stale_finished.is_some() && rerun_started < stale_finished,
        "the stale run finished after the rerun began: {seen:?}"
    );
    // Both outcomes are in the ledger, but the tick's open attempt was the rerun's: the rerun's
    // outcome settled it, the stale one settled nothing.
    let records = cluster.records("ledger-sync");
    let outcomes: Vec<_> = records
        .iter()
        .filter_map(|record| match record {
            LedgerRecord::Outcome { claim, outcome, .. } if claim.tick == at(0, 1, 0) => {
                Some((claim.node.clone(), *outcome))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (second.clone(), RunOutcome::Ok),
            (first.clone(), RunOutcome::Ok)
        ]
    );
    let history = cluster
        .ledger("ledger-sync", "reader")
        .await
        .unwrap()
        .history()
        .await
        .unwrap();
    let runs: Vec<_> = history.runs["ledger-sync"]
        .recent
        .iter()
        .filter(|run| run.tick == at(0, 1, 0))
        .map(|run| (run.node.clone(), run.attempt, run.outcome, run.rerun))
        .collect();
    assert_eq!(
        runs,
        [
            (first.clone(), 1, None, false),
            (second.clone(), 2, Some(RunOutcome::Ok), true),
        ]
    );
    let status = nodes
        .iter()
        .map(Handle::status)
        .find(|status| status.node == second)
        .unwrap();
    assert_eq!(status.job("ledger-sync").unwrap().counts.reruns, 1);
    assert!(clock.now() >= at(0, 1, 58));
    for node in nodes {
        let _ = node.shutdown().await;
    }
}
