//! The demo behind `cargo xtask demo`: three nodes of the `email_digest` example on a Pulsar
//! broker; the leader of `email` is killed, a leader is stopped gracefully, the leader of
//! `email` is frozen; each takeover is timed, and at the end every tick is accounted for and the
//! run is drawn as a timeline.
//!
//! `cargo xtask demo` provides the broker and builds the example, then runs this with
//! `--node-binary target/debug/examples/email_digest`; the broker comes from `PULSAR_URL`.
#![allow(
    clippy::print_stdout,
    reason = "a command-line demo reports to its user on stdout"
)]

mod cleanup;
mod console;
mod event;
mod node;
mod operator;
mod record;
mod scenario;
mod summary;
mod timeline;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use leader_jobs_tests::broker;

use crate::node::Launcher;
use crate::scenario::{Demo, Interrupted};

const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];
/// The locks of the `email_digest` example: the digest's, whose leader is killed and frozen, and
/// the reports', whose leader is stopped gracefully.
const EMAIL: &str = "email";
const REPORTS: &str = "reports";
/// The faults need room: a minute fits them with a few ticks between each.
const MIN_DURATION_WITH_FAULTS: u64 = 60;

/// Runs three nodes of the e-mail digest example, injects faults, and accounts for every tick.
#[derive(Debug, Parser)]
struct Args {
    /// The `email_digest` example binary.
    #[arg(long)]
    node_binary: PathBuf,
    /// Where the timeline (`timeline.svg`) and the nodes' logs (`<node>.log`) go.
    #[arg(long, default_value = "target/demo")]
    out: PathBuf,
    /// How long the nodes run, in seconds.
    #[arg(long, default_value_t = 90)]
    duration: u64,
    /// Let the nodes run without killing, stopping or freezing any.
    #[arg(long)]
    no_faults: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "a tick ran twice or was lost: see the table above and the logs in {}",
                args.out.display()
            );
            ExitCode::FAILURE
        }
        Err(error) if error.is::<Interrupted>() => ExitCode::from(130),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `count` loopback addresses with ports free now, held together while found so they differ.
fn free_loopback_ports(count: usize) -> anyhow::Result<Vec<std::net::SocketAddr>> {
    let held = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .context("could not find free loopback ports for the dashboards")?;
    held.iter()
        .map(|listener| listener.local_addr().context("a listener has no address"))
        .collect()
}

/// Runs the demo; `Ok(false)` when a guarantee was broken.
fn run(args: &Args) -> anyhow::Result<bool> {
    if !args.no_faults && args.duration < MIN_DURATION_WITH_FAULTS {
        bail!(
            "--duration {} is too short for the faults: give at least {MIN_DURATION_WITH_FAULTS}, \
             or --no-faults",
            args.duration
        );
    }
    let binary = node::checked_binary(&args.node_binary)?;
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("could not install the Ctrl-C handler")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("could not create {}", args.out.display()))?;
    for node in NODES {
        // Each run's logs start empty; nodes append across their own restarts.
        let _ = std::fs::remove_file(args.out.join(format!("{node}.log")));
    }

    let service_url = broker::service_url();
    let topic_prefix = format!("demo-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    println!(
        "Three nodes of examples/examples/email_digest.rs on {service_url} (topics \
         {topic_prefix}.*), for {} s{}.",
        args.duration,
        if args.no_faults {
            ""
        } else {
            "; the leader of email is killed, a leader stopped, the leader of email frozen"
        }
    );
    let dashboards = free_loopback_ports(NODES.len())?;
    let dashboard_token = format!("demo-{:016x}", rand::random::<u64>());
    for (node, addr) in NODES.iter().zip(&dashboards) {
        println!("  {node} dashboard: http://{addr}/");
    }
    println!("  token for the dashboards' buttons: {dashboard_token}");
    println!("Ctrl-C stops everything at any point.\n");
    let (reports, received) = mpsc::channel();
    let launcher = Launcher {
        binary,
        service_url,
        topic_prefix: topic_prefix.clone(),
        log_dir: args.out.clone(),
        reports,
        dashboards,
        dashboard_token,
    };
    let mut demo = Demo::new(launcher, &NODES, received, interrupted);
    let outcome = demo.run(Duration::from_secs(args.duration), !args.no_faults);
    // Whatever happened, no node is left running, and what ran is reported.
    demo.stop_all()?;
    for failure in cleanup::delete_topics(&broker::admin_url(), &topic_prefix, &[EMAIL, REPORTS]) {
        eprintln!("warning: could not delete the demo's topic {failure}");
    }
    let summary = summary::summarize(&demo.record)?;
    println!("\n{}", summary::render(&summary, &demo.record));
    let picture = args.out.join("timeline.svg");
    timeline::draw(&demo.record, &picture)?;
    println!("timeline: {}", picture.display());
    println!("node logs: {}", args.out.join("<node>.log").display());
    outcome?;
    Ok(summary.is_clean())
}
