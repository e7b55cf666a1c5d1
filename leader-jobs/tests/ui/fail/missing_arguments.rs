#[leader_jobs::singleton_job]
async fn send_daily_digest() {}

fn main() {}
