//! `registered_jobs()` lists what `#[singleton_job]` declared in this test binary, with every
//! default filled in. Compiled under `#![deny(warnings)]` and the workspace's
//! `forbid(unsafe_code)`, and linted with clippy's pedantic group (whose `unused_async` would
//! otherwise tell users to drop the `async` the attribute requires), so the expansion must not
//! trigger any lint.
#![deny(warnings)]
#![warn(clippy::pedantic)]

use std::time::Duration;

use leader_jobs::{Job, JobContext, MisfirePolicy, OverlapPolicy, singleton_job};

const DIGEST_LINE: u32 = line!() + 1;
#[singleton_job(cron = "0 9 * * *", lock = "email")]
async fn send_daily_digest(ctx: JobContext) -> Result<(), std::fmt::Error> {
    let _job = ctx.job();
    Ok(())
}

#[singleton_job(cron = "@hourly")]
async fn compact_tables() {}

mod billing {
    pub(crate) const LINE: u32 = line!() + 1;
    #[leader_jobs::singleton_job(
        cron = "0 30 2 * * 1-5",
        tz = "America/New_York",
        lock = "billing",
        name = "billing-run",
        overlap = "queue",
        misfire = "fire_all",
        catch_up = "6h",
        timeout = "1m30s",
        retries = "3",
        retry_backoff = "10s"
    )]
    async fn run_invoices(_ctx: leader_jobs::JobContext) {}
}

fn find(name: &str) -> Option<Job> {
    leader_jobs::registered_jobs()
        .into_iter()
        .find(|job| job.name() == name)
}

#[test]
fn all_jobs_are_listed_sorted_by_name() {
    let jobs = leader_jobs::registered_jobs();
    let names: Vec<&str> = jobs.iter().map(Job::name).collect();
    assert_eq!(
        names,
        [
            "billing-run",
            "registered_jobs::compact_tables",
            "registered_jobs::send_daily_digest"
        ]
    );
}

#[test]
fn defaults_fill_what_the_attribute_omits() {
    let job = find("registered_jobs::compact_tables").unwrap();
    assert_eq!(job.get_lock(), "compact_tables");
    assert_eq!(job.cron(), "@hourly");
    assert_eq!(job.get_tz(), "UTC");
    assert_eq!(job.get_overlap(), OverlapPolicy::Skip);
    assert_eq!(job.get_misfire(), MisfirePolicy::FireOnce);
    assert_eq!(job.get_catch_up(), Duration::from_secs(3600));
    assert_eq!(job.get_timeout(), None);
    assert_eq!(job.get_retries(), 0);
    assert_eq!(job.location().file, file!());
}

#[test]
fn the_card_example_registers_its_lock_and_location() {
    let job = find("registered_jobs::send_daily_digest").unwrap();
    assert_eq!(job.get_lock(), "email");
    assert_eq!(job.cron(), "0 9 * * *");
    assert_eq!(job.location().file, file!());
    assert_eq!(job.location().line, DIGEST_LINE);
}

#[test]
fn every_key_is_carried_into_the_job() {
    let job = find("billing-run").unwrap();
    assert_eq!(job.get_lock(), "billing");
    assert_eq!(job.cron(), "0 30 2 * * 1-5");
    assert_eq!(job.get_tz(), "America/New_York");
    assert_eq!(job.get_overlap(), OverlapPolicy::Queue);
    assert_eq!(job.get_misfire(), MisfirePolicy::FireAll);
    assert_eq!(job.get_catch_up(), Duration::from_secs(6 * 3600));
    assert_eq!(job.get_timeout(), Some(Duration::from_secs(90)));
    assert_eq!(job.get_retries(), 3);
    assert_eq!(job.get_retry_backoff(), Duration::from_secs(10));
    assert_eq!(job.location().line, billing::LINE);
}

#[test]
fn the_checked_collection_accepts_these_jobs() {
    let jobs = leader_jobs::registry::collect_checked().unwrap();
    assert_eq!(jobs.len(), 3);
}
