use std::cell::Cell;

use leader_jobs::State;

#[leader_jobs::singleton_job(cron = "0 9 * * *")]
async fn send_daily_digest(_counter: State<Cell<u32>>) {}

fn main() {}
