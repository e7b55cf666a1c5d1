//! Failover of leader-jobs on a real Pulsar broker, with nodes as separate OS processes: the
//! leader is killed, frozen and stopped gracefully while an external run log, written by the job
//! itself, proves that no tick ran twice and none was lost.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

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

/// Trials per test: `default` in the suite, `FAILOVER_TRIALS` when measuring.
fn trials(default: usize) -> usize {
    std::env::var("FAILOVER_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
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

/// A fault injected into the leader of [`LOCK`].
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// SIGKILL, then a restart under the same node id.
    Kill,
    /// SIGSTOP past the stall grace, then SIGCONT: the resumed node must be fenced.
    Freeze,
    /// SIGTERM (graceful shutdown), then a restart.
    Terminate,
}

/// Starts three nodes, injects `fault` into the leader `trials` times, prints the takeover
/// times, and checks the external run log.
async fn fault_trials(name: &str, fault: Fault, trials: usize) {
    let mut cluster = Cluster::new(NODE.as_ref(), name).expect("cluster");
    start_all(&mut cluster);
    let mut leader = first_leader(&cluster).0;
    let mut takeovers = Vec::new();
    for _ in 0..trials {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let injected_at = Utc::now();
        match fault {
            Fault::Kill => cluster.kill(&leader).expect("SIGKILL"),
            Fault::Freeze => cluster.freeze(&leader).expect("SIGSTOP"),
            Fault::Terminate => assert!(
                cluster
                    .terminate(&leader, Duration::from_secs(15))
                    .expect("SIGTERM"),
                "graceful shutdown failed"
            ),
        }
        let taken = cluster
            .wait_for_new_leader(LOCK, Some(&leader), injected_at, Duration::from_secs(30))
            .expect("events");
        match fault {
            Fault::Freeze => {
                // Keep it frozen a little past the takeover so its stale view meets a newer term.
                tokio::time::sleep(Duration::from_secs(2)).await;
                cluster.thaw(&leader).expect("SIGCONT");
            }
            Fault::Kill | Fault::Terminate => cluster.start(&leader).expect("restart"),
        }
        let (next, _, at) =
            taken.unwrap_or_else(|| panic!("nobody took over within 30 s of {fault:?}"));
        takeovers.push((at - injected_at).to_std().unwrap_or_default());
        // The restarted or resumed node may take the role back (same name, same place on the
        // hash ring): find out who leads before the next fault.
        tokio::time::sleep(Duration::from_secs(4)).await;
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
    summary(&format!("takeover after {fault:?}"), takeovers);
    assert_clean(&verdict(&cluster).await, &cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_and_no_tick_runs_twice() {
    fault_trials("sigkill", Fault::Kill, trials(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_is_replaced_within_the_grace_and_fenced_when_it_resumes() {
    fault_trials("sigstop", Fault::Freeze, trials(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_shuts_down_hands_over_at_once() {
    fault_trials("graceful", Fault::Terminate, trials(3)).await;
}
