//! Node processes of a test application (`test-node`, `chaos-node`), started, killed, frozen and
//! stopped by the tests, with what they report read back from their files.
//!
//! Besides the nodes' own files the cluster keeps `cluster.jsonl`, a log of what it did to each
//! process and when ([`ProcessEvent`]): a node killed while it led never says it stopped leading,
//! and a frozen one cannot, so judging leadership needs both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::abandoned_log::AbandonedRecorder;
use crate::broker;
use crate::run_log::{self, RunEvent, RunLogWriter};

/// A leadership change a node saw: `term` is `Some` while it leads `lock`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEvent {
    /// The node.
    pub node: String,
    /// The lock.
    pub lock: String,
    /// The term while leading, `None` once it stopped leading.
    pub term: Option<u64>,
    /// When the node saw the change.
    pub at: DateTime<Utc>,
}

/// What the cluster did to a node process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcessAction {
    /// The process was started (or restarted).
    Started,
    /// SIGKILL: it died at once.
    Killed,
    /// SIGSTOP: it froze with its connections open.
    Frozen,
    /// SIGCONT after a freeze.
    Thawed,
    /// SIGTERM: graceful shutdown began.
    Terminating,
    /// The process has exited (after [`Terminating`](Self::Terminating)).
    Exited,
}

/// One line of `cluster.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessEvent {
    /// The node.
    pub node: String,
    /// What happened to its process.
    pub action: ProcessAction,
    /// When.
    pub at: DateTime<Utc>,
}

/// Where the nodes find the broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerUrls {
    /// `pulsar://…`, the binary protocol.
    pub service: String,
    /// `http://…`, the admin REST API.
    pub admin: String,
}

/// How a node process reaches the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    /// The machine's network, like every other process.
    Shared,
    /// A network namespace of its own (`unshare --net`, needs root) holding only loopback: the
    /// node's bridge listens there on the broker's addresses and forwards every connection to a
    /// Unix socket outside, where a [`FaultProxy`](crate::chaos::proxy::FaultProxy) can cut or
    /// delay it. The variable named [`BRIDGE_VAR`](crate::chaos::bridge::BRIDGE_VAR) tells the
    /// node which routes to open.
    Isolated {
        /// `127.0.0.1:PORT=/path/to/socket` pairs, comma-separated.
        routes: String,
    },
}

/// A set of node processes sharing one topic prefix and one output directory.
#[derive(Debug)]
pub struct Cluster {
    binary: PathBuf,
    dir: PathBuf,
    prefix: String,
    broker: BrokerUrls,
    env: Vec<(String, String)>,
    nodes: BTreeMap<String, Child>,
    lifecycle: RunLogWriter,
}

impl Cluster {
    /// A cluster of `binary` processes on the tests' broker (`PULSAR_URL`, `PULSAR_ADMIN_URL`),
    /// writing under a fresh directory named after `name` in the system temp dir, on topics with
    /// a prefix unique to this run.
    pub fn new(binary: &Path, name: &str) -> std::io::Result<Self> {
        broker::require_broker();
        let urls = BrokerUrls {
            service: broker::service_url(),
            admin: broker::admin_url(),
        };
        let unique = unique_name(name);
        let dir = std::env::temp_dir().join("leader-jobs-tests").join(&unique);
        Self::on_broker(binary, &dir, &unique, urls)
    }

    /// A cluster of `binary` processes on the broker at `urls`, writing into `dir` (created),
    /// on topics prefixed `t-<name>`.
    pub fn on_broker(
        binary: &Path,
        dir: &Path,
        name: &str,
        urls: BrokerUrls,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let lifecycle = RunLogWriter::open(&dir.join("cluster.jsonl"))?;
        Ok(Self {
            binary: binary.to_owned(),
            dir: dir.to_owned(),
            prefix: format!("t-{name}"),
            broker: urls,
            env: Vec::new(),
            nodes: BTreeMap::new(),
            lifecycle,
        })
    }

    /// The broker the nodes use.
    pub fn broker(&self) -> &BrokerUrls {
        &self.broker
    }

    /// Sets an environment variable for every node started from now on.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// The directory with the run logs (`<node>.jsonl`), events and stderr of every node.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts (or restarts) node `id` on the machine's network.
    pub fn start(&mut self, id: &str) -> std::io::Result<()> {
        self.start_on(id, &Network::Shared)
    }

    /// Starts (or restarts) node `id` on `network`.
    pub fn start_on(&mut self, id: &str, network: &Network) -> std::io::Result<()> {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{id}.stderr")))?;
        let args = [
            id.to_owned(),
            self.dir.to_string_lossy().into_owned(),
            self.prefix.clone(),
        ];
        let mut command = match network {
            Network::Shared => {
                let mut command = Command::new(&self.binary);
                command.args(&args);
                command
            }
            Network::Isolated { routes } => {
                // `unshare` and `sh` both exec, so the pid the tests signal is the node's own.
                let mut command = Command::new("unshare");
                command
                    .args([
                        "--net",
                        "--",
                        "sh",
                        "-c",
                        r#"ip link set lo up && exec "$0" "$@""#,
                    ])
                    .arg(&self.binary)
                    .args(&args)
                    .env(crate::chaos::bridge::BRIDGE_VAR, routes);
                command
            }
        };
        let child = command
            .env(broker::SERVICE_URL_VAR, &self.broker.service)
            .env(broker::ADMIN_URL_VAR, &self.broker.admin)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()?;
        if let Some(mut old) = self.nodes.insert(id.to_owned(), child) {
            let _ = old.kill();
            let _ = old.wait();
        }
        self.note(id, ProcessAction::Started)
    }

    /// The process id of node `id`, while the cluster holds its process.
    pub fn pid(&self, id: &str) -> Option<u32> {
        self.nodes.get(id).map(Child::id)
    }

    /// Sends `signal` to node `id`.
    pub fn signal(&self, id: &str, signal: Signal) -> std::io::Result<()> {
        let child = self
            .nodes
            .get(id)
            .ok_or_else(|| std::io::Error::other(format!("no node {id}")))?;
        let pid = i32::try_from(child.id()).map_err(std::io::Error::other)?;
        kill(Pid::from_raw(pid), signal).map_err(std::io::Error::other)
    }

    /// SIGKILL: the process dies at once, its connections close.
    pub fn kill(&mut self, id: &str) -> std::io::Result<()> {
        self.signal(id, Signal::SIGKILL)?;
        if let Some(child) = self.nodes.get_mut(id) {
            child.wait()?;
        }
        self.note(id, ProcessAction::Killed)
    }

    /// SIGSTOP: the process freezes with its connections open.
    pub fn freeze(&mut self, id: &str) -> std::io::Result<()> {
        self.signal(id, Signal::SIGSTOP)?;
        self.note(id, ProcessAction::Frozen)
    }

    /// SIGCONT after [`freeze`](Self::freeze).
    pub fn thaw(&mut self, id: &str) -> std::io::Result<()> {
        self.signal(id, Signal::SIGCONT)?;
        self.note(id, ProcessAction::Thawed)
    }

    /// SIGTERM, then waits up to `limit` for the graceful shutdown to finish; kills the process
    /// if it has not exited by then. True when it exited by itself with success.
    pub fn terminate(&mut self, id: &str, limit: Duration) -> std::io::Result<bool> {
        self.signal(id, Signal::SIGTERM)?;
        self.note(id, ProcessAction::Terminating)?;
        let Some(child) = self.nodes.get_mut(id) else {
            return Ok(false);
        };
        let deadline = Instant::now() + limit;
        let mut graceful = false;
        loop {
            if let Some(status) = child.try_wait()? {
                graceful = status.success();
                break;
            }
            if Instant::now() >= deadline {
                child.kill()?;
                child.wait()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.note(id, ProcessAction::Exited)?;
        Ok(graceful)
    }

    fn note(&mut self, id: &str, action: ProcessAction) -> std::io::Result<()> {
        self.lifecycle.append(&ProcessEvent {
            node: id.to_owned(),
            action,
            at: Utc::now(),
        })
    }

    /// Everything the cluster did to its processes, in time order.
    pub fn lifecycle(&self) -> std::io::Result<Vec<ProcessEvent>> {
        read_lines(&self.dir.join("cluster.jsonl"))
    }

    /// Every leadership change every node reported so far, in time order.
    pub fn events(&self) -> std::io::Result<Vec<NodeEvent>> {
        let mut events = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "events") {
                events.extend(read_lines::<NodeEvent>(&path)?);
            }
        }
        events.sort_by_key(|e| e.at);
        Ok(events)
    }

    /// Who leads `lock` now according to the nodes' reports: the node whose latest report for the
    /// lock says leading, with the highest term.
    pub fn leader(&self, lock: &str) -> std::io::Result<Option<(String, u64)>> {
        let mut latest: BTreeMap<String, Option<u64>> = BTreeMap::new();
        for event in self.events()?.into_iter().filter(|e| e.lock == lock) {
            latest.insert(event.node, event.term);
        }
        Ok(latest
            .into_iter()
            .filter_map(|(node, term)| Some((node, term?)))
            .max_by_key(|(_, term)| *term))
    }

    /// Waits up to `limit` for a node other than `not` to report leading `lock` after `after`;
    /// returns it with the time of its report.
    pub fn wait_for_new_leader(
        &self,
        lock: &str,
        not: Option<&str>,
        after: DateTime<Utc>,
        limit: Duration,
    ) -> std::io::Result<Option<(String, u64, DateTime<Utc>)>> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let found = self.events()?.into_iter().find(|e| {
                e.lock == lock && e.at > after && e.term.is_some() && Some(e.node.as_str()) != not
            });
            if let Some(event) = found {
                return Ok(event.term.map(|term| (event.node, term, event.at)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(None)
    }

    /// Every run every node logged, in time order.
    pub fn runs(&self) -> std::io::Result<Vec<RunEvent>> {
        run_log::read_dir(&self.dir)
    }

    /// The topic prefix of this cluster's locks.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.nodes.values_mut() {
            // A frozen process ignores nothing but SIGKILL, which is what `kill` sends.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A name no other run of the same test uses: `name-pid-millis`.
pub fn unique_name(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_millis()
    )
}

/// The JSON lines of `path` that parse as `T`; a torn last line (a process killed mid-write) is
/// skipped.
fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<Vec<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

/// The node side of logging: `RUST_LOG` (default `leader_jobs=info`) to stderr, which the
/// cluster keeps as `<dir>/<node>.stderr`, and every abandoned-run report to
/// `<dir>/<node>.abandoned` for the checkers.
pub fn init_node_logging(dir: &Path, node: &str) -> std::io::Result<()> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{EnvFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "leader_jobs=info".into());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .with_filter(EnvFilter::new(filter)),
        )
        .with(
            AbandonedRecorder::open(dir, node)?
                .with_filter(Targets::new().with_target("leader_jobs", tracing::Level::WARN)),
        )
        .try_init()
        .map_err(std::io::Error::other)
}

/// The node side of [`NodeEvent`]s: follows `handle`'s typed events and appends a line to
/// `<dir>/<node>.events` whenever this node's leadership of a lock changes (one line per lock at
/// start, saying it does not lead yet), until `stop` completes. Should the events fall behind
/// (the buffer overran), the status fills in what was missed.
pub async fn report_leadership(
    handle: &leader_jobs::Handle,
    node: &str,
    dir: &Path,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use leader_jobs::Event;
    use tokio::sync::broadcast::error::RecvError;

    let mut file = RunLogWriter::open(&dir.join(format!("{node}.events")))?;
    // The handle's first receiver: every event since the runtime started.
    let mut events = handle.events();
    let mut leading: BTreeMap<String, Option<u64>> = BTreeMap::new();
    let mut note = |lock: &str, term: Option<u64>| -> std::io::Result<()> {
        if leading.get(lock) == Some(&term) {
            return Ok(());
        }
        leading.insert(lock.to_owned(), term);
        file.append(&NodeEvent {
            node: node.to_owned(),
            lock: lock.to_owned(),
            term,
            at: Utc::now(),
        })
    };
    for lock in handle.status().locks {
        note(&lock.name, None)?;
    }
    let mut stop = std::pin::pin!(stop);
    loop {
        let event = tokio::select! {
            () = &mut stop => return Ok(()),
            event = events.recv() => event,
        };
        match event {
            Ok(Event::LeadershipGained { lock, term }) => note(&lock, Some(term))?,
            Ok(Event::LeadershipLost { lock, .. }) => note(&lock, None)?,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => {
                for lock in handle.status().locks {
                    note(&lock.name, lock.term.filter(|_| lock.leading))?;
                }
            }
            Err(RecvError::Closed) => return Ok(()),
        }
    }
}

/// Completes on SIGTERM or SIGINT: how node processes learn to shut down gracefully.
pub async fn terminated() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
