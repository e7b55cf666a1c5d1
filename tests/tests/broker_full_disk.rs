//! A broker whose bookie refuses writes is not called ready. CI twice met a broker that answered
//! every admin read while its bookie had turned read-only on a nearly full disk, and every test
//! after it failed with "Not enough non-faulty bookies available" or waited forever. Here the
//! bookie's disk threshold is set so low that any disk is "full", and the tooling must refuse
//! the broker quickly, naming the disk.
#![allow(clippy::expect_used, clippy::panic, reason = "test code")]

use std::path::PathBuf;
use std::time::Duration;

use leader_jobs_tests::dedicated_broker::{BrokerError, DedicatedBroker, xtask_for_tests};

/// Ports apart from every other broker of the tests.
const SERVICE_PORT: u16 = 6664;
const HTTP_PORT: u16 = 8064;
/// Far more than a healthy start takes (under 10 s here): the refusal must not come from this.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn a_broker_whose_bookie_cannot_write_is_refused_naming_the_disk() {
    let xtask = xtask_for_tests();
    let broker = DedicatedBroker::new(
        &xtask,
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("full-disk-broker"),
        SERVICE_PORT,
        HTTP_PORT,
    )
    .with_settings(&[
        "diskUsageThreshold=0.000001",
        "diskUsageWarnThreshold=0.000001",
        "diskUsageLwmThreshold=0.000001",
    ])
    .with_ready_timeout(READY_TIMEOUT);
    let _stop = broker.stop_on_drop();

    let refused = broker.start_fresh();
    let Err(BrokerError::Failed { output, .. }) = refused else {
        panic!("a broker whose bookie cannot write was called ready: {refused:?}");
    };
    assert!(
        output.contains("the broker cannot write") && output.contains("too full"),
        "the refusal does not name the full disk:\n{output}"
    );
    assert!(
        !output.contains(&format!("not ready after {}", READY_TIMEOUT.as_secs())),
        "the tooling waited for its timeout instead of reading the bookie's verdict:\n{output}"
    );
}
