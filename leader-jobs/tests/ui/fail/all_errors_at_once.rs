// Every problem is reported in one build, in source order, and the function is still emitted:
// `main` can call it, so there is no "cannot find function" error below. The misspelt `cron` gets
// a suggestion instead of a second error saying that `cron` is missing.
#[leader_jobs::singleton_job(crom = "0 9 * * *", lock = "a b", overlap = "never")]
fn send_daily_digest<T>(_recipients: Vec<T>) {}

fn main() {
    send_daily_digest::<String>(Vec::new());
}
