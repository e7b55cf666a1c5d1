// February never has a 31st.
#[leader_jobs::singleton_job(cron = "0 9 31 2 *")]
async fn send_daily_digest() {}

fn main() {}
