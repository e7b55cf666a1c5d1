//! Fields, lists, ranges, steps, names, nicknames and the seconds field (all in UTC).
//! January 2026 starts on a Thursday; 2026-01-04 is a Sunday.

use chrono::{DateTime, Utc};
use leader_jobs_cron::Schedule;

use super::{ticks, utc};

const UTC: &str = "UTC";

#[test]
fn five_fields_are_minute_hour_day_month_weekday() {
    assert_eq!(
        ticks("15 9 * * *", UTC, utc(2026, 1, 1, 0, 0, 0), 2),
        ["2026-01-01T09:15:00Z", "2026-01-02T09:15:00Z"]
    );
    assert_eq!(
        ticks("0 12 20 3 *", UTC, utc(2026, 1, 1, 0, 0, 0), 2),
        ["2026-03-20T12:00:00Z", "2027-03-20T12:00:00Z"]
    );
}

#[test]
fn next_after_is_strictly_after() {
    let schedule = Schedule::parse("0 9 * * *").unwrap();
    assert_eq!(
        schedule.next_after(utc(2026, 1, 1, 9, 0, 0)),
        Some(utc(2026, 1, 2, 9, 0, 0))
    );
    let just_before = utc(2026, 1, 1, 9, 0, 0) - chrono::TimeDelta::nanoseconds(1);
    assert_eq!(
        schedule.next_after(just_before),
        Some(utc(2026, 1, 1, 9, 0, 0))
    );
}

#[test]
fn lists_ranges_and_steps() {
    assert_eq!(
        ticks("0,30 9-10 * * *", UTC, utc(2026, 1, 1, 0, 0, 0), 5),
        [
            "2026-01-01T09:00:00Z",
            "2026-01-01T09:30:00Z",
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:30:00Z",
            "2026-01-02T09:00:00Z"
        ]
    );
    assert_eq!(
        ticks("*/15 0 * * *", UTC, utc(2026, 1, 1, 0, 0, 0), 4),
        [
            "2026-01-01T00:15:00Z",
            "2026-01-01T00:30:00Z",
            "2026-01-01T00:45:00Z",
            "2026-01-02T00:00:00Z"
        ]
    );
    assert_eq!(
        ticks("10-50/20 0 * * *", UTC, utc(2026, 1, 1, 0, 0, 0), 4),
        [
            "2026-01-01T00:10:00Z",
            "2026-01-01T00:30:00Z",
            "2026-01-01T00:50:00Z",
            "2026-01-02T00:10:00Z"
        ]
    );
    // Steps restart at the start of the range every hour: 56 is followed by 0, not 3.
    assert_eq!(
        ticks("*/7 * * * *", UTC, utc(2026, 1, 1, 0, 50, 0), 2),
        ["2026-01-01T00:56:00Z", "2026-01-01T01:00:00Z"]
    );
}

#[test]
fn a_step_beyond_the_range_matches_its_first_value() {
    assert_eq!(
        ticks("*/100 * * * *", UTC, utc(2026, 1, 1, 0, 0, 0), 2),
        ["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"]
    );
}

#[test]
fn day_of_week_zero_and_seven_are_sunday() {
    let sundays = ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"];
    for weekday in ["0", "7", "SUN", "sun", "Sun"] {
        let expression = format!("0 0 * * {weekday}");
        assert_eq!(
            ticks(&expression, UTC, utc(2026, 1, 1, 0, 0, 0), 2),
            sundays,
            "{expression}"
        );
    }
    // 5-7 is Friday to Sunday.
    assert_eq!(
        ticks("0 0 * * 5-7", UTC, utc(2026, 1, 1, 0, 0, 0), 4),
        [
            "2026-01-02T00:00:00Z",
            "2026-01-03T00:00:00Z",
            "2026-01-04T00:00:00Z",
            "2026-01-09T00:00:00Z"
        ]
    );
}

#[test]
fn month_and_weekday_names_are_case_insensitive_in_lists_and_ranges() {
    assert_eq!(
        ticks("0 0 1 jan,Jul *", UTC, utc(2026, 1, 1, 0, 0, 0), 2),
        ["2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"]
    );
    assert_eq!(
        ticks("0 0 1 JAN-MAR *", UTC, utc(2026, 1, 1, 0, 0, 0), 3),
        [
            "2026-02-01T00:00:00Z",
            "2026-03-01T00:00:00Z",
            "2027-01-01T00:00:00Z"
        ]
    );
    // Weekdays Monday to Friday: Friday 2 January, then Monday 5 January.
    assert_eq!(
        ticks("0 9 * * mon-FRI", UTC, utc(2026, 1, 2, 0, 0, 0), 2),
        ["2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"]
    );
    assert_eq!(
        Schedule::parse("0 9 * * MON-FRI")
            .unwrap()
            .next_after(utc(2026, 1, 1, 0, 0, 0)),
        Schedule::parse("0 9 * * 1-5")
            .unwrap()
            .next_after(utc(2026, 1, 1, 0, 0, 0)),
    );
}

#[test]
fn nicknames_mean_what_debian_says() {
    let start = utc(2026, 1, 1, 12, 0, 0);
    let cases = [
        ("@yearly", "0 0 1 1 *", "2027-01-01T00:00:00Z"),
        ("@annually", "0 0 1 1 *", "2027-01-01T00:00:00Z"),
        ("@monthly", "0 0 1 * *", "2026-02-01T00:00:00Z"),
        ("@weekly", "0 0 * * 0", "2026-01-04T00:00:00Z"),
        ("@daily", "0 0 * * *", "2026-01-02T00:00:00Z"),
        ("@midnight", "0 0 * * *", "2026-01-02T00:00:00Z"),
        ("@hourly", "0 * * * *", "2026-01-01T13:00:00Z"),
    ];
    for (nickname, expansion, first) in cases {
        assert_eq!(ticks(nickname, UTC, start, 1), [first], "{nickname}");
        assert_eq!(
            ticks(nickname, UTC, start, 5),
            ticks(expansion, UTC, start, 5),
            "{nickname}"
        );
    }
}

#[test]
fn a_leading_sixth_field_is_seconds() {
    assert_eq!(
        ticks("*/20 * * * * *", UTC, utc(2026, 1, 1, 0, 0, 0), 4),
        [
            "2026-01-01T00:00:20Z",
            "2026-01-01T00:00:40Z",
            "2026-01-01T00:01:00Z",
            "2026-01-01T00:01:20Z"
        ]
    );
    assert_eq!(
        ticks("30 15 9 * * *", UTC, utc(2026, 1, 1, 0, 0, 0), 2),
        ["2026-01-01T09:15:30Z", "2026-01-02T09:15:30Z"]
    );
    // Five fields fire at second 0.
    assert_eq!(
        ticks("15 9 * * *", UTC, utc(2026, 1, 1, 9, 14, 59), 1),
        ["2026-01-01T09:15:00Z"]
    );
}

#[test]
fn whitespace_is_normalised_and_shown_with_the_zone() {
    let schedule = Schedule::parse("  0\t9  * * 1-5 ").unwrap();
    assert_eq!(schedule, Schedule::parse("0 9 * * 1-5").unwrap());
    assert_eq!(schedule.to_string(), "0 9 * * 1-5 (UTC)");

    let berlin = schedule.clone().in_timezone("Europe/Berlin").unwrap();
    assert_eq!(berlin.to_string(), "0 9 * * 1-5 (Europe/Berlin)");
    assert_ne!(berlin, schedule);
    assert_eq!(schedule.clone().in_timezone("UTC").unwrap(), schedule);
}

#[test]
fn upcoming_continues_from_each_tick() {
    let schedule = Schedule::parse("0 0 1 * *").unwrap();
    let mut upcoming = schedule.upcoming(utc(2026, 1, 15, 0, 0, 0));
    assert_eq!(upcoming.next(), Some(utc(2026, 2, 1, 0, 0, 0)));
    assert_eq!(upcoming.next(), Some(utc(2026, 3, 1, 0, 0, 0)));
    assert_eq!(upcoming.next(), Some(utc(2026, 4, 1, 0, 0, 0)));
}

#[test]
fn no_tick_past_the_end_of_the_calendar() {
    let schedule = Schedule::parse("0 0 1 1 *").unwrap();
    assert_eq!(schedule.next_after(DateTime::<Utc>::MAX_UTC), None);
    assert_eq!(schedule.upcoming(DateTime::<Utc>::MAX_UTC).next(), None);
}
