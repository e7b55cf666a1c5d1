#[leader_jobs::singleton_job(cron = "0 9 * * *", tz = "Berlin")]
async fn send_daily_digest() {}

fn main() {}
