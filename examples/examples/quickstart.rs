//! The quickstart: two jobs on the embedded in-process backend, no broker needed.
//!
//! `cargo run -p leader-jobs-examples --example quickstart`, then Ctrl-C to stop.
//! `RUST_LOG=leader_jobs=debug` shows more of what the runtime does.

// The example shows its runs on stdout.
#![allow(clippy::print_stdout)]

use leader_jobs::{JobContext, singleton_job};
use tracing_subscriber::EnvFilter;

/// Every five seconds (a 6-field cron: the first field is seconds).
#[singleton_job(cron = "*/5 * * * * *")]
async fn heartbeat(ctx: JobContext) {
    print_run(&ctx);
}

/// At the start of every minute, under a lock of its own.
#[singleton_job(cron = "* * * * *", lock = "reports")]
async fn minute_report(ctx: JobContext) -> Result<(), std::fmt::Error> {
    print_run(&ctx);
    Ok(())
}

fn print_run(ctx: &JobContext) {
    let late = ctx.started_at() - ctx.tick();
    println!(
        "{:<14} tick {}  started {:.3} ms late  on {} (term {})",
        ctx.job().rsplit("::").next().unwrap_or(ctx.job()),
        ctx.tick().format("%H:%M:%S"),
        late.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0,
        ctx.node(),
        ctx.term(),
    );
}

#[tokio::main]
async fn main() -> Result<(), leader_jobs::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    leader_jobs::Runtime::builder()
        .build()?
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
