//! The expansion compiles cleanly under strict lints, including allow-by-default ones, in a crate
//! that forbids unsafe code (the registration's link-time constructor lives in `inventory`).
#![forbid(unsafe_code)]
#![deny(
    warnings,
    missing_docs,
    unreachable_pub,
    unused_qualifications,
    unused_results,
    unused_import_braces,
    trivial_casts,
    trivial_numeric_casts,
    single_use_lifetimes,
    unused_lifetimes,
    non_ascii_idents,
    rust_2018_idioms
)]

use leader_jobs::{JobContext, singleton_job};

/// Public job with documentation.
#[singleton_job(cron = "0 9 * * *", lock = "email", timeout = "30s")]
pub async fn send_daily_digest(ctx: JobContext) -> Result<(), std::io::Error> {
    let _job = ctx.job();
    Ok(())
}

mod maintenance {
    #[leader_jobs::singleton_job(cron = "@daily")]
    async fn vacuum() {}

    #[leader_jobs::singleton_job(cron = "0 * * * *", overlap = "queue")]
    pub(crate) async fn rotate_logs(_ctx: leader_jobs::JobContext) {}
}

fn main() {
    // A job local to a function body registers too.
    #[singleton_job(cron = "@hourly", name = "local")]
    async fn local_job() {}

    assert_eq!(leader_jobs::registered_jobs().len(), 4);
}
