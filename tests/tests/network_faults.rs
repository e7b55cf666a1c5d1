//! Network faults between the leader and the broker, with nodes as separate processes each in
//! a network namespace of its own (see `leader_jobs_tests::bridge`): a cut connection (the broker
//! sees it close) and a partition (held open, nothing passes). Either way another node takes
//! over, the cut-off leader stops within its lease, and the external run log shows no tick run
//! twice and none lost.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use common::{LOCK, NODE, NODES, assert_clean, first_leader, summary, verdict};
use leader_jobs_tests::bridge::{Bridge, Link};
use leader_jobs_tests::broker;
use leader_jobs_tests::cluster::Cluster;

fn host_port(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_owned()
}

/// The node that leads [`LOCK`] now, waiting up to 20 s for one to.
async fn current_leader(cluster: &Cluster) -> Option<String> {
    for _ in 0..200 {
        if let Some((node, _)) = cluster.leader(LOCK).expect("events") {
            return Some(node);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_or_partitioned_leader_is_replaced_and_fenced() {
    let service = broker::require_broker();
    let upstreams = [
        ("service", host_port(&service)),
        ("admin", host_port(&broker::admin_url())),
    ];
    let mut cluster = Cluster::new(NODE.as_ref(), "network").expect("cluster");
    // Unix socket paths must stay short (108 bytes): not under the cluster's directory.
    let root = std::env::temp_dir().join(format!("lj-bridge-{}", std::process::id()));
    let mut bridges = BTreeMap::new();
    for node in NODES {
        let bridge = Bridge::start(&root.join(node), &upstreams).expect("bridge");
        cluster
            .start_bridged(node, &bridge)
            .expect("start a node in its own network namespace (needs root or user namespaces)");
        bridges.insert(node, bridge);
    }
    let mut leader = first_leader(&cluster).0;
    let mut takeovers = Vec::new();
    for (fault, held) in [(Link::Cut, 8), (Link::Blackhole, 14)] {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let injected_at = Utc::now();
        bridges[leader.as_str()].set(fault);
        let taken = cluster
            .wait_for_new_leader(LOCK, Some(&leader), injected_at, Duration::from_secs(held))
            .expect("events");
        tokio::time::sleep(Duration::from_secs(2)).await;
        bridges[leader.as_str()].set(Link::Up);
        let (next, _, at) =
            taken.unwrap_or_else(|| panic!("nobody took over within {held} s of {fault:?}"));
        takeovers.push((fault, (at - injected_at).to_std().unwrap_or_default()));
        tokio::time::sleep(Duration::from_secs(6)).await;
        leader = current_leader(&cluster).await.unwrap_or(next);
    }
    for node in NODES {
        cluster
            .terminate(node, Duration::from_secs(15))
            .expect("terminate");
    }
    for (fault, took) in takeovers {
        summary(&format!("takeover after {fault:?}"), vec![took]);
    }
    assert_clean(&verdict(&cluster).await, &cluster);
    let _ = std::fs::remove_dir_all(root);
}
