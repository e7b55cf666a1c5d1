use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use tokio::sync::watch;

use super::{MemoryCluster, MemoryClusterError, Timing};
use crate::backend::{Backend, Claim, ClaimVerdict, Leadership, Ledger};

const LOCK: &str = "reports";
const TIMING: Timing = Timing {
    lease: Duration::from_secs(5),
    failover_delay: Duration::from_secs(1),
};

async fn join(
    cluster: &MemoryCluster,
    node: &str,
) -> (watch::Receiver<Leadership>, Arc<dyn Ledger>) {
    let election = cluster.election(LOCK, node).await.unwrap();
    let ledger = cluster.ledger(LOCK, node).await.unwrap();
    (election.leadership(), ledger)
}

fn claim(node: &str, term: u64, second: u32) -> Claim {
    Claim {
        job: "digest".to_owned(),
        tick: Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, second).unwrap(),
        term,
        node: node.to_owned(),
    }
}

#[tokio::test(start_paused = true)]
async fn the_first_node_leads_and_the_next_takes_over_when_it_is_killed() {
    let cluster = MemoryCluster::new();
    let (a, _) = join(&cluster, "a").await;
    let (mut b, _) = join(&cluster, "b").await;
    assert_eq!(*a.borrow(), Leadership::Leading);
    assert_eq!(*b.borrow_and_update(), Leadership::Following);

    let killed = tokio::time::Instant::now();
    cluster.kill("a").unwrap();
    assert_eq!(*a.borrow(), Leadership::Following);
    assert_eq!(cluster.leader(LOCK), None);
    b.changed().await.unwrap();
    assert_eq!(killed.elapsed(), Timing::default().failover_delay);
    assert_eq!(*b.borrow(), Leadership::Leading);
    assert_eq!(cluster.leader(LOCK).as_deref(), Some("b"));
}

#[tokio::test(start_paused = true)]
async fn a_paused_leader_keeps_its_view_and_is_fenced_after_the_lease() {
    let cluster = MemoryCluster::with_timing(TIMING);
    let (a, ledger_a) = join(&cluster, "a").await;
    let (b, ledger_b) = join(&cluster, "b").await;
    let term_a = ledger_a
        .begin_term("a", chrono::Utc::now())
        .await
        .unwrap()
        .term;

    cluster.pause("a").unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(cluster.leader(LOCK).as_deref(), Some("a"));
    assert_eq!(
        ledger_a.claim(&claim("a", term_a, 0)).await.unwrap(),
        ClaimVerdict::Won
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(cluster.leader(LOCK).as_deref(), Some("b"));
    assert_eq!(*b.borrow(), Leadership::Leading);
    assert_eq!(
        *a.borrow(),
        Leadership::Leading,
        "a paused node's view is frozen"
    );

    let start_b = ledger_b.begin_term("b", chrono::Utc::now()).await.unwrap();
    assert_eq!(start_b.term, term_a + 1);
    assert_eq!(start_b.history.abandoned, vec![claim("a", term_a, 0)]);
    assert_eq!(
        ledger_a.claim(&claim("a", term_a, 1)).await.unwrap(),
        ClaimVerdict::Lost {
            winner: None,
            highest_term: start_b.term
        }
    );
    assert_eq!(
        ledger_b.claim(&claim("b", start_b.term, 1)).await.unwrap(),
        ClaimVerdict::Won
    );
}

#[tokio::test(start_paused = true)]
async fn a_resumed_node_takes_its_lock_back_with_a_notification() {
    let cluster = MemoryCluster::with_timing(TIMING);
    let (mut a, _) = join(&cluster, "a").await;
    let (mut b, _) = join(&cluster, "b").await;
    a.borrow_and_update();
    b.borrow_and_update();

    cluster.pause("a").unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(b.has_changed().unwrap());
    assert_eq!(*b.borrow_and_update(), Leadership::Leading);
    assert!(!a.has_changed().unwrap());

    cluster.resume("a").unwrap();
    assert_eq!(cluster.leader(LOCK).as_deref(), Some("a"));
    assert!(
        a.has_changed().unwrap(),
        "the regained lock must be notified"
    );
    assert_eq!(*a.borrow(), Leadership::Leading);
    assert_eq!(*b.borrow_and_update(), Leadership::Following);
}

#[tokio::test(start_paused = true)]
async fn a_pause_shorter_than_the_lease_changes_nothing() {
    let cluster = MemoryCluster::with_timing(TIMING);
    let (mut a, _) = join(&cluster, "a").await;
    let (_b, _) = join(&cluster, "b").await;
    a.borrow_and_update();

    cluster.pause("a").unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.resume("a").unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(cluster.leader(LOCK).as_deref(), Some("a"));
    assert!(!a.has_changed().unwrap());
}

#[tokio::test(start_paused = true)]
async fn terms_strictly_increase_across_leaders() {
    let cluster = MemoryCluster::new();
    let (_, ledger_a) = join(&cluster, "a").await;
    let (_, ledger_b) = join(&cluster, "b").await;
    let mut terms = Vec::new();
    for ledger in [&ledger_a, &ledger_b, &ledger_a] {
        terms.push(
            ledger
                .begin_term("x", chrono::Utc::now())
                .await
                .unwrap()
                .term,
        );
    }
    assert_eq!(terms, vec![1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn a_killed_node_can_neither_write_nor_rejoin() {
    let cluster = MemoryCluster::new();
    let (_, ledger) = join(&cluster, "a").await;
    cluster.kill("a").unwrap();
    assert!(ledger.claim(&claim("a", 1, 0)).await.is_err());
    assert!(cluster.election(LOCK, "a").await.is_err());
    assert!(matches!(
        cluster.pause("a"),
        Err(MemoryClusterError::Killed(_))
    ));
    assert!(matches!(
        cluster.kill("nobody"),
        Err(MemoryClusterError::UnknownNode(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn one_node_id_cannot_join_a_lock_twice() {
    let cluster = MemoryCluster::new();
    join(&cluster, "a").await;
    let err = cluster.election(LOCK, "a").await.err().unwrap();
    assert!(err.to_string().contains("own node id"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn resigning_hands_the_lock_over() {
    let cluster = MemoryCluster::new();
    let election = cluster.election(LOCK, "a").await.unwrap();
    let (b, _) = join(&cluster, "b").await;
    election.resign().await;
    assert_eq!(*election.leadership().borrow(), Leadership::Following);
    assert_eq!(*b.borrow(), Leadership::Leading);
}
