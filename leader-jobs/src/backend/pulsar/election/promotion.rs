//! Moving a leader's consumer to the leader's priority level, and when to do it.
//!
//! The move changes the subscription's active consumer, from the node's consumer at the
//! follower level to its new one, and the broker then holds back every message for its
//! failover delay (`activeConsumerFailoverDelayTimeMillis`, 1 s by default). No heartbeat of
//! ours comes back in that second, so a run due in it waits for its confirmation: the bench saw
//! one tick in 120 start about 0.6 s late after each gain of a lock. At the end of the cold-start
//! window, a move known in advance, the move is timed: ticks fall on whole seconds (cron has no
//! finer field), and it starts when a heartbeat sent [`SLOT_BEFORE_SECOND`] less than a
//! confirmation window before one comes back. Its confirmation covers the tick on that second,
//! the failover delay is over well before the next one, and a heartbeat sent after it confirms
//! the next tick in time. After a takeover the move is not put off: it starts on the heartbeat
//! that told the node it leads, because the node that was killed often restarts within the
//! second and, while the new leader sits at the follower level, may take the role back. A tick
//! in the failover delay after a takeover may still wait for its confirmation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::session::{ElectionConsumer, close_consumer, subscribe};
use super::{ElectionTask, LEADER_LEVEL};
use crate::backend::pulsar::Client;

/// How long after a whole second the confirmation of the heartbeat that starts the move still
/// holds: the time the tick on that second has to claim and start its run.
const SLOT_BEFORE_SECOND: Duration = Duration::from_millis(150);

const SECOND_NANOS: u128 = 1_000_000_000;

/// A move to the leader's level under way: the new consumer, or why it could not subscribe.
pub(super) type Promotion = oneshot::Receiver<Result<ElectionConsumer, pulsar::Error>>;

/// Subscribes a consumer at the leader's level in a task of its own, which closes it again if
/// the session is gone by the time the broker answers. Dropping a subscription mid-way could
/// leave it registered with no one reading it, and at the leader's level it would hold the role.
pub(super) fn promote(client: &Client, task: &ElectionTask, topic: &str) -> Promotion {
    let (sender, receiver) = oneshot::channel();
    let (client, topic, node) = (client.clone(), topic.to_owned(), task.node.clone());
    tokio::spawn(async move {
        let subscribed = subscribe(&client, &topic, &node, LEADER_LEVEL).await;
        if let Err(Ok(consumer)) = sender.send(subscribed) {
            close_consumer(consumer).await;
        }
    });
    receiver
}

/// The first moment at or after `earliest` to send the heartbeat whose return starts the move:
/// `confirmation_window` − [`SLOT_BEFORE_SECOND`] before a whole second of the wall clock.
pub(super) fn slot_at_or_after(earliest: Instant, confirmation_window: Duration) -> Instant {
    let now = Instant::now();
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + earliest.saturating_duration_since(now);
    earliest + wait_for_slot(wall, confirmation_window)
}

/// How long after the wall-clock time `wall` (since the Unix epoch) the next slot comes.
fn wait_for_slot(wall: Duration, confirmation_window: Duration) -> Duration {
    let lead = confirmation_window
        .saturating_sub(SLOT_BEFORE_SECOND)
        .as_nanos()
        .min(SECOND_NANOS - 1);
    let slot = (SECOND_NANOS - lead) % SECOND_NANOS;
    let into_second = wall.as_nanos() % SECOND_NANOS;
    let wait = (slot + SECOND_NANOS - into_second) % SECOND_NANOS;
    Duration::from_nanos(u64::try_from(wait).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_millis(750);

    fn at(secs: u64, millis: u64) -> Duration {
        Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn the_slot_is_a_window_less_its_margin_before_a_whole_second() {
        assert_eq!(wait_for_slot(at(10, 0), WINDOW), Duration::from_millis(400));
        assert_eq!(wait_for_slot(at(10, 399), WINDOW), Duration::from_millis(1));
        assert_eq!(wait_for_slot(at(10, 400), WINDOW), Duration::ZERO);
        assert_eq!(
            wait_for_slot(at(10, 401), WINDOW),
            Duration::from_millis(999)
        );
    }

    #[test]
    fn the_slot_covers_the_next_tick_and_the_delay_ends_before_the_one_after() {
        let failover_delay = Duration::from_secs(1);
        for millis in (0..1000).step_by(7) {
            let now = at(1_700_000_000, millis);
            let sent = now + wait_for_slot(now, WINDOW);
            let next_second = Duration::from_secs(sent.as_secs() + 1);
            let confirmed_until = sent + WINDOW;
            assert!(
                confirmed_until >= next_second + SLOT_BEFORE_SECOND,
                "{sent:?}"
            );
            // Round trips of the heartbeat and of the subscription, then the broker's delay.
            let held_until = sent + failover_delay + Duration::from_millis(30);
            assert!(
                held_until + WINDOW / 2 < next_second + Duration::from_secs(1),
                "{sent:?}"
            );
        }
    }

    #[test]
    fn a_window_shorter_than_the_margin_sends_on_the_second() {
        let wait = wait_for_slot(at(3, 250), Duration::from_millis(100));
        assert_eq!(wait, Duration::from_millis(750));
    }
}
