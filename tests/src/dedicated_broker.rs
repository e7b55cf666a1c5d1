//! A broker of one test's or campaign's own: started, stopped, killed and restarted through the
//! project's broker tooling (the `xtask` binary), in a directory and on ports no other broker
//! uses, so that what it suffers disturbs nobody else.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::cluster::BrokerUrls;

/// The environment variable naming the `xtask` binary (`cargo xtask` sets it for the tests and
/// for the campaign).
pub const XTASK_VAR: &str = "LEADER_JOBS_XTASK";

/// The `xtask` binary that [`XTASK_VAR`] names, for a test that runs a broker of its own.
///
/// # Panics
///
/// When the variable is unset, naming the command that sets it.
#[allow(clippy::expect_used, reason = "a test without its tool cannot run")]
pub fn xtask_for_tests() -> PathBuf {
    std::env::var_os(XTASK_VAR).map(PathBuf::from).expect(
        "this test runs a broker of its own through the xtask binary: run the tests with \
         `cargo xtask test`, or set LEADER_JOBS_XTASK to a built xtask binary",
    )
}

/// Why the broker could not be controlled.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The tooling could not be run.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The tooling ran and failed.
    #[error("`{command}` failed ({status}):\n{output}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed.
        output: String,
    },
    /// The broker did not die after SIGKILL.
    #[error("the broker (pid {0}) still runs 10 s after SIGKILL")]
    Survived(i32),
}

/// A standalone broker owned by one test or campaign.
#[derive(Debug, Clone)]
pub struct DedicatedBroker {
    xtask: PathBuf,
    dir: PathBuf,
    service_port: u16,
    http_port: u16,
    settings: Vec<String>,
    ready_timeout: Duration,
}

impl DedicatedBroker {
    /// A broker in `dir` on `127.0.0.1:service_port` (admin `http_port`), run by `xtask`.
    pub fn new(xtask: &Path, dir: &Path, service_port: u16, http_port: u16) -> Self {
        Self {
            xtask: xtask.to_owned(),
            dir: dir.to_owned(),
            service_port,
            http_port,
            settings: Vec::new(),
            ready_timeout: Duration::from_secs(180),
        }
    }

    /// The same broker, given `timeout` (instead of 180 s) to become ready at each start.
    #[must_use]
    pub fn with_ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// The same broker with broker configuration overrides (`key=value`), applied at every start.
    #[must_use]
    pub fn with_settings(mut self, settings: &[&str]) -> Self {
        self.settings = settings
            .iter()
            .map(|setting| (*setting).to_owned())
            .collect();
        self
    }

    /// Where clients reach it.
    pub fn urls(&self) -> BrokerUrls {
        BrokerUrls {
            service: format!("pulsar://127.0.0.1:{}", self.service_port),
            admin: format!("http://127.0.0.1:{}", self.http_port),
        }
    }

    /// The binary protocol's port.
    pub fn service_port(&self) -> u16 {
        self.service_port
    }

    /// The admin API's port.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// Stops a broker left running in the directory, deletes its data (so every campaign starts
    /// on an empty broker; the cached classpath stays), and starts it.
    pub fn start_fresh(&self) -> Result<Duration, BrokerError> {
        self.stop()?;
        let data = self.dir.join("data");
        if data.exists() {
            std::fs::remove_dir_all(&data).map_err(|source| BrokerError::Spawn {
                program: format!("rm -r {}", data.display()),
                source,
            })?;
        }
        self.start()
    }

    /// Starts the broker and waits until it is ready; returns how long that took.
    pub fn start(&self) -> Result<Duration, BrokerError> {
        let started = Instant::now();
        let (dir, port, http_port, timeout) = (
            self.dir.to_string_lossy(),
            self.service_port.to_string(),
            self.http_port.to_string(),
            self.ready_timeout.as_secs().to_string(),
        );
        let mut args = vec![
            "pulsar",
            "start",
            "--dir",
            &dir,
            "--port",
            &port,
            "--http-port",
            &http_port,
            "--timeout",
            &timeout,
        ];
        for setting in &self.settings {
            args.extend(["--set", setting]);
        }
        self.xtask(&args)?;
        Ok(started.elapsed())
    }

    /// Stops the broker gracefully (SIGTERM; the tooling kills it after 30 s).
    pub fn stop(&self) -> Result<Duration, BrokerError> {
        let started = Instant::now();
        self.xtask(&["pulsar", "stop", "--dir", &self.dir.to_string_lossy()])?;
        Ok(started.elapsed())
    }

    /// A guard that stops the broker when dropped, so that a failing test does not leave it
    /// running.
    pub fn stop_on_drop(&self) -> StopOnDrop {
        StopOnDrop(self.clone())
    }

    /// SIGKILL to the broker's process group: it dies without closing anything.
    pub fn kill(&self) -> Result<(), BrokerError> {
        let Some(pid) = self.running_pid() else {
            return Ok(());
        };
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.running_pid().is_some() {
            if Instant::now() >= deadline {
                return Err(BrokerError::Survived(pid));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The broker's pid if its process runs: the pid file's number, checked against the
    /// process's command line so that a reused pid is never signalled.
    fn running_pid(&self) -> Option<i32> {
        running_pid_in(&self.dir.join("broker.pid"), &self.dir.join("broker.conf"))
    }

    fn xtask(&self, args: &[&str]) -> Result<(), BrokerError> {
        run_xtask(&self.xtask, args)
    }
}

/// The pid in `pid_file` if that process still runs with `config` on its command line: a pid
/// file can outlive its process, and a reused pid must never be signalled. A zombie (a killed
/// JVM nobody reaped) has an empty command line, so it does not count.
pub(crate) fn running_pid_in(pid_file: &Path, config: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let config = std::path::absolute(config).ok()?;
    let config = config.as_os_str().as_encoded_bytes();
    cmdline
        .split(|byte| *byte == 0)
        .any(|arg| arg == config)
        .then_some(pid)
}

/// Runs the project's broker tooling, `xtask args…`, and fails with what it printed.
pub(crate) fn run_xtask(xtask: &Path, args: &[&str]) -> Result<(), BrokerError> {
    let output = Command::new(xtask)
        .args(args)
        .output()
        .map_err(|source| BrokerError::Spawn {
            program: xtask.display().to_string(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(BrokerError::Failed {
        command: format!("{} {}", xtask.display(), args.join(" ")),
        status: output.status,
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// Stops its broker when dropped; see [`DedicatedBroker::stop_on_drop`].
#[derive(Debug)]
pub struct StopOnDrop(DedicatedBroker);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // Stopping a broker that is already stopped succeeds; a failure here has no one to
        // report to but the log the tooling wrote.
        let _ = self.0.stop();
    }
}
