//! The one backoff of the crate: a delay that doubles after every failure, between a first delay
//! and a cap, with ±20 % jitter so that nodes (or jobs) that failed together do not retry in
//! lockstep. Reconnects to the broker, term starts the ledger refused, fenced nodes and job
//! retries all wait by it.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// A doubling delay; see the module.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `min` and doubles up to `max`.
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            next: min,
        }
    }

    /// The delay before the next attempt, jittered; the one after it is twice as long.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        jittered(base)
    }

    /// Called after a success: the next failure starts from `min` again.
    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}

/// `delay` scaled by a random factor in [0.8, 1.2).
fn jittered(delay: Duration) -> Duration {
    // A fresh `RandomState` is seeded randomly by the standard library: all the randomness
    // jitter needs, without a random-number crate in builds without the Pulsar backend.
    let random = RandomState::new().hash_one(delay);
    let factor = 0.8 + (random % 4000) as f64 / 10_000.0;
    // Not `mul_f64`, which panics on overflow: a retry's delay may have doubled up to the cap.
    Duration::try_from_secs_f64(delay.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let delays: Vec<_> = (0..4).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(80) && delays[0] < Duration::from_millis(120));
        assert!(delays[1] >= Duration::from_millis(160) && delays[1] < Duration::from_millis(240));
        assert!(delays[3] >= Duration::from_millis(320) && delays[3] < Duration::from_millis(480));
        backoff.reset();
        assert!(backoff.next_delay() < Duration::from_millis(120));
    }

    #[test]
    fn an_uncapped_delay_saturates_instead_of_overflowing() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::MAX);
        let last = (0..200).map(|_| backoff.next_delay()).last();
        assert!(last.is_some_and(|delay| delay > Duration::from_secs(u64::MAX / 2)));
    }

    #[test]
    fn jitter_spreads_delays() {
        let delays: std::collections::BTreeSet<_> = (0..50)
            .map(|_| Backoff::new(Duration::from_secs(10), Duration::from_secs(10)).next_delay())
            .collect();
        assert!(delays.len() > 10, "{delays:?}");
    }
}
