// Without `lock`, the function's name is the lock, and this one is not topic-safe.
#[leader_jobs::singleton_job(cron = "0 9 * * *")]
async fn größe_berechnen() {}

fn main() {}
