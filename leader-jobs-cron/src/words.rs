//! A schedule in English words, for people reading a dashboard or a log: "every 5 minutes",
//! "at 09:00 on Monday to Friday". Built from the parsed bitsets, so two ways of writing the same
//! schedule read the same.

use std::fmt::Write as _;

use super::Schedule;
use super::expr::{CronExpr, DayRule};

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Bitsets with every value of a field set.
const ALL_SECONDS: u64 = (1 << 60) - 1;
const ALL_HOURS: u64 = (1 << 24) - 1;
const ALL_DAYS: u64 = ((1 << 32) - 1) & !1;
const ALL_MONTHS: u64 = ((1 << 13) - 1) & !1;
const ALL_WEEKDAYS: u64 = (1 << 7) - 1;

impl Schedule {
    /// The schedule in English words, with its time zone unless that is UTC.
    ///
    /// ```
    /// use leader_jobs_cron::Schedule;
    ///
    /// let words = |cron: &str| Schedule::parse(cron).map(|s| s.describe());
    /// assert_eq!(words("*/5 * * * *")?, "every 5 minutes");
    /// assert_eq!(words("0 9 * * MON-FRI")?, "at 09:00 on Monday to Friday");
    /// assert_eq!(
    ///     Schedule::parse("0 9 * * *")?.in_timezone("Europe/Berlin")?.describe(),
    ///     "at 09:00 every day (Europe/Berlin)",
    /// );
    /// # Ok::<(), leader_jobs_cron::ScheduleError>(())
    /// ```
    pub fn describe(&self) -> String {
        let mut words = describe_expr(&self.expr);
        if self.tz != chrono_tz::Tz::UTC {
            let _ = write!(words, " ({})", self.tz.name());
        }
        words
    }
}

fn describe_expr(expr: &CronExpr) -> String {
    let time = time_of_day(expr);
    let days = days(expr);
    match (time, days) {
        (Time::Every(every), None) => every,
        (Time::Every(every), Some(days)) => format!("{every}, {days}"),
        (Time::At(at), None) => format!("{at} every day"),
        (Time::At(at), Some(days)) => format!("{at} {days}"),
    }
}

/// The time-of-day part: a cadence ("every 10 seconds") or wall-clock times ("at 09:00").
enum Time {
    Every(String),
    At(String),
}

fn time_of_day(expr: &CronExpr) -> Time {
    let (seconds, minutes, hours) = (expr.seconds, expr.minutes, expr.hours);
    let all_hours = hours == ALL_HOURS;
    if minutes == ALL_SECONDS && all_hours {
        if let Some(step) = step_from_zero(seconds, 60) {
            return Time::Every(every(step, "second"));
        }
    }
    if seconds == 1 && all_hours {
        if let Some(step) = step_from_zero(minutes, 60) {
            return Time::Every(every(step, "minute"));
        }
    }
    if let (Some(second), Some(minute)) = (single(seconds), single(minutes)) {
        if let Some(step) = step_from_zero(hours, 24) {
            let past = match second {
                0 => format!(":{minute:02}"),
                _ => format!(":{minute:02}:{second:02}"),
            };
            return Time::Every(format!("{} at {past}", every(step, "hour")));
        }
        let clock = |hour: u32| match second {
            0 => format!("{hour:02}:{minute:02}"),
            _ => format!("{hour:02}:{minute:02}:{second:02}"),
        };
        let times: Vec<String> = values(hours).map(clock).collect();
        return Time::At(format!("at {}", list(&times)));
    }
    let mut parts = Vec::new();
    if seconds != 1 {
        parts.push(field_words("second", seconds, 60));
    }
    parts.push(field_words("minute", minutes, 60));
    if !all_hours {
        parts.push(field_words("hour", hours, 24));
    }
    Time::Every(parts.join(", "))
}

/// The day part, or `None` for every day.
fn days(expr: &CronExpr) -> Option<String> {
    let any_day = expr.days == ALL_DAYS && !expr.last_day;
    let any_weekday = expr.weekdays == ALL_WEEKDAYS;
    if let (Some(day), Some(month), true, false) = (
        single(expr.days),
        single(expr.months),
        any_weekday,
        expr.last_day,
    ) {
        let month = MONTHS.get(month.checked_sub(1)? as usize)?;
        return Some(format!("on {day} {month}"));
    }
    let mut day = match (any_day, any_weekday) {
        (true, true) => None,
        (false, true) => Some(format!("on {} of the month", month_days(expr))),
        (true, false) => Some(format!("on {}", weekdays(expr.weekdays))),
        (false, false) => {
            let join = match expr.day_rule {
                DayRule::Both => "if it is",
                DayRule::Either => "and on every",
            };
            Some(format!(
                "on {} of the month {join} {}",
                month_days(expr),
                weekdays(expr.weekdays)
            ))
        }
    };
    if expr.months != ALL_MONTHS {
        let months: Vec<String> = values(expr.months)
            .filter_map(|m| MONTHS.get(m.checked_sub(1)? as usize))
            .map(|m| (*m).to_owned())
            .collect();
        let months = format!("in {}", list(&months));
        day = Some(match day {
            Some(day) => format!("{day} {months}"),
            None => format!("every day {months}"),
        });
    }
    day
}

fn month_days(expr: &CronExpr) -> String {
    let mut days: Vec<String> = values(expr.days).map(ordinal).collect();
    if expr.last_day {
        days.push("the last day".to_owned());
    }
    match days.len() {
        1 if !expr.last_day => format!("the {}", days[0]),
        _ => list(&days),
    }
}

fn weekdays(bits: u64) -> String {
    if let Some((first, last)) = run(bits) {
        if last >= first + 2 {
            return format!(
                "{} to {}",
                WEEKDAYS[first as usize], WEEKDAYS[last as usize]
            );
        }
    }
    let names: Vec<String> = values(bits)
        .filter_map(|d| WEEKDAYS.get(d as usize))
        .map(|d| (*d).to_owned())
        .collect();
    list(&names)
}

/// "every minute", "every 5 minutes".
fn every(step: u32, unit: &str) -> String {
    match step {
        1 => format!("every {unit}"),
        _ => format!("every {step} {unit}s"),
    }
}

/// A field that is neither every value nor a plain step: "minutes 0 and 30", "hours 9 to 17".
fn field_words(unit: &str, bits: u64, size: u32) -> String {
    if let Some(step) = step_from_zero(bits, size) {
        return every(step, unit);
    }
    if let Some((first, last)) = run(bits) {
        return format!("{unit}s {first} to {last}");
    }
    let numbers: Vec<String> = values(bits).map(|v| v.to_string()).collect();
    match numbers.len() {
        1 => format!("{unit} {}", numbers[0]),
        _ => format!("{unit}s {}", list(&numbers)),
    }
}

/// `Some(step)` when `bits` is exactly `0, step, 2·step, …` below `size` and `step` divides it
/// evenly (so the cadence holds across the wrap).
fn step_from_zero(bits: u64, size: u32) -> Option<u32> {
    let step = (1..=size / 2).chain([size]).find(|step| {
        size % step == 0
            && bits
                == (0..size)
                    .step_by(*step as usize)
                    .fold(0, |acc, v| acc | 1 << v)
    })?;
    (step < size).then_some(step)
}

/// The only value set in `bits`.
fn single(bits: u64) -> Option<u32> {
    (bits.count_ones() == 1).then(|| bits.trailing_zeros())
}

/// `Some((first, last))` when `bits` is one unbroken range of at least two values.
fn run(bits: u64) -> Option<(u32, u32)> {
    let first = bits.trailing_zeros();
    let last = 63 - bits.leading_zeros();
    let width = last.checked_sub(first)? + 1;
    (bits.count_ones() == width && width >= 2).then_some((first, last))
}

fn values(bits: u64) -> impl Iterator<Item = u32> {
    (0..64).filter(move |v| bits & (1 << v) != 0)
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "a", "a and b", "a, b and c".
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::Schedule;

    fn words(cron: &str) -> String {
        Schedule::parse(cron).unwrap().describe()
    }

    #[test]
    fn cadences() {
        assert_eq!(words("* * * * * *"), "every second");
        assert_eq!(words("*/10 * * * * *"), "every 10 seconds");
        assert_eq!(words("* * * * *"), "every minute");
        assert_eq!(words("*/15 * * * *"), "every 15 minutes");
        assert_eq!(words("0 * * * *"), "every hour at :00");
        assert_eq!(words("@hourly"), "every hour at :00");
        assert_eq!(words("30 */6 * * *"), "every 6 hours at :30");
        assert_eq!(words("15 0 * * * *"), "every hour at :00:15");
    }

    #[test]
    fn wall_clock_times() {
        assert_eq!(words("0 9 * * *"), "at 09:00 every day");
        assert_eq!(words("@daily"), "at 00:00 every day");
        assert_eq!(words("0 9,17 * * *"), "at 09:00 and 17:00 every day");
        assert_eq!(words("30 0 8 * * *"), "at 08:00:30 every day");
    }

    #[test]
    fn days_weekdays_and_months() {
        assert_eq!(words("0 9 * * MON-FRI"), "at 09:00 on Monday to Friday");
        assert_eq!(words("0 9 * * 1,3"), "at 09:00 on Monday and Wednesday");
        assert_eq!(words("@weekly"), "at 00:00 on Sunday");
        assert_eq!(words("0 0 1 * *"), "at 00:00 on the 1st of the month");
        assert_eq!(
            words("0 0 1,15 * *"),
            "at 00:00 on 1st and 15th of the month"
        );
        assert_eq!(words("0 0 L * *"), "at 00:00 on the last day of the month");
        assert_eq!(words("@yearly"), "at 00:00 on 1 January");
        assert_eq!(words("0 12 24 12 *"), "at 12:00 on 24 December");
        assert_eq!(words("0 0 * 6,7 *"), "at 00:00 every day in June and July");
        assert_eq!(
            words("30 4 1,15 * 5"),
            "at 04:30 on 1st and 15th of the month and on every Friday"
        );
        assert_eq!(
            words("0 0 */2 * 1"),
            "at 00:00 on 1st, 3rd, 5th, 7th, 9th, 11th, 13th, 15th, 17th, 19th, 21st, 23rd, 25th, \
             27th, 29th and 31st of the month if it is Monday"
        );
    }

    #[test]
    fn irregular_fields() {
        assert_eq!(words("0,30 * * * * *"), "every 30 seconds");
        assert_eq!(words("5,10 * * * * *"), "seconds 5 and 10, every minute");
        assert_eq!(words("*/20 9-17 * * *"), "every 20 minutes, hours 9 to 17");
        assert_eq!(
            words("*/7 * * * *"),
            "minutes 0, 7, 14, 21, 28, 35, 42, 49 and 56"
        );
    }

    #[test]
    fn the_zone_is_named_unless_utc() {
        let berlin = Schedule::parse("0 9 * * *")
            .unwrap()
            .in_timezone("Europe/Berlin")
            .unwrap();
        assert_eq!(berlin.describe(), "at 09:00 every day (Europe/Berlin)");
    }
}
