//! leader-jobs on a Pulsar cluster (`cargo xtask pulsar cluster`: ZooKeeper, a bookie, three
//! brokers), with the faults a cluster adds to a standalone broker: the broker that owns a lock's
//! election or ledger topic killed or frozen, the topic's bundle unloaded (as the load balancer
//! does), and every broker restarted in turn. Three nodes run an every-second job, given every
//! broker's URL with the faulted one first, so each fault also takes away the broker they look
//! topics up through; after each fault some node must lead the lock again, and the external run
//! log must show no tick run twice and none lost.
//!
//! Ignored in the main run, which has no cluster: `cargo xtask test --cluster` starts the
//! cluster and runs them, one fault at a time, since they share it.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{JOB, LOCK, NODE, NODES, first_leader, start_all, verdict, wait_for_run};
use leader_jobs::PulsarConfig;
use leader_jobs_tests::cluster::{Cluster, unique_name};
use leader_jobs_tests::pulsar_cluster::PulsarCluster;
use tokio::sync::Mutex;

/// The faults share one cluster.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// How long a lock may go without a run after a fault before the test calls it leaderless: a
/// killed broker's topics move once its metadata session expires (the cluster's brokers use a
/// 6 s session, see the tooling's `broker-<i>.conf`), then the election's lease and the
/// ledger's catch-up follow.
const LEADERLESS_BOUND: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// SIGKILL of the broker that owns the lock's election topic, restarted 10 s later.
    KillElectionOwner,
    /// SIGKILL of the broker that owns the lock's ledger topic, restarted 10 s later.
    KillLedgerOwner,
    /// SIGSTOP of the election topic's owner for 10 s.
    FreezeElectionOwner,
    /// An admin unload of the election topic's bundle.
    UnloadElectionBundle,
    /// Every broker stopped gracefully and started again, one after another, the nodes' lookup
    /// broker first.
    RollingRestart,
}

async fn broker_fault(name: &str, fault: Fault) {
    let _one = ONE_AT_A_TIME.lock().await;
    log_checker_warnings();
    let pulsar = PulsarCluster::for_tests();
    pulsar.start().expect("the tests' Pulsar cluster");
    let unique = unique_name(name);
    let prefix = format!("t-{unique}");
    let config = PulsarConfig::new(&pulsar.broker(0).service)
        .and_then(|config| config.topic_prefix(&prefix))
        .expect("config");
    let topic = match fault {
        Fault::KillLedgerOwner => format!("persistent://public/default/{prefix}.{LOCK}.ledger"),
        _ => config.election_topic(LOCK),
    };
    // The lookup assigns the topic's bundle now. The nodes look topics up through its owner
    // first, so the fault takes their lookup broker away too.
    let owner = pulsar.owner(&topic, 0).expect("lookup");
    let brokers = pulsar.every_broker(owner);
    let dir = std::env::temp_dir().join("leader-jobs-tests").join(&unique);
    let mut cluster =
        Cluster::on_broker(NODE.as_ref(), &dir, &unique, brokers.clone()).expect("nodes");
    cluster.set_env("TEST_NODE_COLD_START_MS", "0");
    start_all(&mut cluster);
    let (leader, term) = first_leader(&cluster);
    wait_for_run(&cluster, &leader, term, Duration::from_secs(30)).await;
    let injected_at = Utc::now();
    println!(
        "{fault:?}: {topic} is on broker-{owner}; the nodes know {}",
        brokers.service
    );
    match fault {
        Fault::KillElectionOwner | Fault::KillLedgerOwner => {
            pulsar.kill(owner).expect("SIGKILL");
            tokio::time::sleep(Duration::from_secs(10)).await;
            pulsar.start().expect("restart the killed broker");
        }
        Fault::FreezeElectionOwner => {
            pulsar.freeze(owner).expect("SIGSTOP");
            tokio::time::sleep(Duration::from_secs(10)).await;
            pulsar.thaw(owner).expect("SIGCONT");
        }
        Fault::UnloadElectionBundle => pulsar.unload_bundle_of(&topic).expect("unload"),
        Fault::RollingRestart => {
            for offset in 0..pulsar.brokers() {
                let index = (owner + offset) % pulsar.brokers();
                let took = pulsar.restart(index).expect("restart");
                println!("broker-{index} restarted in {took:?}");
            }
        }
    }
    wait_for_run_after(&cluster, Utc::now(), LEADERLESS_BOUND).await;
    let gap = longest_gap(&cluster, injected_at);
    // Watched a while longer, so a second leader would show as a duplicate.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for node in NODES {
        cluster
            .terminate(node, Duration::from_secs(15))
            .expect("terminate");
    }
    println!("{fault:?}: longest stretch without a run from the fault on: {gap:?}");
    let verdict = verdict(&cluster).await;
    println!("runs per node: {:?}", verdict.runs_per_node);
    verdict.assert_clean(cluster.dir());
}

/// The checker's own client (it reads the ledger after each fault) logs its warnings and the
/// `pulsar` crate's into the test's captured output, shown when the test fails: a read that
/// keeps waiting on a topic names the topic and what the broker answered.
fn log_checker_warnings() {
    let filter =
        std::env::var("RUST_LOG").unwrap_or_else(|_| "leader_jobs=warn,pulsar=warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
}

/// Waits until some node starts a run of a tick after `after`.
async fn wait_for_run_after(cluster: &Cluster, after: DateTime<Utc>, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let started = cluster
            .runs()
            .expect("run log")
            .into_iter()
            .any(|run| run.event == "start" && run.job == JOB && run.tick > after);
        if started {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no node ran {JOB} within {limit:?} after the fault: the lock was left without a \
             leader (logs in {})",
            cluster.dir().display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The longest time between two consecutive run starts from the last one before `since` on:
/// for an every-second job, about how long the lock went without a leader.
fn longest_gap(cluster: &Cluster, since: DateTime<Utc>) -> Duration {
    let mut starts: Vec<DateTime<Utc>> = cluster
        .runs()
        .expect("run log")
        .into_iter()
        .filter(|run| run.event == "start" && run.job == JOB)
        .map(|run| run.at)
        .collect();
    starts.sort();
    let first = starts.partition_point(|at| *at < since).saturating_sub(1);
    starts[first..]
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).to_std().unwrap_or_default())
        .max()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Pulsar cluster: cargo xtask test --cluster"]
async fn the_election_topic_owner_killed() {
    broker_fault("cluster-kill-election", Fault::KillElectionOwner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Pulsar cluster: cargo xtask test --cluster"]
async fn the_ledger_topic_owner_killed() {
    broker_fault("cluster-kill-ledger", Fault::KillLedgerOwner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Pulsar cluster: cargo xtask test --cluster"]
async fn the_election_topic_owner_frozen() {
    broker_fault("cluster-freeze-election", Fault::FreezeElectionOwner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Pulsar cluster: cargo xtask test --cluster"]
async fn the_election_bundle_unloaded() {
    broker_fault("cluster-unload-election", Fault::UnloadElectionBundle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Pulsar cluster: cargo xtask test --cluster"]
async fn every_broker_restarted_in_turn() {
    broker_fault("cluster-rolling-restart", Fault::RollingRestart).await;
}
