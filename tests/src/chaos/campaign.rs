//! Running a campaign: a dedicated broker (or the tooling's cluster), node processes of `chaos-node`, one of them behind a
//! fault proxy, and the seeded fault schedule injected one fault at a time, each followed by a
//! wait until every lock has a leader again. Progress goes to stdout: a campaign runs for minutes
//! and its operator wants to see which fault it is at.
#![allow(
    clippy::print_stdout,
    reason = "progress of a long campaign, for its operator"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::app;
use super::bridge::{self, Route};
use super::brokers::CampaignBrokers;
use super::faults::{self, FaultKind, FaultRecord};
use super::inject;
use super::proxy::FaultProxy;
use crate::cluster::{Cluster, Network};
use crate::dedicated_broker::{BrokerError, DedicatedBroker};
use crate::run_log::RunLogWriter;

/// How long the cluster may take to have a leader for every lock again after a fault before
/// the campaign notes the lock as stuck (and goes on).
const RECOVERY_LIMIT: Duration = Duration::from_secs(60);
/// How long no leadership may have changed before the next fault.
const SETTLED: Duration = Duration::from_secs(2);
/// How long nodes get for a graceful shutdown.
pub(super) const SHUTDOWN_LIMIT: Duration = Duration::from_secs(15);

/// What a campaign is told.
#[derive(Clone, Debug)]
pub struct CampaignConfig {
    /// Seeds the fault schedule.
    pub seed: u64,
    /// How many faults to inject.
    pub faults: usize,
    /// How many node processes (at least 3).
    pub nodes: usize,
    /// The `chaos-node` binary.
    pub node_binary: PathBuf,
    /// The campaign's own broker, or the cluster.
    pub broker: CampaignBrokers,
    /// Where the logs go (created).
    pub dir: PathBuf,
    /// Caps every fault's hold time (for the short variant in CI).
    pub max_hold: Option<Duration>,
}

/// Why a campaign could not be carried out (not a verdict on leader-jobs).
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// The broker could not be started or restarted.
    #[error("the campaign's broker: {0}")]
    Broker(#[from] BrokerError),
    /// Files or processes.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The cluster did not come up.
    #[error("{0}")]
    Setup(String),
}

pub(super) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CampaignError {
    let what = what.into();
    move |source| CampaignError::Io { what, source }
}

/// How the nodes find the election groups they are to use.
pub const ELECTION_GROUPS_VAR: &str = "LEADER_JOBS_CHAOS_ELECTION_GROUPS";

/// The election groups a campaign's nodes use: half the seeds elect one lock per topic (the
/// default), the other half share two topics among the five locks, so that every mode meets the
/// faults and a seed replays the same one.
pub fn election_groups(seed: u64) -> u16 {
    if seed % 2 == 0 { 0 } else { 2 }
}

/// What a finished campaign leaves for the checker.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct CampaignRun {
    /// The seed.
    pub seed: u64,
    /// The directory with every log.
    pub dir: PathBuf,
    /// The cluster's topic prefix.
    pub prefix: String,
    /// The nodes' [`PulsarConfig::election_groups`](leader_jobs::PulsarConfig::election_groups).
    #[serde(default)]
    pub election_groups: u16,
    /// The campaign ran on the tooling's cluster rather than a standalone broker.
    #[serde(default)]
    pub on_cluster: bool,
    /// The node application's locks.
    pub locks: Vec<String>,
    /// Every fault as injected.
    pub faults: Vec<FaultRecord>,
    /// Why the link faults did not run, if they did not.
    pub isolation_unavailable: Option<String>,
    /// Locks still without a leader a minute after a fault.
    pub stuck: Vec<String>,
    /// When the first fault began.
    pub began: DateTime<Utc>,
    /// When the last fault's quiet tail ended, before the nodes were stopped.
    pub ended: DateTime<Utc>,
}

/// The node that runs behind the fault proxy.
pub(super) const ISOLATED_NODE: &str = "node-c";

pub(super) struct Nodes {
    pub(super) cluster: Cluster,
    pub(super) ids: Vec<String>,
    isolated: Option<Network>,
    started_at: BTreeMap<String, DateTime<Utc>>,
    pub(super) frozen: Option<String>,
}

impl Nodes {
    fn network(&self, id: &str) -> Network {
        match &self.isolated {
            Some(network) if id == ISOLATED_NODE => network.clone(),
            _ => Network::Shared,
        }
    }

    pub(super) fn start(&mut self, id: &str) -> Result<(), CampaignError> {
        let network = self.network(id);
        self.started_at.insert(id.to_owned(), Utc::now());
        self.cluster
            .start_on(id, &network)
            .map_err(io(format!("starting {id}")))
    }

    /// Per lock, the node leading it now by its own latest report in its current process, and
    /// the term; frozen nodes do not count.
    pub(super) fn leaders(&self) -> Result<BTreeMap<String, (String, u64)>, CampaignError> {
        let mut latest: BTreeMap<(String, String), Option<u64>> = BTreeMap::new();
        for event in self.cluster.events().map_err(io("reading events"))? {
            let current = self
                .started_at
                .get(&event.node)
                .is_some_and(|started| event.at >= *started);
            if current && self.frozen.as_deref() != Some(event.node.as_str()) {
                latest.insert((event.lock, event.node), event.term);
            }
        }
        let mut leaders: BTreeMap<String, (String, u64)> = BTreeMap::new();
        for ((lock, node), term) in latest {
            let Some(term) = term else { continue };
            if leaders.get(&lock).is_none_or(|(_, best)| term > *best) {
                leaders.insert(lock, (node, term));
            }
        }
        Ok(leaders)
    }

    /// Waits up to `limit` until every lock has a leader and no node has reported a change for
    /// [`SETTLED`], so that the next fault meets a cluster at rest and its takeover figures are
    /// its own; returns the locks still without a leader.
    fn wait_for_leaders(
        &self,
        locks: &[String],
        limit: Duration,
    ) -> Result<Vec<String>, CampaignError> {
        let deadline = Instant::now() + limit;
        loop {
            let leaders = self.leaders()?;
            let missing: Vec<String> = locks
                .iter()
                .filter(|lock| !leaders.contains_key(*lock))
                .cloned()
                .collect();
            let last_change = self
                .cluster
                .events()
                .map_err(io("reading events"))?
                .last()
                .map(|event| event.at);
            let quiet = last_change.is_none_or(|at| {
                (Utc::now() - at)
                    .to_std()
                    .is_ok_and(|since| since >= SETTLED)
            });
            if (missing.is_empty() && quiet) || Instant::now() >= deadline {
                return Ok(missing);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether a node can get a network namespace of its own here; `Err` says why not.
pub fn probe_isolation() -> Result<(), String> {
    let output = Command::new("unshare")
        .args(["--net", "--", "sh", "-c", "ip link set lo up"])
        .output()
        .map_err(|error| format!("cannot run `unshare`: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`unshare --net -- ip link set lo up` failed ({}): {}; link faults need root (or \
             CAP_SYS_ADMIN) and iproute2",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Runs the campaign; the broker is left running for the checker to read the ledger.
pub fn run(config: &CampaignConfig) -> Result<CampaignRun, CampaignError> {
    // The logs are opened for appending: a rerun into the same directory must not mix runs.
    if config.dir.exists() {
        std::fs::remove_dir_all(&config.dir).map_err(io("emptying the log directory"))?;
    }
    std::fs::create_dir_all(&config.dir).map_err(io("creating the log directory"))?;
    println!(
        "chaos: seed {} ({} faults, {} nodes); logs in {}",
        config.seed,
        config.faults,
        config.nodes,
        config.dir.display()
    );
    let took = config.broker.start()?;
    println!(
        "chaos: broker ready at {} after {:.1} s",
        config.broker.urls().service,
        took.as_secs_f64()
    );
    let isolation = match config.broker.standalone() {
        Some(_) => probe_isolation(),
        None => Err(
            "the fault proxy stands in front of one broker, and a cluster's lookups name each \
             broker's own address"
                .to_owned(),
        ),
    };
    let proxy = match (&isolation, config.broker.standalone()) {
        (Ok(()), Some(broker)) => Some(start_proxy(&config.dir, broker)?),
        (Err(why), _) => {
            println!("chaos: link faults skipped: {why}");
            None
        }
        (Ok(()), None) => None,
    };
    let name = crate::cluster::unique_name("chaos");
    let mut cluster = Cluster::on_broker(
        &config.node_binary,
        &config.dir,
        &name,
        config.broker.urls(),
    )
    .map_err(io("creating the cluster"))?;
    let election_groups = election_groups(config.seed);
    cluster.set_env(ELECTION_GROUPS_VAR, &election_groups.to_string());
    println!("chaos: election groups: {election_groups} (0: one election topic per lock)");
    let prefix = cluster.prefix().to_owned();
    let mut nodes = Nodes {
        cluster,
        ids: (0..config.nodes.max(3))
            .map(|index| format!("node-{}", char::from(b'a' + (index % 26) as u8)))
            .collect(),
        isolated: proxy.as_ref().map(|(_, routes)| Network::Isolated {
            routes: bridge::format_routes(routes),
        }),
        started_at: BTreeMap::new(),
        frozen: None,
    };
    for id in nodes.ids.clone() {
        nodes.start(&id)?;
    }
    let locks = wait_for_locks(&config.dir)?;
    let missing = nodes.wait_for_leaders(&locks, RECOVERY_LIMIT)?;
    if !missing.is_empty() {
        return Err(CampaignError::Setup(format!(
            "no node led {missing:?} within {} s of start; see the *.stderr files in {}",
            RECOVERY_LIMIT.as_secs(),
            config.dir.display()
        )));
    }
    std::thread::sleep(Duration::from_secs(3));

    let kinds: Vec<FaultKind> = FaultKind::ALL
        .into_iter()
        .filter(|kind| proxy.is_some() || !kind.needs_isolation())
        .collect();
    let plan = faults::plan(config.seed, config.faults, &kinds);
    let mut log =
        RunLogWriter::open(&config.dir.join("faults.jsonl")).map_err(io("opening faults.jsonl"))?;
    let began = Utc::now();
    let mut records = Vec::new();
    let mut stuck = Vec::new();
    for (index, planned) in plan.into_iter().enumerate() {
        let mut planned = planned;
        if let Some(cap) = config.max_hold {
            planned.hold = planned.hold.min(cap);
        }
        let proxy = proxy.as_ref().map(|(proxy, _)| proxy);
        let record = inject::inject(index, &planned, &mut nodes, &locks, config, proxy)?;
        println!(
            "chaos: fault {:>3} {:<14} {:<7} {}",
            index,
            record.kind.name(),
            record.node.as_deref().unwrap_or("broker"),
            record.detail
        );
        log.append(&record).map_err(io("writing faults.jsonl"))?;
        records.push(record);
        let missing = nodes.wait_for_leaders(&locks, RECOVERY_LIMIT)?;
        for lock in missing {
            stuck.push(format!(
                "lock {lock} had no leader {} s after fault {index}",
                RECOVERY_LIMIT.as_secs()
            ));
        }
        std::thread::sleep(planned.pause);
    }
    // A quiet tail, so that catch-ups after the last fault show in the log.
    std::thread::sleep(Duration::from_secs(6));
    let ended = Utc::now();
    for id in nodes.ids.clone() {
        nodes
            .cluster
            .terminate(&id, SHUTDOWN_LIMIT)
            .map_err(io(format!("stopping {id}")))?;
    }
    let run = CampaignRun {
        seed: config.seed,
        dir: config.dir.clone(),
        prefix,
        election_groups,
        on_cluster: config.broker.standalone().is_none(),
        locks,
        faults: records,
        isolation_unavailable: isolation.err(),
        stuck,
        began,
        ended,
    };
    let summary = serde_json::to_string_pretty(&run).map_err(std::io::Error::other);
    summary
        .and_then(|text| std::fs::write(summary_file(&config.dir), text))
        .map_err(io("writing the campaign summary"))?;
    Ok(run)
}

/// Where a campaign leaves its [`CampaignRun`], so that its logs can be judged again later.
pub fn summary_file(dir: &Path) -> PathBuf {
    dir.join("campaign.json")
}

/// The [`CampaignRun`] a finished campaign left in `dir`.
pub fn read_summary(dir: &Path) -> Result<CampaignRun, CampaignError> {
    let text = std::fs::read_to_string(summary_file(dir)).map_err(io("reading campaign.json"))?;
    serde_json::from_str(&text)
        .map_err(|error| io("reading campaign.json")(std::io::Error::other(error)))
}

fn start_proxy(
    dir: &Path,
    broker: &DedicatedBroker,
) -> Result<(FaultProxy, Vec<Route>), CampaignError> {
    let routes: Vec<Route> = [
        ("link-service.sock", broker.service_port()),
        ("link-admin.sock", broker.http_port()),
    ]
    .into_iter()
    .map(|(socket, port)| Route {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        socket: dir.join(socket),
    })
    .collect();
    let proxy_routes: Vec<(PathBuf, std::net::SocketAddr)> = routes
        .iter()
        .map(|route| (route.socket.clone(), route.listen))
        .collect();
    let proxy = FaultProxy::start(&proxy_routes).map_err(io("starting the fault proxy"))?;
    Ok((proxy, routes))
}

/// The locks of the node application, once a node has written its job specs.
fn wait_for_locks(dir: &Path) -> Result<Vec<String>, CampaignError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(jobs) = app::read_jobs(dir) {
            let mut locks: Vec<String> = jobs.into_iter().map(|job| job.lock).collect();
            locks.sort();
            locks.dedup();
            return Ok(locks);
        }
        if Instant::now() >= deadline {
            return Err(CampaignError::Setup(format!(
                "no node wrote {} within 30 s; see the *.stderr files there",
                app::jobs_file(dir).display()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
