use leader_jobs::JobContext;

#[leader_jobs::singleton_job(cron = "0 9 * * *")]
async fn send_daily_digest(_ctx: JobContext, _again: JobContext) {}

fn main() {}
