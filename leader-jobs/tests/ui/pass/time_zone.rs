// A zone with a 30-minute daylight saving shift.
#[leader_jobs::singleton_job(cron = "0 2 * * *", tz = "Australia/Lord_Howe")]
async fn nightly() {}

fn main() {
    assert_eq!(leader_jobs::registered_jobs()[0].get_tz(), "Australia/Lord_Howe");
}
