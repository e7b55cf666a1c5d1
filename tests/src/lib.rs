//! Shared helpers of the integration tests, which run against a real Apache Pulsar broker.
//!
//! Start one with `cargo xtask pulsar start`, or let `cargo xtask test` start it and run
//! everything.

pub mod abandoned_log;
pub mod broker;
pub mod cluster;
pub mod dedicated_broker;
pub mod long_ledger;
pub mod pulsar_cluster;

pub mod run_log;

pub mod secure;

pub mod oauth2_issuer;

pub mod chaos;

pub mod wait;

use std::future::Future;
use std::time::Duration;

/// A plain HTTP client for loopback calls: answers of every status come back as answers (the
/// caller judges them), no proxy from the environment, and each call bounded by `timeout`.
pub fn http_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

/// How long any one test that talks to a broker may take. The longest pass in well under two
/// minutes; a test past this waits on something that will not come.
pub const TEST_BOUND: Duration = Duration::from_secs(300);

/// Runs a test's body and fails the test once it has run for [`TEST_BOUND`]. Without it a test
/// left waiting on a broker that cannot write held a CI run until the run's own limit cut it off,
/// with none of the later tests run or reported.
///
/// # Panics
///
/// When the body has not finished within [`TEST_BOUND`].
pub async fn bounded<T>(body: impl Future<Output = T>) -> T {
    bounded_by(TEST_BOUND, body).await
}

/// [`bounded`] with a bound of the test's own, for a test whose length the environment sets.
///
/// # Panics
///
/// When the body has not finished within `limit`.
#[allow(clippy::panic, reason = "failing the test is the point")]
pub async fn bounded_by<T>(limit: Duration, body: impl Future<Output = T>) -> T {
    // On the heap: a test's whole body as one future overflowed the test thread's stack in
    // debug builds once wrapped in the timeout.
    match tokio::time::timeout(limit, Box::pin(body)).await {
        Ok(outcome) => outcome,
        Err(_) => panic!(
            "the test did not finish within {limit:?}: it waits on something that does not come \
             (the broker's log under target/ may say why)"
        ),
    }
}
