//! Running a command with a bound on its time: past it, the command and everything it started in
//! its process group are stopped, and the run says so.

use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::interrupt;

/// How long the stopped group gets between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(200);

/// Runs `command` in a process group of its own and waits for it, for at most `bound`.
///
/// Its own group keeps the stop from reaching this process; the price is that a Ctrl-C in the
/// terminal no longer reaches the command directly, so it is passed on.
pub(crate) fn status(mut command: Command, bound: Duration, what: &str) -> io::Result<ExitStatus> {
    let mut child = command.process_group(0).spawn()?;
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let deadline = Instant::now() + bound;
    let mut passed_on_interrupt = false;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if interrupt::interrupted() && !passed_on_interrupt {
            let _ = killpg(group, Signal::SIGINT);
            passed_on_interrupt = true;
        }
        if Instant::now() >= deadline {
            eprintln!(
                "error: the {what} ran past their bound of {} minutes: something in them hangs \
                 (the last test named above is the likely one); stopping them",
                bound.as_secs() / 60
            );
            let _ = killpg(group, Signal::SIGTERM);
            let term_deadline = Instant::now() + TERM_GRACE;
            while Instant::now() < term_deadline {
                if let Some(status) = child.try_wait()? {
                    return Ok(status);
                }
                std::thread::sleep(POLL);
            }
            let _ = killpg(group, Signal::SIGKILL);
            return child.wait();
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_within_its_bound_gives_its_own_status() {
        let mut command = Command::new("sh");
        command.args(["-c", "exit 3"]);
        let status = status(command, Duration::from_secs(10), "probe").expect("sh runs");
        assert_eq!(status.code(), Some(3));
    }

    #[test]
    fn a_command_past_its_bound_is_stopped_with_its_children() {
        let mut command = Command::new("sh");
        // The child sleeps in a process of its own within the group.
        command.args(["-c", "sleep 30 & wait"]);
        let started = Instant::now();
        let status = status(command, Duration::from_millis(500), "probe").expect("sh runs");
        assert!(!status.success());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
