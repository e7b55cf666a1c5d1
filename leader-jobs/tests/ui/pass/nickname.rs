#[leader_jobs::singleton_job(cron = "@weekly", misfire = "skip", overlap = "queue")]
async fn weekly_report() {}

fn main() {
    assert_eq!(leader_jobs::registered_jobs()[0].cron(), "@weekly");
}
