#[leader_jobs::singleton_job(cron = "0 9 * * *")]
async fn count_mails() -> u32 {
    7
}

fn main() {}
