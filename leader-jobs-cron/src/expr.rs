//! A whole cron expression: 5 or 6 fields or a nickname, and the two rules Vixie cron derives
//! from how the fields are written.

use super::error::{CronField, ScheduleError};
use super::field::{FieldSet, parse_field};
use super::nickname::NICKNAMES;

/// How day-of-month and day-of-week combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DayRule {
    /// A day must match both: one of the two fields starts with `*` (`0 0 */2 * 1` is odd-numbered
    /// Mondays, not "odd days and Mondays").
    Both,
    /// A day matches if either field does: both are restricted (`30 4 1,15 * 5` is the 1st, the
    /// 15th and every Friday).
    Either,
}

/// How a job meets a daylight-saving change, in Debian cron's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timing {
    /// No time-of-day field starts with `*`: the job runs at a wall-clock time, once per
    /// matching wall-clock time.
    FixedTime,
    /// The seconds, minute or hour field starts with `*` (`*/5 * * * *`, `0 * * * *`,
    /// `@hourly`): the job keeps its real-time cadence.
    Wildcard,
}

/// A parsed cron expression: the matching values of every field as bitsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CronExpr {
    /// Seconds 0–59; `{0}` for 5-field expressions.
    pub(super) seconds: u64,
    /// Minutes 0–59.
    pub(super) minutes: u64,
    /// Hours 0–23.
    pub(super) hours: u64,
    /// Days of the month 1–31.
    pub(super) days: u64,
    /// Whether the last day of each month matches too (`L`).
    pub(super) last_day: bool,
    /// Months 1–12.
    pub(super) months: u64,
    /// Days of the week, 0 (Sunday) – 6.
    pub(super) weekdays: u64,
    /// How the two day fields combine.
    pub(super) day_rule: DayRule,
    /// How the job meets daylight-saving changes.
    pub(super) timing: Timing,
}

impl CronExpr {
    /// Parses an expression whose fields are separated by single spaces (see
    /// [`Schedule::parse`](super::Schedule::parse) for the dialect).
    pub(super) fn parse(expression: &str) -> Result<Self, ScheduleError> {
        if expression.is_empty() {
            return Err(ScheduleError::Empty);
        }
        if expression.starts_with('@') {
            return Self::parse_nickname(expression);
        }
        let fields: Vec<&str> = expression.split(' ').collect();
        let (second, rest) = match fields.as_slice() {
            [minute, hour, day, month, weekday] => (None, [minute, hour, day, month, weekday]),
            [second, minute, hour, day, month, weekday] => {
                (Some(second), [minute, hour, day, month, weekday])
            }
            _ => {
                return Err(ScheduleError::FieldCount {
                    found: fields.len(),
                });
            }
        };
        let second = match second {
            Some(text) => parse_field(CronField::Second, text)?,
            None => FieldSet {
                bits: 1,
                starts_with_star: false,
                last_day: false,
            },
        };
        let [minute, hour, day, month, weekday] = rest;
        let minute = parse_field(CronField::Minute, minute)?;
        let hour = parse_field(CronField::Hour, hour)?;
        let day = parse_field(CronField::DayOfMonth, day)?;
        let month = parse_field(CronField::Month, month)?;
        let weekday = parse_field(CronField::DayOfWeek, weekday)?;

        let expr = Self {
            seconds: second.bits,
            minutes: minute.bits,
            hours: hour.bits,
            days: day.bits,
            last_day: day.last_day,
            months: month.bits,
            weekdays: weekday.bits,
            day_rule: if day.starts_with_star || weekday.starts_with_star {
                DayRule::Both
            } else {
                DayRule::Either
            },
            timing: if second.starts_with_star || minute.starts_with_star || hour.starts_with_star {
                Timing::Wildcard
            } else {
                Timing::FixedTime
            },
        };
        if !expr.can_fire() {
            return Err(ScheduleError::NeverFires {
                expression: expression.to_owned(),
            });
        }
        Ok(expr)
    }

    /// Parses `@daily` and friends through the expressions they stand for, so they get the same
    /// day rule and timing as written out (`@hourly` is a wildcard job, as in Debian's cron).
    fn parse_nickname(text: &str) -> Result<Self, ScheduleError> {
        if text == "@reboot" {
            return Err(ScheduleError::Reboot);
        }
        match NICKNAMES.iter().find(|(name, _)| *name == text) {
            Some((_, expression)) => Self::parse(expression),
            None => Err(ScheduleError::UnknownNickname {
                text: text.to_owned(),
            }),
        }
    }
}
