#[leader_jobs::singleton_job(lock = "email")]
async fn send_daily_digest() {}

fn main() {}
