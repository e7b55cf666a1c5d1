#[leader_jobs::singleton_job(cron = "0 9 * * *")]
async unsafe fn send_daily_digest() {}

fn main() {}
