//! Exponential backoff with jitter between reconnect attempts.

use std::time::Duration;

use rand::Rng;

/// Doubles the delay after every failure, between `min` and `max`, with ±20 % jitter so that
/// nodes that lost the broker together do not reconnect in lockstep.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new((min, max): (Duration, Duration)) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The delay before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        base.mul_f64(rand::rng().random_range(0.8..1.2))
    }

    /// Called after a success: the next failure starts from `min` again.
    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_reset() {
        let mut backoff = Backoff::new((Duration::from_millis(100), Duration::from_millis(400)));
        let delays: Vec<_> = (0..4).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(80) && delays[0] <= Duration::from_millis(120));
        assert!(delays[3] >= Duration::from_millis(320) && delays[3] <= Duration::from_millis(480));
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(120));
    }
}
