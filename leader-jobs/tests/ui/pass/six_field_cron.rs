// A leading seconds field, and day-of-week names.
#[leader_jobs::singleton_job(cron = "30 0 9 * * MON-FRI")]
async fn half_past_nine_oclock_seconds() {}

fn main() {
    assert_eq!(leader_jobs::registered_jobs()[0].cron(), "30 0 9 * * MON-FRI");
}
