//! Finding the ticks that passed unrun: while no node led the lock (found at takeover from the
//! ledger), or while this node was late to wake up.
//!
//! Gaps can be long (a per-second job after a week of downtime), so nothing here walks a whole gap:
//! the latest missed tick is found by searching backwards from the present in doubling steps, and
//! `fire_all` only enumerates its catch-up window.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use leader_jobs_cron::Schedule;

/// The most catch-up runs `fire_all` queues for one gap, however wide the window; the newest are
/// kept.
pub(super) const MAX_CATCH_UP_RUNS: usize = 1_000;

/// The ticks `fire_all` runs for one gap.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct CatchUp {
    /// The missed ticks inside the window, oldest first (at most [`MAX_CATCH_UP_RUNS`]).
    pub(super) ticks: Vec<DateTime<Utc>>,
    /// Whether older missed ticks exist that will not run.
    pub(super) dropped_older: bool,
}

/// The latest tick of `schedule` in `(after, until]`.
pub(super) fn latest_tick(
    schedule: &Schedule,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut lookback = TimeDelta::seconds(1);
    loop {
        let from = until
            .checked_sub_signed(lookback)
            .map_or(after, |from| from.max(after));
        if let Some(first) = schedule.next_after(from).filter(|t| *t <= until) {
            let mut latest = first;
            while let Some(next) = schedule.next_after(latest).filter(|t| *t <= until) {
                latest = next;
            }
            return Some(latest);
        }
        if from <= after {
            return None;
        }
        lookback = lookback.checked_mul(2).unwrap_or(TimeDelta::MAX);
    }
}

/// The ticks of `schedule` in `(after, until]` that are no older than `window` before `until`.
pub(super) fn catch_up_within(
    schedule: &Schedule,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    window: Duration,
) -> CatchUp {
    let window_start = TimeDelta::from_std(window)
        .ok()
        .and_then(|window| until.checked_sub_signed(window))
        .map_or(after, |start| start.max(after));
    let mut ticks = VecDeque::new();
    let mut dropped_older =
        window_start > after && latest_tick(schedule, after, window_start).is_some();
    let mut cursor = window_start;
    while let Some(tick) = schedule.next_after(cursor).filter(|t| *t <= until) {
        if ticks.len() == MAX_CATCH_UP_RUNS {
            ticks.pop_front();
            dropped_older = true;
        }
        ticks.push_back(tick);
        cursor = tick;
    }
    CatchUp {
        ticks: ticks.into(),
        dropped_older,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, h, m, s).unwrap()
    }

    fn schedule(cron: &str) -> Schedule {
        Schedule::parse(cron).unwrap()
    }

    #[test]
    fn the_latest_tick_of_a_sparse_schedule_is_found_far_back() {
        let daily = schedule("0 9 * * *");
        let after = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            latest_tick(&daily, after, at(8, 0, 0)),
            Some(Utc.with_ymd_and_hms(2025, 12, 31, 9, 0, 0).unwrap())
        );
    }

    #[test]
    fn the_latest_tick_of_a_dense_schedule_is_the_last_one_before_now() {
        let every_second = schedule("* * * * * *");
        let after = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            latest_tick(
                &every_second,
                after,
                at(8, 0, 0) + TimeDelta::milliseconds(500)
            ),
            Some(at(8, 0, 0))
        );
    }

    #[test]
    fn no_tick_in_the_gap_means_none() {
        let hourly = schedule("0 * * * *");
        assert_eq!(latest_tick(&hourly, at(8, 0, 0), at(8, 59, 59)), None);
        assert_eq!(latest_tick(&hourly, at(8, 0, 0), at(8, 0, 0)), None);
        assert_eq!(
            latest_tick(&hourly, at(8, 0, 0), at(9, 0, 0)),
            Some(at(9, 0, 0))
        );
    }

    #[test]
    fn catch_up_keeps_the_window_oldest_first_and_says_what_it_dropped() {
        let quarterly = schedule("*/15 * * * *");
        let catch_up = catch_up_within(
            &quarterly,
            at(6, 0, 0),
            at(9, 20, 0),
            Duration::from_secs(3600),
        );
        assert_eq!(
            catch_up,
            CatchUp {
                ticks: vec![at(8, 30, 0), at(8, 45, 0), at(9, 0, 0), at(9, 15, 0)],
                dropped_older: true,
            }
        );
        let within = catch_up_within(
            &quarterly,
            at(8, 50, 0),
            at(9, 20, 0),
            Duration::from_secs(3600),
        );
        assert_eq!(within.ticks, vec![at(9, 0, 0), at(9, 15, 0)]);
        assert!(!within.dropped_older);
    }

    #[test]
    fn catch_up_is_capped_keeping_the_newest_ticks() {
        let every_second = schedule("* * * * * *");
        let catch_up = catch_up_within(
            &every_second,
            at(0, 0, 0),
            at(1, 0, 0),
            Duration::from_secs(3600),
        );
        assert_eq!(catch_up.ticks.len(), MAX_CATCH_UP_RUNS);
        assert_eq!(catch_up.ticks.last(), Some(&at(1, 0, 0)));
        assert!(catch_up.dropped_older);
    }
}
