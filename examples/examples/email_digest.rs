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
//! object per log line and one per scheduling event (`leader_jobs::Event`'s serde form with the
//! node's `timestamp`: what `cargo xtask demo` reads), `RUST_LOG` (default `info,pulsar=error`), and `LEADER_JOBS_SCHEDULES` to
//! replace a schedule or switch a job off without a rebuild, e.g.
//! `LEADER_JOBS_SCHEDULES="email_digest::build_report = off"`. With `METRICS_ADDR` set to a
//! loopback address (`127.0.0.1:9464`) the node serves its metrics for Prometheus at
//! `http://127.0.0.1:9464/metrics`. Every node serves the dashboard on `DASHBOARD_ADDR` (default
//! a free loopback port, logged at start); with `DASHBOARD_TOKEN` set its buttons (run now,
//! pause, resume) work for requests that carry the token.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leader_jobs::{
    Handle, JobContext, PulsarConfig, Runtime, ScheduleOverrides, State, dashboard, singleton_job,
};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::RecvError;
use tracing_subscriber::EnvFilter;

/// The digest, every 5 seconds so that the demo shows many ticks (a real one says
/// `cron = "0 9 * * *"`). If no node led the lock at some ticks (a takeover), the next leader
/// sends one catch-up digest for them, not one per tick: misfire policy `fire_once`, the default.
/// A failed send is tried twice more, 1 s and then about 2 s later, under the same claim.
///
/// The mail client and the store are the application's own, given to the runtime once with
/// `.state(..)`; the job takes them as parameters.
#[singleton_job(
    cron = "*/5 * * * * *",
    lock = "email",
    retries = "2",
    retry_backoff = "1s"
)]
async fn send_digest(
    ctx: JobContext,
    mail: State<MailClient>,
    store: State<DigestStore>,
) -> std::io::Result<()> {
    let customers = mail.send(&format!("Your digest of {}", ctx.tick())).await?;
    // The term is the fencing token: a leader that froze mid-run and was replaced cannot
    // record its digest over the newer leader's.
    store
        .record_sent(ctx.tick(), ctx.term())
        .map_err(std::io::Error::other)?;
    tracing::info!(customers, "digest sent");
    Ok(())
}

/// Stands in for the mail service's client, built once at startup and shared by every run.
struct MailClient {
    customers: usize,
}

impl MailClient {
    async fn send(&self, _subject: &str) -> std::io::Result<usize> {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(self.customers)
    }
}

/// Stands in for the database the digest writes to: it keeps the highest term that wrote and
/// refuses writes of a lower one, as `UPDATE digests SET sent_at = $1, term = $2 WHERE term <= $2`
/// would.
#[derive(Default)]
struct DigestStore {
    highest_term: Mutex<u64>,
    last_sent: Mutex<Option<DateTime<Utc>>>,
}

impl DigestStore {
    fn record_sent(&self, tick: DateTime<Utc>, term: u64) -> Result<(), String> {
        let mut highest = self
            .highest_term
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if term < *highest {
            return Err(format!("refused: term {term} is older than term {highest}"));
        }
        *highest = term;
        *self
            .last_sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(tick);
        Ok(())
    }
}

/// A second lock, elected on its own, so the broker can give it to another node. Every report
/// missed during a takeover is built afterwards, oldest first (`fire_all`).
#[singleton_job(cron = "*/2 * * * * *", lock = "reports", misfire = "fire_all")]
async fn build_report(ctx: JobContext) {
    tracing::info!(period_end = %ctx.tick(), "report built");
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    serve_metrics()?;
    let url = std::env::var("PULSAR_URL").unwrap_or_else(|_| "pulsar://127.0.0.1:6650".into());
    // Deployments sharing one Pulsar namespace (staging and production, or each demo run) need
    // topic prefixes of their own: the locks and their run history live under it.
    let prefix = std::env::var("TOPIC_PREFIX").unwrap_or_else(|_| "leader-jobs".into());
    let mut runtime = Runtime::builder()
        .pulsar_config(PulsarConfig::new(&url)?.topic_prefix(&prefix)?)
        .state(MailClient { customers: 3 })
        .state(DigestStore::default())
        // LEADER_JOBS_SCHEDULES, when set, replaces schedules or switches jobs off.
        .schedules(ScheduleOverrides::from_env()?);
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
    let handle = runtime.build()?.start()?;
    if json_logs() {
        write_events(&handle);
    }
    serve_dashboard(&handle).await?;
    handle.run_until(stop).await?;
    Ok(())
}

/// Serves the dashboard on `DASHBOARD_ADDR` (a loopback address; default a free port), with
/// its commands allowed for `DASHBOARD_TOKEN` if that is set, until the runtime shuts down.
async fn serve_dashboard(handle: &Handle) -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("DASHBOARD_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
    let addr: std::net::SocketAddr = addr.parse().map_err(|e| {
        format!("DASHBOARD_ADDR={addr:?} is not an address like 127.0.0.1:8080: {e}")
    })?;
    if !addr.ip().is_loopback() {
        return Err(format!("DASHBOARD_ADDR={addr} is not a loopback address; this example serves its dashboard on 127.0.0.1 or ::1 only").into());
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("could not serve the dashboard on {addr}: {e}"))?;
    let url = format!("http://{}/", listener.local_addr()?);
    let token = std::env::var("DASHBOARD_TOKEN").unwrap_or_default();
    let board = dashboard::router(handle.clone()).with_token(token);
    tracing::info!(%url, commands = board.allows_commands(), "serving the dashboard");
    tokio::spawn(async move {
        if let Err(error) = board.serve(listener).await {
            tracing::error!(%error, "the dashboard stopped");
        }
    });
    Ok(())
}

/// Serves the runtime's series on `METRICS_ADDR`, a loopback address, if it is set.
fn serve_metrics() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(addr) = std::env::var("METRICS_ADDR") else {
        return Ok(());
    };
    let addr: std::net::SocketAddr = addr
        .parse()
        .map_err(|e| format!("METRICS_ADDR={addr:?} is not an address like 127.0.0.1:9464: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("METRICS_ADDR={addr} is not a loopback address; this example serves metrics on 127.0.0.1 or ::1 only").into());
    }
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()?;
    tracing::info!(%addr, "serving metrics at /metrics");
    Ok(())
}

fn json_logs() -> bool {
    std::env::var("LOG_FORMAT").is_ok_and(|format| format == "json")
}

/// One scheduling event as a JSON line: the event's documented form, stamped.
#[derive(serde::Serialize)]
struct EventLine<'a> {
    timestamp: DateTime<Utc>,
    #[serde(flatten)]
    event: &'a leader_jobs::Event,
}

/// Writes every scheduling event of this node, from its start on, as one JSON line on stdout
/// beside the log lines.
fn write_events(handle: &Handle) {
    let mut events = handle.events();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let line = EventLine {
                        timestamp: Utc::now(),
                        event: &event,
                    };
                    match serde_json::to_string(&line) {
                        #[allow(clippy::print_stdout, reason = "the event lines are the output")]
                        Ok(json) => println!("{json}"),
                        Err(error) => tracing::warn!(%error, "an event could not be written"),
                    }
                }
                Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "event lines missed"),
                Err(RecvError::Closed) => return,
            }
        }
    });
}

fn init_logging() {
    // The `pulsar` crate reports routine reconnects as warnings; leader-jobs says what matters.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,pulsar=error"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if json_logs() {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
}
