use leader_jobs::State;

struct Pool;

#[leader_jobs::singleton_job(cron = "0 9 * * *")]
async fn send_daily_digest(_pool: &State<Pool>) {}

fn main() {}
