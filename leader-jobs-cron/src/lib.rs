//! Cron schedules read in IANA time zones, with the daylight-saving rule of Debian's cron: the
//! schedule engine of `leader-jobs`. Cron fields (`field`), whole expressions (`expr`), the
//! calendar search (`calendar`) and the time-zone rule (`dst`); [`Schedule`] documents the
//! dialect and the rule for users.
//!
//! Both `leader-jobs-macros` and `leader-jobs` depend on this crate, so a `cron` attribute is
//! checked at compile time by the very code that later runs it: macro and runtime cannot disagree
//! about an expression. It therefore depends only on `chrono`, `chrono-tz` and `thiserror`.
//! Applications use it through `leader_jobs::Schedule`. The lock-name rule ([`lock_name`]) lives
//! here for the same reason: the attribute checks it at compile time, the runtime for jobs built
//! in code.
//!
//! # Why not croner
//!
//! The matcher is written here rather than on croner. Measured against croner 3.0.1 and 4.0.3
//! around the 2026 clock changes (Berlin unless noted):
//! - Both call a job fixed-time only if seconds, minute and hour are single values: `0,30 2 * * *`
//!   gets no tick on the day 02:00–03:00 is skipped, and `0-59/15 2 * * *` (4.0.3) ticks in both
//!   passes of the repeated hour. Debian decides by the first character of minute and hour.
//! - Both combine the day fields with OR unless a field is exactly `*`: `0 0 */2 * 1` fires on
//!   every odd day, `0 0 29 2 */7` on every Sunday in February; Vixie requires both.
//! - 3.0.1 loses ticks of wildcard jobs in the repeated hour (`*/5 * * * *` from 00:52 UTC jumps
//!   to 02:00 UTC; `0 * * * *` skips 01:00 UTC), its iterator yields ticks out of order, and
//!   `find_next_occurrence` can return a time before its start (`30 2 * * *` after 01:10 UTC on
//!   25 October gives 00:30 UTC).
//! - Both stop at Pacific/Apia's skipped day (2011-12-30): the iterator ends, `find_next`
//!   reports `TimeSearchLimitExceeded`.
//! - Both accept `0 9 31 2 *` and spend 9–22 ms searching before `TimeSearchLimitExceeded`; both
//!   accept `?`; neither knows `@midnight`; 3.0.1 reads `5/15` as `5-59/15`.
//!
//! Per-field bitsets keep the matcher small: a month's matching days are a few bit operations on
//! the day-of-month and day-of-week sets, so `next_after` takes one step per month skipped
//! (0.2–0.6 µs measured, against croner's 0.2–10 µs).

mod calendar;
mod dst;
mod error;
mod expr;
mod field;
mod nickname;
mod upcoming;
mod words;

pub mod lock_name;

use core::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use error::{CronField, ScheduleError};
use expr::CronExpr;
pub use upcoming::Upcoming;

/// The README's example, compiled and run as a doc test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

/// When a job runs: a cron expression read in an IANA time zone.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use leader_jobs_cron::Schedule;
///
/// let schedule = Schedule::parse("0 9 * * MON-FRI")?.in_timezone("Europe/Berlin")?;
/// let friday_noon = Utc.with_ymd_and_hms(2026, 1, 2, 12, 0, 0).unwrap();
/// // Next Monday, 09:00 in Berlin (CET, UTC+1).
/// assert_eq!(
///     schedule.next_after(friday_noon),
///     Some(Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap()),
/// );
/// # Ok::<(), leader_jobs_cron::ScheduleError>(())
/// ```
///
/// # Dialect
///
/// The time fields of a crontab line, read exactly as Debian's cron reads them:
///
/// | field | values | names |
/// |---|---|---|
/// | second (optional, first of 6) | 0–59 | |
/// | minute | 0–59 | |
/// | hour | 0–23 | |
/// | day-of-month | 1–31, `L` = last day of the month | |
/// | month | 1–12 | `JAN`–`DEC` |
/// | day-of-week | 0–7, 0 and 7 are Sunday | `SUN`–`SAT` |
///
/// Each field is a comma-separated list of `*`, values (`5`, `MON`), ranges (`1-5`, `MON-FRI`)
/// and steps over `*` or a range (`*/15`, `10-50/10`). Names are case-insensitive. A step larger
/// than its range matches the range's first value. A step after a single value (`5/15`) is an
/// error, as in Debian's `crontab`: write `5-59/15`. Debian accepts backwards ranges (`50-10`)
/// and never fires them; here they are an error that proposes the two ranges meant
/// (`50-59,0-10`). Quartz syntax (`?`, `#`, `W`, `5L`) is an error that says so. `L` is the one
/// extension to Debian's dialect.
///
/// **Day-of-month and day-of-week.** If either field *starts with* `*`, a day must match both;
/// otherwise a day matches if either does: `30 4 1,15 * 5` fires on the 1st, the 15th and every
/// Friday. Vixie cron looks at the first character only, so `0 0 */2 * 1` is odd-numbered days
/// that are Mondays, while `0 0 1-31/2 * 1` is odd days and all Mondays.
///
/// **Nicknames.** `@yearly` and `@annually` are `0 0 1 1 *`, `@monthly` is `0 0 1 * *`,
/// `@weekly` is `0 0 * * 0`, `@daily` and `@midnight` are `0 0 * * *`, `@hourly` is
/// `0 * * * *`. `@reboot` is an error: a cluster has no single boot to run a job after.
///
/// **Schedules that never fire**, such as `0 9 31 2 *` or `0 0 30 2 *`, are an error. The check
/// is exact: it tries every combination of month, leap year and weekday of the 1st, each of
/// which occurs in the 400-year Gregorian cycle. `0 0 29 2 */7` is accepted: it fires when
/// 29 February is a Sunday (2032, 2060, …).
///
/// # Daylight saving
///
/// Ticks are wall-clock times in the schedule's zone. Where the zone's clock jumps, the rule is
/// Debian cron's (cron(8): "Special considerations exist when the clock is changed by less than
/// 3 hours"), which sorts jobs by how they are written:
///
/// - A **fixed-time job** has no `*` at the start of its seconds, minute or hour field:
///   `30 2 * * *`, `0,30 2 * * *`, `0 9 * * MON-FRI`, `@daily`. It runs once per matching
///   wall-clock time. A time the clock skips (spring forward) runs at the instant the clock
///   jumps, the first instant after the gap: in Berlin on 2026-03-29, `30 2 * * *` runs at
///   03:00 CEST (01:00 UTC). Several skipped times of one job make a single tick there. A time
///   the clock repeats (fall back) runs in the first pass only.
/// - A **wildcard job** has a seconds, minute or hour field starting with `*`: `*/5 * * * *`,
///   `0 * * * *`, `@hourly`, `*/10 30 2 * * *`. It keeps its real-time cadence: skipped
///   wall-clock times have no tick and repeated ones tick in both passes. Every 5 minutes is
///   12 ticks in the repeated hour too, and `0 * * * *` ticks at 02:00 CEST and again at
///   02:00 CET.
/// - A jump of 3 hours or more forward, or of more than 3 hours back, is a clock correction to
///   Debian's cron, not daylight saving: skipped times are lost and repeated times fire again,
///   for every job. Only historical zone changes are that large (Pacific/Apia skipped
///   2011-12-30).
///
/// Debian also runs every job for each minute missed when its clock moves forward by at most
/// 5 minutes (a late wake-up). No zone has shifted by that little since local mean time ended
/// in the 1930s, so that case is not modelled. Zone data comes from chrono-tz, which lists
/// transitions up to 2099 and none after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The expression with its fields separated by single spaces.
    expression: String,
    expr: CronExpr,
    tz: Tz,
}

impl Schedule {
    /// Parses a cron expression: 5 fields, 6 with leading seconds, or a nickname such as
    /// `@daily` (see [Dialect](Self#dialect)). The schedule is in UTC until
    /// [`in_timezone`](Self::in_timezone) says otherwise.
    ///
    /// Errors name the field, its allowed range and what was written, and a schedule that can
    /// never fire is an error too:
    ///
    /// ```
    /// use leader_jobs_cron::{CronField, Schedule, ScheduleError};
    ///
    /// let error = Schedule::parse("0 25 * * *").unwrap_err();
    /// assert_eq!(error.to_string(), "hour must be 0–23, got 25");
    /// assert!(matches!(error, ScheduleError::InvalidValue { field: CronField::Hour, .. }));
    ///
    /// assert!(matches!(
    ///     Schedule::parse("0 9 31 2 *"),
    ///     Err(ScheduleError::NeverFires { .. })
    /// ));
    /// ```
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let expression = expression.split_whitespace().collect::<Vec<_>>().join(" ");
        let expr = CronExpr::parse(&expression)?;
        Ok(Self {
            expression,
            expr,
            tz: Tz::UTC,
        })
    }

    /// Reads the schedule's wall-clock times in the IANA time zone `tz`, e.g. `Europe/Berlin`.
    ///
    /// ```
    /// use leader_jobs_cron::{Schedule, ScheduleError};
    ///
    /// let schedule = Schedule::parse("@daily")?.in_timezone("America/New_York")?;
    /// assert_eq!(schedule.to_string(), "@daily (America/New_York)");
    ///
    /// let error = Schedule::parse("@daily")?.in_timezone("Berlin").unwrap_err();
    /// assert_eq!(error.to_string(), "unknown time zone `Berlin`: did you mean `Europe/Berlin`?");
    /// # Ok::<(), ScheduleError>(())
    /// ```
    pub fn in_timezone(self, tz: &str) -> Result<Self, ScheduleError> {
        let tz = tz
            .parse::<Tz>()
            .map_err(|_| ScheduleError::UnknownTimeZone {
                name: tz.to_owned(),
                suggestion: similar_timezone(tz),
            })?;
        Ok(Self { tz, ..self })
    }

    /// The first tick strictly after `after`, or `None` if there is none in the next 400 years
    /// (or before the end of chrono's calendar).
    ///
    /// Ticks fall on whole seconds. Around daylight-saving changes they follow Debian cron's
    /// rule (see [Daylight saving](Self#daylight-saving)):
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use leader_jobs_cron::Schedule;
    ///
    /// // Berlin skips 02:00–03:00 on 2026-03-29; a job at 02:30 runs when the clock jumps.
    /// let schedule = Schedule::parse("30 2 * * *")?.in_timezone("Europe/Berlin")?;
    /// let evening_before = Utc.with_ymd_and_hms(2026, 3, 28, 20, 0, 0).unwrap();
    /// assert_eq!(
    ///     schedule.next_after(evening_before),
    ///     Some(Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()),
    /// );
    /// # Ok::<(), leader_jobs_cron::ScheduleError>(())
    /// ```
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = after.timestamp().checked_add(1)?;
        let tick = dst::first_tick_from(&self.expr, self.tz, start)?;
        DateTime::from_timestamp(tick, 0)
    }
}

/// Shows the expression and the zone, e.g. `0 9 * * * (Europe/Berlin)`.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.expression, self.tz.name())
    }
}

/// A known zone name that `name` probably meant: the same name in other case or with spaces for
/// underscores, or a known name's last part (`Berlin` → `Europe/Berlin`).
fn similar_timezone(name: &str) -> Option<&'static str> {
    let wanted = name.trim().replace(' ', "_");
    let names = || chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    names()
        .find(|known| known.eq_ignore_ascii_case(&wanted))
        .or_else(|| {
            names().find(|known| {
                known
                    .rsplit('/')
                    .next()
                    .is_some_and(|city| known.contains('/') && city.eq_ignore_ascii_case(&wanted))
            })
        })
}
