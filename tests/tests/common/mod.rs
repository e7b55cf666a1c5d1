//! What the process-level tests share: starting three nodes, finding the leader, and judging
//! the external run log against the schedule and the ledger.
#![allow(dead_code, reason = "each test binary uses a part")]

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leader_jobs::backend::Backend;
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::abandoned_log;
use leader_jobs_tests::cluster::Cluster;
use leader_jobs_tests::run_log::{self, Verdict};

pub(crate) const NODE: &str = env!("CARGO_BIN_EXE_test-node");
pub(crate) const LOCK: &str = "every-second";
pub(crate) const JOB: &str = "every_second";
pub(crate) const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];

/// Runs a killed leader had claimed and never finished: reported by a later leader, or still
/// open in the ledger, which the checker's read reports. They may be missing from the run log
/// (killed between claim and start) but are reported, not silent.
pub(crate) async fn abandoned_ticks(
    cluster: &Cluster,
    lock: &str,
) -> BTreeSet<(String, DateTime<Utc>)> {
    let mut abandoned = abandoned_log::read_dir(cluster.dir()).expect("abandoned-run reports");
    abandoned.extend(ledger_abandoned(cluster, lock).await);
    abandoned
}

/// How long the checker's read of the ledger may take before it starts again on a fresh client:
/// the `pulsar` crate retries a lookup or a subscription for as long as the broker answers "not
/// ready", which after a topic moved usually lasts a few seconds, and the runtime's own ledger
/// operations are bounded at 15 s.
const CHECKER_PATIENCE: Duration = Duration::from_secs(40);
const CHECKER_ATTEMPTS: u32 = 3;

/// The claims the ledger holds as abandoned, read as a new leader would (a term start of its
/// own), on a client of the checker's own.
async fn ledger_abandoned(cluster: &Cluster, lock: &str) -> Vec<(String, DateTime<Utc>)> {
    let config = PulsarConfig::new(&cluster.broker().service)
        .and_then(|c| c.with_admin_url(&cluster.broker().admin))
        .and_then(|c| c.topic_prefix(cluster.prefix()))
        .expect("config");
    let mut failures = Vec::new();
    for attempt in 1..=CHECKER_ATTEMPTS {
        let backend = PulsarBackend::new(config.clone()).expect("backend");
        let read = async {
            let ledger = backend.ledger(lock, "checker").await?;
            ledger.begin_term("checker", Utc::now()).await
        };
        let outcome = tokio::time::timeout(CHECKER_PATIENCE, read).await;
        // Not waited for without a bound either: the checker's client has no election to resign.
        let _ = tokio::time::timeout(CHECKER_PATIENCE, backend.close()).await;
        match outcome {
            Ok(Ok(start)) => {
                return start
                    .history
                    .abandoned
                    .into_iter()
                    .map(|claim| (claim.job, claim.tick))
                    .collect();
            }
            Ok(Err(error)) => failures.push(format!("attempt {attempt}: {error}")),
            Err(_) => failures.push(format!(
                "attempt {attempt}: no answer within {CHECKER_PATIENCE:?}"
            )),
        }
    }
    panic!(
        "the checker could not read the ledger of {lock} through {}: {failures:?} (node logs in {})",
        cluster.broker().service,
        cluster.dir().display()
    );
}

/// Judges the run log: every second between the first and the last run must have a run, unless
/// the ledger reports it abandoned.
pub(crate) async fn verdict(cluster: &Cluster) -> Verdict {
    let runs = cluster.runs().expect("run log");
    let abandoned = abandoned_ticks(cluster, LOCK).await;
    let ticks: Vec<DateTime<Utc>> = runs
        .iter()
        .filter(|r| r.job == JOB && r.event == "start")
        .map(|r| r.tick)
        .collect();
    let (first, last) = (ticks.iter().min().copied(), ticks.iter().max().copied());
    run_log::check(&runs, |job| {
        let (Some(first), Some(last)) = (first, last) else {
            return Vec::new();
        };
        if job != JOB {
            return Vec::new();
        }
        let seconds = (last - first).num_seconds();
        (0..=seconds)
            .map(|s| first + chrono::Duration::seconds(s))
            .filter(|tick| !abandoned.contains(&(JOB.to_owned(), *tick)))
            .collect()
    })
}

/// Trials per test: `default` in the suite, `FAILOVER_TRIALS` when measuring.
pub(crate) fn trials(default: usize) -> usize {
    std::env::var("FAILOVER_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

pub(crate) fn start_all(cluster: &mut Cluster) {
    for node in NODES {
        cluster.start(node).expect("start node");
    }
}

pub(crate) fn first_leader(cluster: &Cluster) -> (String, u64) {
    let (node, term, _) = cluster
        .wait_for_new_leader(
            LOCK,
            None,
            DateTime::<Utc>::MIN_UTC,
            Duration::from_secs(30),
        )
        .expect("events")
        .expect("no node led within 30 s");
    (node, term)
}

pub(crate) fn summary(name: &str, mut takeovers: Vec<Duration>) {
    takeovers.sort();
    let p50 = takeovers[takeovers.len() / 2];
    let max = takeovers[takeovers.len() - 1];
    println!(
        "{name}: {} trials, p50 {p50:?}, max {max:?}, all {takeovers:?}",
        takeovers.len()
    );
}

/// Waits up to `limit` until `node` has started a run of [`JOB`] under `term`.
pub(crate) async fn wait_for_run(cluster: &Cluster, node: &str, term: u64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let runs = cluster.runs().expect("run log");
        if runs
            .iter()
            .any(|r| r.event == "start" && r.job == JOB && r.node == node && r.term == term)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{node} started no run under term {term} within {limit:?} (logs in {})",
            cluster.dir().display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Watches the nodes' reports for `window` and fails if any node but `leader` reports leading
/// [`LOCK`] after `since`, or `leader` reports that it stopped: a node that joins or rejoins
/// must stay a follower while the leader lives.
pub(crate) async fn assert_keeps_leading(
    cluster: &Cluster,
    leader: &str,
    since: DateTime<Utc>,
    window: Duration,
) {
    let deadline = tokio::time::Instant::now() + window;
    loop {
        let changed =
            cluster.events().expect("events").into_iter().find(|e| {
                e.lock == LOCK && e.at > since && ((e.node == leader) == e.term.is_none())
            });
        if let Some(event) = changed {
            panic!(
                "{leader} did not keep {LOCK}: {event:?} (logs in {})",
                cluster.dir().display()
            );
        }
        if tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
