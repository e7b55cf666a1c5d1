// State parameters in any order around the context, by any path, with any pattern.
use leader_jobs::{JobContext, State};

struct Pool;
struct Settings {
    sender: &'static str,
}

#[leader_jobs::singleton_job(cron = "0 9 * * *", lock = "email")]
async fn send_daily_digest(
    _pool: State<Pool>,
    ctx: JobContext,
    settings: leader_jobs::State<Settings>,
) -> Result<(), std::io::Error> {
    let _ = (ctx.term(), settings.sender);
    Ok(())
}

#[leader_jobs::singleton_job(cron = "0 10 * * *", lock = "email")]
async fn only_state(settings: State<Settings>) {
    let _ = settings.sender;
}

fn main() {
    let runtime = leader_jobs::Runtime::builder()
        .state(Pool)
        .state(Settings { sender: "digest@example.com" })
        .build();
    assert!(runtime.is_ok());
}
