//! The JVM of one part of the cluster: started detached in a process group of its own (so a
//! fault aimed at one broker reaches no other part), recognised later by its configuration
//! file, and stopped.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::super::process;
use super::layout::Part;

/// How long a part gets to shut down cleanly before it is killed.
const GRACEFUL_STOP: Duration = Duration::from_secs(30);
const FORCED_STOP: Duration = Duration::from_secs(10);
/// How long a started part may take to become a Java process.
const EXEC_PATIENCE: Duration = Duration::from_secs(10);

/// How to run one part: its main class, heap bound and arguments after the class.
pub(crate) struct Launch<'a> {
    pub(crate) main_class: &'a str,
    pub(crate) heap: &'a str,
    pub(crate) args: Vec<String>,
}

/// Starts `part` detached, with its output in its log and its pid in its pid file; returns the
/// pid without waiting.
pub(crate) fn spawn(
    java: &Path,
    classpath: &str,
    log4j: &Path,
    part: &Part,
    launch: &Launch<'_>,
) -> anyhow::Result<u32> {
    use std::os::unix::process::CommandExt as _;

    if part.log().exists() {
        fs::rename(part.log(), part.previous_log())
            .with_context(|| format!("could not rotate {}", part.log().display()))?;
    }
    let log = File::create(part.log())
        .with_context(|| format!("could not create {}", part.log().display()))?;
    let log_for_stderr = log
        .try_clone()
        .context("could not share the log file between stdout and stderr")?;
    let mut child = Command::new(java)
        .arg(format!("-Xmx{}", launch.heap))
        .args(process::JVM_OPTIONS)
        .arg(format!("-Dlog4j.configurationFile={}", log4j.display()))
        .arg(launch.main_class)
        .args(&launch.args)
        // Through the environment, not `-cp`, as for the standalone: `ps` stays readable.
        .env("CLASSPATH", classpath)
        .current_dir(part.root())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_for_stderr)
        .process_group(0)
        .spawn()
        .with_context(|| format!("could not start {}", java.display()))?;
    let pid = child.id();
    fs::write(part.pid_file(), format!("{pid}\n"))
        .with_context(|| format!("could not write {}", part.pid_file().display()))?;
    // Until the child has exec'd Java its command line is this program's, and `running_pid`
    // would call the part gone.
    let deadline = Instant::now() + EXEC_PATIENCE;
    while !owns_process(pid, part) {
        if let Ok(Some(status)) = child.try_wait() {
            bail!(
                "the cluster's {} exited at once ({status}); last lines of {}:\n{}",
                part.name,
                part.log().display(),
                process::file_tail(&part.log(), 20)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "the cluster's {} (pid {pid}) did not start Java within {} s",
                part.name,
                EXEC_PATIENCE.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Reaped in a thread, so a part that dies while this process runs on leaves no zombie.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(pid)
}

/// The pid of `part` if it runs.
pub(crate) fn running_pid(part: &Part) -> Option<u32> {
    process::running_pid_in(&part.pid_file(), |pid| owns_process(pid, part))
}

/// Whether `pid` is `part`'s JVM: every part's command line names its own configuration file.
fn owns_process(pid: u32, part: &Part) -> bool {
    let config = part.config();
    process::command_line_has(pid, &[config.as_os_str().as_encoded_bytes()])
}

/// The resident memory of `pid`, in bytes.
pub(crate) fn resident_bytes(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Stops `part`: SIGTERM to its process group, SIGKILL after [`GRACEFUL_STOP`]. Returns how long
/// it took, or `None` if it was not running.
pub(crate) fn stop(part: &Part) -> anyhow::Result<Option<Duration>> {
    let Some(pid) = running_pid(part) else {
        let _ = fs::remove_file(part.pid_file());
        return Ok(None);
    };
    let started = Instant::now();
    let group =
        Pid::from_raw(i32::try_from(pid).with_context(|| format!("pid {pid} is out of range"))?);
    // A frozen part (a test's SIGSTOP) would never act on the SIGTERM.
    process::signal_group(group, Signal::SIGCONT)?;
    process::signal_group(group, Signal::SIGTERM)?;
    if !wait_until_gone(pid, part, GRACEFUL_STOP) {
        crate::report::warn(&format!(
            "{} (pid {pid}) still runs {} s after SIGTERM: killing it",
            part.name,
            GRACEFUL_STOP.as_secs()
        ));
        process::signal_group(group, Signal::SIGKILL)?;
        if !wait_until_gone(pid, part, FORCED_STOP) {
            bail!(
                "{} (pid {pid}) survived SIGKILL; check `ps -o pid,stat,args -g {pid}`",
                part.name
            );
        }
    }
    // Already gone if the part removed it itself.
    let _ = fs::remove_file(part.pid_file());
    Ok(Some(started.elapsed()))
}

fn wait_until_gone(pid: u32, part: &Part, bound: Duration) -> bool {
    process::wait_while(bound, || owns_process(pid, part))
}
