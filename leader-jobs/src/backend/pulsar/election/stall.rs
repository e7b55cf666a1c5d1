//! Spotting a leader that stopped consuming, from samples of the subscription's backlog.

use std::time::Duration;

use tokio::time::Instant;

/// Decides from backlog samples whether the active consumer has stopped acknowledging.
///
/// A live leader acknowledges each heartbeat within milliseconds, so the backlog is mostly zero
/// when sampled; it can linger at a message or two (one delivered to a consumer that closed), and
/// it grows while the role passes between nodes (nobody acknowledges during the broker's 1 s
/// failover delay). A stalled leader lets it grow by every heartbeat the followers send for as
/// long as it stalls: the verdict is "stalled" once the backlog has been non-zero for the whole
/// grace period and grew by at least `min_growth`, all that one follower alone sends in the grace
/// period. Half of that was too little once followers beat at half a leader's rate: a lingering
/// backlog of 2 that a handover took to 4 passed for a stall, and a follower unloaded the new
/// leader's topic (`failover.rs` met it in CI).
#[derive(Debug)]
pub(super) struct StallDetector {
    grace: Duration,
    min_growth: u64,
    first_seen: Option<(Instant, u64)>,
}

impl StallDetector {
    /// For followers that heartbeat every `follower_interval`.
    pub(super) fn new(grace: Duration, follower_interval: Duration) -> Self {
        let beats = grace.as_millis() / follower_interval.as_millis().max(1);
        let min_growth = u64::try_from(beats).unwrap_or(u64::MAX).max(2);
        Self {
            grace,
            min_growth,
            first_seen: None,
        }
    }

    pub(super) fn observe(&mut self, backlog: u64, now: Instant) -> bool {
        if backlog == 0 {
            self.first_seen = None;
            return false;
        }
        let (since, initial) = *self.first_seen.get_or_insert((now, backlog));
        now.duration_since(since) >= self.grace && backlog >= initial + self.min_growth
    }

    pub(super) fn reset(&mut self) {
        self.first_seen = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn a_draining_backlog_is_not_a_stall() {
        let start = Instant::now();
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_secs(1));
        for second in 0..20 {
            let backlog = if second % 2 == 0 { 1 } else { 0 };
            assert!(!detector.observe(backlog, start + Duration::from_secs(second)));
        }
    }

    #[test]
    fn a_growing_backlog_over_the_grace_is_a_stall() {
        let start = Instant::now();
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_secs(1));
        let verdicts: Vec<bool> = (0..7)
            .map(|s| detector.observe(3 + s * 6, start + Duration::from_secs(s)))
            .collect();
        assert_eq!(verdicts, [false, false, false, false, false, true, true]);
    }

    #[test]
    fn a_handover_on_top_of_a_lingering_backlog_is_not_a_stall() {
        // As `failover.rs` saw it: two messages linger under a live leader, then the role passes
        // to another node and the backlog grows by what the followers sent meanwhile.
        let start = Instant::now();
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_secs(1));
        let verdicts: Vec<bool> = [2, 2, 1, 2, 2, 4, 4]
            .into_iter()
            .zip(0..)
            .map(|(backlog, s)| detector.observe(backlog, start + Duration::from_secs(s)))
            .collect();
        assert!(verdicts.iter().all(|stalled| !stalled), "{verdicts:?}");
    }

    #[test]
    fn one_follower_alone_still_spots_a_stall() {
        // Two nodes: the frozen leader's backlog grows by the one follower's heartbeats only.
        let start = Instant::now();
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_secs(1));
        let stalled_at = (0..10)
            .find(|s| detector.observe(1 + s, start + Duration::from_secs(*s)))
            .expect("a stall");
        assert_eq!(stalled_at, 5);
    }

    #[test]
    fn a_backlog_that_lingers_without_growing_is_not_a_stall() {
        let start = Instant::now();
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_secs(1));
        let verdicts: Vec<bool> = (0..10)
            .map(|s| detector.observe(3 + s / 3, start + Duration::from_secs(s)))
            .collect();
        assert!(verdicts.iter().all(|stalled| !stalled), "{verdicts:?}");
    }
}
