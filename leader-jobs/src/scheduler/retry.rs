//! When a failed attempt is retried, and how long it waits first.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use crate::backend::RunOutcome;

/// Whether an attempt that ended with `outcome` may be retried: it failed on its own (an error, a
/// panic, its timeout). A run dropped after leadership ended is not: another node leads now.
pub(super) fn retries_after(outcome: RunOutcome) -> bool {
    matches!(
        outcome,
        RunOutcome::Failed | RunOutcome::Panicked | RunOutcome::TimedOut
    )
}

/// The wait after attempt `attempt` (1 for the first) failed: `first` doubled per attempt before,
/// then scaled by a random factor in [0.75, 1.25), so that jobs failing together on one cause do
/// not all retry at the same instant.
pub(super) fn backoff(first: Duration, attempt: u32) -> Duration {
    let doubled = first.saturating_mul(1_u32 << attempt.saturating_sub(1).min(20));
    // A fresh `RandomState` is seeded randomly by the standard library: enough jitter without a
    // random-number crate.
    let random = RandomState::new().hash_one(attempt);
    let factor = 0.75 + (random % 1000) as f64 / 2000.0;
    doubled.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::backoff;

    #[test]
    fn the_wait_doubles_per_attempt_within_the_jitter() {
        let first = Duration::from_secs(10);
        for attempt in 1..=4 {
            let base = first * (1 << (attempt - 1));
            let wait = backoff(first, attempt);
            assert!(
                wait >= base.mul_f64(0.75) && wait < base.mul_f64(1.25),
                "{attempt}: {wait:?}"
            );
        }
        assert!(backoff(Duration::from_secs(1), 100) <= Duration::from_secs(1 << 20).mul_f64(1.25));
    }
}
