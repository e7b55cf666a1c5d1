//! One node of the failover tests: a leader-jobs application on Pulsar whose jobs append every
//! run to an external log, and which reports every leadership change it sees to an events file.
//!
//! Usage: `test-node <node-id> <out-dir> <topic-prefix>`; the broker comes from `PULSAR_URL` /
//! `PULSAR_ADMIN_URL`; `TEST_NODE_COLD_START_MS` sets the cold-start window. Runs until SIGTERM or SIGINT (graceful shutdown), or until killed.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use leader_jobs::{JobContext, PulsarConfig, Runtime, singleton_job};
use leader_jobs_tests::broker;
use leader_jobs_tests::chaos::bridge;
use leader_jobs_tests::cluster;
use leader_jobs_tests::run_log::{RunEvent, RunLogWriter};

static RUN_LOG: OnceLock<Mutex<RunLogWriter>> = OnceLock::new();

/// Milliseconds of [`PulsarConfig::cold_start_window`], when set.
const COLD_START_VAR: &str = "TEST_NODE_COLD_START_MS";

/// Records between checkpoints of each lock's ledger.
const CHECKPOINT_EVERY: u64 = 40;

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

/// Every second; catches up every missed tick, so the log must show every tick.
#[singleton_job(
    cron = "* * * * * *",
    lock = "every-second",
    name = "every_second",
    misfire = "fire_all"
)]
async fn every_second(ctx: JobContext) -> std::io::Result<()> {
    record(&ctx, "start")?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    record(&ctx, "end")
}

/// A second lock, so two locks' elections run side by side in one process.
#[singleton_job(
    cron = "*/2 * * * * *",
    lock = "every-other-second",
    name = "every_other_second",
    misfire = "fire_all"
)]
async fn every_other_second(ctx: JobContext) -> std::io::Result<()> {
    record(&ctx, "start")?;
    record(&ctx, "end")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: test-node <node-id> <out-dir> <topic-prefix>";
    let node = args.next().ok_or(usage)?;
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let prefix = args.next().ok_or(usage)?;
    cluster::init_node_logging(&dir, &node)?;
    // In a network namespace of its own (a test's slow or cut link), the broker is reached
    // through the bridge.
    if let Ok(routes) = std::env::var(bridge::BRIDGE_VAR) {
        bridge::serve(bridge::parse_routes(&routes)?).await?;
    }
    let writer = RunLogWriter::open(&dir.join(format!("{node}.jsonl")))?;
    RUN_LOG
        .set(Mutex::new(writer))
        .map_err(|_| "run log opened twice")?;

    let mut config = PulsarConfig::new(&broker::service_url())?
        .with_admin_url(&broker::admin_url())?
        .topic_prefix(&prefix)?
        // Far more often than the default 1 000, so that every fault test (a few hundred records
        // per lock) crosses checkpoints: written, sought to, and read from by the next leader.
        .checkpoint_every(CHECKPOINT_EVERY);
    // Tests that inject faults into "the leader" want leadership settled from the first gain
    // on, rather than moving while the nodes are within their cold-start window.
    if let Ok(millis) = std::env::var(COLD_START_VAR) {
        config = config.cold_start_window(Duration::from_millis(millis.parse()?));
    }
    let handle = Runtime::builder()
        .node_id(node.clone())
        .pulsar_config(config)
        .grace_period(Duration::from_secs(5))
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
