#[leader_jobs::singleton_job(cron = "0 9 * * *", delivery = "exactly_once")]
async fn send_daily_digest() {}

#[leader_jobs::singleton_job(cron = "0 9 * * *", delivery = "at_least_once", overlap = "allow")]
async fn send_weekly_digest() {}

#[leader_jobs::singleton_job(cron = "0 9 * * *", rerun_window = "10m")]
async fn send_monthly_digest() {}

fn main() {}
