#[leader_jobs::singleton_job(cron = "0 9 * * *", retries = "three")]
async fn send_daily_digest() {}

#[leader_jobs::singleton_job(cron = "0 9 * * *", retries = "500")]
async fn send_weekly_digest() {}

#[leader_jobs::singleton_job(cron = "0 9 * * *", retries = "-1")]
async fn send_monthly_digest() {}

fn main() {}
