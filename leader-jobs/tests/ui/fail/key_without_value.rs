#[leader_jobs::singleton_job(cron)]
async fn send_daily_digest() {}

fn main() {}
