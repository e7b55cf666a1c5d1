#[leader_jobs::singleton_job(cron = "*/5 * * * *")]
async fn heartbeat() {}

fn main() {
    let jobs = leader_jobs::registered_jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].get_lock(), "heartbeat");
    assert_eq!(jobs[0].get_tz(), "UTC");
}
