//! The broker's JVM: starting it detached, recognising it later, stopping it.

use std::cell::OnceCell;
use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::layout::BrokerDir;

const MAIN_CLASS: &str = "org.apache.pulsar.PulsarStandaloneStarter";

/// The standalone's heap bound, for a shared machine.
const HEAP: &str = "-Xmx512m";

/// What Pulsar's own `bin/pulsar` passes on JDK 17, and the metadata drivers its bookies and
/// brokers load by name.
pub(crate) const JVM_OPTIONS: &[&str] = &[
    "--add-opens",
    "java.base/java.io=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.nio=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.util.zip=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-opens",
    "java.base/sun.net=ALL-UNNAMED",
    "--add-opens",
    "java.management/sun.management=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dbookkeeper.metadata.bookie.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataBookieDriver",
    "-Dbookkeeper.metadata.client.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataClientDriver",
];

/// How long a broker gets to shut down cleanly before it is killed.
const GRACEFUL_STOP: Duration = Duration::from_secs(30);
const FORCED_STOP: Duration = Duration::from_secs(10);

/// A broker JVM this process started.
#[derive(Debug)]
pub(crate) struct StartedBroker {
    pid: u32,
    exit: Receiver<ExitStatus>,
    exited: OnceCell<ExitStatus>,
}

impl StartedBroker {
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// How the JVM ended, if it already has.
    pub(crate) fn exit_status(&self) -> Option<ExitStatus> {
        if let Ok(status) = self.exit.try_recv() {
            let _ = self.exited.set(status);
        }
        self.exited.get().copied()
    }
}

/// Starts the broker in its own process group (so a Ctrl-C in the terminal does not reach it),
/// with its output in the log and its pid in the pid file, and returns without waiting.
pub(crate) fn spawn(
    java: &Path,
    classpath: &str,
    dir: &BrokerDir,
) -> anyhow::Result<StartedBroker> {
    use std::os::unix::process::CommandExt as _;

    if dir.log().exists() {
        fs::rename(dir.log(), dir.previous_log())
            .with_context(|| format!("could not rotate {}", dir.log().display()))?;
    }
    let log = File::create(dir.log())
        .with_context(|| format!("could not create {}", dir.log().display()))?;
    let log_for_stderr = log
        .try_clone()
        .context("could not share the log file between stdout and stderr")?;

    let mut child = Command::new(java)
        .arg(HEAP)
        .args(JVM_OPTIONS)
        .arg(format!(
            "-Dlog4j.configurationFile={}",
            dir.log4j_config().display()
        ))
        .arg(MAIN_CLASS)
        .arg("--config")
        .arg(dir.config())
        .args(["-nfw", "-nss"])
        .arg("--metadata-dir")
        .arg(dir.metadata_data())
        .arg("--bookkeeper-dir")
        .arg(dir.bookkeeper_data())
        // Through the environment, not `-cp`: hundreds of jar paths would bury the command
        // line that `ps` shows and that `owns_process` reads.
        .env("CLASSPATH", classpath)
        // The standalone resolves some defaults relative to its working directory.
        .current_dir(dir.root())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_for_stderr)
        .process_group(0)
        .spawn()
        .with_context(|| format!("could not start {}", java.display()))?;
    let pid = child.id();
    fs::write(dir.pid_file(), format!("{pid}\n"))
        .with_context(|| format!("could not write {}", dir.pid_file().display()))?;

    let (sender, exit) = mpsc::channel();
    // Waiting in a thread tells the start-up wait at once when the JVM dies, and reaps it so it
    // does not linger as a zombie while this process runs on (as in `cargo xtask test`).
    std::thread::spawn(move || {
        if let Ok(status) = child.wait() {
            let _ = sender.send(status);
        }
    });
    Ok(StartedBroker {
        pid,
        exit,
        exited: OnceCell::new(),
    })
}

/// Forgets a broker that died by itself.
pub(crate) fn remove_pid_file(dir: &BrokerDir) {
    // Nothing to do if it is already gone.
    let _ = fs::remove_file(dir.pid_file());
}

/// The pid of the broker started from `dir`, if it still runs.
pub(crate) fn running_pid(dir: &BrokerDir) -> Option<u32> {
    running_pid_in(&dir.pid_file(), |pid| owns_process(pid, dir))
}

/// The pid in `pid_file` if `owns` says that process is still the one the file was written for.
pub(crate) fn running_pid_in(pid_file: &Path, owns: impl Fn(u32) -> bool) -> Option<u32> {
    let pid = fs::read_to_string(pid_file).ok()?.trim().parse().ok()?;
    owns(pid).then_some(pid)
}

/// Whether `pid` is the broker started from `dir`: a pid file can outlive its process, and the
/// number can be reused by an unrelated program that must never be signalled.
fn owns_process(pid: u32, dir: &BrokerDir) -> bool {
    let config = dir.config();
    command_line_has(
        pid,
        &[MAIN_CLASS.as_bytes(), config.as_os_str().as_encoded_bytes()],
    )
}

/// Whether the command line of process `pid` holds every one of `args`.
pub(crate) fn command_line_has(pid: u32, args: &[&[u8]]) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let present: Vec<&[u8]> = cmdline.split(|byte| *byte == 0).collect();
    args.iter().all(|arg| present.contains(arg))
}

/// Stops the broker: SIGTERM to its process group, then SIGKILL after [`GRACEFUL_STOP`].
/// Returns how long it took.
pub(crate) fn stop(pid: u32, dir: &BrokerDir) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let group =
        Pid::from_raw(i32::try_from(pid).with_context(|| format!("pid {pid} is out of range"))?);
    // The JVM's shutdown hook closes the broker, which releases its ports and flushes its data.
    signal_group(group, Signal::SIGTERM)?;
    if !wait_until_gone(pid, dir, GRACEFUL_STOP) {
        crate::report::warn(&format!(
            "broker (pid {pid}) still runs {} s after SIGTERM: killing it",
            GRACEFUL_STOP.as_secs()
        ));
        signal_group(group, Signal::SIGKILL)?;
        if !wait_until_gone(pid, dir, FORCED_STOP) {
            bail!("broker (pid {pid}) survived SIGKILL; check `ps -o pid,stat,args -g {pid}`");
        }
    }
    remove_pid_file(dir);
    Ok(started.elapsed())
}

pub(crate) fn signal_group(group: Pid, signal: Signal) -> anyhow::Result<()> {
    match killpg(group, signal) {
        // Already gone: nothing left to stop.
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(error) => bail!("could not send {signal} to process group {group}: {error}"),
    }
}

fn wait_until_gone(pid: u32, dir: &BrokerDir, bound: Duration) -> bool {
    wait_while(bound, || owns_process(pid, dir))
}

/// Waits up to `bound` for `running` to turn false; says whether it did.
pub(crate) fn wait_while(bound: Duration, running: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    while running() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

/// The last `count` lines of the broker's log, for error messages.
pub(crate) fn log_tail(dir: &BrokerDir, count: usize) -> String {
    file_tail(&dir.log(), count)
}

/// The last `count` lines of the file at `path`, for error messages.
pub(crate) fn file_tail(path: &Path, count: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(count)..].join("\n")
        }
        Err(error) => format!("(could not read {}: {error})", path.display()),
    }
}
