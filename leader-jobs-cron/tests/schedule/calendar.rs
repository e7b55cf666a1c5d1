//! Which days fire: day-of-month against day-of-week, `L`, and leap years (all in UTC).
//! January 2026 starts on a Thursday; its Mondays are the 5th, 12th, 19th and 26th, and
//! February's are the 2nd, 9th, 16th and 23rd.

use super::{ticks, utc};

const UTC: &str = "UTC";

#[test]
fn both_day_fields_restricted_means_either_matches() {
    // 04:30 on the 1st, the 15th and every Friday.
    assert_eq!(
        ticks("30 4 1,15 * 5", UTC, utc(2025, 12, 31, 0, 0, 0), 7),
        [
            "2026-01-01T04:30:00Z",
            "2026-01-02T04:30:00Z",
            "2026-01-09T04:30:00Z",
            "2026-01-15T04:30:00Z",
            "2026-01-16T04:30:00Z",
            "2026-01-23T04:30:00Z",
            "2026-01-30T04:30:00Z"
        ]
    );
}

#[test]
fn a_day_field_starting_with_a_star_means_both_must_match() {
    // Vixie cron looks at the first character only: `*/2` makes this odd days that are Mondays.
    assert_eq!(
        ticks("0 0 */2 * 1", UTC, utc(2026, 1, 1, 0, 0, 0), 4),
        [
            "2026-01-05T00:00:00Z",
            "2026-01-19T00:00:00Z",
            "2026-02-09T00:00:00Z",
            "2026-02-23T00:00:00Z"
        ]
    );
    // The same days written as a range are "odd days, and Mondays".
    assert_eq!(
        ticks("0 0 1-31/2 * 1", UTC, utc(2026, 1, 8, 0, 0, 0), 4),
        [
            "2026-01-09T00:00:00Z",
            "2026-01-11T00:00:00Z",
            "2026-01-12T00:00:00Z",
            "2026-01-13T00:00:00Z"
        ]
    );
    // A star in day-of-week restricts to day-of-month only, and the other way round.
    assert_eq!(
        ticks("0 0 13 * *", UTC, utc(2026, 1, 1, 0, 0, 0), 2),
        ["2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"]
    );
    assert_eq!(
        ticks("0 0 * * 1", UTC, utc(2026, 1, 1, 0, 0, 0), 2),
        ["2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"]
    );
}

#[test]
fn l_is_the_last_day_of_each_month() {
    assert_eq!(
        ticks("0 0 L * *", UTC, utc(2026, 1, 1, 0, 0, 0), 4),
        [
            "2026-01-31T00:00:00Z",
            "2026-02-28T00:00:00Z",
            "2026-03-31T00:00:00Z",
            "2026-04-30T00:00:00Z"
        ]
    );
    assert_eq!(
        ticks("0 0 1,L * *", UTC, utc(2026, 1, 1, 0, 0, 0), 3),
        [
            "2026-01-31T00:00:00Z",
            "2026-02-01T00:00:00Z",
            "2026-02-28T00:00:00Z"
        ]
    );
}

#[test]
fn l_in_february_follows_leap_years() {
    assert_eq!(
        ticks("0 0 L 2 *", UTC, utc(2026, 1, 1, 0, 0, 0), 4),
        [
            "2026-02-28T00:00:00Z",
            "2027-02-28T00:00:00Z",
            "2028-02-29T00:00:00Z",
            "2029-02-28T00:00:00Z"
        ]
    );
    // 2100 is not a leap year, 2000 was.
    assert_eq!(
        ticks("0 0 L 2 *", UTC, utc(2099, 3, 1, 0, 0, 0), 1),
        ["2100-02-28T00:00:00Z"]
    );
    assert_eq!(
        ticks("0 0 l 2 *", UTC, utc(1999, 3, 1, 0, 0, 0), 1),
        ["2000-02-29T00:00:00Z"]
    );
}

#[test]
fn february_29_waits_for_a_leap_year() {
    assert_eq!(
        ticks("0 0 29 2 *", UTC, utc(2025, 1, 1, 0, 0, 0), 2),
        ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]
    );
    // Across 2100, which is not a leap year: eight years between two 29 Februaries.
    assert_eq!(
        ticks("0 0 29 2 *", UTC, utc(2096, 3, 1, 0, 0, 0), 1),
        ["2104-02-29T00:00:00Z"]
    );
}

#[test]
fn rare_dates_are_found_decades_ahead() {
    // 29 February that is a Sunday (`*/7` is 0 and 7: Sunday, and starts with `*`, so both
    // day fields must match): 2032, then 28 years later.
    assert_eq!(
        ticks("0 0 29 2 */7", UTC, utc(2026, 1, 1, 0, 0, 0), 2),
        ["2032-02-29T00:00:00Z", "2060-02-29T00:00:00Z"]
    );
}
