//! The schedule engine through its public API: the cron dialect, errors, and the daylight-saving
//! rule. Expected ticks are worked out by hand from the zone rules (noted beside each test).

// Clippy allows these inside `#[test]` functions only; the helpers here fail tests the same way.
#![allow(clippy::expect_used, clippy::panic)]

mod against_croner;
mod calendar;
mod debian_oracle;
mod dst;
mod errors;
mod syntax;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use leader_jobs_cron::Schedule;

/// A UTC instant.
fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, second)
        .single()
        .expect("a valid UTC date-time")
}

/// Parses `expression` in the zone `tz`.
fn schedule(expression: &str, tz: &str) -> Schedule {
    Schedule::parse(expression)
        .and_then(|schedule| schedule.in_timezone(tz))
        .unwrap_or_else(|error| panic!("`{expression}` in {tz}: {error}"))
}

/// The first `count` ticks of `expression` in `tz` after `after`, as RFC 3339 UTC strings.
fn ticks(expression: &str, tz: &str, after: DateTime<Utc>, count: usize) -> Vec<String> {
    schedule(expression, tz)
        .upcoming(after)
        .take(count)
        .map(|tick| tick.to_rfc3339_opts(SecondsFormat::Secs, true))
        .collect()
}

/// The ticks of `expression` in `tz` in `(after, until]`, as RFC 3339 UTC strings.
fn ticks_until(
    expression: &str,
    tz: &str,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<String> {
    schedule(expression, tz)
        .upcoming(after)
        .take_while(|tick| *tick <= until)
        .map(|tick| tick.to_rfc3339_opts(SecondsFormat::Secs, true))
        .collect()
}
