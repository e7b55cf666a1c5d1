//! The processes the bench starts: the bench binary run again with `BENCH_ROLE` set. Election
//! candidates (leader-jobs, a raw Pulsar failover consumer, an etcd election) report when they
//! become leader in the cluster harness's events format; the others measure one thing and exit
//! or just burn CPU.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt as _;
use leader_jobs::{PulsarConfig, Runtime};
use leader_jobs_tests::broker;
use leader_jobs_tests::cluster::{self, NodeEvent};
use leader_jobs_tests::run_log::RunLogWriter;
use pulsar::{Consumer, Pulsar, SubType, TokioExecutor};

use crate::generated;

/// Selects the role of a bench process.
pub(crate) const ROLE_VAR: &str = "BENCH_ROLE";
/// etcd's client URL, for the `etcd` role.
pub(crate) const ETCD_ENDPOINT_VAR: &str = "BENCH_ETCD_ENDPOINT";
/// The etcd session TTL in seconds, for the `etcd` role.
pub(crate) const ETCD_TTL_VAR: &str = "BENCH_ETCD_TTL";
/// How many locks the `idle` role runs.
pub(crate) const LOCKS_VAR: &str = "BENCH_LOCKS";
/// The `idle` role's election groups (`PulsarConfig::election_groups`).
pub(crate) const GROUPS_VAR: &str = "BENCH_ELECTION_GROUPS";
/// How many records the `cold-read` role writes to its long ledger.
pub(crate) const RECORDS_VAR: &str = "BENCH_RECORDS";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs `role` with the harness's node arguments `<id> <dir> <prefix>` (or none).
pub(crate) fn run(role: &str) -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match role {
        "burn" => burn(),
        "startup-ours" => runtime.block_on(crate::startup::ours()),
        "startup-tcs" => runtime.block_on(crate::startup::tokio_cron_scheduler()),
        "cold-read" => {
            let records = std::env::var(RECORDS_VAR)?.parse()?;
            runtime.block_on(crate::cold_read::role(records))
        }
        _ => {
            let [id, dir, prefix] = args.as_slice() else {
                return Err(format!("role {role} needs <id> <dir> <prefix>").into());
            };
            let dir = PathBuf::from(dir);
            runtime.block_on(async {
                match role {
                    "leader-jobs" => leader_jobs_node(id, &dir, prefix).await,
                    "raw-pulsar" => raw_pulsar_node(id, &dir, prefix).await,
                    "etcd" => etcd_node(id, &dir, prefix).await,
                    "idle" => idle_node(id, &dir, prefix).await,
                    other => Err(format!("unknown role {other}").into()),
                }
            })
        }
    }
}

/// The election group of a node id `g<k>-<letter>`: nodes of one group compete.
pub(crate) fn group_of(id: &str) -> &str {
    id.split_once('-').map_or(id, |(group, _)| group)
}

fn pulsar_config(prefix: &str) -> Result<PulsarConfig, BoxError> {
    Ok(PulsarConfig::new(&broker::service_url())?
        .with_admin_url(&broker::admin_url())?
        .topic_prefix(prefix)?)
}

/// A leader-jobs node with the bench's `takeover` job, reporting leadership changes.
async fn leader_jobs_node(id: &str, dir: &Path, prefix: &str) -> Result<(), BoxError> {
    let jobs = leader_jobs::registered_jobs()
        .into_iter()
        .filter(|job| job.get_lock() == crate::TAKEOVER_LOCK);
    let handle = Runtime::builder()
        .node_id(id)
        .pulsar_config(pulsar_config(prefix)?)
        .jobs(jobs)
        .build()?
        .start()?;
    cluster::report_leadership(&handle, id, dir, async {
        if cluster::terminated().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
    .await?;
    handle.shutdown().await?;
    Ok(())
}

fn report_leading(dir: &Path, id: &str) -> Result<(), BoxError> {
    let mut events = RunLogWriter::open(&dir.join(format!("{id}.events")))?;
    events.append(&NodeEvent {
        node: id.to_owned(),
        lock: group_of(id).to_owned(),
        term: Some(1),
        at: Utc::now(),
    })?;
    Ok(())
}

/// The topic a raw Pulsar group's consumers and the bench's producer share.
pub(crate) fn raw_topic(prefix: &str, group: &str) -> String {
    format!("persistent://public/default/{prefix}-{group}")
}

/// A bare failover-subscription consumer: it leads from the first message it receives after a
/// silence, which is all a raw failover subscription can tell.
async fn raw_pulsar_node(id: &str, dir: &Path, prefix: &str) -> Result<(), BoxError> {
    let client = Pulsar::builder(broker::service_url(), TokioExecutor)
        .build()
        .await?;
    let mut consumer: Consumer<Vec<u8>, _> = client
        .consumer()
        .with_topic(raw_topic(prefix, group_of(id)))
        .with_subscription("bench")
        .with_subscription_type(SubType::Failover)
        .with_consumer_name(id)
        .build()
        .await?;
    // The bench publishes every 20 ms: a message after a longer silence means the role came
    // (back) to this consumer. A consumer is never told that it lost the role.
    let mut last_receipt: Option<Instant> = None;
    while let Some(message) = consumer.next().await {
        let message = message?;
        if last_receipt.is_none_or(|at| at.elapsed() > Duration::from_millis(300)) {
            report_leading(dir, id)?;
        }
        last_receipt = Some(Instant::now());
        consumer.ack(&message).await?;
    }
    Err("the consumer stream ended".into())
}

/// An etcd election candidate, as etcd's own `concurrency` package does it: a lease with the
/// session TTL kept alive at a third of it, and a campaign on the group's election name.
async fn etcd_node(id: &str, dir: &Path, prefix: &str) -> Result<(), BoxError> {
    let endpoint = std::env::var(ETCD_ENDPOINT_VAR)?;
    let ttl: i64 = std::env::var(ETCD_TTL_VAR)?.parse()?;
    let mut client = etcd_client::Client::connect([endpoint], None).await?;
    let lease = client.lease_grant(ttl, None).await?.id();
    let (mut keeper, mut answers) = client.lease_keep_alive(lease).await?;
    let period = Duration::from_millis(u64::try_from(ttl)? * 1000 / 3);
    tokio::spawn(async move {
        loop {
            if keeper.keep_alive().await.is_err() {
                return;
            }
            let _ = answers.message().await;
            tokio::time::sleep(period).await;
        }
    });
    let election = format!("{prefix}/{}", group_of(id));
    client.campaign(election, id, lease).await?;
    report_leading(dir, id)?;
    std::future::pending::<()>().await;
    Ok(())
}

/// The file an `idle` node writes how many locks it leads to.
pub(crate) fn leading_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.leading"))
}

/// How often an `idle` node writes how many locks it leads: rarely, so the figure is
/// leader-jobs' own cost.
const LEADING_REPORT: Duration = Duration::from_secs(2);

/// A node running `BENCH_LOCKS` locks of one never-firing job each, doing nothing but what
/// leader-jobs does by itself, and writing how many of them it leads.
async fn idle_node(id: &str, dir: &Path, prefix: &str) -> Result<(), BoxError> {
    let locks: usize = std::env::var(LOCKS_VAR)?.parse()?;
    let groups: u16 = std::env::var(GROUPS_VAR)?.parse()?;
    let handle = Runtime::builder()
        .node_id(id)
        .pulsar_config(pulsar_config(prefix)?.election_groups(groups))
        .jobs(generated::jobs(locks, 1, "0 0 1 1 *"))
        .build()?
        .start()?;
    tokio::select! {
        reported = write_leading_count(&handle, dir, id) => reported?,
        terminated = cluster::terminated() => terminated?,
    }
    handle.shutdown().await?;
    Ok(())
}

/// Writes how many locks this node leads every [`LEADING_REPORT`]; ends only on a failed write.
async fn write_leading_count(
    handle: &leader_jobs::Handle,
    dir: &Path,
    id: &str,
) -> std::io::Result<()> {
    let written = leading_file(dir, id);
    let fresh = written.with_extension("tmp");
    loop {
        let leading = handle
            .status()
            .locks
            .iter()
            .filter(|lock| lock.leading)
            .count();
        std::fs::write(&fresh, leading.to_string())?;
        std::fs::rename(&fresh, &written)?;
        tokio::time::sleep(LEADING_REPORT).await;
    }
}

/// Spins one core until killed.
fn burn() -> Result<(), BoxError> {
    let started = Instant::now();
    let mut spins: u64 = 0;
    loop {
        spins = std::hint::black_box(spins.wrapping_add(1));
        if spins % 1_000_000_000 == 0 && started.elapsed() > Duration::from_secs(3600) {
            return Ok(());
        }
    }
}
