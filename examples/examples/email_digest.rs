//! The application leader-jobs was built for: it runs on three nodes for availability, and the
//! e-mail digest must go out once per tick, not three times, with another node taking over at
//! once when the one sending it dies.
//!
//! Every node runs this same binary. With a broker on 127.0.0.1 (`cargo xtask pulsar start`),
//! start three in three terminals and stop or kill them as you like:
//!
//! ```sh
//! NODE_ID=node-a cargo run -p leader-jobs-examples --example email_digest
//! ```
//!
//! or let `cargo xtask demo` start, kill, stop and freeze them for you.
//!
//! Environment: `PULSAR_URL` (default `pulsar://127.0.0.1:6650`), `NODE_ID` (default
//! `hostname-pid-random`), `TOPIC_PREFIX` (default `leader-jobs`), `LOG_FORMAT=json` for one JSON
//! object per log line, `RUST_LOG` (default `info,pulsar=error`).

use std::time::Duration;

use leader_jobs::{JobContext, PulsarConfig, Runtime, singleton_job};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// The digest, every 5 seconds so that the demo shows many ticks (a real one says
/// `cron = "0 9 * * *"`). If no node led the lock at some ticks (a takeover), the next leader
/// sends one catch-up digest for them, not one per tick: misfire policy `fire_once`, the default.
#[singleton_job(cron = "*/5 * * * * *", lock = "email")]
async fn send_digest(ctx: JobContext) -> std::io::Result<()> {
    let customers = send_to_customers(&format!("Your digest of {}", ctx.tick())).await?;
    tracing::info!(customers, "digest sent");
    Ok(())
}

/// A second lock, elected on its own, so the broker can give it to another node. Every report
/// missed during a takeover is built afterwards, oldest first (`fire_all`).
#[singleton_job(cron = "*/2 * * * * *", lock = "reports", misfire = "fire_all")]
async fn build_report(ctx: JobContext) {
    tracing::info!(period_end = %ctx.tick(), "report built");
}

/// Stands in for the mail service.
async fn send_to_customers(_subject: &str) -> std::io::Result<usize> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(3)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    let url = std::env::var("PULSAR_URL").unwrap_or_else(|_| "pulsar://127.0.0.1:6650".into());
    // Deployments sharing one Pulsar namespace (staging and production, or each demo run) need
    // topic prefixes of their own: the locks and their run history live under it.
    let prefix = std::env::var("TOPIC_PREFIX").unwrap_or_else(|_| "leader-jobs".into());
    let mut runtime =
        Runtime::builder().pulsar_config(PulsarConfig::new(&url)?.topic_prefix(&prefix)?);
    if let Ok(node) = std::env::var("NODE_ID") {
        runtime = runtime.node_id(node);
    }
    // SIGTERM (what `kill` and Kubernetes send) and Ctrl-C both hand the locks over at once.
    let mut terminate = signal(SignalKind::terminate())?;
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    runtime.build()?.run_until(stop).await?;
    Ok(())
}

fn init_logging() {
    // The `pulsar` crate reports routine reconnects as warnings; leader-jobs says what matters.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,pulsar=error"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var("LOG_FORMAT").is_ok_and(|format| format == "json") {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
}
