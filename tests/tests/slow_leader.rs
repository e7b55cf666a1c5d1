//! A leader that is alive but slow, deposed by an unload of its election topic (what followers
//! do to a leader that stops acknowledging): it must start no run under its old term once the
//! new leader has begun a newer one. Its lease still holds then, since its own heartbeats keep
//! coming back, late; only the confirmation window keeps it from starting runs.
//!
//! The slow node runs in a network namespace of its own (`unshare`, needs root, as the fault
//! campaign does) and reaches the broker through a proxy that delays every byte.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{LOCK, NODE, first_leader, verdict, wait_for_run};
use leader_jobs_tests::chaos::proxy::{FaultProxy, LinkMode};
use leader_jobs_tests::cluster::{Cluster, Network};

/// Added to every byte each way: a round trip of 600 ms, within the confirmation window, so the
/// slow leader still runs its ticks until it is deposed.
const DELAY: Duration = Duration::from_millis(300);
/// Longer than the slow leader's lease, so every stale attempt it could make falls inside.
const STALE_WATCH: Duration = Duration::from_secs(5);

fn loopback(url: &str) -> SocketAddr {
    let port = url
        .rsplit(':')
        .next()
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"));
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Waits until `node` has started a run whose start time is after `after`.
async fn wait_for_run_after(cluster: &Cluster, node: &str, after: DateTime<Utc>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !cluster
        .runs()
        .expect("run log")
        .iter()
        .any(|r| r.event == "start" && r.node == node && r.at > after)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{node} started no run after {after} within 30 s (logs in {})",
            cluster.dir().display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn an_unloaded_slow_leader_starts_nothing_after_the_new_term() {
    let mut cluster = Cluster::new(NODE.as_ref(), "slow-leader").expect("cluster");
    cluster.set_env("TEST_NODE_COLD_START_MS", "0");
    let (service, admin) = (
        loopback(&cluster.broker().service),
        loopback(&cluster.broker().admin),
    );
    let sockets = [
        (cluster.dir().join("service.sock"), service),
        (cluster.dir().join("admin.sock"), admin),
    ];
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
    runtime.block_on(leader_jobs_tests::bounded(deposed_while_slow(
        &mut cluster,
        &proxy,
        routes,
    )));
}

async fn deposed_while_slow(cluster: &mut Cluster, proxy: &FaultProxy, routes: String) {
    cluster
        .start_on("node-a", &Network::Isolated { routes })
        .expect("start node-a");
    let (leader, term) = first_leader(cluster);
    assert_eq!(leader, "node-a", "node-a started alone");
    wait_for_run(cluster, "node-a", term, Duration::from_secs(30)).await;
    let joined = Utc::now();
    cluster.start("node-b").expect("start node-b");
    cluster.start("node-c").expect("start node-c");

    proxy.set(LinkMode::Delay(DELAY));
    let slowed = Utc::now();
    // Still leading, and running, through the slow link.
    wait_for_run_after(cluster, "node-a", slowed.max(joined)).await;

    let topic = format!(
        "{}/admin/v2/persistent/public/default/{}.{LOCK}.election/unload",
        cluster.broker().admin.trim_end_matches('/'),
        cluster.prefix()
    );
    let unloaded = Utc::now();
    ureq::put(&topic)
        .send_empty()
        .expect("unload the election topic");
    let (next, next_term, began) = cluster
        .wait_for_new_leader(LOCK, Some("node-a"), unloaded, Duration::from_secs(30))
        .expect("events")
        .unwrap_or_else(|| panic!("nobody took over within 30 s of the unload"));
    println!(
        "{next} began term {next_term} {:?} after the unload",
        (began - unloaded).to_std()
    );
    tokio::time::sleep(STALE_WATCH).await;
    proxy.set(LinkMode::Pass);
    for node in ["node-a", "node-b", "node-c"] {
        cluster
            .terminate(node, Duration::from_secs(15))
            .expect("terminate");
    }

    let stale: Vec<_> = cluster
        .runs()
        .expect("run log")
        .into_iter()
        .filter(|r| r.event == "start" && r.lock == LOCK && r.term < next_term && r.at >= began)
        .collect();
    assert!(
        stale.is_empty(),
        "runs started under a term below {next_term} after it began at {began}: {stale:?} (logs in {})",
        cluster.dir().display()
    );
    verdict(cluster).await.assert_clean(cluster.dir());
}
