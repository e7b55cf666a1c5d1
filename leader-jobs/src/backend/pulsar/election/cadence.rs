//! When a node's election sessions wake: on one grid shared by all of them, so that a node in
//! several election groups wakes once for all their heartbeats rather than once for each.
//!
//! An idle node's cost is mostly its wake-ups, not the work in them: `strace` of a follower in
//! four election groups counted about 18 wake-ups a second, for four heartbeats and four backlog
//! samples a second whose timers each ran on the phase of the session that set it.
//!
//! The grid sits a quarter of a second past the wall clock's whole seconds, where no job's tick
//! falls (ticks are whole seconds) and no read for operators' commands (half-way between), so
//! heartbeats do not compete with a run that is due.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use tokio::time::{Instant, Interval, MissedTickBehavior};

/// How far past a whole second of the wall clock the grid's moments fall.
const PHASE: Duration = Duration::from_millis(250);

/// The grid's origin: a moment [`PHASE`] past a whole second, at or before the first time any
/// session of this process asked. The wall clock is read once: a step of it later moves the
/// grid off its phase, which costs nothing but the spacing from ticks.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(|| {
        let now = Instant::now();
        let into_second = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|since| Duration::from_nanos(since.subsec_nanos().into()))
            .unwrap_or_default();
        let back = if into_second >= PHASE {
            into_second - PHASE
        } else {
            into_second + Duration::from_secs(1) - PHASE
        };
        now.checked_sub(back).unwrap_or(now)
    })
}

/// The first moment at or after `now` that is `offset` past a multiple of `period` since
/// `origin`.
fn next_on_grid(origin: Instant, now: Instant, period: Duration, offset: Duration) -> Instant {
    let Some(elapsed) = now.checked_duration_since(origin) else {
        // A runtime whose clock is behind the origin (tests that pause time) has no grid.
        return now;
    };
    let period = period.as_nanos().max(1);
    let offset = offset.as_nanos();
    let steps = elapsed.as_nanos().saturating_sub(offset).div_ceil(period);
    let on_grid = steps.saturating_mul(period).saturating_add(offset);
    origin + Duration::from_nanos(u64::try_from(on_grid).unwrap_or(u64::MAX))
}

/// Ticks every `period`, `offset` past the process-wide grid, starting at the next such moment.
/// A tick missed while the session was busy is skipped, so the ticks stay on the grid.
pub(super) fn on_grid(period: Duration, offset: Duration) -> Interval {
    let start = next_on_grid(origin(), Instant::now(), period, offset);
    let mut interval = tokio::time::interval_at(start, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn moments_fall_on_the_grid_of_their_period_and_offset() {
        let origin = Instant::now();
        let at = |ms: u64| origin + Duration::from_millis(ms);
        let next = |now: u64, period: u64, offset: u64| {
            next_on_grid(
                origin,
                at(now),
                Duration::from_millis(period),
                Duration::from_millis(offset),
            )
        };
        assert_eq!(next(0, 1000, 0), at(0));
        assert_eq!(next(1, 1000, 0), at(1000));
        assert_eq!(next(2000, 1000, 0), at(2000));
        assert_eq!(next(2300, 500, 0), at(2500));
        assert_eq!(next(2300, 1000, 500), at(2500));
        assert_eq!(next(2600, 1000, 500), at(3500));
        assert_eq!(next(100, 1000, 500), at(500));
    }

    #[test]
    fn a_clock_behind_the_origin_starts_at_once() {
        let origin = Instant::now() + SECOND;
        let now = Instant::now();
        assert_eq!(next_on_grid(origin, now, SECOND, Duration::ZERO), now);
    }

    #[test]
    fn the_grid_falls_a_quarter_second_past_the_wall_clocks_seconds() {
        let since_origin = Instant::now().duration_since(origin());
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        let origin_on_the_wall = wall - since_origin;
        let off = i64::from(origin_on_the_wall.subsec_nanos()) - 250_000_000;
        // Loose: each side reads two clocks one after the other, and a loaded machine may
        // preempt a thread between the reads; a grid off its phase would be off by more.
        assert!(off.abs() < 50_000_000, "{off} ns off the phase");
    }

    #[tokio::test]
    async fn an_interval_ticks_on_the_process_grid() {
        let mut interval = on_grid(SECOND, Duration::from_millis(250));
        let first = interval.tick().await;
        let since = first.duration_since(origin()).as_nanos();
        assert_eq!(
            since % SECOND.as_nanos(),
            Duration::from_millis(250).as_nanos()
        );
    }
}
