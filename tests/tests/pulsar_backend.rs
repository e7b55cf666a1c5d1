//! The Pulsar backend's election and ledger on a real broker, driven through the backend traits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "test code"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use leader_jobs::backend::{Backend, Claim, ClaimVerdict, Election, Leadership};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::broker;

fn config() -> PulsarConfig {
    let service_url = broker::require_broker();
    PulsarConfig::new(&service_url)
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .unwrap()
}

fn backend() -> PulsarBackend {
    PulsarBackend::new(config()).unwrap()
}

/// A node past its cold-start window from the start: a leader it elects moves to the leader's
/// priority level at once, as in a cluster that has been running for a while.
fn settled_backend() -> PulsarBackend {
    PulsarBackend::new(config().cold_start_window(Duration::ZERO)).unwrap()
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

/// Waits until `done` holds for the leadership views, re-checking whenever one changes; false
/// after `limit`.
async fn wait_until(
    views: &[Arc<dyn Election>],
    limit: Duration,
    done: impl Fn(&[Leadership]) -> bool,
) -> bool {
    let mut watches: Vec<_> = views.iter().map(|e| e.leadership()).collect();
    tokio::time::timeout(limit, async {
        loop {
            let now: Vec<Leadership> = watches.iter().map(|w| *w.borrow()).collect();
            if done(&now) {
                return;
            }
            let changes = watches.iter_mut().map(|w| Box::pin(w.changed()));
            let _ = futures::future::select_all(changes).await;
        }
    })
    .await
    .is_ok()
}

/// Fails if any of `views` reports leadership during `window`.
async fn assert_none_leads_for(views: &[Arc<dyn Election>], window: Duration, who: &str) {
    let gained = wait_until(views, window, |now| now.contains(&Leadership::Leading)).await;
    assert!(!gained, "{who} took a lock over from a live leader");
}

fn all_leading(now: &[Leadership]) -> bool {
    now.iter().all(|l| *l == Leadership::Leading)
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
        let started = Instant::now();
        let views = [Arc::clone(&ea), Arc::clone(&eb)];
        // Two nodes started together may pass the role between them on the hash ring, and the
        // one that lost it leads until its lease runs out: wait for one leader.
        assert!(
            wait_until(&views, Duration::from_secs(20), |now| {
                now.iter().filter(|l| **l == Leadership::Leading).count() == 1
            })
            .await,
            "no single leader within 20 s"
        );
        println!("first leader after {:?}", started.elapsed());
        let (ra, rb) = (ea.leadership(), eb.leadership());
        let la = *ra.borrow();
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

        let ta = la.begin_term("node-a", chrono::Utc::now()).await.unwrap();
        assert_eq!(ta.term, 1);
        assert_eq!(
            la.claim(&claim(1, "node-a", 0)).await.unwrap(),
            ClaimVerdict::Won
        );
        assert!(matches!(
            la.claim(&claim(1, "node-a", 0)).await.unwrap(),
            ClaimVerdict::Lost { .. }
        ));

        let tb = lb.begin_term("node-b", chrono::Utc::now()).await.unwrap();
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
        // Within their cold-start window, joining nodes take locks over on the hash ring;
        // a node that lost one leads until its lease runs out. Wait for one leader per lock.
        let elections: Vec<Arc<dyn Election>> =
            views.iter().map(|(_, _, e)| Arc::clone(e)).collect();
        let one_each = |now: &[Leadership]| {
            now.chunks(nodes.len())
                .all(|lock| lock.iter().filter(|l| **l == Leadership::Leading).count() == 1)
        };
        assert!(
            wait_until(&elections, Duration::from_secs(30), one_each).await,
            "some lock had no leader, or two, for 30 s"
        );
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

/// Joins every lock of `locks` as `node`.
async fn join(backend: &PulsarBackend, locks: &[String], node: &str) -> Vec<Arc<dyn Election>> {
    let mut views = Vec::new();
    for lock in locks {
        views.push(backend.election(lock, node).await.unwrap());
    }
    views
}

/// Long enough for a join to have moved the role if it could: the broker's failover delay
/// (1 s), a heartbeat interval and the confirmation window, twice over.
const NO_PREEMPTION_WINDOW: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_joins_or_rejoins_a_led_lock_stays_a_follower() {
    leader_jobs_tests::bounded(async {
        // Eight locks: on each, the hash ring alone prefers one of two names, so without
        // priority levels about half would move to the joiner (all stay with 1 chance in 256).
        const LOCKS: usize = 8;
        let prefix = unique("rejoin");
        let locks: Vec<String> = (0..LOCKS).map(|i| format!("{prefix}-{i}")).collect();
        let a = settled_backend();
        let views_a = join(&a, &locks, "node-a").await;
        assert!(
            wait_until(&views_a, Duration::from_secs(20), all_leading).await,
            "node-a, alone, did not lead every lock within 20 s"
        );
        let b = settled_backend();
        let views_b = join(&b, &locks, "node-b").await;
        assert_none_leads_for(&views_b, NO_PREEMPTION_WINDOW, "node-b, joining,").await;
        assert!(
            views_a.iter().all(|e| e.leading_now()),
            "node-a lost a lock while node-b joined"
        );

        // node-a goes away and comes back under the same name, with the same place on the
        // hash ring: node-b took over and keeps every lock.
        a.close().await;
        assert!(
            wait_until(&views_b, Duration::from_secs(20), all_leading).await,
            "node-b did not take every lock over within 20 s of node-a leaving"
        );
        let restarted = settled_backend();
        let views_restarted = join(&restarted, &locks, "node-a").await;
        assert_none_leads_for(&views_restarted, NO_PREEMPTION_WINDOW, "node-a, restarted,").await;
        assert!(
            views_b.iter().all(|e| e.leading_now()),
            "node-b lost a lock while node-a rejoined"
        );
        restarted.close().await;
        b.close().await;
    })
    .await;
}
