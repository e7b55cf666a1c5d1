//! What this node knows about its own leadership of a lock, on the monotonic clock: until when its
//! lease holds, and when the broker last confirmed that it is the active consumer.
//!
//! The lease (3 s by default) decides whether the node leads. A run needs more: a confirmation
//! younger than the [confirmation window](super::super::PulsarConfig::confirmation_window). The
//! broker hands a failover subscription to another consumer only its failover delay (1 s by
//! default) after it stopped delivering to the old one, and every heartbeat that comes back to
//! this node was sent before that moment. A run that starts within the window of such a send
//! therefore starts before any other node can have heard that it leads, let alone begun a term.

use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// This node's standing on one lock, shared between the election task, which renews it, and the
/// scheduler, which asks it before claiming and before starting a run.
#[derive(Debug)]
pub(crate) struct Lease {
    state: watch::Sender<Standing>,
    /// Asks the election task for a heartbeat now, when a confirmation is wanted and the last
    /// one is too old.
    nudge: Notify,
}

#[derive(Clone, Copy, Debug, Default)]
struct Standing {
    /// The lease's end, while this node holds one.
    until: Option<Instant>,
    /// The send time of the latest heartbeat of ours that came back: at some moment after it,
    /// this node was the active consumer.
    confirmed: Option<Instant>,
}

impl Default for Lease {
    fn default() -> Self {
        Self {
            state: watch::Sender::new(Standing::default()),
            nudge: Notify::new(),
        }
    }
}

impl Lease {
    /// A heartbeat sent at `sent_at` came back: the lease runs to `until` (never shortened by a
    /// late heartbeat), and leadership is confirmed as of `sent_at`.
    pub(super) fn renew(&self, sent_at: Instant, until: Instant) {
        self.state.send_modify(|standing| {
            standing.until = Some(standing.until.map_or(until, |current| current.max(until)));
            standing.confirmed = Some(standing.confirmed.map_or(sent_at, |c| c.max(sent_at)));
        });
    }

    /// The lease is over (it ran out, the session ended, or the node resigned).
    pub(super) fn end(&self) {
        self.state.send_replace(Standing::default());
    }

    /// The lease's end, while it holds.
    pub(super) fn until(&self) -> Option<Instant> {
        self.state
            .borrow()
            .until
            .filter(|until| Instant::now() < *until)
    }

    /// True while the lease has not run out.
    pub(crate) fn holds(&self) -> bool {
        self.until().is_some()
    }

    /// Asks the election task for a heartbeat now.
    pub(crate) fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Resolves when someone wants a fresh confirmation.
    pub(super) async fn nudged(&self) {
        self.nudge.notified().await;
    }

    /// Waits until this node's leadership is confirmed within `window` of now and returns true,
    /// or returns false once the lease ends or `limit` has passed without such a confirmation.
    pub(crate) async fn confirm(&self, window: Duration, limit: Duration) -> bool {
        let give_up = Instant::now() + limit;
        let mut changes = self.state.subscribe();
        loop {
            let standing = *changes.borrow_and_update();
            let now = Instant::now();
            let Some(until) = standing.until.filter(|until| now < *until) else {
                return false;
            };
            if standing.confirmed.is_some_and(|at| now < at + window) {
                return true;
            }
            if now >= give_up {
                return false;
            }
            self.nudge();
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return false },
                () = tokio::time::sleep_until(until.min(give_up)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_millis(750);

    #[tokio::test(start_paused = true)]
    async fn a_recent_heartbeat_confirms_at_once() {
        let lease = Lease::default();
        let now = Instant::now();
        lease.renew(now, now + Duration::from_secs(3));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(lease.confirm(WINDOW, Duration::from_secs(3)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn an_old_confirmation_waits_for_a_new_heartbeat() {
        let lease = std::sync::Arc::new(Lease::default());
        let sent = Instant::now();
        lease.renew(sent, sent + Duration::from_secs(3));
        tokio::time::advance(Duration::from_secs(1)).await;
        let renewer = std::sync::Arc::clone(&lease);
        let heartbeat = tokio::spawn(async move {
            renewer.nudged().await;
            let sent = Instant::now();
            tokio::time::sleep(Duration::from_millis(5)).await;
            renewer.renew(sent, sent + Duration::from_secs(3));
        });
        let started = Instant::now();
        assert!(lease.confirm(WINDOW, Duration::from_secs(3)).await);
        assert_eq!(started.elapsed(), Duration::from_millis(5));
        heartbeat.await.ok();
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_that_runs_out_is_no_confirmation() {
        let lease = Lease::default();
        let sent = Instant::now();
        lease.renew(sent, sent + Duration::from_secs(3));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!lease.confirm(WINDOW, Duration::from_secs(10)).await);
        assert_eq!(sent.elapsed(), Duration::from_secs(3));
        assert!(!lease.holds());
    }

    #[tokio::test(start_paused = true)]
    async fn confirming_gives_up_after_its_limit() {
        let lease = Lease::default();
        let sent = Instant::now();
        lease.renew(sent, sent + Duration::from_secs(3));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!lease.confirm(WINDOW, Duration::from_millis(200)).await);
        assert!(lease.holds());
    }
}
