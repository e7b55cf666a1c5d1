//! Matching wall-clock date-times against a [`CronExpr`], with no time zone involved.
//!
//! The search works month by month: the matching days of a month come out of a few bit
//! operations on the day-of-month and day-of-week sets, and the matching time of a day out of
//! three more, so finding the next match costs one step per month skipped, never one per
//! minute.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::expr::{CronExpr, DayRule};

/// How many years past its starting point a search gives up. The Gregorian calendar repeats
/// every 400 years, so a date pattern that fires at all fires within that span.
const SEARCH_YEARS: i32 = 400;

impl CronExpr {
    /// The first wall-clock time at or after `from` (whole seconds) that every field matches, or
    /// `None` if there is none within [`SEARCH_YEARS`] or before the end of chrono's calendar.
    pub(super) fn next_match(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        let limit = from.year().checked_add(SEARCH_YEARS)?;
        let (mut year, mut month, mut day) = (from.year(), from.month(), from.day());
        let mut time = Some((from.hour(), from.minute(), from.second()));
        while year <= limit {
            if self.months & (1 << month) != 0 {
                let first = NaiveDate::from_ymd_opt(year, month, 1)?;
                let days = self.days_matching(
                    days_in_month(year, month),
                    first.weekday().num_days_from_sunday(),
                );
                let mut candidates = days & (u64::MAX << day);
                while candidates != 0 {
                    let found = candidates.trailing_zeros();
                    let earliest = if found == day { time } else { None };
                    if let Some((hour, minute, second)) = self.first_time_from(earliest) {
                        return NaiveDate::from_ymd_opt(year, month, found)?
                            .and_hms_opt(hour, minute, second);
                    }
                    candidates &= candidates - 1;
                }
            }
            (day, time) = (1, None);
            (year, month) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
        }
        None
    }

    /// Whether some calendar date matches. Every combination of month, leap year and weekday of
    /// the 1st occurs in the 400-year Gregorian cycle, so trying each of them decides it exactly.
    pub(super) fn can_fire(&self) -> bool {
        (1..=12u32)
            .filter(|month| self.months & (1 << month) != 0)
            .any(|month| {
                let lengths = if month == 2 {
                    [28, 29]
                } else {
                    [days_in_month(2001, month); 2]
                };
                lengths.into_iter().any(|length| {
                    (0..7).any(|first_weekday| self.days_matching(length, first_weekday) != 0)
                })
            })
    }

    /// The matching days of a month of `length` days whose 1st falls on `first_weekday`
    /// (0 = Sunday), as bits 1..=31.
    fn days_matching(&self, length: u32, first_weekday: u32) -> u64 {
        let valid = ((1u64 << length) - 1) << 1;
        let mut by_date = self.days;
        if self.last_day {
            by_date |= 1 << length;
        }
        // The weekday set repeated every 7 bits; shifted so that bit `d` holds day `d`'s weekday.
        let weeks = (0..6).fold(0u64, |acc, week| acc | (self.weekdays << (7 * week)));
        let by_weekday = (weeks >> first_weekday) << 1;
        let days = match self.day_rule {
            DayRule::Both => by_date & by_weekday,
            DayRule::Either => by_date | by_weekday,
        };
        days & valid
    }

    /// The first matching time of day at or after `from` (`None`: from midnight), or `None` if
    /// the rest of the day has no match.
    fn first_time_from(&self, from: Option<(u32, u32, u32)>) -> Option<(u32, u32, u32)> {
        let (hour, minute, second) = from.unwrap_or((0, 0, 0));
        let first_minute = next_bit(self.minutes, 0)?;
        let first_second = next_bit(self.seconds, 0)?;
        if has_bit(self.hours, hour) {
            if has_bit(self.minutes, minute) {
                if let Some(second) = next_bit(self.seconds, second) {
                    return Some((hour, minute, second));
                }
            }
            if let Some(minute) = next_bit(self.minutes, minute + 1) {
                return Some((hour, minute, first_second));
            }
        }
        let hour = next_bit(self.hours, hour + 1)?;
        Some((hour, first_minute, first_second))
    }
}

/// Whether bit `index` is set.
fn has_bit(bits: u64, index: u32) -> bool {
    index < 64 && bits & (1 << index) != 0
}

/// The lowest set bit at or above `from`.
fn next_bit(bits: u64, from: u32) -> Option<u32> {
    let above = bits.checked_shr(from)?.checked_shl(from)?;
    (above != 0).then(|| above.trailing_zeros())
}

/// The number of days in `month` of `year` (proleptic Gregorian).
fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
