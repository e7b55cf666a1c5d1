//! Nodes configured with different schedules, on a real broker: the leader announces its
//! schedules in the ledger, and a follower configured otherwise reads them and shows the
//! leader's schedule in its status.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::time::{Duration, Instant};

use chrono::Utc;
use leader_jobs::{Handle, Job, JobContext, PulsarConfig, Runtime, ScheduleOverrides};
use leader_jobs_tests::broker;

fn node(id: &str, prefix: &str, overrides: ScheduleOverrides) -> Handle {
    let config = PulsarConfig::new(&broker::service_url())
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .and_then(|c| c.topic_prefix(prefix))
        .unwrap()
        .cold_start_window(Duration::ZERO);
    let report = Job::new("report", "*/20 * * * * *", |_: JobContext| async {});
    Runtime::builder()
        .node_id(id)
        .pulsar_config(config)
        .jobs([report])
        .schedules(overrides)
        .build()
        .unwrap()
        .start()
        .unwrap()
}

fn leader_schedule(handle: &Handle) -> Option<String> {
    handle
        .status()
        .job("report")
        .unwrap()
        .leader_schedule
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_configured_otherwise_sees_the_leaders_schedule() {
    broker::require_broker();
    leader_jobs_tests::bounded(async {
        let prefix = format!(
            "schedules-{}-{}",
            std::process::id(),
            Utc::now().timestamp_micros()
        );
        let fast: ScheduleOverrides = "report = */5 * * * * *".parse().unwrap();
        let a = node("node-a", &prefix, fast.clone());
        let deadline = Instant::now() + Duration::from_secs(30);
        while !a.status().locks[0].leading {
            assert!(Instant::now() < deadline, "node-a did not lead");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let b = node("node-b", &prefix, ScheduleOverrides::new());
        let c = node("node-c", &prefix, fast);
        // Followers read the announcement 10 s after they join.
        let deadline = Instant::now() + Duration::from_secs(30);
        while leader_schedule(&b).is_none() {
            assert!(
                Instant::now() < deadline,
                "node-b never saw the leader's schedule"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(leader_schedule(&b).as_deref(), Some("*/5 * * * * * (UTC)"));
        assert_eq!(leader_schedule(&c), None, "node-c agrees with the leader");
        assert_eq!(leader_schedule(&a), None, "the leader shows none");
        for handle in [a, b, c] {
            handle.shutdown().await.unwrap();
        }
    })
    .await;
}
