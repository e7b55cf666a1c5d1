//! The history and the cluster view on a real broker: a follower reads the leader's runs from
//! the lock's ledger, and they match what the job itself logged.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leader_jobs::backend::RunOutcome;
use leader_jobs::{Handle, Job, JobContext, PulsarConfig, Runtime};
use leader_jobs_tests::{broker, wait};

/// What each run logged: its tick, node and term.
static RUNS: Mutex<Vec<(DateTime<Utc>, String, u64)>> = Mutex::new(Vec::new());

fn node(id: &str, prefix: &str) -> Handle {
    let config = PulsarConfig::new(&broker::service_url())
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .and_then(|c| c.topic_prefix(prefix))
        .unwrap()
        .cold_start_window(Duration::ZERO);
    let job = Job::new("watched", "* * * * * *", |ctx: JobContext| async move {
        let run = (ctx.tick(), ctx.node().to_owned(), ctx.term());
        RUNS.lock().unwrap().push(run);
    });
    Runtime::builder()
        .node_id(id)
        .pulsar_config(config)
        .jobs([job])
        .build()
        .unwrap()
        .start()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_reads_the_leaders_runs_from_the_ledger() {
    broker::require_broker();
    leader_jobs_tests::bounded(async {
        let prefix = format!(
            "history-{}-{}",
            std::process::id(),
            Utc::now().timestamp_micros()
        );
        let leader = node("node-a", &prefix);
        wait::until("six runs", Duration::from_secs(30), || {
            leader.status().job("watched").unwrap().counts.ok >= 6
        })
        .await;
        let follower = node("node-b", &prefix);
        // Its ledger opens as it joins; then it reads what the leader wrote.
        let history = wait::until_some(
            "five runs in the history",
            Duration::from_secs(30),
            || async {
                follower
                    .history("watched", 5)
                    .await
                    .ok()
                    .filter(|history| history.len() == 5)
            },
        )
        .await;
        assert!(!follower.status().locks[0].leading);
        let logged = RUNS.lock().unwrap().clone();
        for run in &history {
            assert!(
                logged.contains(&(run.tick, run.node.clone(), run.term)),
                "{run:?} is not in the run log {logged:?}"
            );
            assert_eq!(run.outcome, Some(RunOutcome::Ok));
            assert!(run.started.is_some() && run.duration.is_some());
        }
        let ticks: Vec<_> = history.iter().map(|run| run.tick).collect();
        let mut newest_first = ticks.clone();
        newest_first.sort_by(|a, b| b.cmp(a));
        assert_eq!(ticks, newest_first);

        let view = follower.cluster().await.unwrap();
        let lock = view.lock("watched").unwrap();
        assert_eq!(lock.leader.as_deref(), Some("node-a"));
        assert_eq!(lock.term, history[0].term);
        assert!(lock.since.is_some_and(|since| since <= Utc::now()));
        let job = view.job("watched").unwrap();
        assert_eq!(job.schedule, "* * * * * * (UTC)");
        assert!(job.totals.ok >= 6);
        assert!(job.last_success.is_some() && job.last_failure.is_none());

        follower.shutdown().await.unwrap();
        leader.shutdown().await.unwrap();
    })
    .await;
}
