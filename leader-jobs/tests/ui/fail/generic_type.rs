#[leader_jobs::singleton_job(cron = "0 9 * * *")]
async fn send_daily_digest<M: Send>() {}

fn main() {}
