//! The `#[singleton_job]` attribute. Depend on `leader-jobs`, which re-exports it.

use chrono::{DateTime, Utc};
use proc_macro::TokenStream;
use schedule::Schedule;
use schedule::error::ScheduleError;

/// The runtime crate's schedule engine, compiled in so that the attribute checks `cron` and `tz`
/// with the very code that later runs the schedule.
#[path = "../../leader-jobs/src/schedule/mod.rs"]
#[allow(
    unreachable_pub,
    reason = "public API of leader_jobs, private in this crate"
)]
mod schedule;

// The engine's compile-time entry points, with the signatures the attribute relies on. This also
// keeps them in use (no dead-code warnings) until the attribute parser calls them.
const _: fn(&str) -> Result<Schedule, ScheduleError> = Schedule::parse;
const _: fn(Schedule, &str) -> Result<Schedule, ScheduleError> = Schedule::in_timezone;
const _: fn(&Schedule, DateTime<Utc>) -> Option<DateTime<Utc>> = Schedule::next_after;

/// Declares an async function as a job that runs on exactly one node of the cluster.
#[proc_macro_attribute]
pub fn singleton_job(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
