//! When an abandoned attempt is run again: its rerun window counts from when the attempt began
//! (a catch-up begins long after its tick), and a node that finds the same abandoned attempt
//! again in a later term of its own does not wait for it to stop a second time.

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::TestClock;
use leader_jobs::{Delivery, Handle, Job, JobContext, MisfirePolicy, OverlapPolicy};

use crate::support::{advance_to, at, start};

/// One attempt as the job saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Attempt {
    tick: DateTime<Utc>,
    node: String,
    attempt: u32,
    started: DateTime<Utc>,
    finished: bool,
}

/// An every-minute job delivered at least once that runs 30 s and writes each start and end.
fn thirty_second_job(name: &str, log: &'static Mutex<Vec<Attempt>>) -> Job {
    Job::new(name, "* * * * *", move |ctx: JobContext| async move {
        let seen = |finished| Attempt {
            tick: ctx.tick(),
            node: ctx.node().to_owned(),
            attempt: ctx.attempt(),
            started: ctx.started_at(),
            finished,
        };
        log.lock().unwrap().push(seen(false));
        tokio::time::sleep(Duration::from_secs(30)).await;
        log.lock().unwrap().push(seen(true));
    })
    .delivery(Delivery::AtLeastOnce)
}

fn attempts_at(log: &Mutex<Vec<Attempt>>, tick: DateTime<Utc>) -> Vec<Attempt> {
    let log = log.lock().unwrap();
    log.iter()
        .filter(|seen| seen.tick == tick)
        .cloned()
        .collect()
}

async fn shut_down(nodes: Vec<Handle>) {
    for node in nodes {
        let _ = node.shutdown().await;
    }
}

static CATCH_UP_LOG: Mutex<Vec<Attempt>> = Mutex::new(Vec::new());
/// Caught up in order, one at a time; an abandoned attempt may be run again for 90 s.
static CATCH_UP: LazyLock<Job> = LazyLock::new(|| {
    thirty_second_job("late-digest", &CATCH_UP_LOG)
        .misfire(MisfirePolicy::FireAll)
        .overlap(OverlapPolicy::Queue)
        .rerun_window(Duration::from_secs(90))
});

/// Tick 00:02 is caught up at 00:04:0x, after two leaderless minutes, and its leader dies
/// mid-run. 90 s after the tick have long passed when the next leader could run it again, but
/// not 90 s after the catch-up began: it runs again, once.
#[tokio::test(start_paused = true)]
async fn a_late_catch_up_abandoned_mid_run_is_run_again_within_the_window_from_its_start() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let mut nodes = vec![start("a", &CATCH_UP, &cluster, &clock)];
    advance_to(&clock, at(0, 1, 40)).await;
    cluster.kill("a").unwrap();
    advance_to(&clock, at(0, 4, 0)).await;
    nodes.push(start("b", &CATCH_UP, &cluster, &clock));
    nodes.push(start("c", &CATCH_UP, &cluster, &clock));
    advance_to(&clock, at(0, 4, 20)).await;
    let caught_up = attempts_at(&CATCH_UP_LOG, at(0, 2, 0));
    assert!(
        matches!(caught_up.as_slice(), [first] if first.node == "b" && first.started >= at(0, 4, 0)),
        "00:02 was not caught up by b: {caught_up:?}"
    );
    cluster.kill("b").unwrap();
    advance_to(&clock, at(0, 5, 30)).await;
    let attempts: Vec<_> = attempts_at(&CATCH_UP_LOG, at(0, 2, 0))
        .into_iter()
        .map(|seen| (seen.node, seen.attempt, seen.finished))
        .collect();
    assert_eq!(
        attempts,
        [
            ("b".to_owned(), 1, false),
            ("c".to_owned(), 2, false),
            ("c".to_owned(), 2, true),
        ]
    );
    shut_down(nodes).await;
}

static REGAINED_LOG: Mutex<Vec<Attempt>> = Mutex::new(Vec::new());
static REGAINED: LazyLock<Job> = LazyLock::new(|| thirty_second_job("sync", &REGAINED_LOG));

/// b takes over from a dead a at 00:01:11 and plans the rerun of 00:01 for when a's attempt has
/// surely stopped, 00:01:26. It is frozen before then and c takes over; b resumes at 00:01:25
/// and takes the lock back (the in-process cluster's preferred leader). Its new term finds the
/// same attempt open: it runs it at 00:01:26, not a lease and a grace period after its new
/// term began (00:01:40).
#[tokio::test(start_paused = true)]
async fn a_node_that_regains_the_lock_does_not_wait_again_for_an_attempt_it_waited_for() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let nodes: Vec<Handle> = ["a", "b", "c"]
        .into_iter()
        .map(|id| start(id, &REGAINED, &cluster, &clock))
        .collect();
    advance_to(&clock, at(0, 1, 10)).await;
    assert_eq!(cluster.leader("sync").as_deref(), Some("a"));
    cluster.kill("a").unwrap();
    advance_to(&clock, at(0, 1, 12)).await;
    assert_eq!(cluster.leader("sync").as_deref(), Some("b"));
    cluster.pause("b").unwrap();
    advance_to(&clock, at(0, 1, 24)).await;
    assert_eq!(cluster.leader("sync").as_deref(), Some("c"));
    cluster.resume("b").unwrap();
    advance_to(&clock, at(0, 1, 59)).await;
    assert_eq!(cluster.leader("sync").as_deref(), Some("b"));
    let reruns: Vec<_> = attempts_at(&REGAINED_LOG, at(0, 1, 0))
        .into_iter()
        .filter(|seen| seen.attempt > 1 && !seen.finished)
        .collect();
    assert!(
        matches!(reruns.as_slice(), [rerun] if rerun.node == "b" && rerun.started < at(0, 1, 30)),
        "00:01 was not run again by b right away: {reruns:?}"
    );
    shut_down(nodes).await;
}
