// Both literals are checked in the same build.
#[leader_jobs::singleton_job(cron = "0 9 * * MON-FRY", tz = "Mars/Olympus_Mons")]
async fn send_daily_digest() {}

fn main() {}
