//! Failover of leader-jobs on a real Pulsar broker, with nodes as separate OS processes: the
//! leader is killed, frozen and stopped gracefully while an external run log, written by the job
//! itself, proves that no tick ran twice and none was lost.
#![allow(clippy::expect_used, clippy::print_stdout, reason = "test code")]

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leader_jobs::backend::Backend;
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::broker;
use leader_jobs_tests::cluster::Cluster;
use leader_jobs_tests::run_log::{self, Verdict};

const NODE: &str = env!("CARGO_BIN_EXE_test-node");
const LOCK: &str = "every-second";
const JOB: &str = "every_second";
const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];

/// Claims the ledger holds without an outcome: runs a killed leader had claimed. They may be
/// missing from the run log (killed between claim and start) but are reported, not silent.
async fn abandoned_ticks(cluster: &Cluster, lock: &str) -> BTreeSet<(String, DateTime<Utc>)> {
    let config = PulsarConfig::new(&broker::service_url())
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .and_then(|c| c.topic_prefix(cluster.prefix()))
        .expect("config");
    let backend = PulsarBackend::new(config).expect("backend");
    let ledger = backend.ledger(lock, "checker").await.expect("ledger");
    let start = ledger.begin_term("checker").await.expect("read the ledger");
    backend.close().await;
    start
        .history
        .abandoned
        .into_iter()
        .map(|c| (c.job, c.tick))
        .collect()
}

/// Judges the run log: every second between the first and the last run must have a run, unless
/// the ledger reports it abandoned.
async fn verdict(cluster: &Cluster) -> Verdict {
    let runs = cluster.runs().expect("run log");
    let abandoned = abandoned_ticks(cluster, LOCK).await;
    let ticks: Vec<DateTime<Utc>> = runs
        .iter()
        .filter(|r| r.job == JOB && r.event == "start")
        .map(|r| r.tick)
        .collect();
    let (first, last) = (ticks.iter().min().copied(), ticks.iter().max().copied());
    run_log::check(&runs, |job| {
        let (Some(first), Some(last)) = (first, last) else {
            return Vec::new();
        };
        if job != JOB {
            return Vec::new();
        }
        let seconds = (last - first).num_seconds();
        (0..=seconds)
            .map(|s| first + chrono::Duration::seconds(s))
            .filter(|tick| !abandoned.contains(&(JOB.to_owned(), *tick)))
            .collect()
    })
}

fn start_all(cluster: &mut Cluster) {
    for node in NODES {
        cluster.start(node).expect("start node");
    }
}

fn first_leader(cluster: &Cluster) -> (String, u64) {
    let (node, term, _) = cluster
        .wait_for_new_leader(
            LOCK,
            None,
            DateTime::<Utc>::MIN_UTC,
            Duration::from_secs(30),
        )
        .expect("events")
        .expect("no node led within 30 s");
    (node, term)
}

fn assert_clean(verdict: &Verdict, cluster: &Cluster) {
    println!("runs per node: {:?}", verdict.runs_per_node);
    assert!(
        verdict.duplicates.is_empty(),
        "ticks ran twice: {:?} (logs in {})",
        verdict.duplicates,
        cluster.dir().display()
    );
    assert!(
        verdict.stale_terms.is_empty(),
        "runs under stale terms: {:?} (logs in {})",
        verdict.stale_terms,
        cluster.dir().display()
    );
    assert!(
        verdict.lost.is_empty(),
        "ticks lost: {:?} (logs in {})",
        verdict.lost,
        cluster.dir().display()
    );
}

fn summary(name: &str, mut takeovers: Vec<Duration>) {
    takeovers.sort();
    let p50 = takeovers[takeovers.len() / 2];
    let max = takeovers[takeovers.len() - 1];
    println!(
        "{name}: {} trials, p50 {p50:?}, max {max:?}, all {takeovers:?}",
        takeovers.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_and_no_tick_runs_twice() {
    let mut cluster = Cluster::new(NODE.as_ref(), "sigkill").expect("cluster");
    start_all(&mut cluster);
    let mut leader = first_leader(&cluster).0;
    let mut takeovers = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let killed_at = Utc::now();
        cluster.kill(&leader).expect("kill");
        let (next, _, at) = cluster
            .wait_for_new_leader(LOCK, Some(&leader), killed_at, Duration::from_secs(20))
            .expect("events")
            .expect("nobody took over within 20 s of SIGKILL");
        takeovers.push((at - killed_at).to_std().unwrap_or_default());
        cluster.start(&leader).expect("restart");
        leader = next;
        // The restarted node may take the role back (same name, same place on the hash ring).
        tokio::time::sleep(Duration::from_secs(3)).await;
        leader = cluster
            .leader(LOCK)
            .expect("events")
            .map_or(leader, |(node, _)| node);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for node in NODES {
        cluster
            .terminate(node, Duration::from_secs(15))
            .expect("terminate");
    }
    summary("takeover after SIGKILL", takeovers);
    assert_clean(&verdict(&cluster).await, &cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_is_replaced_within_the_grace_and_fenced_when_it_resumes() {
    let mut cluster = Cluster::new(NODE.as_ref(), "sigstop").expect("cluster");
    start_all(&mut cluster);
    let mut leader = first_leader(&cluster).0;
    let mut takeovers = Vec::new();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let frozen_at = Utc::now();
        cluster.freeze(&leader).expect("SIGSTOP");
        let taken = cluster
            .wait_for_new_leader(LOCK, Some(&leader), frozen_at, Duration::from_secs(30))
            .expect("events");
        // Keep it frozen a little past the takeover so its stale view meets a newer term.
        tokio::time::sleep(Duration::from_secs(2)).await;
        cluster.thaw(&leader).expect("SIGCONT");
        let (next, _, at) = taken.expect("nobody took over within 30 s of SIGSTOP");
        takeovers.push((at - frozen_at).to_std().unwrap_or_default());
        tokio::time::sleep(Duration::from_secs(5)).await;
        leader = cluster
            .leader(LOCK)
            .expect("events")
            .map_or(next, |(node, _)| node);
    }
    for node in NODES {
        cluster
            .terminate(node, Duration::from_secs(15))
            .expect("terminate");
    }
    summary("takeover after SIGSTOP", takeovers);
    assert_clean(&verdict(&cluster).await, &cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_shuts_down_hands_over_at_once() {
    let mut cluster = Cluster::new(NODE.as_ref(), "graceful").expect("cluster");
    start_all(&mut cluster);
    let mut leader = first_leader(&cluster).0;
    let mut takeovers = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let stopped_at = Utc::now();
        assert!(
            cluster
                .terminate(&leader, Duration::from_secs(15))
                .expect("SIGTERM"),
            "graceful shutdown failed"
        );
        let (next, _, at) = cluster
            .wait_for_new_leader(LOCK, Some(&leader), stopped_at, Duration::from_secs(20))
            .expect("events")
            .expect("nobody took over within 20 s of a graceful shutdown");
        takeovers.push((at - stopped_at).to_std().unwrap_or_default());
        cluster.start(&leader).expect("restart");
        tokio::time::sleep(Duration::from_secs(3)).await;
        leader = cluster
            .leader(LOCK)
            .expect("events")
            .map_or(next, |(node, _)| node);
    }
    for node in NODES {
        cluster
            .terminate(node, Duration::from_secs(15))
            .expect("terminate");
    }
    summary("takeover after graceful shutdown", takeovers);
    assert_clean(&verdict(&cluster).await, &cluster);
}
