//! `cargo xtask test` and `cargo xtask lint`: the workspace's cargo commands, with `protoc`
//! provided and, for tests, a Pulsar broker.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::pulsar::{self, BrokerSettings, BrokerUrls, ReadyBroker};
use crate::{interrupt, protoc};

const SERVICE_URL_VAR: &str = "PULSAR_URL";
const ADMIN_URL_VAR: &str = "PULSAR_ADMIN_URL";

/// One cargo invocation of a command.
struct Step {
    what: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, OsString)>,
}

/// `cargo xtask test`: every test target and the doc tests, against a broker that answers.
pub(crate) fn test(extra_args: &[String]) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let protoc = protoc::locate()?;
    let (urls, broker) = broker_for_tests()?;
    let broker_env = vec![
        (SERVICE_URL_VAR, OsString::from(&urls.service)),
        (ADMIN_URL_VAR, OsString::from(&urls.admin)),
    ];
    let with_extra = |base: &[&str]| -> Vec<String> {
        base.iter()
            .map(|arg| (*arg).to_owned())
            .chain(extra_args.iter().cloned())
            .collect()
    };
    let steps = if selects_targets(extra_args) {
        // cargo refuses `--doc` beside other target options: the user's selection is all.
        vec![Step {
            what: "selected tests",
            args: with_extra(&["test", "--workspace"]),
            env: broker_env,
        }]
    } else {
        vec![
            Step {
                what: "tests",
                args: with_extra(&["test", "--workspace", "--all-targets"]),
                env: broker_env.clone(),
            },
            Step {
                what: "doc tests",
                args: with_extra(&["test", "--workspace", "--doc"]),
                env: broker_env,
            },
        ]
    };
    // Run before stopping the broker, and stop it whatever the outcome.
    let outcome = run_steps(&steps, &protoc);
    let stopped = broker.map_or(Ok(()), ReadyBroker::stop_if_started_here);
    let code = outcome?;
    stopped?;
    println!(
        "cargo xtask test finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(code)
}

/// Whether cargo arguments (those before a `--`) choose test targets themselves.
fn selects_targets(cargo_args: &[String]) -> bool {
    const TARGET_OPTIONS: [&str; 11] = [
        "--lib",
        "--bins",
        "--bin",
        "--examples",
        "--example",
        "--tests",
        "--test",
        "--benches",
        "--bench",
        "--all-targets",
        "--doc",
    ];
    cargo_args.iter().take_while(|arg| *arg != "--").any(|arg| {
        let option = arg.split_once('=').map_or(arg.as_str(), |(name, _)| name);
        TARGET_OPTIONS.contains(&option)
    })
}

/// `cargo xtask lint`: formatting, clippy and rustdoc, warnings as errors.
pub(crate) fn lint() -> anyhow::Result<ExitCode> {
    let protoc = protoc::locate()?;
    let args = |list: &[&str]| list.iter().map(|arg| (*arg).to_owned()).collect();
    let steps = [
        Step {
            what: "rustfmt",
            args: args(&["fmt", "--all", "--check"]),
            env: Vec::new(),
        },
        Step {
            what: "clippy",
            args: args(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
            env: Vec::new(),
        },
        Step {
            what: "rustdoc",
            args: args(&["doc", "--workspace", "--no-deps"]),
            env: vec![("RUSTDOCFLAGS", OsString::from("-Dwarnings"))],
        },
    ];
    run_steps(&steps, &protoc)
}

/// The broker the tests use: the one `PULSAR_URL`/`PULSAR_ADMIN_URL` name, else one already
/// answering on the default ports, else one started now (and stopped by the caller).
fn broker_for_tests() -> anyhow::Result<(BrokerUrls, Option<ReadyBroker>)> {
    let service = std::env::var(SERVICE_URL_VAR).ok();
    let admin = std::env::var(ADMIN_URL_VAR).ok();
    let standard = BrokerSettings::standard();
    let default_urls = BrokerUrls::on_loopback(standard.service_port, standard.http_port);
    if service.is_some() || admin.is_some() {
        let urls = BrokerUrls {
            service: service.unwrap_or(default_urls.service),
            admin: admin.unwrap_or(default_urls.admin),
        };
        if !pulsar::admin_ready(&urls.admin) {
            bail!(
                "{ADMIN_URL_VAR} / {SERVICE_URL_VAR} are set but no Pulsar admin API answers at {}: \
                 start that broker, or unset both so that this command starts a local one",
                urls.admin
            );
        }
        println!(
            "Using the Pulsar broker at {} ({})",
            urls.service, urls.admin
        );
        return Ok((urls, None));
    }
    if pulsar::admin_ready(&default_urls.admin) {
        println!(
            "Using the Pulsar broker already answering at {}",
            default_urls.admin
        );
        return Ok((default_urls, None));
    }
    let broker = pulsar::ensure_running(&standard).with_context(|| {
        format!(
            "could not start a local Pulsar broker for the tests (to use another broker, \
             set {SERVICE_URL_VAR} and {ADMIN_URL_VAR})"
        )
    })?;
    Ok((broker.urls.clone(), Some(broker)))
}

/// Runs every step (so one report shows all failures) unless interrupted; the exit code is
/// that of the first failing step.
fn run_steps(steps: &[Step], protoc: &Path) -> anyhow::Result<ExitCode> {
    let mut failed: Vec<(&str, ExitStatus)> = Vec::new();
    for step in steps {
        if interrupt::interrupted() {
            break;
        }
        let status = cargo()
            .args(&step.args)
            .env("PROTOC", protoc)
            .envs(step.env.iter().map(|(key, value)| (key, value)))
            .status()
            .with_context(|| format!("could not run cargo {}", step.args.join(" ")))?;
        if !status.success() {
            failed.push((step.what, status));
        }
    }
    if interrupt::interrupted() {
        bail!("interrupted");
    }
    match failed.first() {
        None => Ok(ExitCode::SUCCESS),
        Some((_, status)) => {
            let names: Vec<&str> = failed.iter().map(|(what, _)| *what).collect();
            eprintln!("failed: {}", names.join(", "));
            Ok(status
                .code()
                .and_then(|code| u8::try_from(code).ok())
                .map_or(ExitCode::FAILURE, ExitCode::from))
        }
    }
}

/// The cargo that runs this tool (cargo sets `CARGO` for `cargo run`), else the one on PATH.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

#[cfg(test)]
mod tests {
    use super::selects_targets;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn target_options_are_recognised_only_before_the_test_binary_arguments() {
        assert!(selects_targets(&args(&["--test", "broker_failover"])));
        assert!(selects_targets(&args(&["-p", "xtask", "--bin=xtask"])));
        assert!(!selects_targets(&args(&["-p", "leader-jobs-tests"])));
        assert!(!selects_targets(&args(&[
            "--",
            "--test-threads=1",
            "--lib"
        ])));
        assert!(!selects_targets(&[]));
    }
}
