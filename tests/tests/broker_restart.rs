//! The Pulsar backend after its broker was killed (SIGKILL) and started again: the leader steps
//! down within its lease, and can begin terms again once the broker is back. The fault campaign
//! found a leader that kept reporting leadership for 30 s (its heartbeat send waited for the
//! client's producer), and one whose ledger reader, dead with its connection, failed every later
//! term start, so the node led its locks without ever running a job.
//!
//! The broker is one of this test's own (through the `xtask` binary, as `cargo xtask test`
//! provides), since it gets killed.
#![allow(clippy::expect_used, clippy::panic, reason = "test code")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use leader_jobs::backend::{Backend, Leadership};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::dedicated_broker::{DedicatedBroker, xtask_for_tests};

/// Ports apart from every other broker of the tests.
const SERVICE_PORT: u16 = 6682;
const HTTP_PORT: u16 = 8182;
/// How long a leader may take to step down once its broker is gone: the lease (3 s), one
/// heartbeat interval, and scheduling slack.
const STEP_DOWN: Duration = Duration::from_secs(5);
/// Bound for closing the backend: resigning must not wait on the broker.
const CLOSE: Duration = Duration::from_secs(10);
/// How long the ledger may take to work again once the broker is ready.
const RECOVERY: Duration = Duration::from_secs(45);

#[test]
fn the_ledger_begins_terms_again_after_the_broker_was_killed() {
    let xtask = xtask_for_tests();
    let broker = DedicatedBroker::new(
        &xtask,
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("restart-broker"),
        SERVICE_PORT,
        HTTP_PORT,
    );
    let _stop = broker.stop_on_drop();
    broker.start_fresh().expect("starting the test's broker");
    let urls = broker.urls();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    // The pulsar client's handles spawn tasks when dropped: keep them inside the runtime.
    let _inside = runtime.enter();
    let config = PulsarConfig::new(&urls.service)
        .and_then(|config| config.with_admin_url(&urls.admin))
        .expect("config");
    let backend = PulsarBackend::new(config).expect("backend");
    let ledger = runtime
        .block_on(backend.ledger("restart", "node-a"))
        .expect("opening the ledger");
    let first = runtime
        .block_on(ledger.begin_term("node-a", chrono::Utc::now()))
        .expect("the first term");
    let election = runtime
        .block_on(backend.election("restart", "node-a"))
        .expect("joining the election");
    let mut leadership = election.leadership();
    runtime
        .block_on(tokio::time::timeout(
            Duration::from_secs(30),
            leadership.wait_for(|now| *now == Leadership::Leading),
        ))
        .expect("the only node leads within 30 s")
        .expect("the election runs");

    broker.kill().expect("SIGKILL to the broker");
    let killed = Instant::now();
    // Nothing can reach the broker: the lease (3 s) must end the leadership, not the client's
    // 30 s wait for its producer.
    // Only whether it happened is kept: a borrow of the watched value, held on, would block
    // the election's next update of it.
    let stepped_down = runtime
        .block_on(tokio::time::timeout(
            STEP_DOWN,
            leadership.wait_for(|now| *now == Leadership::Following),
        ))
        .is_ok();
    assert!(
        stepped_down,
        "still leading {:?} after the broker was killed (lease 3 s)",
        killed.elapsed()
    );
    // A leader keeps trying while the broker is down, as the scheduler does.
    runtime.block_on(async {
        for _ in 0..3 {
            let attempt = ledger.begin_term("node-a", chrono::Utc::now()).await;
            assert!(attempt.is_err(), "a term began without a broker");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    broker.start().expect("starting the broker again");
    let ready = Instant::now();
    let again = runtime.block_on(async {
        loop {
            match ledger.begin_term("node-a", chrono::Utc::now()).await {
                Ok(start) => return Ok(start),
                Err(error) if ready.elapsed() > RECOVERY => return Err(error),
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    });
    let closed = runtime.block_on(tokio::time::timeout(CLOSE, backend.close()));
    let stopped = broker.stop();
    let again = again.unwrap_or_else(|error| {
        panic!(
            "no term could begin {} s after the broker was back: {error}",
            RECOVERY.as_secs()
        )
    });
    assert!(again.term > first.term, "terms must keep rising");
    assert!(closed.is_ok(), "closing the backend took over {CLOSE:?}");
    stopped.expect("stopping the test's broker");
}
