// A crate that reaches leader-jobs through a re-export (as a framework built on it would) points
// the attribute at it with `crate = "..."`; the expansion then names only that path.
mod framework {
    pub use leader_jobs as jobs;
}

#[leader_jobs::singleton_job(cron = "0 9 * * *", crate = "crate::framework::jobs")]
async fn send_daily_digest(ctx: framework::jobs::JobContext) {
    let _ = ctx.term();
}

fn main() {
    assert_eq!(leader_jobs::registered_jobs().len(), 1);
}
