#[leader_jobs::singleton_job(cron = "0 9 * * *", catch_up = "6h")]
async fn send_daily_digest() {}

fn main() {}
