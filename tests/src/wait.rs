//! Waiting in a test for a condition, each wait bounded: the test fails naming what did not
//! happen instead of hanging or sleeping a guessed time.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is looked at.
const POLL: Duration = Duration::from_millis(20);

/// Waits until `done` holds, looking every 20 ms.
///
/// # Panics
///
/// When it does not hold within `limit`, naming `what`.
pub async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `attempt` gives `Some`, trying every 20 ms, and returns what it gave.
///
/// # Panics
///
/// When it gives `None` until `limit`, naming `what`.
pub async fn until_some<T, F, Fut>(what: &str, limit: Duration, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = attempt().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(POLL).await;
    }
}

/// Retries `attempt` until it succeeds, every 250 ms, and returns its value.
///
/// # Panics
///
/// When it still fails at `limit`, naming `what` and the last error.
#[allow(clippy::panic, reason = "failing the test is the point")]
pub async fn until_ok<T, E, F, Fut>(what: &str, limit: Duration, mut attempt: F) -> T
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + limit;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(error) if Instant::now() > deadline => panic!("{what} within {limit:?}: {error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}
