#[leader_jobs::singleton_job(cron = "0 9 * * *", misfire = "fire-all")]
async fn send_daily_digest() {}

fn main() {}
