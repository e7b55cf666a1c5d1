// An associated function without `self` cannot be detected from the item alone; rustc rejects the
// registration on the attribute and points at the function it cannot call without `Self::`.
struct Mailer;

impl Mailer {
    #[leader_jobs::singleton_job(cron = "0 9 * * *")]
    async fn send_daily_digest() {}
}

fn main() {}
