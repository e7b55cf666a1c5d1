// The expansion names the given path, so a wrong one fails to resolve.
#[leader_jobs::singleton_job(cron = "0 9 * * *", crate = "not_leader_jobs")]
async fn send_daily_digest() {}

#[leader_jobs::singleton_job(cron = "0 9 * * *", crate = "not a path")]
async fn send_weekly_digest() {}

fn main() {}
