//! Operators' commands while the broker is gone (killed): each returns `Error::Ledger` within the
//! ledger's operation bound and changes nothing; once the broker is back the job is as it was,
//! and the same command works. The broker is one of this test's own, since it gets killed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use leader_jobs::{Error, Handle, Job, JobContext, PulsarConfig, Runtime};
use leader_jobs_tests::dedicated_broker::{DedicatedBroker, xtask_for_tests};
use leader_jobs_tests::wait::until_ok;

/// Ports apart from every other broker of the tests.
const SERVICE_PORT: u16 = 6686;
const HTTP_PORT: u16 = 8186;
/// The ledger's bound on one operation (15 s), plus scheduling slack.
const COMMAND_BOUND: Duration = Duration::from_secs(20);
/// How long the node may take to read its ledger again once the broker is ready.
const RECOVERY: Duration = Duration::from_secs(60);

fn node(urls: &leader_jobs_tests::cluster::BrokerUrls) -> Handle {
    let config = PulsarConfig::new(&urls.service)
        .and_then(|c| c.with_admin_url(&urls.admin))
        .unwrap()
        .cold_start_window(Duration::ZERO);
    let job = Job::new("nightly", "0 3 * * *", |_ctx: JobContext| async {}).lock("ctl");
    Runtime::builder()
        .node_id("node-a")
        .pulsar_config(config)
        .jobs([job])
        .build()
        .unwrap()
        .start()
        .unwrap()
}

#[test]
fn a_command_without_a_broker_fails_within_its_bound_and_changes_nothing() {
    let broker = DedicatedBroker::new(
        &xtask_for_tests(),
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("control-unreachable-broker"),
        SERVICE_PORT,
        HTTP_PORT,
    );
    let _stop = broker.stop_on_drop();
    broker.start_fresh().expect("starting the test's broker");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(leader_jobs_tests::bounded(async {
        let handle = node(&broker.urls());
        until_ok("the node's ledger opens", Duration::from_secs(60), || {
            handle.cluster()
        })
        .await;

        broker.kill().expect("SIGKILL to the broker");
        for (what, call) in [("pause", 0), ("resume", 1), ("trigger", 2)] {
            let asked = Instant::now();
            let answer = match call {
                0 => handle.pause("nightly").await,
                1 => handle.resume("nightly").await,
                _ => handle.trigger("nightly").await.map(|_| ()),
            };
            let took = asked.elapsed();
            match answer {
                Err(Error::Ledger { lock, .. }) => assert_eq!(lock, "ctl"),
                other => panic!("{what} without a broker gave {other:?}"),
            }
            assert!(took < COMMAND_BOUND, "{what} took {took:?} to fail");
        }
        // A name that is no job is refused at once, broker or not.
        let asked = Instant::now();
        assert!(matches!(
            handle.pause("nigthly").await,
            Err(Error::Registry(_))
        ));
        assert!(asked.elapsed() < Duration::from_secs(1));

        broker.start().expect("starting the broker again");
        let after = until_ok("the ledger read again", RECOVERY, || handle.cluster()).await;
        let job = after.job("nightly").unwrap();
        assert!(!job.paused, "a failed pause landed");
        assert_eq!(job.triggers, 0, "a failed trigger landed");
        let history = handle.history("nightly", 20).await.unwrap();
        assert!(history.iter().all(|run| !run.manual), "{history:?}");

        // The same command, once the broker answers, works.
        until_ok("a pause", RECOVERY, || handle.pause("nightly")).await;
        assert!(
            handle
                .cluster()
                .await
                .unwrap()
                .job("nightly")
                .unwrap()
                .paused
        );
        handle.shutdown().await.unwrap();
    }));
    broker.stop().expect("stopping the test's broker");
}
