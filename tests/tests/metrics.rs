//! The runtime's series through the `metrics` facade, seen by a recorder: every series of
//! `leader_jobs::METRICS` appears with its job or lock label once a node has led and run a job.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::time::{Duration, Instant};

use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::{Job, JobContext, Runtime};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// A series as the recorder holds it: name, labels, value.
type Series = (String, Vec<(String, String)>, DebugValue);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_sees_every_series() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let cluster = MemoryCluster::new();
    let job = Job::new("measured", "* * * * * *", |_: JobContext| async {}).lock("meters");
    let handle = Runtime::builder()
        .node_id("a")
        .in_memory(&cluster)
        .jobs([job])
        .build()
        .unwrap()
        .start()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while handle.status().job("measured").unwrap().counts.ok < 2 {
        assert!(Instant::now() < deadline, "two runs within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen: Vec<Series> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels = key
                .labels()
                .map(|label| (label.key().to_owned(), label.value().to_owned()))
                .collect();
            (key.name().to_owned(), labels, value)
        })
        .collect();
    for series in leader_jobs::METRICS {
        let found = seen.iter().find(|(name, _, _)| name == series);
        let (_, labels, _) = found.unwrap_or_else(|| panic!("no {series} in {seen:#?}"));
        let label = |key: &str| {
            labels
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert!(
            label("job") == Some("measured") || label("lock") == Some("meters"),
            "{series} {labels:?}"
        );
    }
    let runs = seen
        .iter()
        .find(|(name, labels, _)| {
            name == "leader_jobs_runs_total"
                && labels.contains(&("outcome".to_owned(), "ok".to_owned()))
        })
        .map(|(_, _, value)| value);
    assert!(
        matches!(runs, Some(DebugValue::Counter(n)) if *n >= 2),
        "{runs:?}"
    );
    let leader = seen
        .iter()
        .find(|(name, _, _)| name == "leader_jobs_is_leader")
        .map(|(_, _, value)| value);
    assert!(
        matches!(leader, Some(DebugValue::Gauge(v)) if v.into_inner() == 1.0),
        "{leader:?}"
    );
    handle.shutdown().await.unwrap();
}
