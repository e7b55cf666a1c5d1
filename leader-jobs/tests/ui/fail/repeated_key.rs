#[leader_jobs::singleton_job(cron = "0 9 * * *", lock = "email", cron = "0 10 * * *")]
async fn send_daily_digest() {}

fn main() {}
