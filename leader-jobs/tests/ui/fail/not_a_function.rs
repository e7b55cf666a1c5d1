#[leader_jobs::singleton_job(cron = "0 9 * * *")]
struct DailyDigest;

fn main() {}
