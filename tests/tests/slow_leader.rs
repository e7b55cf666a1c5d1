//! Leaders that are alive but slow, deposed by unloads of their election topic (what followers
//! do to a leader that stops acknowledging): no run may start under a term lower than one another
//! node has already begun. A deposed leader's lease still holds for a while, since its own
//! heartbeats keep coming back, late; only the confirmation window keeps it from starting runs.
//!
//! Every node runs in a network namespace of its own (`unshare`, needs root, as the fault
//! campaign does) and reaches the broker through a proxy that delays every byte. One round
//! catches a stale start only when the new term lands between a claim of the old leader and its
//! verdict, about one one-way delay in every second, so the test makes several rounds.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{LOCK, NODE, NODES, first_leader, verdict};
use leader_jobs_tests::chaos::proxy::{FaultProxy, LinkMode};
use leader_jobs_tests::cluster::{Cluster, Network};
use leader_jobs_tests::run_log::RunEvent;

/// Added to every byte each way: a round trip of 600 ms, within the confirmation window, so a
/// slow leader still runs its ticks until it is deposed.
const DELAY: Duration = Duration::from_millis(300);
/// Unloads, each deposing whoever leads then.
const ROUNDS: usize = 6;
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
    let targets = [
        loopback(&cluster.broker().service),
        loopback(&cluster.broker().admin),
    ];
    // The proxies own runtimes, which may only be dropped outside of one: they live out here.
    let mut proxies = Vec::new();
    let mut networks = Vec::new();
    for node in NODES {
        let sockets: Vec<_> = targets
            .iter()
            .map(|addr| {
                (
                    cluster.dir().join(format!("{node}-{}.sock", addr.port())),
                    *addr,
                )
            })
            .collect();
        proxies.push(FaultProxy::start(&sockets).expect("fault proxy"));
        let routes = sockets
            .iter()
            .map(|(socket, addr)| format!("{addr}={}", socket.display()))
            .collect::<Vec<_>>()
            .join(",");
        networks.push(Network::Isolated { routes });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(leader_jobs_tests::bounded(depose_slow_leaders(
        &mut cluster,
        &proxies,
        &networks,
    )));
}

async fn depose_slow_leaders(cluster: &mut Cluster, proxies: &[FaultProxy], networks: &[Network]) {
    for (node, network) in NODES.iter().zip(networks) {
        cluster.start_on(node, network).expect("start node");
    }
    let (_, first_term) = first_leader(cluster);
    for proxy in proxies {
        proxy.set(LinkMode::Delay(DELAY));
    }
    let unload = format!(
        "{}/admin/v2/persistent/public/default/{}.{LOCK}.election/unload",
        cluster.broker().admin.trim_end_matches('/'),
        cluster.prefix()
    );
    // The leader runs its ticks through the slow link before it is deposed.
    let mut leading = wait_for_run_above(cluster, first_term - 1).await;
    for round in 0..ROUNDS {
        let unloaded = chrono::Utc::now();
        ureq::put(&unload)
            .send_empty()
            .expect("unload the election topic");
        let next = wait_for_run_above(cluster, leading.term).await;
        println!(
            "round {round}: {} (term {}) unloaded; {} ran under term {} {:?} later",
            leading.node,
            leading.term,
            next.node,
            next.term,
            (next.at - unloaded).to_std()
        );
        leading = next;
    }
    // Watch past the last deposed leader's lease, so whatever it could still start is logged.
    tokio::time::sleep(LEASE_WATCH).await;
    for proxy in proxies {
        proxy.set(LinkMode::Pass);
    }
    for node in NODES {
        cluster
            .terminate(node, Duration::from_secs(15))
            .expect("terminate");
    }

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
    verdict(cluster).await.assert_clean(cluster.dir());
}
