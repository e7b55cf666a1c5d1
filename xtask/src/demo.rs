//! `cargo xtask demo`: the seed's scenario on a real broker. It provides `protoc` and a broker,
//! builds the `email_digest` example and the demo driver (`tests/src/bin/demo/`), and runs the
//! driver, which starts three nodes, injects the faults and reports.
//!
//! The driver lives in the tests crate, not here, because it judges the run with the runtime's
//! own schedule engine (`leader_jobs::Schedule`); this crate must build without `protoc`, so it
//! cannot depend on `leader-jobs`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};

use crate::cargo_runner::plain_broker_at;
use crate::{compile, interrupt, protoc};

/// What `cargo xtask demo` was asked for.
#[derive(Debug)]
pub(crate) struct DemoSettings {
    pub(crate) duration_secs: u64,
    pub(crate) pulsar: Option<String>,
    pub(crate) faults: bool,
}

/// The shortest run the faults fit in. The driver checks it too; checking it here as well
/// keeps a broker from being started for a run that cannot happen.
const MIN_DURATION_WITH_FAULTS_SECS: u64 = 60;

/// Runs the demo; stops the broker at the end if it started it, also on failure or Ctrl-C.
pub(crate) fn run(settings: &DemoSettings) -> anyhow::Result<ExitCode> {
    if settings.faults && settings.duration_secs < MIN_DURATION_WITH_FAULTS_SECS {
        bail!(
            "--duration {} is too short for the faults: give at least \
             {MIN_DURATION_WITH_FAULTS_SECS}, or --no-faults",
            settings.duration_secs
        );
    }
    let protoc = protoc::locate()?;
    let target = target_dir();
    compile::compile(
        "the email_digest example and the demo driver",
        &[
            "build",
            "-p",
            "leader-jobs-examples",
            "--example",
            "email_digest",
            "-p",
            "leader-jobs-tests",
            "--bin",
            "demo",
        ],
        &protoc,
    )?;

    let (service, admin) = match &settings.pulsar {
        Some(url) => {
            let admin = match std::env::var("PULSAR_ADMIN_URL") {
                Ok(admin) => admin,
                Err(_) => admin_url_on_host_of(url)?,
            };
            (Some(url.clone()), Some(admin))
        }
        None => (
            std::env::var("PULSAR_URL").ok(),
            std::env::var("PULSAR_ADMIN_URL").ok(),
        ),
    };
    let (broker_env, started) = plain_broker_at(service, admin)?;
    let mut driver = Command::new(target.join("debug").join("demo"));
    driver
        .arg("--node-binary")
        .arg(target.join("debug").join("examples").join("email_digest"))
        .arg("--out")
        .arg(target.join("demo"))
        .arg("--duration")
        .arg(settings.duration_secs.to_string())
        .envs(broker_env);
    if !settings.faults {
        driver.arg("--no-faults");
    }
    // Ctrl-C reaches the driver and the nodes too; the driver stops the nodes, this process
    // waits for it and then stops the broker it started.
    let outcome = driver.status().context("could not run the demo driver");
    if let Some(broker) = started {
        broker.stop_if_started_here()?;
    }
    let status = outcome?;
    if interrupt::interrupted() {
        bail!("interrupted");
    }
    Ok(status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from))
}

/// The admin API of the broker at `service_url` where Pulsar puts it by default: the same
/// host, port 8080.
fn admin_url_on_host_of(service_url: &str) -> anyhow::Result<String> {
    let Some(address) = service_url.strip_prefix("pulsar://") else {
        bail!(
            "--pulsar {service_url}: the demo's nodes connect without TLS or credentials, so give \
             a pulsar://host:port URL"
        );
    };
    let host = address
        .split(['/', ':'])
        .next()
        .filter(|host| !host.is_empty())
        .with_context(|| format!("--pulsar {service_url} names no host"))?;
    Ok(format!("http://{host}:8080"))
}

/// Where cargo puts this workspace's build output.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn workspace_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_owned()
}

#[cfg(test)]
mod tests {
    use super::admin_url_on_host_of;

    #[test]
    fn the_admin_url_is_on_the_service_host() {
        assert_eq!(
            admin_url_on_host_of("pulsar://pulsar.example.com:6650").ok(),
            Some("http://pulsar.example.com:8080".to_owned())
        );
        assert!(admin_url_on_host_of("pulsar+ssl://pulsar.example.com:6651").is_err());
    }
}
