//! Node processes of the test application (`test-node`), started, killed, frozen and stopped by
//! the tests, with what they report read back from their files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::bridge::{BRIDGE_DIR_VAR, Bridge};
use crate::broker;
use crate::run_log::{self, RunEvent};

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

/// A set of node processes sharing one topic prefix and one output directory.
#[derive(Debug)]
pub struct Cluster {
    binary: PathBuf,
    service_url: String,
    admin_url: String,
    dir: PathBuf,
    prefix: String,
    nodes: BTreeMap<String, Child>,
}

impl Cluster {
    /// A cluster of `test-node` processes (`binary`), writing under a fresh directory named after
    /// `name` in the system temp dir, on topics with a prefix unique to this run.
    pub fn new(binary: &Path, name: &str) -> std::io::Result<Self> {
        let service_url = broker::require_broker();
        Self::on_broker(binary, name, &service_url, &broker::admin_url())
    }

    /// Like [`new`](Self::new), on the broker at `service_url` / `admin_url`.
    pub fn on_broker(
        binary: &Path,
        name: &str,
        service_url: &str,
        admin_url: &str,
    ) -> std::io::Result<Self> {
        let unique = format!(
            "{name}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_millis()
        );
        let dir = std::env::temp_dir().join("leader-jobs-tests").join(&unique);
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            binary: binary.to_owned(),
            service_url: service_url.to_owned(),
            admin_url: admin_url.to_owned(),
            dir,
            prefix: format!("t-{unique}"),
            nodes: BTreeMap::new(),
        })
    }

    /// The directory with the run logs (`<node>.jsonl`), events and stderr of every node.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts (or restarts) node `id`.
    pub fn start(&mut self, id: &str) -> std::io::Result<()> {
        self.spawn(id, None)
    }

    /// Starts (or restarts) node `id` in a network namespace of its own, reaching the broker only
    /// through `bridge` (see [`crate::bridge`]). Needs the rights to create a network namespace
    /// (root, or unprivileged user namespaces).
    pub fn start_bridged(&mut self, id: &str, bridge: &Bridge) -> std::io::Result<()> {
        self.spawn(id, Some(bridge))
    }

    fn spawn(&mut self, id: &str, bridge: Option<&Bridge>) -> std::io::Result<()> {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{id}.stderr")))?;
        let mut command = match bridge {
            None => Command::new(&self.binary),
            Some(bridge) => {
                // `unshare` and `sh` exec in place, so the child's pid is the node's own and
                // signals reach it.
                let mut command = Command::new("unshare");
                command
                    .args([
                        "--net",
                        "--",
                        "sh",
                        "-c",
                        "ip link set lo up && exec \"$0\" \"$@\"",
                    ])
                    .arg(&self.binary)
                    .env(BRIDGE_DIR_VAR, bridge.dir());
                command
            }
        };
        let child = command
            .args([id, &self.dir.to_string_lossy(), &self.prefix])
            .env(broker::SERVICE_URL_VAR, &self.service_url)
            .env(broker::ADMIN_URL_VAR, &self.admin_url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()?;
        if let Some(mut old) = self.nodes.insert(id.to_owned(), child) {
            let _ = old.kill();
            let _ = old.wait();
        }
        Ok(())
    }

    fn signal(&self, id: &str, signal: Signal) -> std::io::Result<()> {
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
        Ok(())
    }

    /// SIGSTOP: the process freezes with its connections open.
    pub fn freeze(&self, id: &str) -> std::io::Result<()> {
        self.signal(id, Signal::SIGSTOP)
    }

    /// SIGCONT after [`freeze`](Self::freeze).
    pub fn thaw(&self, id: &str) -> std::io::Result<()> {
        self.signal(id, Signal::SIGCONT)
    }

    /// SIGTERM, then waits up to `limit` for the graceful shutdown to finish.
    pub fn terminate(&mut self, id: &str, limit: Duration) -> std::io::Result<bool> {
        self.signal(id, Signal::SIGTERM)?;
        let Some(child) = self.nodes.get_mut(id) else {
            return Ok(false);
        };
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                return Ok(status.success());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill()?;
        child.wait()?;
        Ok(false)
    }

    /// Every leadership change every node reported so far, in time order.
    pub fn events(&self) -> std::io::Result<Vec<NodeEvent>> {
        let mut events = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "events") {
                let text = std::fs::read_to_string(&path)?;
                events.extend(
                    text.lines()
                        .filter_map(|line| serde_json::from_str::<NodeEvent>(line).ok()),
                );
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

    /// The service URL of the broker the nodes use.
    pub fn service_url(&self) -> &str {
        &self.service_url
    }

    /// The admin URL of the broker the nodes use.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The topic prefix of this cluster's locks.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.nodes.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
