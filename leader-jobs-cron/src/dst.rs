//! From wall-clock matches to instants: the time zone and Debian cron's daylight-saving rule.
//!
//! Within a stretch of constant UTC offset a tick is simply a matching wall-clock time. At a
//! clock change:
//! - skipped wall-clock times (spring forward) give a fixed-time job one tick at the instant the
//!   clock jumps — the first instant after the gap; a wildcard job has no tick there;
//! - repeated wall-clock times (fall back) give a fixed-time job a tick in the first pass only;
//!   a wildcard job gets a tick in both passes;
//! - a jump forward of [`DST_LIMIT`] or more, or back by more, is a clock correction to Debian's
//!   cron, not daylight saving: skipped times are lost and repeated times fire twice for every
//!   job.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::{GapInfo, Tz};

use super::expr::{CronExpr, Timing};

/// The largest clock change Debian's cron treats as daylight saving. It compares whole minutes:
/// a gap of 3 h is already a correction there, an overlap of 3 h is not.
const DST_LIMIT: i64 = 3 * 3600;

/// What one wall-clock time is in a zone.
enum Resolved {
    /// An ordinary time: one instant.
    Single(i64),
    /// A time the clock shows twice (fall back): the first and the second instant.
    Repeated { first: i64, second: i64 },
    /// A time the clock skips (spring forward): the instant it jumps, and by how much.
    Skipped { jump: i64, length: i64 },
}

/// The first tick of `expr` in `tz` at or after `start` (Unix seconds).
pub(super) fn first_tick_from(expr: &CronExpr, tz: Tz, start: i64) -> Option<i64> {
    if expr.timing == Timing::FixedTime && fixed_times_skipped_before(expr, tz, start)? {
        return Some(start);
    }
    let local = local_time(tz, start)?;
    if let Resolved::Repeated { first, second } = resolve(tz, local)? {
        if first == start {
            // The first pass of a repeated stretch: its ticks come before anything else, and
            // after it the search goes on from the second pass.
            let offset = local.and_utc().timestamp() - first;
            let change = clock_change(tz, first, second)?;
            let stretch_end = local_of(change + offset)?;
            if let Some(found) = expr.next_match(local).filter(|found| *found < stretch_end) {
                return Some(found.and_utc().timestamp() - offset);
            }
            return scan(expr, tz, change);
        }
    }
    scan(expr, tz, start)
}

/// Whether the clock jumped forward by less than [`DST_LIMIT`] right at `start`, skipping a
/// wall-clock time that `expr` matches: such a fixed-time job fires at the jump.
fn fixed_times_skipped_before(expr: &CronExpr, tz: Tz, start: i64) -> Option<bool> {
    let before = offset(tz, start - 1)?;
    let after = offset(tz, start)?;
    let gap = after - before;
    if gap <= 0 || gap >= DST_LIMIT {
        return Some(false);
    }
    let gap_start = local_of(start + before)?;
    let gap_end = local_of(start + after)?;
    Some(
        expr.next_match(gap_start)
            .is_some_and(|found| found < gap_end),
    )
}

/// Walks the wall-clock matches from `start`'s local time on and returns the first one that
/// gives a tick at or after `start`.
fn scan(expr: &CronExpr, tz: Tz, start: i64) -> Option<i64> {
    let mut from = local_time(tz, start)?;
    loop {
        let found = expr.next_match(from)?;
        match resolve(tz, found)? {
            Resolved::Single(instant) if instant >= start => return Some(instant),
            Resolved::Single(_) => {
                from = found.checked_add_signed(chrono::TimeDelta::seconds(1))?
            }
            Resolved::Repeated { first, .. } if first >= start => return Some(first),
            Resolved::Repeated { first, second } => {
                // `start` is in the second pass.
                let twice = expr.timing == Timing::Wildcard || second - first > DST_LIMIT;
                if twice && second >= start {
                    return Some(second);
                }
                // A fixed-time job ran in the first pass: go on after the repeated stretch.
                let offset = found.and_utc().timestamp() - first;
                from = local_of(clock_change(tz, first, second)? + offset)?;
            }
            Resolved::Skipped { jump, length } => {
                if expr.timing == Timing::FixedTime && length < DST_LIMIT && jump >= start {
                    return Some(jump);
                }
                from = local_time(tz, jump)?;
            }
        }
    }
}

/// What the wall-clock time `local` is in `tz`.
fn resolve(tz: Tz, local: NaiveDateTime) -> Option<Resolved> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(instant) => Some(Resolved::Single(instant.timestamp())),
        LocalResult::Ambiguous(a, b) => Some(Resolved::Repeated {
            first: a.timestamp().min(b.timestamp()),
            second: a.timestamp().max(b.timestamp()),
        }),
        LocalResult::None => {
            let gap = GapInfo::new(&local, &tz)?;
            let (gap_start, _) = gap.begin?;
            let end = gap.end?;
            Some(Resolved::Skipped {
                jump: end.timestamp(),
                length: (end.naive_local() - gap_start).num_seconds(),
            })
        }
    }
}

/// The instant the clock fell back, given the first and second instant of one repeated
/// wall-clock time: the first instant in `(first, second]` with the later offset.
fn clock_change(tz: Tz, first: i64, second: i64) -> Option<i64> {
    let before = offset(tz, first)?;
    let (mut low, mut high) = (first, second);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if offset(tz, middle)? == before {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some(high)
}

/// The UTC offset of `tz` at `instant`, in seconds.
fn offset(tz: Tz, instant: i64) -> Option<i64> {
    let utc = DateTime::from_timestamp(instant, 0)?.naive_utc();
    Some(
        tz.offset_from_utc_datetime(&utc)
            .fix()
            .local_minus_utc()
            .into(),
    )
}

/// The wall-clock time of `tz` at `instant`.
fn local_time(tz: Tz, instant: i64) -> Option<NaiveDateTime> {
    local_of(instant.checked_add(offset(tz, instant)?)?)
}

/// A wall-clock time given as seconds since 1970-01-01 00:00 on that clock.
fn local_of(seconds: i64) -> Option<NaiveDateTime> {
    Some(DateTime::from_timestamp(seconds, 0)?.naive_utc())
}
