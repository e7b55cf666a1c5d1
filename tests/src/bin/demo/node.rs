//! The node processes: the example application started with its settings in the environment, its
//! JSON log read line by line into events, and the signals the demo sends it.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::event::{self, Event};

/// An event and the index of the node that reported it.
pub(crate) type Report = (usize, Event);

/// How every node is started.
pub(crate) struct Launcher {
    pub(crate) binary: PathBuf,
    pub(crate) service_url: String,
    pub(crate) topic_prefix: String,
    /// Where each node's raw output goes (`<node>.log`, appended across restarts).
    pub(crate) log_dir: PathBuf,
    pub(crate) reports: Sender<Report>,
    /// Each node's dashboard address, by index: the same across restarts, so a browser tab
    /// left open picks the node up again.
    pub(crate) dashboards: Vec<std::net::SocketAddr>,
    /// The token the dashboards' buttons need.
    pub(crate) dashboard_token: String,
}

/// One node: its id and, while it runs, its process.
pub(crate) struct Node {
    pub(crate) id: String,
    index: usize,
    process: Option<Child>,
    frozen: bool,
}

impl Node {
    pub(crate) fn new(index: usize, id: &str) -> Self {
        Self {
            id: id.to_owned(),
            index,
            process: None,
            frozen: false,
        }
    }

    fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Starts the node's process; its stdout is read by a thread that forwards every event.
    pub(crate) fn start(&mut self, launcher: &Launcher) -> anyhow::Result<()> {
        let log_path = launcher.log_dir.join(format!("{}.log", self.id));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("could not open {}", log_path.display()))?;
        let mut child = Command::new(&launcher.binary)
            .env("NODE_ID", &self.id)
            .env("PULSAR_URL", &launcher.service_url)
            .env("TOPIC_PREFIX", &launcher.topic_prefix)
            .env("LOG_FORMAT", "json")
            .env(
                "DASHBOARD_ADDR",
                launcher
                    .dashboards
                    .get(self.index)
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "127.0.0.1:0".to_owned()),
            )
            .env("DASHBOARD_TOKEN", &launcher.dashboard_token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.try_clone()?)
            .spawn()
            .with_context(|| format!("could not start {}", launcher.binary.display()))?;
        let stdout = child
            .stdout
            .take()
            .context("the node's stdout was not captured")?;
        let (index, reports) = (self.index, launcher.reports.clone());
        std::thread::spawn(move || forward(stdout, log, index, &reports));
        self.process = Some(child);
        self.frozen = false;
        Ok(())
    }

    /// SIGKILL: the process dies at once, its connections close.
    pub(crate) fn kill(&mut self) -> anyhow::Result<()> {
        self.signal(Signal::SIGKILL)?;
        if let Some(mut child) = self.process.take() {
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM (after SIGCONT if frozen): the node hands its locks over and exits.
    pub(crate) fn request_stop(&mut self) -> anyhow::Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        if self.frozen {
            self.thaw()?;
        }
        self.signal(Signal::SIGTERM)
    }

    /// Whether the process has exited (or was never started).
    pub(crate) fn has_exited(&mut self) -> anyhow::Result<bool> {
        let Some(child) = self.process.as_mut() else {
            return Ok(true);
        };
        if child.try_wait()?.is_some() {
            self.process = None;
            return Ok(true);
        }
        Ok(false)
    }

    /// Waits until the process has exited or `deadline` passed, then kills it; returns whether it
    /// exited by itself.
    pub(crate) fn wait_exit(&mut self, deadline: Instant) -> anyhow::Result<bool> {
        while Instant::now() < deadline {
            if self.has_exited()? {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill()?;
        Ok(false)
    }

    /// SIGSTOP: the process freezes with its connections open.
    pub(crate) fn freeze(&mut self) -> anyhow::Result<()> {
        self.signal(Signal::SIGSTOP)?;
        self.frozen = true;
        Ok(())
    }

    /// SIGCONT after [`freeze`](Self::freeze).
    pub(crate) fn thaw(&mut self) -> anyhow::Result<()> {
        self.signal(Signal::SIGCONT)?;
        self.frozen = false;
        Ok(())
    }

    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let Some(child) = &self.process else {
            bail!("{} does not run", self.id);
        };
        let pid = Pid::from_raw(i32::try_from(child.id())?);
        kill(pid, signal).with_context(|| format!("could not send {signal} to {}", self.id))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Whatever went wrong, no node outlives the demo.
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Copies the node's output to its log file and forwards the events it contains, until the
/// process closes its stdout.
fn forward(stdout: impl std::io::Read, mut log: File, index: usize, reports: &Sender<Report>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        // The log is for reading afterwards; a failed write must not stop the demo.
        let _ = writeln!(log, "{line}");
        if let Some(event) = event::parse(&line) {
            if reports.send((index, event)).is_err() {
                break;
            }
        }
    }
}

/// The example binary's path, checked to exist.
pub(crate) fn checked_binary(path: &Path) -> anyhow::Result<PathBuf> {
    if !path.is_file() {
        bail!(
            "no node binary at {}: build it with `cargo build -p leader-jobs-examples --example \
             email_digest`, or run the demo with `cargo xtask demo`",
            path.display()
        );
    }
    Ok(path.to_owned())
}
