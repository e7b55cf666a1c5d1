//! What outlives what: the ledger outlives every node (the broker's defaults delete inactive
//! topics and keep nothing without a subscription), and a cluster of nodes recovers from a
//! broker restart with one leader per lock and no tick run twice. Runs on a broker of its own,
//! which it restarts, with inactive topics deleted after 5 s instead of the default minute.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use leader_jobs::backend::{Backend, Claim, ClaimVerdict};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::cluster::{BrokerUrls, Cluster, unique_name};
use leader_jobs_tests::dedicated_broker::{DedicatedBroker, xtask_for_tests};
use leader_jobs_tests::long_ledger::ok_attempt;
use leader_jobs_tests::run_log;

const NODE: &str = env!("CARGO_BIN_EXE_test-node");

fn backend(broker: &DedicatedBroker, prefix: &str) -> PulsarBackend {
    let config = PulsarConfig::new(&broker.urls().service)
        .and_then(|c| c.with_admin_url(&broker.urls().admin))
        .and_then(|c| c.topic_prefix(prefix))
        .unwrap();
    PulsarBackend::new(config).unwrap()
}

fn topic_exists(broker: &DedicatedBroker, name: &str) -> bool {
    let url = format!(
        "{}/admin/v2/persistent/public/default/{name}/stats",
        broker.urls().admin
    );
    match ureq::get(&url).call() {
        Ok(_) => true,
        Err(ureq::Error::StatusCode(404)) => false,
        Err(error) => panic!("admin API at {url}: {error}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_outlives_its_nodes_and_the_cluster_survives_a_broker_restart() {
    leader_jobs_tests::bounded(async {
        let xtask = xtask_for_tests();
        let broker = DedicatedBroker::new(
            &xtask,
            &std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lifecycle-broker"),
            6660,
            8060,
        )
        .with_settings(&[
            "brokerDeleteInactiveTopicsFrequencySeconds=5",
            "brokerDeleteInactiveTopicsMaxInactiveDurationSeconds=5",
        ]);
        let _stop = broker.stop_on_drop();
        broker.start_fresh().expect("start the test's own broker");

        // 1. Every node gone: the ledger stays, a topic without subscription does not.
        let prefix = format!("lifecycle-{}", Utc::now().timestamp_millis());
        let tick = |s| Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, s).unwrap();
        let claim = |s| Claim {
            job: "job".into(),
            tick: tick(s),
            term: 1,
            node: "a".into(),
        };
        let first = backend(&broker, &prefix);
        let ledger = first.ledger("lock", "a").await.unwrap();
        assert_eq!(
            ledger
                .begin_term("a", chrono::Utc::now())
                .await
                .unwrap()
                .term,
            1
        );
        assert_eq!(ledger.claim(&claim(0)).await.unwrap(), ClaimVerdict::Won);
        ledger.record(&claim(0), &ok_attempt()).await.unwrap();
        assert_eq!(ledger.claim(&claim(1)).await.unwrap(), ClaimVerdict::Won);
        drop(ledger);
        first.close().await;

        let control = format!("{prefix}.control");
        let client = pulsar::Pulsar::builder(broker.urls().service, pulsar::TokioExecutor)
            .build()
            .await
            .unwrap();
        let mut producer = client
            .producer()
            .with_topic(format!("persistent://public/default/{control}"))
            .build()
            .await
            .unwrap();
        producer
            .send_non_blocking(b"gone soon".to_vec())
            .await
            .unwrap()
            .await
            .unwrap();
        producer.close().await.unwrap();
        drop(client);
        assert!(topic_exists(&broker, &control));

        tokio::time::sleep(Duration::from_secs(20)).await;
        assert!(
            !topic_exists(&broker, &control),
            "the broker did not delete an inactive topic: this test proves nothing on it"
        );
        assert!(
            topic_exists(&broker, &format!("{prefix}.lock.ledger")),
            "the ledger topic was deleted"
        );
        let second = backend(&broker, &prefix);
        let start = second
            .ledger("lock", "b")
            .await
            .unwrap()
            .begin_term("b", chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(
            start.term, 2,
            "the new leader's term follows the old history"
        );
        assert_eq!(start.history.last_claimed.get("job"), Some(&tick(1)));
        assert_eq!(start.history.abandoned, vec![claim(1)]);
        second.close().await;

        // 2. Nodes running through a broker restart.
        let name = unique_name("broker-restart");
        let dir = std::env::temp_dir().join("leader-jobs-tests").join(&name);
        let urls = BrokerUrls {
            service: broker.urls().service,
            admin: broker.urls().admin,
        };
        let mut cluster = Cluster::on_broker(NODE.as_ref(), &dir, &name, urls).unwrap();
        for node in ["node-a", "node-b", "node-c"] {
            cluster.start(node).unwrap();
        }
        let lock = "every-second";
        cluster
            .wait_for_new_leader(
                lock,
                None,
                chrono::DateTime::<Utc>::MIN_UTC,
                Duration::from_secs(30),
            )
            .unwrap()
            .expect("no leader before the restart");
        tokio::time::sleep(Duration::from_secs(3)).await;
        broker.stop().expect("stop the broker");
        tokio::time::sleep(Duration::from_secs(3)).await;
        broker.start().expect("restart the broker");
        let restarted = Utc::now();
        let (node, term, at) = cluster
            .wait_for_new_leader(lock, None, restarted, Duration::from_secs(90))
            .unwrap()
            .expect("no node led within 90 s of the broker's restart");
        println!(
            "after the broker restart {node} leads with term {term}, {:?} after it was ready",
            at - restarted
        );
        tokio::time::sleep(Duration::from_secs(8)).await;
        let leaders: Vec<_> = ["every-second", "every-other-second"]
            .into_iter()
            .map(|lock| (lock, cluster.leader(lock).unwrap()))
            .collect();
        for node in ["node-a", "node-b", "node-c"] {
            cluster.terminate(node, Duration::from_secs(15)).unwrap();
        }
        println!("leaders at the end: {leaders:?}");
        let runs = cluster.runs().unwrap();
        // No tick is expected here, so only duplicates and stale terms can fail it.
        run_log::check(&runs, |_| Vec::new()).assert_clean(cluster.dir());
        let after_restart = runs
            .iter()
            .filter(|r| r.event == "start" && r.at > restarted)
            .count();
        assert!(
            after_restart > 0,
            "no job ran after the broker restart (logs in {})",
            cluster.dir().display()
        );
    })
    .await;
}
