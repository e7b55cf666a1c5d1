//! Project tooling for leader-jobs, run as `cargo xtask <command>`.
//!
//! It gives every developer and CI the same local Apache Pulsar broker (resolved from Maven
//! Central, run on loopback), a `protoc` for the `pulsar` crate's build script, Debian's
//! Chromium for the dashboard's browser test, and the
//! commands that lint and test the whole workspace against that broker.
#![allow(
    clippy::print_stdout,
    reason = "a command-line tool reports to its user on stdout"
)]

mod bounded;
mod cargo_runner;
mod chromium;
mod cli;
mod compile;
mod debian;
mod demo;
mod executables;
mod interrupt;
mod launch;
mod protoc;
mod pulsar;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, ClusterCommand, Command, PulsarCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Pulsar { command } => {
            match command {
                PulsarCommand::Start(args) => {
                    interrupt::install()?;
                    pulsar::start(&args.into_settings())?;
                }
                PulsarCommand::StartSecure(args) => {
                    interrupt::install()?;
                    pulsar::secure::start(&args.dir, std::time::Duration::from_secs(args.timeout))?;
                }
                PulsarCommand::Stop(args) => pulsar::stop(&args.dir)?,
                PulsarCommand::Status(args) => return pulsar::status(&args.dir),
                PulsarCommand::Cluster { command } => match command {
                    ClusterCommand::Start(args) => {
                        interrupt::install()?;
                        pulsar::cluster::start(&args.into_settings())?;
                    }
                    ClusterCommand::Stop(args) => pulsar::cluster::stop(&args.dir)?,
                    ClusterCommand::Status(args) => return pulsar::cluster::status(&args.dir),
                },
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Protoc => {
            println!("{}", protoc::locate()?.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Chromium => {
            let found = chromium::locate_or_install()?;
            println!("{}", found.browser.display());
            println!("{}", found.driver.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Test {
            cluster,
            cargo_args,
        } => {
            interrupt::install()?;
            if cluster {
                cargo_runner::test_cluster(&cargo_args)
            } else {
                cargo_runner::test(&cargo_args)
            }
        }
        Command::Lint => cargo_runner::lint(),
        Command::Demo(args) => {
            interrupt::install()?;
            demo::run(&args.into_settings())
        }
        Command::Chaos { args } => {
            interrupt::install()?;
            launch::chaos(&args)
        }
        Command::Bench { args } => {
            interrupt::install()?;
            launch::bench(&args)
        }
    }
}
