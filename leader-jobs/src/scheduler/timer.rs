//! Sleeping until a wall-clock instant on Tokio's monotonic timer.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;

/// The longest single sleep. Tokio's timer does not see the wall clock step forward (NTP, a
/// suspended machine waking up), so a long sleep re-reads the wall clock at least this often.
const RECHECK_WALL_CLOCK: Duration = Duration::from_secs(60);

/// Completes once `clock` reads `deadline` or later; never completes for `None`. The wall clock is
/// read again after every sleep, so a clock stepped back delays the wake-up instead of firing early.
pub(super) async fn sleep_until(clock: &dyn Clock, deadline: Option<DateTime<Utc>>) {
    let Some(deadline) = deadline else {
        return std::future::pending().await;
    };
    // `to_std` fails exactly when the deadline has passed.
    while let Ok(remaining) = (deadline - clock.now()).to_std() {
        if remaining.is_zero() {
            return;
        }
        tokio::time::sleep(remaining.min(RECHECK_WALL_CLOCK)).await;
    }
}

/// As [`sleep_until`], or until the monotonic `instant` if that comes first: for a deadline
/// that a wall clock stepped back must not push out.
pub(super) async fn sleep_until_or(
    clock: &dyn Clock,
    deadline: Option<DateTime<Utc>>,
    instant: Option<tokio::time::Instant>,
) {
    let monotonic = async {
        match instant {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = sleep_until(clock, deadline) => {}
        () = monotonic => {}
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::clock::TestClock;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn wakes_exactly_at_the_deadline() {
        let clock = TestClock::starting_at(start());
        let deadline = start() + TimeDelta::milliseconds(90_250);
        sleep_until(&clock, Some(deadline)).await;
        assert_eq!(clock.now(), deadline);
    }

    #[tokio::test(start_paused = true)]
    async fn a_clock_stepped_back_delays_the_wake_up() {
        let clock = TestClock::starting_at(start());
        let began = tokio::time::Instant::now();
        let stepper = clock.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            stepper.jump(TimeDelta::seconds(-30));
        });
        let deadline = start() + TimeDelta::seconds(10);
        sleep_until(&clock, Some(deadline)).await;
        assert_eq!(clock.now(), deadline);
        assert_eq!(began.elapsed(), Duration::from_secs(40));
    }

    #[tokio::test(start_paused = true)]
    async fn a_clock_stepped_forward_is_noticed_within_a_minute() {
        let clock = TestClock::starting_at(start());
        let began = tokio::time::Instant::now();
        let stepper = clock.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            stepper.jump(TimeDelta::hours(3));
        });
        let deadline = start() + TimeDelta::hours(3);
        sleep_until(&clock, Some(deadline)).await;
        assert_eq!(began.elapsed(), RECHECK_WALL_CLOCK);
        assert!(clock.now() >= deadline);
    }

    #[tokio::test(start_paused = true)]
    async fn a_past_deadline_returns_at_once() {
        let clock = TestClock::starting_at(start());
        sleep_until(&clock, Some(start() - TimeDelta::seconds(1))).await;
        assert_eq!(clock.now(), start());
    }
}
