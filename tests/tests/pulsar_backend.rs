//! The Pulsar backend's election and ledger on a real broker, driven through the backend traits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "test code"
)]

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use leader_jobs::backend::{Backend, Claim, ClaimVerdict, Leadership};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::broker;

fn backend() -> PulsarBackend {
    let service_url = broker::require_broker();
    let config = PulsarConfig::new(&service_url)
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .unwrap();
    PulsarBackend::new(config).unwrap()
}

fn unique(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    )
}

async fn wait_for(
    rx: &mut tokio::sync::watch::Receiver<Leadership>,
    want: Leadership,
    limit: Duration,
) -> bool {
    tokio::time::timeout(limit, rx.wait_for(|l| *l == want))
        .await
        .is_ok_and(|r| r.is_ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_two_nodes_leads_and_the_other_takes_over_on_resign() {
    leader_jobs_tests::bounded(async {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("leader_jobs=debug")
            .try_init();
        let lock = unique("handoff");
        let (a, b) = (backend(), backend());
        let ea = a.election(&lock, "node-a").await.unwrap();
        let eb = b.election(&lock, "node-b").await.unwrap();
        let (mut ra, mut rb) = (ea.leadership(), eb.leadership());
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if *ra.borrow() == Leadership::Leading || *rb.borrow() == Leadership::Leading {
                    break;
                }
                tokio::select! { _ = ra.changed() => {}, _ = rb.changed() => {} }
            }
        })
        .await
        .expect("no node became leader within 20 s");
        println!("first leader after {:?}", started.elapsed());
        // Let heartbeats settle, then both views must agree on one leader.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (la, lb) = (*ra.borrow(), *rb.borrow());
        assert!(
            la != lb,
            "exactly one leader expected, got a={la:?} b={lb:?}"
        );
        let (leader, mut follower_rx) = if la == Leadership::Leading {
            (ea, rb)
        } else {
            (eb, ra)
        };
        let resigned = Instant::now();
        leader.resign().await;
        assert!(
            wait_for(
                &mut follower_rx,
                Leadership::Leading,
                Duration::from_secs(10)
            )
            .await,
            "the follower did not take over within 10 s of the graceful resign"
        );
        println!("takeover after graceful resign: {:?}", resigned.elapsed());
        a.close().await;
        b.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_fences_stale_terms_and_repeated_claims() {
    leader_jobs_tests::bounded(async {
        let lock = unique("ledger");
        let (a, b) = (backend(), backend());
        let la = a.ledger(&lock, "node-a").await.unwrap();
        let lb = b.ledger(&lock, "node-b").await.unwrap();
        let tick = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
        let claim = |term, node: &str, minute| Claim {
            job: "job".into(),
            tick: tick + chrono::Duration::minutes(minute),
            term,
            node: node.into(),
        };

        let ta = la.begin_term("node-a").await.unwrap();
        assert_eq!(ta.term, 1);
        assert_eq!(
            la.claim(&claim(1, "node-a", 0)).await.unwrap(),
            ClaimVerdict::Won
        );
        assert!(matches!(
            la.claim(&claim(1, "node-a", 0)).await.unwrap(),
            ClaimVerdict::Lost { .. }
        ));

        let tb = lb.begin_term("node-b").await.unwrap();
        assert_eq!(tb.term, 2);
        assert_eq!(tb.history.last_claimed.get("job"), Some(&tick));
        assert_eq!(
            tb.history.abandoned.len(),
            1,
            "the claim without outcome is reported abandoned"
        );

        let stale = la.claim(&claim(1, "node-a", 1)).await.unwrap();
        assert_eq!(
            stale,
            ClaimVerdict::Lost {
                winner: None,
                highest_term: 2
            }
        );
        assert_eq!(
            lb.claim(&claim(2, "node-b", 1)).await.unwrap(),
            ClaimVerdict::Won
        );
        a.close().await;
        b.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_locks_are_spread_over_the_nodes_with_one_leader_each() {
    leader_jobs_tests::bounded(async {
        const LOCKS: usize = 12;
        let prefix = unique("spread");
        let nodes = ["node-a", "node-b", "node-c"];
        let backends: Vec<PulsarBackend> = nodes.iter().map(|_| backend()).collect();
        let mut views = Vec::new();
        for lock in 0..LOCKS {
            for (backend, node) in backends.iter().zip(nodes) {
                let election = backend
                    .election(&format!("{prefix}-{lock}"), node)
                    .await
                    .unwrap();
                views.push((lock, node, election));
            }
        }
        // Joining takes the role over on the hash ring; give the moves time to settle.
        tokio::time::sleep(Duration::from_secs(8)).await;
        let mut leaders_per_lock = vec![Vec::new(); LOCKS];
        for (lock, node, election) in &views {
            if *election.leadership().borrow() == Leadership::Leading {
                leaders_per_lock[*lock].push(*node);
            }
        }
        println!("leaders per lock: {leaders_per_lock:?}");
        for (lock, leaders) in leaders_per_lock.iter().enumerate() {
            assert_eq!(leaders.len(), 1, "lock {lock} has leaders {leaders:?}");
        }
        let distinct: std::collections::BTreeSet<&str> =
            leaders_per_lock.iter().flatten().copied().collect();
        assert!(
            distinct.len() >= 2,
            "all {LOCKS} locks landed on {distinct:?}: no spreading"
        );
        for backend in &backends {
            backend.close().await;
        }
    })
    .await;
}
