//! `cargo xtask pulsar start|stop|status`: a standalone Apache Pulsar broker on loopback,
//! resolved from Maven Central, configured and run from one directory.
//!
//! Only the broker's two ports are chosen here. The embedded bookie's port is left to Pulsar:
//! on a first start it takes a free port (so several brokers never collide) and its data (the
//! BookKeeper cookie) keeps that port for later starts.

mod bookie_disk;
mod bookie_loop;
pub(crate) mod cluster;
mod config;
mod layout;
mod maven;
mod process;
mod readiness;
pub(crate) mod secure;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

pub(crate) use self::config::ConfigOverride;
use self::layout::BrokerDir;
pub(crate) use self::maven::MavenOptions;
pub(crate) use self::process::StartedBroker;
pub(crate) use self::readiness::{BrokerUrls, admin_ready};
use crate::report::{self, Step};
use crate::{executables, interrupt};

/// How many log lines an error about a failed start shows.
const LOG_TAIL_LINES: usize = 40;

/// Brokers started side by side resolve one at a time: Maven's local repository is not safe
/// for two processes downloading into it at once.
static MAVEN: Mutex<()> = Mutex::new(());

/// Everything `cargo xtask pulsar start` can be told.
#[derive(Debug, Clone)]
pub(crate) struct BrokerSettings {
    pub(crate) dir: PathBuf,
    pub(crate) service_port: u16,
    pub(crate) http_port: u16,
    pub(crate) overrides: Vec<ConfigOverride>,
    pub(crate) ready_timeout: Duration,
    /// The Maven settings and local repository the broker is resolved with.
    pub(crate) maven: MavenOptions,
}

impl BrokerSettings {
    /// The broker every test and example expects: default ports, default directory.
    pub(crate) fn standard() -> Self {
        Self {
            dir: default_dir(),
            service_port: 6650,
            http_port: 8080,
            overrides: Vec::new(),
            ready_timeout: Duration::from_secs(120),
            maven: MavenOptions::default(),
        }
    }
}

/// `target/pulsar` of this workspace, wherever the command is run from.
pub(crate) fn default_dir() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir
        .parent()
        .unwrap_or(xtask_dir)
        .join("target")
        .join("pulsar")
}

/// A ready broker, and whether this call started it (only then is the caller the one to stop it).
#[derive(Debug)]
pub(crate) struct ReadyBroker {
    pub(crate) urls: BrokerUrls,
    pub(crate) started_here: Option<StartedBroker>,
    dir: BrokerDir,
}

impl ReadyBroker {
    /// Stops the broker if this process started it.
    pub(crate) fn stop_if_started_here(self) -> anyhow::Result<()> {
        if let Some(broker) = self.started_here {
            let took = process::stop(broker.pid(), &self.dir)?;
            report::status(
                "Stopped",
                &format!(
                    "the Pulsar broker this command started (pid {}) in {}",
                    broker.pid(),
                    report::seconds(took)
                ),
            );
        }
        Ok(())
    }
}

/// `cargo xtask pulsar start`.
pub(crate) fn start(settings: &BrokerSettings) -> anyhow::Result<()> {
    let broker = ensure_running(settings)?;
    println!("  service URL: {}", broker.urls.service);
    println!("  admin URL:   {}", broker.urls.admin);
    println!("  log:         {}", broker.dir.log().display());
    println!(
        "  stop with:   cargo xtask pulsar stop{}",
        dir_flag(settings)
    );
    Ok(())
}

/// Finds the broker of `settings.dir` running, or starts it; returns once it is ready.
pub(crate) fn ensure_running(settings: &BrokerSettings) -> anyhow::Result<ReadyBroker> {
    let dir = BrokerDir::new(&settings.dir)
        .with_context(|| format!("invalid directory {}", settings.dir.display()))?;
    fs::create_dir_all(dir.root())
        .with_context(|| format!("could not create {}", dir.root().display()))?;

    if let Some(pid) = process::running_pid(&dir) {
        return adopt_running(settings, dir, pid);
    }

    let java = executables::java()?;
    let mvn = executables::maven()?;
    readiness::ensure_port_free(settings.service_port, "broker service", "--port")?;
    readiness::ensure_port_free(settings.http_port, "admin API", "--http-port")?;

    let classpath = {
        let _one_at_a_time = MAVEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        maven::resolve_classpath(&dir, &mvn, &settings.maven)?
    };
    write(&dir.config(), &config::broker_config(settings))?;
    write(&dir.log4j_config(), config::log4j_config())?;

    let urls = BrokerUrls::on_loopback(settings.service_port, settings.http_port);
    let address = format!("127.0.0.1:{}", settings.service_port);
    let step = Step::live(
        "Starting",
        &format!(
            "Apache Pulsar {} on {address} (files in {})",
            maven::PULSAR_VERSION,
            dir.root().display()
        ),
    );
    let mut attempt = 1;
    let broker = loop {
        let broker = spawn_until_ready(
            &java,
            &classpath,
            &dir,
            &urls,
            settings.ready_timeout,
            &step,
        )?;
        if !bookie_loop::is_looping(&dir) {
            break broker;
        }
        // See `bookie_loop`: a clean stop ends the loop for the next start.
        process::stop(broker.pid(), &dir)?;
        if attempt == bookie_loop::START_ATTEMPTS {
            bail!(
                "the broker's embedded bookie kept re-registering itself in {attempt} starts in a \
                 row (a Pulsar standalone fault after an unclean stop; see {}): remove {} to \
                 start over with empty data",
                dir.log().display(),
                dir.root().display()
            );
        }
        report::warn(
            "note: the broker's embedded bookie keeps re-registering itself (a Pulsar standalone \
             fault after an unclean stop, which a clean restart ends): stopped it, starting again",
        );
        attempt += 1;
    };
    let took = report::seconds(step.elapsed());
    step.finish(
        "Started",
        &format!(
            "Apache Pulsar {} on {address} in {took} (pid {})",
            maven::PULSAR_VERSION,
            broker.pid()
        ),
    );
    Ok(ReadyBroker {
        urls,
        started_here: Some(broker),
        dir,
    })
}

/// A broker of this directory already runs: use it (waiting if it is still starting).
fn adopt_running(
    settings: &BrokerSettings,
    dir: BrokerDir,
    pid: u32,
) -> anyhow::Result<ReadyBroker> {
    let running_config = fs::read_to_string(dir.config())
        .with_context(|| format!("could not read {}", dir.config().display()))?;
    let urls = urls_of(&running_config)?;
    if running_config != config::broker_config(settings) {
        report::warn(&format!(
            "warning: the running broker was started with other settings than these; \
             `cargo xtask pulsar stop{}` first to apply them",
            dir_flag(settings)
        ));
    }
    let deadline = Instant::now() + settings.ready_timeout;
    while let Err(lacking) = ready(&urls, &dir) {
        if Instant::now() >= deadline || interrupt::interrupted() {
            bail!(
                "the broker of {} (pid {pid}) runs but is not ready ({lacking}); see {} or \
                 restart it with `cargo xtask pulsar stop{}`",
                dir.root().display(),
                dir.log().display(),
                dir_flag(settings)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    report::status(
        "Using",
        &format!(
            "the Pulsar broker already running on {} (pid {pid}, files in {})",
            urls.service.trim_start_matches("pulsar://"),
            dir.root().display()
        ),
    );
    Ok(ReadyBroker {
        urls,
        started_here: None,
        dir,
    })
}

/// Starts the broker and waits until it is ready; stops it again if it does not get there.
fn spawn_until_ready(
    java: &Path,
    classpath: &str,
    dir: &BrokerDir,
    urls: &BrokerUrls,
    timeout: Duration,
    step: &Step,
) -> anyhow::Result<StartedBroker> {
    let broker = process::spawn(java, classpath, dir)?;
    step.set_message(format!(
        "Apache Pulsar {} on {} (pid {})",
        maven::PULSAR_VERSION,
        urls.service.trim_start_matches("pulsar://"),
        broker.pid()
    ));
    if let Err(error) = wait_until_ready(&broker, urls, dir, timeout) {
        if broker.exit_status().is_some() {
            process::remove_pid_file(dir);
        } else {
            // A broker that did not come up in time is of no use and holds the ports.
            let _ = process::stop(broker.pid(), dir);
        }
        return Err(error);
    }
    Ok(broker)
}

fn wait_until_ready(
    broker: &StartedBroker,
    urls: &BrokerUrls,
    dir: &BrokerDir,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let lacking = match ready(urls, dir) {
            Ok(()) => return Ok(()),
            Err(lacking) => lacking,
        };
        if let Some(status) = broker.exit_status() {
            bail!(
                "the broker exited during start ({status}); last lines of {}:\n{}",
                dir.log().display(),
                process::log_tail(dir, LOG_TAIL_LINES)
            );
        }
        if interrupt::interrupted() {
            bail!("interrupted while the broker was starting; it has been stopped");
        }
        // Waiting longer would not help: the bookie stays read-only until the disk has room.
        if let Some(hint) = bookie_disk::full_disk_hint(dir) {
            bail!("the broker cannot write, so it has been stopped: {hint}");
        }
        if Instant::now() >= deadline {
            bail!(
                "the broker was not ready after {} s, so it has been stopped; its admin API {} \
                 last said: {lacking}; last lines of {}:\n{}",
                timeout.as_secs(),
                urls.admin,
                dir.log().display(),
                process::log_tail(dir, LOG_TAIL_LINES)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `cargo xtask pulsar stop`.
pub(crate) fn stop(dir: &Path) -> anyhow::Result<()> {
    let dir =
        BrokerDir::new(dir).with_context(|| format!("invalid directory {}", dir.display()))?;
    match process::running_pid(&dir) {
        Some(pid) => {
            let took = process::stop(pid, &dir)?;
            report::status(
                "Stopped",
                &format!("the Pulsar broker (pid {pid}) in {}", report::seconds(took)),
            );
        }
        None => report::line(&format!(
            "No Pulsar broker of {} is running",
            dir.root().display()
        )),
    }
    Ok(())
}

/// `cargo xtask pulsar status`: success only for a running broker that answers.
pub(crate) fn status(dir: &Path) -> anyhow::Result<ExitCode> {
    let dir =
        BrokerDir::new(dir).with_context(|| format!("invalid directory {}", dir.display()))?;
    let Some(pid) = process::running_pid(&dir) else {
        println!("not running (no broker of {})", dir.root().display());
        return Ok(ExitCode::FAILURE);
    };
    let config = fs::read_to_string(dir.config())
        .with_context(|| format!("could not read {}", dir.config().display()))?;
    let urls = urls_of(&config)?;
    match ready(&urls, &dir) {
        Ok(()) => {
            println!("running and ready (pid {pid})");
            println!("  service URL: {}", urls.service);
            println!("  admin URL:   {}", urls.admin);
            Ok(ExitCode::SUCCESS)
        }
        Err(lacking) => {
            println!(
                "running (pid {pid}) but not ready: starting, or stuck (see {}); {lacking}",
                dir.log().display()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Whether the broker of `dir` is ready (else what it lacks), asked with its super-user token
/// if it has one.
fn ready(urls: &BrokerUrls, dir: &BrokerDir) -> Result<(), String> {
    let token = fs::read_to_string(dir.admin_token()).ok();
    admin_ready(&urls.admin, token.as_deref().map(str::trim))
}

fn urls_of(config_text: &str) -> anyhow::Result<BrokerUrls> {
    let port = |key: &str| -> anyhow::Result<u16> {
        config::value_of(config_text, key)
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("the broker configuration has no valid {key}"))
    };
    Ok(BrokerUrls::on_loopback(
        port("brokerServicePort")?,
        port("webServicePort")?,
    ))
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("could not write {}", path.display()))
}

/// ` --dir …` when the directory is not the default, for commands shown to the user.
fn dir_flag(settings: &BrokerSettings) -> String {
    if settings.dir == default_dir() {
        String::new()
    } else {
        format!(" --dir {}", settings.dir.display())
    }
}
