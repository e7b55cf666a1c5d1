//! Spotting a leader that stopped consuming, from samples of the subscription's backlog.

use std::time::Duration;

use tokio::time::Instant;

/// Decides from backlog samples whether the active consumer has stopped acknowledging.
///
/// A live leader acknowledges each heartbeat within milliseconds, so the backlog is almost always
/// zero when sampled. A stalled one lets it grow by every heartbeat the others send: the verdict
/// is "stalled" once the backlog has been non-zero for the whole grace period and grew by at
/// least `min_growth`, half of what one other node alone sends in the grace period.
#[derive(Debug)]
pub(super) struct StallDetector {
    grace: Duration,
    min_growth: u64,
    first_seen: Option<(Instant, u64)>,
}

impl StallDetector {
    pub(super) fn new(grace: Duration, heartbeat_interval: Duration) -> Self {
        let beats = grace.as_millis() / heartbeat_interval.as_millis().max(1);
        let min_growth = u64::try_from(beats / 2).unwrap_or(u64::MAX).max(2);
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
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_millis(500));
        for second in 0..20 {
            let backlog = if second % 2 == 0 { 1 } else { 0 };
            assert!(!detector.observe(backlog, start + Duration::from_secs(second)));
        }
    }

    #[test]
    fn a_growing_backlog_over_the_grace_is_a_stall() {
        let start = Instant::now();
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_millis(500));
        let verdicts: Vec<bool> = (0..7)
            .map(|s| detector.observe(3 + s * 6, start + Duration::from_secs(s)))
            .collect();
        assert_eq!(verdicts, [false, false, false, false, false, true, true]);
    }

    #[test]
    fn a_backlog_that_lingers_without_growing_is_not_a_stall() {
        let start = Instant::now();
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_millis(500));
        let verdicts: Vec<bool> = (0..10)
            .map(|s| detector.observe(3 + s / 3, start + Duration::from_secs(s)))
            .collect();
        assert!(verdicts.iter().all(|stalled| !stalled), "{verdicts:?}");
    }
}
