#[leader_jobs::singleton_job(cron = "0 9 * * *", timezone = "Europe/Berlin")]
async fn send_daily_digest() {}

fn main() {}
