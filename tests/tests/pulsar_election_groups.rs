//! Election groups on a real broker: locks that share an election topic share its leader, move
//! together when it goes, and a node leaves the topic only when its last lock there resigns.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use leader_jobs::backend::{Backend, Election, Leadership};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::broker;

const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];

fn config(prefix: &str, groups: u16) -> PulsarConfig {
    let service_url = broker::require_broker();
    PulsarConfig::new(&service_url)
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .and_then(|c| c.topic_prefix(prefix))
        .unwrap()
        .election_groups(groups)
        .cold_start_window(Duration::ZERO)
}

fn unique(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    )
}

/// Per lock, the nodes whose view of it says they lead.
fn leaders(views: &[(usize, &str, Arc<dyn Election>)]) -> BTreeMap<usize, Vec<String>> {
    let mut leaders: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (lock, node, election) in views {
        let entry = leaders.entry(*lock).or_default();
        if *election.leadership().borrow() == Leadership::Leading {
            entry.push((*node).to_owned());
        }
    }
    leaders
}

/// Waits until every lock has exactly one leader among `views`, and returns them.
async fn one_leader_each(
    views: &[(usize, &str, Arc<dyn Election>)],
    limit: Duration,
) -> BTreeMap<usize, String> {
    leader_jobs_tests::wait::until_some("one leader per lock", limit, || async {
        let leaders = leaders(views);
        leaders.values().all(|nodes| nodes.len() == 1).then(|| {
            leaders
                .into_iter()
                .map(|(lock, mut nodes)| (lock, nodes.remove(0)))
                .collect()
        })
    })
    .await
}

/// The election topics under `prefix` that the broker holds.
fn election_topics(prefix: &str) -> BTreeSet<String> {
    let admin = broker::admin_url();
    let listing = leader_jobs_tests::http_agent(Duration::from_secs(10))
        .get(&format!(
            "{}/admin/v2/persistent/public/default",
            admin.trim_end_matches('/')
        ))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let listing: Vec<String> = serde_json::from_str(&listing).unwrap();
    listing
        .into_iter()
        .filter(|topic| topic.contains(&format!("/{prefix}.")) && !topic.ends_with(".ledger"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_of_one_group_share_a_leader_and_move_together() {
    leader_jobs_tests::bounded(async {
        const LOCKS: usize = 6;
        let prefix = unique("groups");
        let config = config(&prefix, 2);
        let locks: Vec<String> = (0..LOCKS).map(|lock| format!("lock-{lock}")).collect();
        let topic_of: Vec<String> = locks.iter().map(|l| config.election_topic(l)).collect();
        let groups: BTreeSet<&String> = topic_of.iter().collect();
        let backends: Vec<PulsarBackend> = NODES
            .iter()
            .map(|_| PulsarBackend::new(config.clone()).unwrap())
            .collect();
        let mut views = Vec::new();
        for (index, lock) in locks.iter().enumerate() {
            for (backend, node) in backends.iter().zip(NODES) {
                views.push((index, node, backend.election(lock, node).await.unwrap()));
            }
        }
        let leaders = one_leader_each(&views, Duration::from_secs(30)).await;
        for (a, b) in (0..LOCKS).flat_map(|a| (0..LOCKS).map(move |b| (a, b))) {
            if topic_of[a] == topic_of[b] {
                assert_eq!(leaders[&a], leaders[&b], "locks {a} and {b} share a topic");
            }
        }
        let on_broker = election_topics(&prefix);
        assert_eq!(
            on_broker,
            groups.iter().map(|topic| (*topic).clone()).collect(),
            "one election topic per group, none per lock"
        );

        // The leader of lock 0's group leaves: every lock of the group moves to one other node.
        let gone = NODES.iter().position(|n| *n == leaders[&0]).unwrap();
        backends[gone].close().await;
        let remaining: Vec<_> = views
            .into_iter()
            .filter(|(_, node, _)| *node != NODES[gone])
            .collect();
        let after = one_leader_each(&remaining, Duration::from_secs(30)).await;
        for lock in (0..LOCKS).filter(|lock| topic_of[*lock] == topic_of[0]) {
            assert_ne!(after[&lock], NODES[gone]);
            assert_eq!(after[&lock], after[&0], "lock {lock} moved with lock 0");
        }
        for (index, backend) in backends.iter().enumerate() {
            if index != gone {
                backend.close().await;
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_leaves_a_group_only_when_its_last_lock_resigns() {
    leader_jobs_tests::bounded(async {
        let prefix = unique("group-resign");
        let config = config(&prefix, 1);
        let (a, b) = (
            PulsarBackend::new(config.clone()).unwrap(),
            PulsarBackend::new(config).unwrap(),
        );
        let first = a.election("first", "node-a").await.unwrap();
        let second = a.election("second", "node-a").await.unwrap();
        let mut on_a = first.leadership();
        tokio::time::timeout(
            Duration::from_secs(20),
            on_a.wait_for(|l| *l == Leadership::Leading),
        )
        .await
        .expect("node-a leads the group")
        .unwrap();
        let b_first = b.election("first", "node-b").await.unwrap();
        let b_second = b.election("second", "node-b").await.unwrap();

        first.resign().await;
        // Long enough for the broker's failover delay, a heartbeat and the confirmation window.
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(*second.leadership().borrow(), Leadership::Leading);
        assert_eq!(*b_first.leadership().borrow(), Leadership::Following);

        second.resign().await;
        let mut on_b = b_second.leadership();
        tokio::time::timeout(
            Duration::from_secs(20),
            on_b.wait_for(|l| *l == Leadership::Leading),
        )
        .await
        .expect("node-b takes the group over once node-a left it")
        .unwrap();
        assert_eq!(*b_first.leadership().borrow(), Leadership::Leading);
        a.close().await;
        b.close().await;
    })
    .await;
}
