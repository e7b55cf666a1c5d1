//! Leaders that are alive but slow, deposed by unloads of their election topic (what followers
//! do to a leader that stops acknowledging): no run may start under a term lower than one another
//! node has already begun. A deposed leader's lease still holds for a while, since its own
//! heartbeats keep coming back, late; only the confirmation window keeps it from starting runs.
//!
//! The slow node runs in a network namespace of its own (`unshare`, needs root, as the fault
//! campaign does) and reaches the broker through a proxy that delays every byte; the others are
//! fast, so one of them begins a newer term while the slow one's lease still holds. One round
//! catches a stale start only when that term lands between a claim of the slow leader and its
//! verdict, about one one-way delay in every second, so the test makes several rounds, each
//! making the slow node the leader again.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{LOCK, NODE, verdict};
use leader_jobs_tests::chaos::proxy::{FaultProxy, LinkMode};
use leader_jobs_tests::cluster::{Cluster, Network};
use leader_jobs_tests::run_log::RunEvent;

/// Added to every byte each way: a round trip of 600 ms, within the confirmation window, so the
/// slow leader still runs its ticks until it is deposed.
const DELAY: Duration = Duration::from_millis(300);
/// Unloads, each deposing the slow node.
const ROUNDS: usize = 5;
/// Longer than a lease (3 s).
const LEASE_WATCH: Duration = Duration::from_secs(4);

fn loopback(url: &str) -> SocketAddr {
    let port = url
        .rsplit(':')
        .next()
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"));
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Waits up to a minute for a run of [`LOCK`] under a term above `term`, and returns the first.
async fn wait_for_run_above(cluster: &Cluster, term: u64) -> RunEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let runs = cluster.runs().expect("run log");
        if let Some(run) = runs
            .into_iter()
            .find(|r| r.event == "start" && r.lock == LOCK && r.term > term)
        {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no run under a term above {term} within 60 s (logs in {})",
            cluster.dir().display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn deposed_slow_leaders_start_nothing_after_a_newer_term_began() {
    let mut cluster = Cluster::new(NODE.as_ref(), "slow-leader").expect("cluster");
    cluster.set_env("TEST_NODE_COLD_START_MS", "0");
    let sockets: Vec<_> = [&cluster.broker().service, &cluster.broker().admin]
        .into_iter()
        .map(|url| {
            let addr = loopback(url);
            (cluster.dir().join(format!("{}.sock", addr.port())), addr)
        })
        .collect();
    // The proxy owns a runtime, which may only be dropped outside of one: it lives out here.
    let proxy = FaultProxy::start(&sockets).expect("fault proxy");
    let routes = sockets
        .iter()
        .map(|(socket, addr)| format!("{addr}={}", socket.display()))
        .collect::<Vec<_>>()
        .join(",");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(leader_jobs_tests::bounded(depose_slow_leader(
        &mut cluster,
        &proxy,
        &Network::Isolated { routes },
    )));
}

async fn depose_slow_leader(cluster: &mut Cluster, proxy: &FaultProxy, slow: &Network) {
    const SLOW: &str = "node-a";
    const FAST: [&str; 2] = ["node-b", "node-c"];
    cluster.start_on(SLOW, slow).expect("start the slow node");
    proxy.set(LinkMode::Delay(DELAY));
    let unload = format!(
        "{}/admin/v2/persistent/public/default/{}.{LOCK}.election/unload",
        cluster.broker().admin.trim_end_matches('/'),
        cluster.prefix()
    );
    let mut term = 0;
    for round in 0..ROUNDS {
        // The slow node leads alone, then the fast ones join as followers.
        let leading = wait_for_run_above(cluster, term).await;
        assert_eq!(leading.node, SLOW, "round {round}: only the slow node runs");
        for node in FAST {
            cluster.start(node).expect("start a fast node");
        }
        let joined = chrono::Utc::now();
        wait_for_run_after(cluster, SLOW, joined + chrono::Duration::seconds(2)).await;
        let unloaded = chrono::Utc::now();
        ureq::put(&unload)
            .send_empty()
            .expect("unload the election topic");
        let next = wait_for_run_above(cluster, leading.term).await;
        println!(
            "round {round}: {SLOW} (term {}) unloaded; {} ran under term {} {:?} later",
            leading.term,
            next.node,
            next.term,
            (next.at - unloaded).to_std()
        );
        // Watch past the slow leader's lease, so whatever it could still start is logged.
        tokio::time::sleep(LEASE_WATCH).await;
        for node in FAST {
            assert!(
                cluster
                    .terminate(node, Duration::from_secs(15))
                    .expect("terminate"),
                "{node} did not shut down"
            );
        }
        term = cluster
            .runs()
            .expect("run log")
            .iter()
            .map(|r| r.term)
            .max()
            .unwrap_or(term);
    }
    proxy.set(LinkMode::Pass);
    cluster
        .terminate(SLOW, Duration::from_secs(15))
        .expect("terminate");
    assert_no_stale_start(cluster);
    verdict(cluster).await.assert_clean(cluster.dir());
}

/// Waits up to a minute until `node` has started a run after `after`.
async fn wait_for_run_after(cluster: &Cluster, node: &str, after: chrono::DateTime<chrono::Utc>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !cluster
        .runs()
        .expect("run log")
        .iter()
        .any(|r| r.event == "start" && r.node == node && r.at > after)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{node} started no run after {after} within 60 s (logs in {})",
            cluster.dir().display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fails if a run started under a term lower than one some node had already reported beginning.
fn assert_no_stale_start(cluster: &Cluster) {
    let events = cluster.events().expect("events");
    let stale: Vec<RunEvent> = cluster
        .runs()
        .expect("run log")
        .into_iter()
        .filter(|run| {
            run.event == "start"
                && run.lock == LOCK
                && events.iter().any(|e| {
                    e.lock == LOCK && e.term.is_some_and(|t| t > run.term) && e.at <= run.at
                })
        })
        .collect();
    assert!(
        stale.is_empty(),
        "runs started under a term lower than one already begun: {stale:?} (logs in {})",
        cluster.dir().display()
    );
}
