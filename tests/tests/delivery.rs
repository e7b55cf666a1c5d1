//! Delivery at least once on a real broker: the campaign's node application (`chaos-node`) runs
//! `at_least_once`, a 4 s job every 10 s; its leader is SIGKILLed in the middle of a run, and the
//! next leader finishes that tick, once, with the same run id.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;
use std::time::Duration;

use leader_jobs_tests::cluster::Cluster;
use leader_jobs_tests::run_log::RunEvent;

const NODE: &str = env!("CARGO_BIN_EXE_chaos-node");
const LOCK: &str = "epsilon";
const JOB: &str = "at_least_once";

/// Waits up to `limit` for a run event of [`JOB`] that `found` accepts.
async fn wait_for(
    cluster: &Cluster,
    limit: Duration,
    what: &str,
    found: impl Fn(&[RunEvent]) -> Option<RunEvent>,
) -> RunEvent {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let runs: Vec<RunEvent> = cluster
            .runs()
            .expect("run log")
            .into_iter()
            .filter(|run| run.job == JOB)
            .collect();
        if let Some(event) = found(&runs) {
            return event;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within {limit:?} (logs in {})",
            cluster.dir().display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_mid_run_has_its_at_least_once_tick_finished_once_by_the_next() {
    leader_jobs_tests::bounded(async {
        let mut cluster = Cluster::new(Path::new(NODE), "delivery").unwrap();
        cluster.start("node-a").unwrap();
        cluster.start("node-b").unwrap();
        // Past the cold-start window (5 s), in which locks may still move between the nodes.
        tokio::time::sleep(Duration::from_secs(8)).await;
        // A run that began just now, so that the kill falls in its middle.
        let started = wait_for(&cluster, Duration::from_secs(60), "a fresh run", |runs| {
            runs.iter()
                .rev()
                .find(|run| {
                    run.event == "start"
                        && (chrono::Utc::now() - run.at) < chrono::TimeDelta::milliseconds(1500)
                        && !runs
                            .iter()
                            .any(|end| end.event == "end" && end.tick == run.tick)
                })
                .cloned()
        })
        .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            cluster.leader(LOCK).unwrap().map(|(node, _)| node),
            Some(started.node.clone())
        );
        cluster.kill(&started.node).unwrap();

        let tick = started.tick;
        let finished = wait_for(
            &cluster,
            Duration::from_secs(60),
            "the killed leader's tick finished by another node",
            |runs| {
                runs.iter()
                    .find(|run| run.event == "end" && run.tick == tick)
                    .cloned()
            },
        )
        .await;
        // Time for a second completion, if one were coming: the next tick and its run.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let of_tick: Vec<RunEvent> = cluster
            .runs()
            .unwrap()
            .into_iter()
            .filter(|run| run.job == JOB && run.tick == tick)
            .collect();
        let seen: Vec<_> = of_tick
            .iter()
            .map(|run| {
                (
                    run.event.as_str(),
                    run.node.as_str(),
                    run.attempt,
                    run.rerun,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("start", started.node.as_str(), 1, false),
                ("start", finished.node.as_str(), 2, true),
                ("end", finished.node.as_str(), 2, true),
            ],
            "logs in {}",
            cluster.dir().display()
        );
        assert_ne!(finished.node, started.node);
        assert!(finished.term > started.term);
        assert!(of_tick.iter().all(|run| run.run_id == started.run_id));
        assert_eq!(
            started.run_id,
            format!(
                "{JOB}@{}",
                tick.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            )
        );
        for node in ["node-a", "node-b"] {
            let _ = cluster.terminate(node, Duration::from_secs(15));
        }
    })
    .await;
}
