#[leader_jobs::singleton_job(cron = "0 9 * * *", timeout = "30 seconds")]
async fn send_daily_digest() {}

fn main() {}
