//! The Pulsar cluster of `cargo xtask pulsar cluster` (ZooKeeper, a bookie, several brokers), as
//! the cluster tests drive it: which broker owns a topic, and faults aimed at one broker —
//! SIGKILL, SIGSTOP, a restart through the tooling, an admin unload of a topic's bundle.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::cluster::BrokerUrls;
use crate::dedicated_broker::{BrokerError, run_xtask, running_pid_in, xtask_for_tests};

/// The environment variable naming the cluster's directory (`cargo xtask test --cluster` sets
/// it); without it, the tooling's default, `target/pulsar-cluster`.
pub const DIR_VAR: &str = "LEADER_JOBS_PULSAR_CLUSTER_DIR";
/// The environment variable with the cluster's broker count (default 3).
pub const BROKERS_VAR: &str = "LEADER_JOBS_PULSAR_CLUSTER_BROKERS";

/// Broker `i` serves `pulsar://127.0.0.1:(6850+i)` and `http://127.0.0.1:(8250+i)`, as the
/// tooling lays them out.
const FIRST_SERVICE_PORT: u16 = 6850;
const FIRST_HTTP_PORT: u16 = 8250;

/// Why a question to the cluster went unanswered.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The tooling failed.
    #[error(transparent)]
    Tooling(#[from] BrokerError),
    /// An admin request failed.
    #[error("{0}")]
    Admin(String),
}

/// The tests' Pulsar cluster.
#[derive(Debug, Clone)]
pub struct PulsarCluster {
    xtask: PathBuf,
    dir: PathBuf,
    brokers: u16,
}

impl PulsarCluster {
    /// The cluster the environment names (see [`DIR_VAR`], [`BROKERS_VAR`]), run by the xtask
    /// binary of [`xtask_for_tests`].
    pub fn for_tests() -> Self {
        // The tooling's own default, spelled as it spells it: a part is recognised by the path
        // of its configuration file on its command line.
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
        let workspace = workspace.parent().unwrap_or(workspace);
        let dir = std::env::var_os(DIR_VAR).map_or_else(
            || workspace.join("target").join("pulsar-cluster"),
            PathBuf::from,
        );
        let brokers = std::env::var(BROKERS_VAR)
            .ok()
            .and_then(|count| count.parse().ok())
            .unwrap_or(3);
        Self {
            xtask: xtask_for_tests(),
            dir,
            brokers,
        }
    }

    /// The cluster in `dir` with `brokers` brokers, run by `xtask`.
    pub fn new(xtask: &Path, dir: &Path, brokers: u16) -> Self {
        Self {
            xtask: xtask.to_owned(),
            dir: dir.to_owned(),
            brokers,
        }
    }

    /// Stops every part of the cluster.
    pub fn stop_all(&self) -> Result<(), ClusterError> {
        let dir = self.dir.to_string_lossy();
        run_xtask(&self.xtask, &["pulsar", "cluster", "stop", "--dir", &dir])?;
        Ok(())
    }

    /// How many brokers the cluster has.
    pub fn brokers(&self) -> u16 {
        self.brokers
    }

    /// Starts every part that does not run (a broker a test killed, or the whole cluster) and
    /// waits until every broker is ready; returns how long that took.
    pub fn start(&self) -> Result<Duration, ClusterError> {
        let started = Instant::now();
        let (dir, brokers) = (self.dir.to_string_lossy(), self.brokers.to_string());
        run_xtask(
            &self.xtask,
            &[
                "pulsar",
                "cluster",
                "start",
                "--dir",
                &dir,
                "--brokers",
                &brokers,
            ],
        )?;
        Ok(started.elapsed())
    }

    /// Where broker `index` is reached.
    pub fn broker(&self, index: u16) -> BrokerUrls {
        BrokerUrls {
            service: format!("pulsar://127.0.0.1:{}", FIRST_SERVICE_PORT + index),
            admin: format!("http://127.0.0.1:{}", FIRST_HTTP_PORT + index),
        }
    }

    /// Every broker, `first` first, in the multi-host form Pulsar clients take
    /// (`pulsar://127.0.0.1:6850,127.0.0.1:6851,…`): a node looks topics up through `first`
    /// until it cannot reach it.
    pub fn every_broker(&self, first: u16) -> BrokerUrls {
        let order: Vec<u16> = (0..self.brokers)
            .map(|offset| (first + offset) % self.brokers)
            .collect();
        let hosts = |port: u16| {
            order
                .iter()
                .map(|index| format!("127.0.0.1:{}", port + index))
                .collect::<Vec<_>>()
                .join(",")
        };
        BrokerUrls {
            service: format!("pulsar://{}", hosts(FIRST_SERVICE_PORT)),
            admin: format!("http://{}", hosts(FIRST_HTTP_PORT)),
        }
    }

    /// The broker that owns `topic` (a full `persistent://…` name), asked of broker `via`; a
    /// lookup of a topic nobody owns yet makes the cluster assign its bundle.
    pub fn owner(&self, topic: &str, via: u16) -> Result<u16, ClusterError> {
        let path = topic.replacen("://", "/", 1);
        let url = format!("{}/lookup/v2/topic/{path}", self.broker(via).admin);
        let body = agent()
            .get(&url)
            .call()
            .and_then(|mut response| response.body_mut().read_to_string())
            .map_err(|error| ClusterError::Admin(format!("GET {url}: {error}")))?;
        let answer: serde_json::Value = serde_json::from_str(&body)
            .map_err(|error| ClusterError::Admin(format!("GET {url}: {error}: {body}")))?;
        let port = answer["brokerUrl"]
            .as_str()
            .and_then(|broker| broker.rsplit(':').next())
            .and_then(|port| port.parse::<u16>().ok())
            .ok_or_else(|| ClusterError::Admin(format!("GET {url} answered {body}")))?;
        port.checked_sub(FIRST_SERVICE_PORT)
            .filter(|index| *index < self.brokers)
            .ok_or_else(|| ClusterError::Admin(format!("{topic} is on an unknown broker: {body}")))
    }

    /// Unloads the bundle `topic` is in (asked of its owner), so the cluster assigns it anew:
    /// what the load balancer does, and an operator with `pulsar-admin namespaces unload`.
    pub fn unload_bundle_of(&self, topic: &str) -> Result<(), ClusterError> {
        let owner = self.owner(topic, 0).or_else(|_| self.owner(topic, 1))?;
        let admin = self.broker(owner).admin;
        let path = topic.replacen("://", "/", 1);
        let range_url = format!("{admin}/lookup/v2/topic/{path}/bundle");
        let range = agent()
            .get(&range_url)
            .call()
            .and_then(|mut response| response.body_mut().read_to_string())
            .map_err(|error| ClusterError::Admin(format!("GET {range_url}: {error}")))?;
        let bundle = range.trim().trim_matches('"').to_owned();
        let namespace = path
            .trim_start_matches("persistent/")
            .rsplit_once('/')
            .map(|(namespace, _)| namespace.to_owned())
            .ok_or_else(|| ClusterError::Admin(format!("{topic} has no namespace")))?;
        let url = format!("{admin}/admin/v2/namespaces/{namespace}/{bundle}/unload");
        admin_put(&url)
    }

    /// Unloads every bundle of `namespace` (`public/default`), asked of broker `via`: each topic
    /// of it moves to whichever broker the cluster assigns next.
    pub fn unload_namespace(&self, namespace: &str, via: u16) -> Result<(), ClusterError> {
        let url = format!(
            "{}/admin/v2/namespaces/{namespace}/unload",
            self.broker(via).admin
        );
        admin_put(&url)
    }

    /// SIGKILL to broker `index`: it dies without closing a connection or handing a topic over.
    pub fn kill(&self, index: u16) -> Result<(), ClusterError> {
        self.signal(index, Signal::SIGKILL)
    }

    /// SIGSTOP to broker `index`: its connections stay open and silent.
    pub fn freeze(&self, index: u16) -> Result<(), ClusterError> {
        self.signal(index, Signal::SIGSTOP)
    }

    /// SIGCONT to broker `index`.
    pub fn thaw(&self, index: u16) -> Result<(), ClusterError> {
        self.signal(index, Signal::SIGCONT)
    }

    /// Stops broker `index` gracefully and starts it again, as a rolling restart does.
    pub fn restart(&self, index: u16) -> Result<Duration, ClusterError> {
        let started = Instant::now();
        self.stop(index)?;
        self.start()?;
        Ok(started.elapsed())
    }

    /// Stops broker `index` gracefully (SIGTERM; SIGKILL if it still runs after 40 s) and waits
    /// until it is gone.
    pub fn stop(&self, index: u16) -> Result<(), ClusterError> {
        self.signal(index, Signal::SIGTERM)?;
        let deadline = Instant::now() + Duration::from_secs(40);
        while self.running_pid(index).is_some() {
            if Instant::now() >= deadline {
                self.signal(index, Signal::SIGKILL)?;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    fn signal(&self, index: u16, signal: Signal) -> Result<(), ClusterError> {
        let pid = self.running_pid(index).ok_or_else(|| {
            ClusterError::Admin(format!(
                "broker-{index} of {} does not run",
                self.dir.display()
            ))
        })?;
        killpg(Pid::from_raw(pid), signal)
            .map_err(|error| ClusterError::Admin(format!("{signal} to broker-{index}: {error}")))
    }

    /// Broker `index`'s pid if it runs, checked against its command line.
    fn running_pid(&self, index: u16) -> Option<i32> {
        let name = format!("broker-{index}");
        let part = self.dir.join(&name);
        running_pid_in(
            &part.join(format!("{name}.pid")),
            &part.join(format!("{name}.conf")),
        )
    }
}

/// An empty admin `PUT`, as Pulsar's unload endpoints take.
fn admin_put(url: &str) -> Result<(), ClusterError> {
    agent()
        .put(url)
        .content_type("application/json")
        .send("")
        .map_err(|error| ClusterError::Admin(format!("PUT {url}: {error}")))?;
    Ok(())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .proxy(None)
        .build()
        .into()
}
