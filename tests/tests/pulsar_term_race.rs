//! A term start racing the old leader's claims on a real broker. The new leader reads the ledger,
//! appends its term start, and reads on up to it: a claim of the old term that lands between the
//! read and the term start is valid (it came first), so the new term must know it, or the new
//! leader would treat a claimed tick as free. The test keeps an old leader claiming as fast as the
//! broker answers while another node begins terms, round after round, and checks that every claim
//! the ledger gave the old term is in the history the new term started from.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use leader_jobs::backend::{Backend, Claim, ClaimVerdict, Ledger};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::broker;
use leader_jobs_tests::cluster::unique_name;

/// Rounds of old claims racing a new term.
const ROUNDS: usize = 12;
/// Concurrent claimers of the old leader, each its own job: more claims land in the window.
const CLAIMERS: usize = 3;

fn backend(prefix: &str) -> PulsarBackend {
    let config = PulsarConfig::new(&broker::require_broker())
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .and_then(|c| c.topic_prefix(prefix))
        .unwrap();
    PulsarBackend::new(config).unwrap()
}

/// Claims ticks of `job` one after another under `term` until the ledger refuses one (a newer
/// term began); returns those it won.
async fn claim_until_fenced(
    ledger: std::sync::Arc<dyn Ledger>,
    job: String,
    term: u64,
    first_tick: i64,
) -> Vec<Claim> {
    let mut won = Vec::new();
    for second in first_tick.. {
        let claim = Claim {
            job: job.clone(),
            tick: Utc.timestamp_opt(second, 0).unwrap(),
            term,
            node: "old".to_owned(),
        };
        match ledger.claim(&claim).await.unwrap() {
            ClaimVerdict::Won => won.push(claim),
            ClaimVerdict::Lost { highest_term, .. } => {
                assert!(highest_term > term, "{claim:?} lost within its own term");
                return won;
            }
            other => panic!("{claim:?}: {other:?}"),
        }
    }
    won
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_claim_won_before_a_term_start_is_in_the_new_terms_history() {
    leader_jobs_tests::bounded(async {
        let prefix = unique_name("term-race");
        let (old, new) = (backend(&prefix), backend(&prefix));
        let old_ledgers: Vec<_> = {
            let mut ledgers = Vec::new();
            for _ in 0..CLAIMERS {
                ledgers.push(old.ledger("race", "old").await.unwrap());
            }
            ledgers
        };
        let new_ledger = new.ledger("race", "new").await.unwrap();
        let base = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp();
        let mut checked = 0;
        for round in 0..ROUNDS {
            let term = old_ledgers[0]
                .begin_term("old", chrono::Utc::now())
                .await
                .unwrap()
                .term;
            let claimers: Vec<_> = old_ledgers
                .iter()
                .enumerate()
                .map(|(n, ledger)| {
                    let first = base + i64::try_from(round * 10_000).unwrap();
                    tokio::spawn(claim_until_fenced(
                        ledger.clone(),
                        format!("job-{n}"),
                        term,
                        first,
                    ))
                })
                .collect();
            // Let the claims flow, then begin a term in the middle of them.
            tokio::time::sleep(Duration::from_millis(30)).await;
            let start = new_ledger
                .begin_term("new", chrono::Utc::now())
                .await
                .unwrap();
            assert!(start.term > term);
            for claimer in claimers {
                let won = claimer.await.unwrap();
                let missing: Vec<_> = won
                    .iter()
                    .filter(|claim| !start.history.abandoned.contains(claim))
                    .collect();
                assert!(
                    missing.is_empty(),
                    "round {round}: claims the ledger gave term {term} before term {} began are \
                     not in that term's history: {missing:?}",
                    start.term
                );
                checked += won.len();
            }
        }
        assert!(
            checked > 0,
            "no claim was won in any round: the race never ran"
        );
        println!(
            "{ROUNDS} rounds: {checked} claims won by old terms, each in the next term's history"
        );
    })
    .await;
}
