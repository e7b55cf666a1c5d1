#[leader_jobs::singleton_job(cron = "0 9 * * *", lock = "mail/daily")]
async fn send_daily_digest() {}

fn main() {}
