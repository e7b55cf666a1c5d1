//! Debian's cron as an oracle: a minute-by-minute simulation of its main loop (cron.c keeps a
//! virtual clock of local minutes and classifies every wake-up by how far the local clock moved:
//! +1 normal; +2..=+5 run every missed minute; +6..=+180 run wildcard jobs now and fixed-time
//! jobs for every missed minute; -180..=0 run wildcard jobs only; beyond ±180 take the new time
//! and run everything). Its runs around real zone transitions must equal `Schedule`'s ticks.

use std::collections::BTreeSet;

use chrono::{DateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use leader_jobs_cron::Schedule;

use super::{schedule, utc};

/// Expressions at minute resolution, fixed-time and wildcard, around 00:00–03:00.
const EXPRESSIONS: [&str; 20] = [
    "30 2 * * *",
    "0 2 * * *",
    "0,30 2 * * *",
    "0 1-3 * * *",
    "0-59/15 2 * * *",
    "59 1 * * *",
    "0 3 * * *",
    "45 1 * * *",
    "15 2 * * *",
    "30 23 * * *",
    "0 12 * * *",
    "@daily",
    "*/5 * * * *",
    "* * * * *",
    "0 * * * *",
    "@hourly",
    "* 2 * * *",
    "*/15 2 * * *",
    "*/7 1-3 * * *",
    "30 */2 * * *",
];

/// Zones and instants of their clock changes, with how many hours around each to simulate.
fn transitions() -> Vec<(&'static str, DateTime<Utc>, i64)> {
    vec![
        ("Europe/Berlin", utc(2026, 3, 29, 1, 0, 0), 4),
        ("Europe/Berlin", utc(2026, 10, 25, 1, 0, 0), 4),
        ("America/New_York", utc(2026, 3, 8, 7, 0, 0), 4),
        ("America/New_York", utc(2026, 11, 1, 6, 0, 0), 4),
        ("Australia/Lord_Howe", utc(2026, 4, 4, 15, 0, 0), 4),
        ("Australia/Lord_Howe", utc(2026, 10, 3, 15, 30, 0), 4),
        ("America/Havana", utc(2026, 3, 8, 5, 0, 0), 4),
        ("America/Havana", utc(2026, 11, 1, 5, 0, 0), 4),
        ("Asia/Beirut", utc(2026, 3, 28, 22, 0, 0), 4),
        ("Asia/Beirut", utc(2026, 10, 24, 21, 0, 0), 4),
        ("Pacific/Apia", utc(2011, 12, 30, 10, 0, 0), 30),
        ("Pacific/Kwajalein", utc(1969, 9, 30, 13, 0, 0), 30),
    ]
}

/// Debian's wildcard test: the minute or hour field starts with `*` (`@hourly` is `0 * * * *`).
fn is_wildcard(expression: &str) -> bool {
    expression == "@hourly"
        || expression
            .split(' ')
            .take(2)
            .any(|field| field.starts_with('*'))
}

/// The local wall clock of `tz` at UTC minute `minute`, in minutes.
fn local_minute(tz: Tz, minute: i64) -> i64 {
    let instant = DateTime::from_timestamp(minute * 60, 0).expect("in range");
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
    (minute * 60 + i64::from(offset.local_minus_utc())).div_euclid(60)
}

/// Whether the wall-clock minute `local` matches `expression` (read in UTC, so without zone).
fn matches(wall_clock: &Schedule, local: i64) -> bool {
    let time = DateTime::from_timestamp(local * 60, 0).expect("in range");
    wall_clock.next_after(time - TimeDelta::seconds(1)) == Some(time)
}

/// The UTC minutes at which Debian's cron, started at UTC minute `from`, runs `expression` up
/// to minute `to`.
fn debian_runs(expression: &str, tz: Tz, from: i64, to: i64) -> BTreeSet<i64> {
    let wall_clock = schedule(expression, "UTC");
    let wildcard = is_wildcard(expression);
    let mut runs = BTreeSet::new();
    let mut virtual_time = local_minute(tz, from);
    for now in from + 1..=to {
        let time_running = local_minute(tz, now);
        let mut find_jobs = |minute: i64, wild: bool, fixed: bool| {
            if (if wildcard { wild } else { fixed }) && matches(&wall_clock, minute) {
                runs.insert(now);
            }
        };
        match time_running - virtual_time {
            1 => {
                virtual_time = time_running;
                find_jobs(virtual_time, true, true);
            }
            diff if !(-180..=180).contains(&diff) => {
                virtual_time = time_running;
                find_jobs(time_running, true, true);
            }
            diff if diff > 5 => {
                find_jobs(time_running, true, false);
                while virtual_time < time_running {
                    virtual_time += 1;
                    find_jobs(virtual_time, false, true);
                }
            }
            diff if diff > 0 => {
                while virtual_time < time_running {
                    virtual_time += 1;
                    find_jobs(virtual_time, true, true);
                }
            }
            _ => find_jobs(time_running, true, false),
        }
    }
    runs
}

#[test]
fn schedule_ticks_where_debian_cron_runs() {
    let mut compared = 0;
    for (zone, change, hours) in transitions() {
        let tz: Tz = zone.parse().expect("a known zone");
        let from = (change - TimeDelta::hours(hours)).timestamp() / 60;
        let to = (change + TimeDelta::hours(hours)).timestamp() / 60;
        for expression in EXPRESSIONS {
            let expected = debian_runs(expression, tz, from, to);
            let start = DateTime::from_timestamp(from * 60, 0).expect("in range");
            let actual: BTreeSet<i64> = schedule(expression, zone)
                .upcoming(start)
                .map(|tick| tick.timestamp() / 60)
                .take_while(|minute| *minute <= to)
                .collect();
            let show = |minutes: &BTreeSet<i64>| -> Vec<String> {
                minutes
                    .iter()
                    .map(|m| {
                        DateTime::from_timestamp(m * 60, 0)
                            .expect("in range")
                            .to_string()
                    })
                    .collect()
            };
            assert_eq!(
                show(&actual),
                show(&expected),
                "`{expression}` in {zone} around {change}"
            );
            compared += expected.len();
        }
    }
    // The comparison covered a real number of runs, not empty sets.
    assert!(compared > 3000, "only {compared} runs compared");
}
