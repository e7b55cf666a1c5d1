#[leader_jobs::singleton_job(cron = "0 9 * * *", retry_backoff = "10s")]
async fn send_daily_digest() {}

#[leader_jobs::singleton_job(cron = "0 9 * * *", retries = "3", retry_backoff = "0s")]
async fn send_weekly_digest() {}

fn main() {}
