//! One node of the fault campaign (`cargo xtask chaos`): a leader-jobs application on Pulsar with
//! several locks, an every-second job, sub-minute jobs under both catch-up policies, a slow job
//! whose runs overlap, one that panics on some ticks, and one delivered at least once. Every
//! run's start and end go to an external log; every leadership change to an events file.
//!
//! Usage: `chaos-node <node-id> <out-dir> <topic-prefix>`; the broker comes from `PULSAR_URL` /
//! `PULSAR_ADMIN_URL`. With `LEADER_JOBS_BRIDGE` set it first opens those bridge routes (see
//! `leader_jobs_tests::chaos::bridge`). SIGUSR1 makes it read its clock offset file. Runs until
//! SIGTERM or SIGINT (graceful shutdown), or until killed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use leader_jobs::clock::Clock;
use leader_jobs::{JobContext, PulsarConfig, Runtime, singleton_job};
use leader_jobs_tests::broker;
use leader_jobs_tests::chaos::{app, bridge, campaign};
use leader_jobs_tests::cluster;
use leader_jobs_tests::run_log::{RunEvent, RunLogWriter};
use tokio::signal::unix::{SignalKind, signal};

static RUN_LOG: OnceLock<Mutex<RunLogWriter>> = OnceLock::new();

fn record(ctx: &JobContext, event: &str) -> std::io::Result<()> {
    let entry = RunEvent::of(ctx, event);
    let log = RUN_LOG
        .get()
        .ok_or_else(|| std::io::Error::other("run log not open"))?;
    let mut log = log
        .lock()
        .map_err(|_| std::io::Error::other("run log poisoned"))?;
    log.append(&entry)
}

/// Every second; every missed tick is caught up, so every tick must appear in the log.
#[singleton_job(
    cron = "* * * * * *",
    lock = "alpha",
    name = "every_second",
    misfire = "fire_all"
)]
async fn every_second(ctx: JobContext) -> std::io::Result<()> {
    record(&ctx, "start")?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    record(&ctx, "end")
}

/// Beside `every_second` on the same lock; panics on every third of its ticks, after logging.
#[singleton_job(
    cron = "*/2 * * * * *",
    lock = "alpha",
    name = "panicky",
    misfire = "fire_all"
)]
#[allow(
    clippy::panic,
    reason = "the campaign checks that a panicking job neither stops the node nor loses ticks"
)]
async fn panicky(ctx: JobContext) -> std::io::Result<()> {
    record(&ctx, "start")?;
    if ctx.tick().second() % 3 == 0 {
        record(&ctx, "panic")?;
        panic!("panicky panics on tick {}", ctx.tick());
    }
    record(&ctx, "end")
}

/// Runs 7 s every 3 s: two or three runs overlap at any time, and a lost leadership leaves runs
/// going that the grace period (5 s) then cancels.
#[singleton_job(
    cron = "*/3 * * * * *",
    lock = "beta",
    name = "slow_overlapping",
    misfire = "fire_all",
    overlap = "allow"
)]
async fn slow_overlapping(ctx: JobContext) -> std::io::Result<()> {
    record(&ctx, "start")?;
    tokio::time::sleep(Duration::from_secs(7)).await;
    record(&ctx, "end")
}

/// Every 5 s; after a gap one catch-up run stands for all missed ticks.
#[singleton_job(
    cron = "*/5 * * * * *",
    lock = "gamma",
    name = "every_five_seconds",
    misfire = "fire_once"
)]
async fn every_five_seconds(ctx: JobContext) -> std::io::Result<()> {
    record(&ctx, "start")?;
    record(&ctx, "end")
}

/// Twice a minute, on a lock of its own.
#[singleton_job(
    cron = "7,37 * * * * *",
    lock = "delta",
    name = "twice_a_minute",
    misfire = "fire_all"
)]
async fn twice_a_minute(ctx: JobContext) -> std::io::Result<()> {
    record(&ctx, "start")?;
    record(&ctx, "end")
}

/// Every 10 s for 4 s, delivered at least once: a tick whose leader dies mid-run is finished by
/// the next one, so the log must show every tick completed.
#[singleton_job(
    cron = "*/10 * * * * *",
    lock = "epsilon",
    name = "at_least_once",
    misfire = "fire_all",
    overlap = "queue",
    delivery = "at_least_once",
    retries = "3",
    rerun_window = "5m"
)]
async fn at_least_once(ctx: JobContext) -> std::io::Result<()> {
    record(&ctx, "start")?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    record(&ctx, "end")
}

/// The system clock shifted by an offset the campaign sets: a clock step on one node only.
#[derive(Debug, Clone, Default)]
struct ShiftedClock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

/// On every SIGUSR1, reads the offset the campaign wrote.
fn follow_clock_offset(clock: ShiftedClock, file: PathBuf) -> std::io::Result<()> {
    let mut usr1 = signal(SignalKind::user_defined1())?;
    tokio::spawn(async move {
        while usr1.recv().await.is_some() {
            let offset = std::fs::read_to_string(&file)
                .ok()
                .and_then(|text| text.trim().parse::<i64>().ok());
            if let Some(offset) = offset {
                clock.offset_ms.store(offset, Ordering::SeqCst);
                tracing::warn!(offset_ms = offset, "clock shifted");
            }
        }
    });
    Ok(())
}

fn write_job_specs(dir: &Path) -> std::io::Result<()> {
    let specs: Vec<app::JobSpec> = leader_jobs::registered_jobs()
        .into_iter()
        .map(|job| app::JobSpec::of(&job))
        .collect();
    let text = serde_json::to_string_pretty(&specs)?;
    // Written whole and renamed, so a reader never sees half a file.
    let temporary = dir.join(format!("jobs.json.{}", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(temporary, app::jobs_file(dir))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: chaos-node <node-id> <out-dir> <topic-prefix>";
    let node = args.next().ok_or(usage)?;
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let prefix = args.next().ok_or(usage)?;
    cluster::init_node_logging(&dir, &node)?;
    if let Ok(routes) = std::env::var(bridge::BRIDGE_VAR) {
        bridge::serve(bridge::parse_routes(&routes)?).await?;
    }
    write_job_specs(&dir)?;
    let writer = RunLogWriter::open(&dir.join(format!("{node}.jsonl")))?;
    RUN_LOG
        .set(Mutex::new(writer))
        .map_err(|_| "run log opened twice")?;
    let clock = ShiftedClock::default();
    follow_clock_offset(clock.clone(), app::clock_file(&dir, &node))?;

    let election_groups = match std::env::var(campaign::ELECTION_GROUPS_VAR) {
        Ok(groups) => groups.parse()?,
        Err(_) => 0,
    };
    let config = PulsarConfig::new(&broker::service_url())?
        .with_admin_url(&broker::admin_url())?
        .topic_prefix(&prefix)?
        .election_groups(election_groups);
    let handle = Runtime::builder()
        .node_id(node.clone())
        .pulsar_config(config)
        .grace_period(Duration::from_secs(5))
        .clock(clock)
        .build()?
        .start()?;

    let stop = async {
        // A failed signal handler leaves only SIGKILL to end the node, which the tests send.
        if cluster::terminated().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    cluster::report_leadership(&handle, &node, &dir, stop).await?;
    handle.shutdown().await?;
    Ok(())
}
