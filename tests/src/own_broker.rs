//! A broker of a test's own, for tests that restart the broker or need settings other than the
//! shared broker's. Started and stopped through the project's tooling (`cargo xtask pulsar`),
//! whose path `cargo xtask test` passes in `LEADER_JOBS_XTASK`.

use std::path::PathBuf;
use std::process::Command;

/// Environment variable naming the xtask executable.
pub const XTASK_VAR: &str = "LEADER_JOBS_XTASK";

/// A broker in its own directory on its own ports.
#[derive(Debug)]
pub struct OwnBroker {
    xtask: PathBuf,
    dir: PathBuf,
    port: u16,
    http_port: u16,
    settings: Vec<String>,
}

impl OwnBroker {
    /// A broker named `name` (its files in the system temp dir) on `port` / `http_port`, with
    /// extra `key=value` broker settings. Not started yet.
    ///
    /// # Panics
    ///
    /// When `LEADER_JOBS_XTASK` is not set: such tests run under `cargo xtask test`.
    #[allow(
        clippy::panic,
        reason = "a test without its tooling must fail loudly, not pass"
    )]
    pub fn new(name: &str, port: u16, http_port: u16, settings: &[&str]) -> Self {
        let Some(xtask) = std::env::var_os(XTASK_VAR) else {
            panic!(
                "{XTASK_VAR} is not set: this test starts and restarts a broker of its own through \
                 the project's tooling; run it with `cargo xtask test`"
            );
        };
        Self {
            xtask: PathBuf::from(xtask),
            dir: std::env::temp_dir()
                .join("leader-jobs-tests")
                .join(format!("broker-{name}")),
            port,
            http_port,
            settings: settings.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Its service URL.
    pub fn service_url(&self) -> String {
        format!("pulsar://127.0.0.1:{}", self.port)
    }

    /// Its admin URL.
    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Starts it and waits until it is ready.
    pub fn start(&self) -> std::io::Result<()> {
        let mut command = Command::new(&self.xtask);
        command.args(["pulsar", "start", "--dir"]).arg(&self.dir);
        command.args([
            "--port",
            &self.port.to_string(),
            "--http-port",
            &self.http_port.to_string(),
        ]);
        for setting in &self.settings {
            command.args(["--set", setting]);
        }
        run(&mut command)
    }

    /// Stops it (SIGTERM, then SIGKILL after a bound).
    pub fn stop(&self) -> std::io::Result<()> {
        run(Command::new(&self.xtask)
            .args(["pulsar", "stop", "--dir"])
            .arg(&self.dir))
    }
}

fn run(command: &mut Command) -> std::io::Result<()> {
    let status = command.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{command:?} failed: {status}"
        )))
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
