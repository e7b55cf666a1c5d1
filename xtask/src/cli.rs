//! The command line: what each `cargo xtask` command accepts.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::demo::DemoSettings;
use crate::pulsar::{self, BrokerSettings, ConfigOverride, MavenOptions};

/// Project tooling for leader-jobs.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about,
    disable_version_flag = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a local Apache Pulsar standalone broker on 127.0.0.1.
    Pulsar {
        #[command(subcommand)]
        command: PulsarCommand,
    },
    /// Print the path of a usable protoc: `export PROTOC=$(cargo xtask protoc)`.
    Protoc,
    /// Print the paths of Chromium and ChromeDriver, installing Debian's packages if missing (the
    /// dashboard's browser test drives them).
    Chromium,
    /// Run every test of the workspace against a local broker, started if none answers.
    ///
    /// Arguments after `--` go to `cargo test`, which runs all targets, then the doc tests;
    /// target options among them (`--test NAME`, `--lib`, ...) make it one run of just those.
    Test {
        /// Run the cluster suite instead: start `cargo xtask pulsar cluster` (three brokers) and
        /// run the tests of faults a cluster adds (a topic's owner killed or frozen, a bundle
        /// unloaded, brokers restarted in turn), one at a time.
        #[arg(long)]
        cluster: bool,
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// Check formatting, clippy (warnings are errors) and rustdoc (warnings are errors).
    Lint,
    /// Run the fault campaign on a broker of its own: `cargo xtask chaos -- --help` lists its
    /// options (`--seed N`, `--faults N`, ...).
    Chaos {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the benchmarks beside their peers and write target/bench/report.md:
    /// `cargo xtask bench -- --help` lists its options.
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the three-node e-mail digest demo on a local broker (started if none answers): the
    /// leader is killed, another stopped, another frozen; ends with a summary of every tick and
    /// a timeline picture in target/demo/timeline.svg.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// How long the nodes run, in seconds (at least 60 with the faults).
    #[arg(long, default_value_t = 90)]
    duration: u64,
    /// A broker of your own, `pulsar://host:port` (admin API: `PULSAR_ADMIN_URL`, else the same
    /// host on port 8080); without it the local broker is used, started if none answers.
    #[arg(long, value_name = "URL")]
    pulsar: Option<String>,
    /// Let the nodes run without killing, stopping or freezing any.
    #[arg(long)]
    no_faults: bool,
}

impl DemoArgs {
    pub(crate) fn into_settings(self) -> DemoSettings {
        DemoSettings {
            duration_secs: self.duration,
            pulsar: self.pulsar,
            faults: !self.no_faults,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum PulsarCommand {
    /// Resolve the broker with Maven, start it in the background and wait until it is ready.
    Start(StartArgs),
    /// Start the secured broker (token authentication, authorization, TLS) the security tests
    /// use, generating its key, admin token and certificates, and print the variables that
    /// point `cargo test` at it. `cargo xtask test` does this by itself.
    StartSecure(SecureArgs),
    /// Stop the broker: SIGTERM, then SIGKILL if it has not exited in time.
    Stop(DirArgs),
    /// Tell whether the broker runs and answers; exit code 0 only when it does.
    Status(DirArgs),
    /// A Pulsar cluster on 127.0.0.1: ZooKeeper, a bookie and several brokers.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClusterCommand {
    /// Start every part of the cluster that does not run yet and wait until each broker is ready.
    Start(ClusterStartArgs),
    /// Stop the brokers, the bookie and the metadata store.
    Stop(ClusterDirArgs),
    /// Tell whether every part runs and every broker answers; exit code 0 only then.
    Status(ClusterDirArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ClusterDirArgs {
    /// Directory holding the cluster's Maven project, and per part its configuration, log, pid
    /// file and data.
    #[arg(long, default_value_os_t = pulsar::cluster::default_dir())]
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ClusterStartArgs {
    #[command(flatten)]
    dir: ClusterDirArgs,
    /// How many brokers: broker i serves pulsar://127.0.0.1:(6850+i) and
    /// http://127.0.0.1:(8250+i); ZooKeeper listens on 2281, the bookie on 3281.
    #[arg(long, default_value_t = 3)]
    brokers: u16,
    /// How long to wait for the cluster to become ready, in seconds.
    #[arg(long, default_value_t = 180)]
    timeout: u64,
}

impl ClusterStartArgs {
    pub(crate) fn into_settings(self) -> pulsar::cluster::ClusterSettings {
        pulsar::cluster::ClusterSettings {
            dir: self.dir.dir,
            brokers: self.brokers,
            ready_timeout: Duration::from_secs(self.timeout),
            maven: MavenOptions::default(),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct DirArgs {
    /// Directory holding the broker's Maven project, configuration, log, pid file and data.
    #[arg(long, default_value_os_t = pulsar::default_dir())]
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SecureArgs {
    /// Directory of the secured broker: its files, key, tokens and certificates.
    #[arg(long, default_value_os_t = pulsar::secure::default_dir())]
    pub(crate) dir: PathBuf,
    /// How long to wait for the broker to become ready, in seconds.
    #[arg(long, default_value_t = 120)]
    pub(crate) timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// Port of the binary protocol (pulsar://127.0.0.1:PORT).
    #[arg(long, default_value_t = 6650)]
    port: u16,
    /// Port of the admin REST API and web service (http://127.0.0.1:PORT).
    #[arg(long, default_value_t = 8080)]
    http_port: u16,
    /// Add or override a broker configuration key (repeatable), e.g. `--set keepAliveIntervalSeconds=10`.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = ConfigOverride::parse)]
    overrides: Vec<ConfigOverride>,
    /// How long to wait for the broker to become ready, in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Resolve the broker with this Maven settings file instead of `~/.m2/settings.xml`
    /// (mirrors, proxies).
    #[arg(long, value_name = "FILE")]
    maven_settings: Option<PathBuf>,
    /// Resolve the broker into this local Maven repository instead of the configured one
    /// (`~/.m2/repository` unless settings or `MAVEN_OPTS` say otherwise).
    #[arg(long, value_name = "DIR")]
    maven_repo: Option<PathBuf>,
}

impl StartArgs {
    pub(crate) fn into_settings(self) -> BrokerSettings {
        BrokerSettings {
            dir: self.dir.dir,
            service_port: self.port,
            http_port: self.http_port,
            overrides: self.overrides,
            ready_timeout: Duration::from_secs(self.timeout),
            maven: MavenOptions {
                settings: self.maven_settings,
                local_repository: self.maven_repo,
            },
        }
    }
}
