//! Operators' commands from a follower, on the in-process backend: pause stops the leader's runs
//! from the next tick, also across a takeover, resume restarts them without catching up, and a
//! trigger runs once on the leader within about a second, marked manual.

use std::sync::{LazyLock, Mutex};

use chrono::{DateTime, Utc};
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::{Clock, TestClock};
use leader_jobs::{Error, Handle, Job, JobContext, Runtime};

use crate::support::{advance_to, at};

/// Every run: its tick, node and whether it was manual.
static RUNS: Mutex<Vec<(DateTime<Utc>, String, bool)>> = Mutex::new(Vec::new());
static JOB: LazyLock<Job> = LazyLock::new(|| {
    Job::new("report", "*/10 * * * * *", |ctx: JobContext| async move {
        let run = (ctx.tick(), ctx.node().to_owned(), ctx.is_manual());
        RUNS.lock().unwrap().push(run);
    })
});

fn start(id: &str, cluster: &MemoryCluster, clock: &TestClock) -> Handle {
    Runtime::builder()
        .node_id(id)
        .in_memory(cluster)
        .clock(clock.clone())
        .jobs([JOB.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap()
}

fn scheduled_ticks() -> Vec<DateTime<Utc>> {
    RUNS.lock()
        .unwrap()
        .iter()
        .filter(|(_, _, manual)| !manual)
        .map(|(tick, _, _)| *tick)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn pause_resume_and_trigger_from_a_follower_act_on_the_leader_and_survive_a_takeover() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let nodes = [
        start("a", &cluster, &clock),
        start("b", &cluster, &clock),
        start("c", &cluster, &clock),
    ];
    advance_to(&clock, at(0, 0, 25)).await;
    let leader = cluster.leader("report").unwrap();
    let followers: Vec<&Handle> = nodes.iter().filter(|n| n.node_id() != leader).collect();

    followers[0].pause("report").await.unwrap();
    advance_to(&clock, at(0, 0, 55)).await;
    assert_eq!(scheduled_ticks(), [at(0, 0, 10), at(0, 0, 20)]);
    let status = nodes
        .iter()
        .find(|n| n.node_id() == leader)
        .unwrap()
        .status();
    let job = status.job("report").unwrap();
    assert!(job.paused);
    assert_eq!(job.counts.paused, 3, "00:30, 00:40 and 00:50 skipped");

    // A trigger while paused waits; the leader dies; the next one keeps the pause.
    let request = followers[1].trigger("report").await.unwrap();
    cluster.kill(&leader).unwrap();
    advance_to(&clock, at(0, 1, 25)).await;
    assert_eq!(scheduled_ticks(), [at(0, 0, 10), at(0, 0, 20)]);
    let view = followers[0].cluster().await.unwrap();
    let job = view.job("report").unwrap();
    assert!(job.paused);
    assert_eq!(job.triggers, 1);
    let second = cluster.leader("report").unwrap();
    assert_ne!(second, leader);

    // Resumed: the waiting trigger runs at once, the schedule from the next tick, nothing caught
    // up.
    let resumed_at = clock.now();
    followers[0].resume("report").await.unwrap();
    advance_to(&clock, at(0, 1, 45)).await;
    assert_eq!(
        scheduled_ticks(),
        [at(0, 0, 10), at(0, 0, 20), at(0, 1, 30), at(0, 1, 40)]
    );
    let manual: Vec<_> = RUNS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, _, manual)| *manual)
        .cloned()
        .collect();
    assert_eq!(manual.len(), 1, "{manual:?}");
    assert_eq!(manual[0].1, second);
    assert!(manual[0].0 < resumed_at, "its tick is the trigger's time");

    // The same request again runs nothing; a new one runs within about a second.
    followers[1]
        .trigger_request("report", &request)
        .await
        .unwrap();
    let asked = clock.now();
    followers[1].trigger("report").await.unwrap();
    advance_to(&clock, at(0, 1, 48)).await;
    let manual: Vec<_> = RUNS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, _, manual)| *manual)
        .cloned()
        .collect();
    assert_eq!(manual.len(), 2, "{manual:?}");
    let history = followers[0].history("report", 20).await.unwrap();
    let latest_manual = history.iter().find(|run| run.manual).unwrap();
    assert!(latest_manual.tick >= asked);
    assert!(latest_manual.started.unwrap() - asked <= chrono::TimeDelta::milliseconds(1100));

    let unknown = followers[0].pause("reprot").await.unwrap_err();
    assert!(matches!(unknown, Error::Registry(_)));
    assert!(
        unknown.to_string().contains("known jobs: report"),
        "{unknown}"
    );
    for node in nodes {
        let _ = node.shutdown().await;
    }
}
