//! `cargo xtask pulsar cluster start|stop|status`: a Pulsar cluster on loopback, as production
//! runs one: ZooKeeper as the metadata store, a bookie, and several brokers among which topics
//! are spread by bundle and move when a broker goes. Every part comes from the same Maven
//! artifacts as the standalone broker; no Docker, no root.
//!
//! ZooKeeper rather than Debian's etcd, though etcd was measured working (README, Development):
//! ZooKeeper ships in the broker's own artifacts (one resolution for everything, no `apt-get`),
//! and Pulsar is removing its etcd metadata store (PIP-462).

mod config;
mod jvm;
mod layout;
mod readiness;

use std::fmt::Write as _;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use self::jvm::Launch;
use self::layout::{
    BOOKIE_PORT, CLUSTER_NAME, ClusterDir, MAX_BROKERS, METADATA_PORT, Part, http_port,
    service_port,
};
use super::readiness::{BrokerUrls, ensure_port_free};
use super::{MAVEN, MavenOptions, maven};
use crate::report::{self, Step};
use crate::{executables, interrupt};

/// How many log lines an error about a failed start shows.
const LOG_TAIL_LINES: usize = 30;

/// Everything `cargo xtask pulsar cluster start` can be told.
#[derive(Debug, Clone)]
pub(crate) struct ClusterSettings {
    pub(crate) dir: PathBuf,
    pub(crate) brokers: u16,
    pub(crate) ready_timeout: Duration,
    pub(crate) maven: MavenOptions,
}

/// `target/pulsar-cluster` of this workspace.
pub(crate) fn default_dir() -> PathBuf {
    super::default_dir().with_file_name("pulsar-cluster")
}

/// Where clients and tests reach a ready cluster.
#[derive(Debug, Clone)]
pub(crate) struct ClusterUrls {
    /// One per broker, in broker order.
    pub(crate) brokers: Vec<BrokerUrls>,
}

impl ClusterUrls {
    fn of(brokers: u16) -> Self {
        Self {
            brokers: (0..brokers)
                .map(|index| BrokerUrls::on_loopback(service_port(index), http_port(index)))
                .collect(),
        }
    }

    /// Every broker's address in one service URL, as Pulsar clients take a cluster's.
    pub(crate) fn service(&self) -> String {
        let hosts: Vec<&str> = self
            .brokers
            .iter()
            .map(|urls| urls.service.trim_start_matches("pulsar://"))
            .collect();
        format!("pulsar://{}", hosts.join(","))
    }

    /// The admin APIs, comma-separated.
    pub(crate) fn admin(&self) -> String {
        let admins: Vec<&str> = self
            .brokers
            .iter()
            .map(|urls| urls.admin.as_str())
            .collect();
        admins.join(",")
    }
}

/// `cargo xtask pulsar cluster start`.
pub(crate) fn start(settings: &ClusterSettings) -> anyhow::Result<()> {
    let urls = ensure_running(settings)?;
    println!("  service URL: {}", urls.service());
    println!("  admin URLs:  {}", urls.admin());
    println!("  files:       {}", settings.dir.display());
    println!(
        "  stop with:   cargo xtask pulsar cluster stop{}",
        dir_flag(&settings.dir)
    );
    Ok(())
}

/// Starts whatever part of the cluster does not run (all of it at first; a broker a test killed
/// later) and returns once every broker is ready.
pub(crate) fn ensure_running(settings: &ClusterSettings) -> anyhow::Result<ClusterUrls> {
    if !(1..=MAX_BROKERS).contains(&settings.brokers) {
        bail!("--brokers must be between 1 and {MAX_BROKERS}");
    }
    let dir = ClusterDir::new(&settings.dir)
        .with_context(|| format!("invalid directory {}", settings.dir.display()))?;
    fs::create_dir_all(dir.root())
        .with_context(|| format!("could not create {}", dir.root().display()))?;
    let java = executables::java()?;
    let classpath = {
        let _one_at_a_time = MAVEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        maven::resolve_classpath(dir.shared(), &executables::maven()?, &settings.maven)?
    };
    write(&dir.log4j_config(), super::config::log4j_config())?;
    let started = Instant::now();
    let step = Step::live(
        "Starting",
        &format!(
            "a Pulsar {} cluster of {} brokers (files in {})",
            maven::PULSAR_VERSION,
            settings.brokers,
            dir.root().display()
        ),
    );
    let started_parts = std::cell::Cell::new(0);
    let start = |part: &Part, text: String, launch: Launch<'_>| -> anyhow::Result<()> {
        if jvm::running_pid(part).is_some() {
            return Ok(());
        }
        started_parts.set(started_parts.get() + 1);
        fs::create_dir_all(part.data())
            .with_context(|| format!("could not create {}", part.data().display()))?;
        write(&part.config(), &text)?;
        jvm::spawn(&java, &classpath, &dir.log4j_config(), part, &launch)?;
        Ok(())
    };

    let metadata = dir.metadata();
    if jvm::running_pid(&metadata).is_none() {
        ensure_port_free(
            METADATA_PORT,
            "the cluster's metadata store",
            "--dir of a stopped cluster",
        )?;
    }
    step.set_message("the metadata store (ZooKeeper)".to_owned());
    start(
        &metadata,
        config::metadata_config(&metadata),
        Launch {
            main_class: "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            heap: "256m",
            args: vec![metadata.config().display().to_string()],
        },
    )?;
    wait_for_port(&metadata, METADATA_PORT, settings.ready_timeout)?;
    if !dir.initialized_marker().exists() {
        step.set_message("the cluster's metadata".to_owned());
        initialize_metadata(&java, &classpath, &dir, settings.brokers)?;
    }
    let bookie = dir.bookie();
    step.set_message("the bookie".to_owned());
    start(
        &bookie,
        config::bookie_config(&bookie),
        Launch {
            main_class: "org.apache.bookkeeper.server.Main",
            heap: "512m",
            args: vec!["--conf".to_owned(), bookie.config().display().to_string()],
        },
    )?;
    wait_for_port(&bookie, BOOKIE_PORT, settings.ready_timeout)?;
    for index in 0..settings.brokers {
        let broker = dir.broker(index);
        if jvm::running_pid(&broker).is_none() {
            ensure_port_free(
                service_port(index),
                "a cluster broker's service",
                "--brokers",
            )?;
            ensure_port_free(
                http_port(index),
                "a cluster broker's admin API",
                "--brokers",
            )?;
        }
        start(
            &broker,
            config::broker_config(index),
            Launch {
                main_class: "org.apache.pulsar.PulsarBrokerStarter",
                heap: "512m",
                args: vec![
                    "--broker-conf".to_owned(),
                    broker.config().display().to_string(),
                ],
            },
        )?;
    }
    write(&dir.broker_count_file(), &format!("{}\n", settings.brokers))?;
    let urls = ClusterUrls::of(settings.brokers);
    step.set_message(format!("{} brokers", settings.brokers));
    wait_until_ready(&dir, &urls, settings.ready_timeout)?;
    let what = format!(
        "Pulsar {} cluster of {} brokers",
        maven::PULSAR_VERSION,
        settings.brokers
    );
    let memory = memory_summary(&dir, settings.brokers);
    match started_parts.get() {
        0 => step.finish("Using", &format!("the running {what}; {memory}")),
        count => step.finish(
            "Started",
            &format!(
                "the {what} in {} ({count} parts started); {memory}",
                report::seconds(started.elapsed())
            ),
        ),
    }
    Ok(urls)
}

/// Writes the cluster, its tenant and namespace and BookKeeper's layout into the metadata store,
/// once: Pulsar's `initialize-cluster-metadata`.
fn initialize_metadata(
    java: &Path,
    classpath: &str,
    dir: &ClusterDir,
    brokers: u16,
) -> anyhow::Result<()> {
    let log = fs::File::create(dir.initialization_log())
        .with_context(|| format!("could not create {}", dir.initialization_log().display()))?;
    let metadata = format!("zk:127.0.0.1:{METADATA_PORT}");
    let urls = ClusterUrls::of(brokers);
    let status = Command::new(java)
        .arg("-Xmx256m")
        .arg(format!(
            "-Dlog4j.configurationFile={}",
            dir.log4j_config().display()
        ))
        .arg("org.apache.pulsar.PulsarClusterMetadataSetup")
        .args(["--cluster", CLUSTER_NAME])
        .args(["--metadata-store", &metadata])
        .args(["--configuration-metadata-store", &metadata])
        .args(["--web-service-url", &urls.admin()])
        .args(["--broker-service-url", &urls.service()])
        .env("CLASSPATH", classpath)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("could not run Pulsar's cluster metadata set-up")?;
    if !status.success() {
        bail!(
            "initialising the cluster's metadata failed ({status}); last lines of {}:\n{}",
            dir.initialization_log().display(),
            super::process::file_tail(&dir.initialization_log(), LOG_TAIL_LINES)
        );
    }
    write(&dir.initialized_marker(), "")
}

/// Waits until `part` accepts connections on `port`.
fn wait_for_port(part: &Part, port: u16, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok() {
            return Ok(());
        }
        if jvm::running_pid(part).is_none() {
            bail!(
                "the cluster's {} exited during start; last lines of {}:\n{}",
                part.name,
                part.log().display(),
                super::process::file_tail(&part.log(), LOG_TAIL_LINES)
            );
        }
        check_patience(deadline, timeout, part)?;
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Ready means, on every broker: it sees all the cluster's brokers (so lookups may place a topic
/// on any of them), and a new topic can be looked up through it and created on its owner.
fn wait_until_ready(dir: &ClusterDir, urls: &ClusterUrls, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    for (index, broker) in (0..).zip(&urls.brokers) {
        let part = dir.broker(index);
        loop {
            let lacking = match readiness::broker_ready(&broker.admin, urls.brokers.len()) {
                Ok(()) => break,
                Err(lacking) => lacking,
            };
            if jvm::running_pid(&part).is_none() {
                bail!(
                    "the cluster's {} exited during start; last lines of {}:\n{}",
                    part.name,
                    part.log().display(),
                    super::process::file_tail(&part.log(), LOG_TAIL_LINES)
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "the cluster's {} was not ready after {} s: its admin API {} last said: \
                     {lacking}; see {}",
                    part.name,
                    timeout.as_secs(),
                    broker.admin,
                    part.log().display()
                );
            }
            if interrupt::interrupted() {
                bail!(
                    "interrupted while the cluster was starting; `cargo xtask pulsar cluster stop` stops what started"
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    Ok(())
}

fn check_patience(deadline: Instant, timeout: Duration, part: &Part) -> anyhow::Result<()> {
    if interrupt::interrupted() {
        bail!(
            "interrupted while the cluster was starting; `cargo xtask pulsar cluster stop` stops what started"
        );
    }
    if Instant::now() >= deadline {
        bail!(
            "the cluster's {} did not listen after {} s; last lines of {}:\n{}",
            part.name,
            timeout.as_secs(),
            part.log().display(),
            super::process::file_tail(&part.log(), LOG_TAIL_LINES)
        );
    }
    Ok(())
}

/// Every part with a directory, brokers first (the order to stop them in).
fn parts(dir: &ClusterDir) -> Vec<Part> {
    let mut parts: Vec<Part> = (0..MAX_BROKERS)
        .map(|index| dir.broker(index))
        .filter(|part| part.root().exists())
        .collect();
    parts.extend([dir.bookie(), dir.metadata()]);
    parts
}

fn memory_summary(dir: &ClusterDir, brokers: u16) -> String {
    let mut total = 0;
    let mut text = String::new();
    for part in [dir.metadata(), dir.bookie()]
        .into_iter()
        .chain((0..brokers).map(|index| dir.broker(index)))
    {
        let bytes = jvm::running_pid(&part)
            .and_then(jvm::resident_bytes)
            .unwrap_or(0);
        total += bytes;
        let _ = write!(text, "{} {}, ", part.name, report::megabytes(bytes));
    }
    format!(
        "resident memory {} ({})",
        report::megabytes(total),
        text.trim_end_matches(", ")
    )
}

/// Whether any part of the cluster in `dir` runs.
pub(crate) fn any_part_running(dir: &Path) -> bool {
    ClusterDir::new(dir).is_ok_and(|dir| {
        parts(&dir)
            .iter()
            .any(|part| jvm::running_pid(part).is_some())
    })
}

/// `cargo xtask pulsar cluster stop`: the brokers, then the bookie, then the metadata store.
pub(crate) fn stop(dir: &Path) -> anyhow::Result<()> {
    let dir =
        ClusterDir::new(dir).with_context(|| format!("invalid directory {}", dir.display()))?;
    let mut stopped = 0;
    for part in parts(&dir) {
        if let Some(took) = jvm::stop(&part)? {
            stopped += 1;
            report::status(
                "Stopped",
                &format!("the cluster's {} in {}", part.name, report::seconds(took)),
            );
        }
    }
    if stopped == 0 {
        report::line(&format!(
            "No part of the cluster of {} is running",
            dir.root().display()
        ));
    }
    Ok(())
}

/// `cargo xtask pulsar cluster status`: success only when every part runs and every broker
/// answers.
pub(crate) fn status(dir: &Path) -> anyhow::Result<ExitCode> {
    let dir =
        ClusterDir::new(dir).with_context(|| format!("invalid directory {}", dir.display()))?;
    let brokers: u16 = fs::read_to_string(dir.broker_count_file())
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    if brokers == 0 {
        println!("not started (no cluster in {})", dir.root().display());
        return Ok(ExitCode::FAILURE);
    }
    let urls = ClusterUrls::of(brokers);
    let mut healthy = true;
    for part in [dir.metadata(), dir.bookie()] {
        match jvm::running_pid(&part) {
            Some(pid) => println!(
                "{:<10} running (pid {pid}, {})",
                part.name,
                report::megabytes(jvm::resident_bytes(pid).unwrap_or(0))
            ),
            None => {
                healthy = false;
                println!("{:<10} not running", part.name);
            }
        }
    }
    for (index, broker) in (0..).zip(&urls.brokers) {
        let part = dir.broker(index);
        let Some(pid) = jvm::running_pid(&part) else {
            healthy = false;
            println!("{:<10} not running ({})", part.name, broker.service);
            continue;
        };
        let memory = report::megabytes(jvm::resident_bytes(pid).unwrap_or(0));
        match readiness::broker_ready(&broker.admin, urls.brokers.len()) {
            Ok(()) => println!(
                "{:<10} ready (pid {pid}, {memory}, {})",
                part.name, broker.service
            ),
            Err(lacking) => {
                healthy = false;
                println!(
                    "{:<10} running (pid {pid}, {memory}) but not ready: {lacking}",
                    part.name
                );
            }
        }
    }
    println!("service URL: {}", urls.service());
    println!("admin URLs:  {}", urls.admin());
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("could not write {}", path.display()))
}

/// ` --dir …` when the directory is not the default, for commands shown to the user.
fn dir_flag(dir: &Path) -> String {
    if dir == default_dir() {
        String::new()
    } else {
        format!(" --dir {}", dir.display())
    }
}
