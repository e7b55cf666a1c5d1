use std::time::Duration;

use leader_jobs::{Delivery, JobContext, MisfirePolicy, OverlapPolicy, singleton_job};

#[singleton_job(
    cron = "0 30 2 * * 1-5",
    tz = "Europe/Berlin",
    lock = "billing_eu-1",
    name = "billing::invoices",
    overlap = "queue",
    misfire = "fire_all",
    catch_up = "1h30m",
    timeout = "250ms",
    retries = "2",
    retry_backoff = "1s500ms",
    delivery = "at_least_once",
    rerun_window = "10m"
)]
async fn run_invoices(_: JobContext) -> Result<(), String> {
    Ok(())
}

fn main() {
    let jobs = leader_jobs::registered_jobs();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.name(), "billing::invoices");
    assert_eq!(job.get_lock(), "billing_eu-1");
    assert_eq!(job.get_tz(), "Europe/Berlin");
    assert_eq!(job.get_overlap(), OverlapPolicy::Queue);
    assert_eq!(job.get_misfire(), MisfirePolicy::FireAll);
    assert_eq!(job.get_catch_up(), Duration::from_secs(5400));
    assert_eq!(job.get_timeout(), Some(Duration::from_millis(250)));
    assert_eq!(job.get_retries(), 2);
    assert_eq!(job.get_retry_backoff(), Duration::from_millis(1500));
    assert_eq!(job.get_delivery(), Delivery::AtLeastOnce);
    assert_eq!(job.get_rerun_window(), Some(Duration::from_secs(600)));
}
