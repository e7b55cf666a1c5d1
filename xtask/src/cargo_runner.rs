//! `cargo xtask test` and `cargo xtask lint`: the workspace's cargo commands, with `protoc`
//! provided and, for tests, a Pulsar broker.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::pulsar::secure;
use crate::pulsar::{self, BrokerSettings, BrokerUrls, ReadyBroker};
use crate::report;
use crate::{bounded, compile, interrupt, launch, protoc};

const SERVICE_URL_VAR: &str = "PULSAR_URL";
const ADMIN_URL_VAR: &str = "PULSAR_ADMIN_URL";

/// One cargo invocation of a command.
struct Step {
    what: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, OsString)>,
    /// How long the step may run before it counts as hung and is stopped.
    bound: Option<Duration>,
}

/// How long the test step (building included) may run. A clean run here takes about 11 minutes;
/// each test has its own bound, and this one catches whatever slips past them, so that a hang
/// ends in a report rather than in CI's own time limit with nothing said.
const TESTS_BOUND: Duration = Duration::from_secs(45 * 60);

/// `cargo xtask test`: every test target and the doc tests, against a plain broker and a
/// secured one (token authentication, authorization, TLS) that answer.
pub(crate) fn test(extra_args: &[String]) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let protoc = protoc::locate()?;
    // Compiled first, as one line, so that a first run's hundreds of `Compiling` lines do not
    // bury the report, and a build error shows before any broker is started.
    let mut build = vec!["test", "--workspace"];
    if !selects_targets(extra_args) {
        build.push("--all-targets");
    }
    build.push("--no-run");
    build.extend(extra_args.iter().map(String::as_str));
    compile::compile("the tests", &build, &protoc)?;
    let browser_env = crate::chromium::locate_or_install()?.env();
    let brokers = brokers_for_tests()?;
    let tests_env: Vec<_> = brokers.env.iter().cloned().chain(browser_env).collect();
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
            env: tests_env,
            bound: Some(TESTS_BOUND),
        }]
    } else {
        vec![
            Step {
                what: "tests",
                // Every test binary runs even after one fails, so one report shows all failures.
                args: with_extra(&["test", "--workspace", "--all-targets", "--no-fail-fast"]),
                env: tests_env.clone(),
                bound: Some(TESTS_BOUND),
            },
            Step {
                what: "doc tests",
                args: with_extra(&["test", "--workspace", "--doc"]),
                env: tests_env,
                bound: Some(TESTS_BOUND),
            },
        ]
    };
    // Run before stopping the brokers, and stop them whatever the outcome.
    let outcome = run_steps(&steps, &protoc);
    let stopped = brokers.stop();
    let code = outcome?;
    stopped?;
    report::status(
        "Finished",
        &format!("cargo xtask test in {}", report::seconds(started.elapsed())),
    );
    Ok(code)
}

/// The cluster suite's test target: its tests are ignored in the main run, which has no
/// cluster.
const CLUSTER_SUITE: &str = "pulsar_cluster";

/// `cargo xtask test --cluster`: the cluster suite on `cargo xtask pulsar cluster` (three
/// brokers), one test at a time since they share the cluster; stops the cluster afterwards if
/// this command started it.
pub(crate) fn test_cluster(extra_args: &[String]) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let protoc = protoc::locate()?;
    let target = ["test", "-p", "leader-jobs-tests", "--test", CLUSTER_SUITE];
    let mut build: Vec<&str> = target.to_vec();
    build.push("--no-run");
    compile::compile("the cluster tests", &build, &protoc)?;
    let settings = pulsar::cluster::ClusterSettings {
        dir: pulsar::cluster::default_dir(),
        brokers: 3,
        ready_timeout: Duration::from_secs(180),
        maven: pulsar::MavenOptions::default(),
    };
    let was_running = pulsar::cluster::any_part_running(&settings.dir);
    pulsar::cluster::ensure_running(&settings)?;
    let mut args: Vec<String> = target.iter().map(|arg| (*arg).to_owned()).collect();
    args.extend([
        "--".to_owned(),
        "--ignored".to_owned(),
        "--test-threads=1".to_owned(),
    ]);
    args.extend(extra_args.iter().cloned());
    let step = Step {
        what: "cluster tests",
        args,
        env: vec![
            (CLUSTER_DIR_VAR, settings.dir.clone().into_os_string()),
            ("RUST_BACKTRACE", OsString::from("1")),
        ],
        bound: Some(TESTS_BOUND),
    };
    let outcome = run_steps(&[step], &protoc);
    let stopped = if was_running {
        Ok(())
    } else {
        pulsar::cluster::stop(&settings.dir)
    };
    let code = outcome?;
    stopped?;
    report::status(
        "Finished",
        &format!(
            "cargo xtask test --cluster in {}",
            report::seconds(started.elapsed())
        ),
    );
    Ok(code)
}

/// Where the cluster tests find the cluster (`leader_jobs_tests::pulsar_cluster::DIR_VAR`).
const CLUSTER_DIR_VAR: &str = "LEADER_JOBS_PULSAR_CLUSTER_DIR";

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
    let clippy = |selection: &[&str]| {
        let rest = ["--all-targets", "--", "-D", "warnings"];
        ["clippy"]
            .iter()
            .chain(selection)
            .chain(&rest)
            .map(|arg| (*arg).to_owned())
            .collect()
    };
    let steps = [
        Step {
            what: "rustfmt",
            args: args(&["fmt", "--all", "--check"]),
            env: Vec::new(),
            bound: None,
        },
        Step {
            what: "clippy",
            args: clippy(&["--workspace"]),
            env: Vec::new(),
            bound: None,
        },
        Step {
            // An application that leaves the `pulsar` feature out builds without `protoc` and
            // the broker client: the in-process backend must stand on its own.
            what: "clippy without the pulsar feature",
            args: clippy(&["-p", "leader-jobs", "--no-default-features"]),
            env: Vec::new(),
            bound: None,
        },
        Step {
            what: "rustdoc",
            args: args(&["doc", "--workspace", "--no-deps"]),
            env: vec![("RUSTDOCFLAGS", OsString::from("-Dwarnings"))],
            bound: None,
        },
    ];
    run_steps(&steps, &protoc)
}

/// The brokers of a test run: where they are (as the tests' environment) and those this
/// command started, to stop at the end.
struct TestBrokers {
    env: Vec<(&'static str, OsString)>,
    started: Vec<ReadyBroker>,
}

impl TestBrokers {
    /// Stops every broker this command started, side by side (each takes seconds to shut
    /// down), reporting the first failure.
    fn stop(self) -> anyhow::Result<()> {
        std::thread::scope(|scope| {
            let stopping: Vec<_> = self
                .started
                .into_iter()
                .map(|broker| scope.spawn(|| broker.stop_if_started_here()))
                .collect();
            // The scope waits for every stop, whichever fails first.
            stopping.into_iter().try_for_each(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| bail!("stopping a broker panicked"))
            })
        })
    }
}

/// Finds or starts the plain and the secured broker side by side: each takes several seconds
/// to come up, and the machine has the cores to start both at once.
fn brokers_for_tests() -> anyhow::Result<TestBrokers> {
    let (plain, secure) = std::thread::scope(|scope| {
        let plain = scope.spawn(plain_broker);
        let secure = scope.spawn(secure_broker);
        (join(plain.join()), join(secure.join()))
    });
    match (plain, secure) {
        (Ok((plain_env, plain)), Ok((secure_env, secure))) => Ok(TestBrokers {
            env: plain_env.into_iter().chain(secure_env).collect(),
            started: plain.into_iter().chain(secure).collect(),
        }),
        (Ok((_, started)), Err(error)) | (Err(error), Ok((_, started))) => {
            if let Some(broker) = started {
                // The run is off: do not leave the other broker behind.
                if let Err(stop_error) = broker.stop_if_started_here() {
                    report::warn(&format!("warning: {stop_error:#}"));
                }
            }
            Err(error)
        }
        (Err(plain), Err(secure)) => Err(plain.context(format!("{secure:#}"))),
    }
}

/// A broker's URLs as the environment of the commands that use it, and the broker if this
/// command started it.
pub(crate) type Found = (Vec<(&'static str, OsString)>, Option<ReadyBroker>);

fn join(result: std::thread::Result<anyhow::Result<Found>>) -> anyhow::Result<Found> {
    result.unwrap_or_else(|_| bail!("starting a broker panicked"))
}

/// The plain broker: the one `PULSAR_URL`/`PULSAR_ADMIN_URL` name, else one already answering
/// on the default ports, else one started now.
fn plain_broker() -> anyhow::Result<Found> {
    plain_broker_at(
        std::env::var(SERVICE_URL_VAR).ok(),
        std::env::var(ADMIN_URL_VAR).ok(),
    )
}

/// The broker at `service` / `admin` when either is named (it must answer), else one already
/// answering on the default ports, else one started now.
pub(crate) fn plain_broker_at(
    service: Option<String>,
    admin: Option<String>,
) -> anyhow::Result<Found> {
    let env = |urls: &BrokerUrls| {
        vec![
            (SERVICE_URL_VAR, OsString::from(&urls.service)),
            (ADMIN_URL_VAR, OsString::from(&urls.admin)),
        ]
    };
    let standard = BrokerSettings::standard();
    let default_urls = BrokerUrls::on_loopback(standard.service_port, standard.http_port);
    if service.is_some() || admin.is_some() {
        let urls = BrokerUrls {
            service: service.unwrap_or(default_urls.service),
            admin: admin.unwrap_or(default_urls.admin),
        };
        if let Err(lacking) = pulsar::admin_ready(&urls.admin, None) {
            bail!(
                "the Pulsar broker {} is not ready ({lacking}): start that broker, or name \
                 none ({SERVICE_URL_VAR} / {ADMIN_URL_VAR} unset) so that this command starts a \
                 local one",
                urls.service
            );
        }
        report::status(
            "Using",
            &format!("the Pulsar broker at {} ({})", urls.service, urls.admin),
        );
        return Ok((env(&urls), None));
    }
    if pulsar::admin_ready(&default_urls.admin, None).is_ok() {
        report::status(
            "Using",
            &format!(
                "the Pulsar broker already answering at {}",
                default_urls.admin
            ),
        );
        return Ok((env(&default_urls), None));
    }
    let broker = pulsar::ensure_running(&standard).with_context(|| {
        format!(
            "could not start a local Pulsar broker (to use another broker, name it with \
             {SERVICE_URL_VAR} and {ADMIN_URL_VAR})"
        )
    })?;
    Ok((env(&broker.urls), Some(broker)))
}

/// The secured broker: the one the `PULSAR_SECURE_*` variables name (all of them), else the
/// one of `target/pulsar-secure`, started now unless it runs.
fn secure_broker() -> anyhow::Result<Found> {
    let given: Vec<_> = secure::ENV_VARS
        .iter()
        .map(|var| (*var, std::env::var_os(var)))
        .collect();
    if given.iter().any(|(_, value)| value.is_some()) {
        let missing: Vec<&str> = given
            .iter()
            .filter(|(_, value)| value.is_none())
            .map(|(var, _)| *var)
            .collect();
        if !missing.is_empty() {
            bail!(
                "some PULSAR_SECURE_* variables are set but not {}: set all of them to use \
                 another secured broker, or none so that this command starts a local one",
                missing.join(", ")
            );
        }
        report::status(
            "Using",
            "the secured Pulsar broker the PULSAR_SECURE_* variables name",
        );
        let env = given
            .into_iter()
            .filter_map(|(var, value)| value.map(|value| (var, value)))
            .collect();
        return Ok((env, None));
    }
    let dir = secure::default_dir();
    let settings = secure::settings(&dir, BrokerSettings::standard().ready_timeout)?;
    let broker = pulsar::ensure_running(&settings)
        .context("could not start the secured Pulsar broker for the tests")?;
    Ok((secure::test_env(&dir)?, Some(broker)))
}

/// Runs every step (so one report shows all failures) unless interrupted; the exit code is
/// that of the first failing step.
fn run_steps(steps: &[Step], protoc: &Path) -> anyhow::Result<ExitCode> {
    // Tests that need a broker of their own (restarted, or with other settings) start it through
    // this same tool.
    let xtask = std::env::current_exe().context("could not find the xtask executable")?;
    let mut failed: Vec<(&str, ExitStatus)> = Vec::new();
    for step in steps {
        if interrupt::interrupted() {
            break;
        }
        let announced = report::Step::announce(
            "Running",
            &format!("{}: cargo {}", step.what, step.args.join(" ")),
        );
        let mut command = cargo();
        command
            .args(&step.args)
            .env("PROTOC", protoc)
            .env(launch::XTASK_VAR, &xtask)
            .envs(step.env.iter().map(|(key, value)| (key, value)));
        let status = match step.bound {
            None => command.status(),
            Some(bound) => bounded::status(command, bound, step.what),
        }
        .with_context(|| format!("could not run cargo {}", step.args.join(" ")))?;
        let took = report::seconds(announced.elapsed());
        if status.success() {
            announced.finish("Finished", &format!("{} in {took}", step.what));
        } else {
            announced.finish("Failed", &format!("{} in {took} ({status})", step.what));
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
pub(crate) fn cargo() -> Command {
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
