// The design card's example, verbatim.
use std::fmt;

#[derive(Debug)]
struct MailError;

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mail server unreachable")
    }
}

#[leader_jobs::singleton_job(cron = "0 9 * * *", lock = "email")]
async fn send_daily_digest(ctx: leader_jobs::JobContext) -> Result<(), MailError> {
    let _job = ctx.job();
    Ok(())
}

fn main() {
    let jobs = leader_jobs::registered_jobs();
    assert_eq!(jobs.len(), 1);
    // trybuild names the crate, so only the end of the module path is known.
    assert!(jobs[0].name().ends_with("::send_daily_digest"));
    assert_eq!(jobs[0].get_lock(), "email");
    assert_eq!(jobs[0].cron(), "0 9 * * *");
}
