//! The short fault campaign that CI runs: the same campaign as `cargo xtask chaos`, with 20
//! faults (every kind at least once) of at most 8 s each, on a broker of its own that
//! `cargo xtask test` lets it run through the `xtask` binary. The seed is drawn anew each run and
//! printed; `CHAOS_SEED` replays one.
#![allow(
    clippy::print_stdout,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::path::PathBuf;
use std::time::Duration;

use leader_jobs_tests::chaos::brokers::CampaignBrokers;
use leader_jobs_tests::chaos::campaign::{self, CampaignConfig};
use leader_jobs_tests::chaos::check::{self, Evidence};
use leader_jobs_tests::dedicated_broker::{DedicatedBroker, xtask_for_tests};

const FAULTS: usize = 20;
const MAX_HOLD: Duration = Duration::from_secs(8);
/// Ports of the campaign's own broker, apart from the test brokers' 6650/8080 and 6750/8750 and
/// from `cargo xtask chaos`' 6690/8190.
const SERVICE_PORT: u16 = 6680;
const HTTP_PORT: u16 = 8180;

#[test]
fn a_short_fault_campaign_breaks_no_guarantee() {
    let xtask = xtask_for_tests();
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random);
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let broker = DedicatedBroker::new(
        &xtask,
        &scratch.join("chaos-broker"),
        SERVICE_PORT,
        HTTP_PORT,
    );
    let config = CampaignConfig {
        seed,
        faults: FAULTS,
        nodes: 3,
        node_binary: PathBuf::from(env!("CARGO_BIN_EXE_chaos-node")),
        broker: CampaignBrokers::Standalone(broker.clone()),
        dir: scratch.join(format!("chaos-run-{seed}")),
        max_hold: Some(MAX_HOLD),
    };
    let outcome = campaign::run(&config).map(|run| {
        Evidence::gather(&run, &broker.urls()).and_then(|evidence| check::judge(&run, &evidence))
    });
    let stopped = broker.stop();
    let report = outcome
        .unwrap_or_else(|error| panic!("the campaign could not run (seed {seed}): {error}"))
        .unwrap_or_else(|error| panic!("the campaign could not be judged (seed {seed}): {error}"));
    println!("{report}");
    stopped.expect("stopping the campaign's broker");
    assert_eq!(
        report.violations(),
        0,
        "the campaign broke guarantees; rerun with CHAOS_SEED={seed} (report above)"
    );
}
