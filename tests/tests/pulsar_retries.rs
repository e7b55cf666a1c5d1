//! Retries on a real broker, across a takeover: every attempt at a tick runs on the node that
//! claimed it, under its term, one at a time; a leader that hands over mid-retry stops, and the
//! next leader does not run that tick's attempts again.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use leader_jobs::{Handle, Job, JobContext, PulsarConfig, Runtime};
use leader_jobs_tests::{broker, wait};

const LOCK: &str = "retries";

/// One attempt as the job saw it.
#[derive(Clone, Debug)]
struct Attempt {
    node: String,
    tick: DateTime<Utc>,
    attempt: u32,
    term: u64,
    began: Instant,
    ended: Instant,
}

static ATTEMPTS: Mutex<Vec<Attempt>> = Mutex::new(Vec::new());

fn attempts() -> Vec<Attempt> {
    ATTEMPTS.lock().unwrap().clone()
}

/// Every 4 s, always failing after 200 ms, retried after about 1 s and then about 2 s: three
/// attempts per tick, the last ending a little before the next tick.
fn failing_job() -> Job {
    Job::new(
        "always-fails",
        "*/4 * * * * *",
        |ctx: JobContext| async move {
            let began = Instant::now();
            tokio::time::sleep(Duration::from_millis(200)).await;
            ATTEMPTS.lock().unwrap().push(Attempt {
                node: ctx.node().to_owned(),
                tick: ctx.tick(),
                attempt: ctx.attempt(),
                term: ctx.term(),
                began,
                ended: Instant::now(),
            });
            Err::<(), _>("the downstream service is down")
        },
    )
    .lock(LOCK)
    .retries(4)
    .retry_backoff(Duration::from_millis(800))
}

fn node(id: &str, prefix: &str) -> Handle {
    let config = PulsarConfig::new(&broker::service_url())
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .and_then(|c| c.topic_prefix(prefix))
        .unwrap()
        .cold_start_window(Duration::ZERO);
    Runtime::builder()
        .node_id(id)
        .pulsar_config(config)
        .grace_period(Duration::from_secs(2))
        .jobs([failing_job()])
        .build()
        .unwrap()
        .start()
        .unwrap()
}

fn first_attempts_on_a() -> usize {
    attempts()
        .iter()
        .filter(|x| x.node == "node-a" && x.attempt == 1)
        .count()
}

/// Waits at most 30 s for `done`.
async fn until(what: &str, done: impl FnMut() -> bool) {
    wait::until(what, Duration::from_secs(30), done).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_across_a_takeover_never_run_a_ticks_attempts_on_two_nodes() {
    broker::require_broker();
    leader_jobs_tests::bounded(async {
        let prefix = format!(
            "retries-{}-{}",
            std::process::id(),
            Utc::now().timestamp_micros()
        );
        let a = node("node-a", &prefix);
        until("node-a to lead", || a.status().locks[0].leading).await;
        let b = node("node-b", &prefix);
        until("a retry on node-a", || {
            attempts()
                .iter()
                .any(|x| x.node == "node-a" && x.attempt == 2)
        })
        .await;
        // Hand over right after a tick's first attempt failed, while its retry is pending.
        let seen = first_attempts_on_a();
        until("a fresh tick failing on node-a", || {
            first_attempts_on_a() > seen
        })
        .await;
        let interrupted = attempts().last().unwrap().tick;
        a.shutdown().await.unwrap();
        until("node-b to lead", || b.status().locks[0].leading).await;
        until("a retry on node-b", || {
            attempts()
                .iter()
                .any(|x| x.node == "node-b" && x.attempt == 2)
        })
        .await;
        b.shutdown().await.unwrap();

        let all = attempts();
        let mut by_tick: BTreeMap<DateTime<Utc>, Vec<&Attempt>> = BTreeMap::new();
        for attempt in &all {
            by_tick.entry(attempt.tick).or_default().push(attempt);
        }
        for (tick, attempts) in &by_tick {
            let first = attempts[0];
            for (index, attempt) in attempts.iter().enumerate() {
                assert_eq!(
                    (attempt.node.as_str(), attempt.term, attempt.attempt),
                    (first.node.as_str(), first.term, index as u32 + 1),
                    "tick {tick}: attempts on one node, under one term, numbered in order: {all:#?}"
                );
            }
            for pair in attempts.windows(2) {
                assert!(
                    pair[0].ended <= pair[1].began,
                    "tick {tick}: attempts overlapped"
                );
            }
        }
        let interrupted_attempts = &by_tick[&interrupted];
        assert_eq!(
            interrupted_attempts.len(),
            1,
            "the handed-over tick was retried: {interrupted_attempts:#?}"
        );
        // With a 4 s period and waits of about 0.8 s and 1.6 s, a tick gets three attempts.
        assert!(
            by_tick.values().any(|attempts| attempts.len() == 3),
            "no tick was retried twice: {all:#?}"
        );
    })
    .await;
}
