// A type named `JobContext` that is not leader_jobs's passes the name check; the call the
// expansion makes then lets rustc point at the mismatch.
struct JobContext;

#[leader_jobs::singleton_job(cron = "0 9 * * *")]
async fn send_daily_digest(_ctx: JobContext) {}

fn main() {}
