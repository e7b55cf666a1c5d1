//! One run of Maven: its output appended to the resolution's log and read back as it is
//! written, so that the live line can follow it without Maven's lines reaching the terminal.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::log::LogWatch;
use super::{Failure, MavenOptions, ResolveError};
use crate::interrupt;

/// How often the log is read while Maven runs.
const POLL: Duration = Duration::from_millis(150);

/// Runs `mvn` on `pom` with `goal_args`, appending its output to `log` and feeding each line to
/// `watch`; `on_progress` is called after each read. Fails with Maven's cause if it fails.
pub(super) fn run(
    mvn: &Path,
    options: &MavenOptions,
    pom: &Path,
    goal_args: &[OsString],
    log: &Path,
    watch: &mut LogWatch,
    mut on_progress: impl FnMut(&LogWatch),
) -> Result<(), ResolveError> {
    let io_error = |action, source| ResolveError::io(action, log, source);
    let writer = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|source| io_error("could not open", source))?;
    let start = writer
        .metadata()
        .map_err(|source| io_error("could not read", source))?
        .len();
    let for_stderr = writer
        .try_clone()
        .map_err(|source| io_error("could not share", source))?;
    let mut child = command(mvn, options, pom)
        .args(goal_args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(for_stderr)
        .spawn()
        .map_err(|source| ResolveError::Spawn {
            program: mvn.to_owned(),
            source,
        })?;
    let mut reader = File::open(log).map_err(|source| io_error("could not read", source))?;
    reader
        .seek(SeekFrom::Start(start))
        .map_err(|source| io_error("could not read", source))?;

    let mut pending = Vec::new();
    let status = loop {
        // Asked before reading, so that the read after Maven's exit gets all it wrote.
        let exited = child
            .try_wait()
            .map_err(|source| io_error("could not wait for Maven writing", source))?;
        let mut fresh = Vec::new();
        reader
            .read_to_end(&mut fresh)
            .map_err(|source| io_error("could not read", source))?;
        pending.extend_from_slice(&fresh);
        while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            watch.observe(&String::from_utf8_lossy(&line));
        }
        on_progress(watch);
        if let Some(status) = exited {
            break status;
        }
        std::thread::sleep(POLL);
    };
    if !pending.is_empty() {
        watch.observe(&String::from_utf8_lossy(&pending));
    }
    if status.success() {
        return Ok(());
    }
    if interrupt::interrupted() {
        return Err(ResolveError::Interrupted);
    }
    Err(ResolveError::Failed(Failure {
        cause: watch
            .cause()
            .unwrap_or_else(|| format!("Maven ended ({status}) without an error message")),
        unreachable: watch.unreachable().to_vec(),
        log: log.to_owned(),
    }))
}

/// `mvn` on `pom`, in batch mode (no colours, no prompts) and with the options given.
///
/// Maven's transfer lines (`Downloading from …` / `Downloaded from …`) stay on, unlike with
/// `-ntp`: they go to the log only, where they are the one signal of what has been fetched that
/// needs no knowledge of where the local repository is.
fn command(mvn: &Path, options: &MavenOptions, pom: &Path) -> Command {
    let mut command = Command::new(mvn);
    command
        .args(["-B", "-Dstyle.color=never"])
        .arg("-f")
        .arg(pom);
    if let Some(settings) = &options.settings {
        command.arg("-s").arg(settings);
    }
    if let Some(repository) = &options.local_repository {
        let mut property = OsString::from("-Dmaven.repo.local=");
        property.push(repository);
        command.arg(property);
    }
    command
}
