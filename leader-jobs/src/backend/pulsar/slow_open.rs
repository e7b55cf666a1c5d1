//! Saying so when joining a topic takes long.
//!
//! The `pulsar` crate retries a broker's "not ready" answer to a subscription or a producer
//! forever, which is right for a topic that is moving between brokers, but it says nothing
//! meanwhile. A broker that cannot create topics at all (its bookies refuse writes, as on a
//! nearly full disk) then leaves a node waiting without a word. The wait itself is kept: given
//! up on, a subscription the broker completes later would stay registered with no one reading
//! it, and in a failover subscription such a consumer could take the active role from every
//! live node.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tracing::warn;

/// How long joining a topic may take before a warning; measured joins take well under a second,
/// and about 6 s after a topic moved.
const WARN_AFTER: Duration = Duration::from_secs(20);

/// Awaits `open` (joining `topic` for the lock's `purpose`), warning every [`WARN_AFTER`] while
/// it has not finished.
pub(crate) async fn warn_while_waiting<T>(
    open: impl Future<Output = T>,
    lock: &str,
    topic: &str,
    purpose: &str,
) -> T {
    let started = Instant::now();
    tokio::pin!(open);
    loop {
        tokio::select! {
            done = &mut open => return done,
            () = tokio::time::sleep(WARN_AFTER) => warn!(
                lock,
                topic,
                waited = ?started.elapsed(),
                "still waiting for the broker to let this node {purpose}: it answers that the \
                 topic is not ready; its log says why (a bookie that refuses writes, as on a \
                 nearly full disk, stops every topic from being created)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_wait_goes_on_past_the_warning() {
        let started = Instant::now();
        let answer = warn_while_waiting(
            async {
                tokio::time::sleep(WARN_AFTER * 3).await;
                7
            },
            "lock",
            "persistent://public/default/t",
            "join the election",
        )
        .await;
        assert_eq!(answer, 7);
        assert!(started.elapsed() >= WARN_AFTER * 3);
    }
}
