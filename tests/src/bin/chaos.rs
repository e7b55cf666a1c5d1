//! The fault campaign: `cargo xtask chaos [--seed N] [--faults N]` builds this and runs it.
//!
//! Starts a broker of its own, or with `--cluster` the Pulsar cluster of `cargo xtask pulsar
//! cluster` (through the `xtask` binary named by `--xtask` or `LEADER_JOBS_XTASK`), runs `chaos-node` processes (found beside this binary) through a seeded
//! fault schedule, then judges the run. Exit code 0: no guarantee broken; 1: violations (the
//! report names them and the seed); 2: the campaign itself could not run.
#![allow(clippy::print_stdout, reason = "a command-line tool reports on stdout")]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use leader_jobs_tests::chaos::brokers::CampaignBrokers;
use leader_jobs_tests::chaos::campaign::{self, CampaignConfig};
use leader_jobs_tests::chaos::check::{self, Evidence};
use leader_jobs_tests::dedicated_broker::{DedicatedBroker, XTASK_VAR};
use leader_jobs_tests::pulsar_cluster::PulsarCluster;

/// A seeded fault campaign against leader-jobs on a broker of its own.
#[derive(Debug, Parser)]
#[command(name = "chaos")]
struct Args {
    /// Seed of the fault schedule (default: drawn at random and printed).
    #[arg(long)]
    seed: Option<u64>,
    /// How many faults to inject.
    #[arg(long, default_value_t = 100)]
    faults: usize,
    /// How many node processes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Caps every fault's duration, in seconds.
    #[arg(long)]
    max_hold: Option<u64>,
    /// Directory of the campaign's broker (its data is wiped at start).
    #[arg(long, default_value = "target/chaos/broker")]
    broker_dir: PathBuf,
    /// The broker's binary-protocol port.
    #[arg(long, default_value_t = 6690)]
    port: u16,
    /// The broker's admin API port.
    #[arg(long, default_value_t = 8190)]
    http_port: u16,
    /// Where the logs and the report go (default: `target/chaos/run-SEED`).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run on the Pulsar cluster of `cargo xtask pulsar cluster` in this directory (three
    /// brokers, started if they do not run; the ports are the tooling's, so `--port` and
    /// `--http-port` do not apply): broker faults then stop or kill one broker of three, and
    /// the link faults are left out.
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "target/pulsar-cluster")]
    cluster: Option<PathBuf>,
    /// The `xtask` binary that runs brokers (default: $LEADER_JOBS_XTASK).
    #[arg(long)]
    xtask: Option<PathBuf>,
    /// Leave the broker running at the end.
    #[arg(long)]
    keep_broker: bool,
    /// Judge the finished campaign in this directory again instead of running one (its broker,
    /// started with `--keep-broker`, must still hold the ledger).
    #[arg(long)]
    judge: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("chaos: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let xtask = args
        .xtask
        .or_else(|| std::env::var_os(XTASK_VAR).map(PathBuf::from))
        .ok_or_else(|| {
            format!(
                "no xtask binary: run through `cargo xtask chaos`, or give --xtask or {XTASK_VAR}"
            )
        })?;
    let node_binary = std::env::current_exe()?
        .parent()
        .map(|dir| dir.join("chaos-node"))
        .ok_or("cannot find the directory of this binary")?;
    if !node_binary.is_file() {
        return Err(format!(
            "{} is missing: build it with `cargo build -p leader-jobs-tests --bin chaos-node`",
            node_binary.display()
        )
        .into());
    }
    let dir = args
        .dir
        .unwrap_or_else(|| PathBuf::from(format!("target/chaos/run-{seed}")));
    let dir = std::path::absolute(dir)?;
    let broker = match &args.cluster {
        Some(dir) => {
            CampaignBrokers::Cluster(PulsarCluster::new(&xtask, &std::path::absolute(dir)?, 3))
        }
        None => CampaignBrokers::Standalone(DedicatedBroker::new(
            &xtask,
            &args.broker_dir,
            args.port,
            args.http_port,
        )),
    };
    let config = CampaignConfig {
        seed,
        faults: args.faults,
        nodes: args.nodes,
        node_binary,
        broker: broker.clone(),
        dir,
        max_hold: args.max_hold.map(Duration::from_secs),
    };
    let outcome = match &args.judge {
        Some(dir) => campaign::read_summary(dir),
        None => campaign::run(&config),
    };
    let outcome = outcome.and_then(|run| {
        Evidence::gather(&run, &broker.urls())
            .and_then(|evidence| check::judge(&run, &evidence))
            .map_err(|error| campaign::CampaignError::Setup(error.to_string()))
    });
    if !args.keep_broker {
        if let Err(error) = broker.stop() {
            eprintln!("chaos: stopping the campaign's broker: {error}");
        }
    }
    let report = outcome.map_err(|error| format!("{error} (seed {seed})"))?;
    let text = report.to_string();
    print!("{text}");
    std::fs::write(report.dir.join("report.txt"), &text)?;
    Ok(if report.violations() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
