#[leader_jobs::singleton_job(cron = "0 25 * * *")]
async fn send_daily_digest() {}

fn main() {}
