//! `cargo xtask bench`: leader-jobs measured beside its peers in one run, printed as one table
//! and written to `target/bench/report.md` with a plot of the takeover distributions
//! (`target/bench/takeover.svg`).
//!
//! - takeover after SIGKILL and after SIGSTOP of the leader: leader-jobs on Pulsar, a raw Pulsar
//!   failover subscription, etcd elections (Debian's `etcd-server`, `etcd-client` crate) at a
//!   10 s and a 60 s session TTL;
//! - fire lateness of an every-second job, idle and with both cores busy: leader-jobs (on Pulsar
//!   and embedded) beside tokio-cron-scheduler;
//! - idle cost of three nodes sharing 10, 100 and 1000 locks (per node, and the broker's messages);
//! - start-up with 10 000 jobs beside tokio-cron-scheduler.
//!
//! The bench runs a broker and an etcd of its own. It is also the program behind every process
//! it starts (chosen by `BENCH_ROLE`).
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

mod cold_read;
mod etcd;
mod generated;
mod idle;
mod lateness;
mod plot;
mod report;
mod roles;
mod startup;
mod stats;
mod takeover;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use leader_jobs::singleton_job;
use leader_jobs_tests::dedicated_broker::{DedicatedBroker, XTASK_VAR};

use crate::report::Row;
use crate::stats::{Summary, seconds, summarize};
use crate::takeover::{Candidates, Fault, Setup, Trials};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The lock the takeover trials elect.
const TAKEOVER_LOCK: &str = "takeover";

/// Gives the takeover candidates a lock to elect; it never fires during a bench.
#[singleton_job(cron = "0 0 1 1 *", lock = "takeover", name = "takeover_anchor")]
async fn takeover_anchor() {}

/// leader-jobs beside its peers, measured in one run.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// SIGKILL trials per system.
    #[arg(long, default_value_t = 20)]
    kill_trials: usize,
    /// SIGSTOP trials per system.
    #[arg(long, default_value_t = 3)]
    stop_trials: usize,
    /// Ticks of the every-second job per lateness measurement.
    #[arg(long, default_value_t = 300)]
    ticks: usize,
    /// How long the idle nodes are watched, in seconds.
    #[arg(long, default_value_t = 30)]
    idle_window: u64,
    /// Nodes of the idle-cost measurement, each running every lock.
    #[arg(long, default_value_t = 3)]
    idle_nodes: usize,
    /// Election groups of the idle-cost measurement, measured beside one election per lock.
    #[arg(long, default_value_t = 8)]
    idle_groups: u16,
    /// Lock counts of the idle-cost measurement.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    idle_locks: Vec<usize>,
    /// Record counts of the cold-read measurement.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    cold_read_records: Vec<u64>,
    /// Where the report, the plot and the logs go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Directory of the bench's broker (its data is wiped at start).
    #[arg(long, default_value = "target/bench/broker")]
    broker_dir: PathBuf,
    /// The broker's binary-protocol port.
    #[arg(long, default_value_t = 6695)]
    port: u16,
    /// The broker's admin API port.
    #[arg(long, default_value_t = 8195)]
    http_port: u16,
    /// etcd's client port (the peer port is the next one).
    #[arg(long, default_value_t = 2389)]
    etcd_port: u16,
    /// The `xtask` binary that runs brokers (default: $LEADER_JOBS_XTASK).
    #[arg(long)]
    xtask: Option<PathBuf>,
}

fn main() -> ExitCode {
    if let Ok(role) = std::env::var(roles::ROLE_VAR) {
        return match roles::run(&role) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("bench {role}: {error}");
                ExitCode::FAILURE
            }
        };
    }
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), BoxError> {
    let exe = std::env::current_exe()?;
    let xtask = args
        .xtask
        .clone()
        .or_else(|| std::env::var_os(XTASK_VAR).map(PathBuf::from))
        .ok_or_else(|| {
            format!("no xtask binary: run `cargo xtask bench`, or give --xtask or {XTASK_VAR}")
        })?;
    let out = std::path::absolute(&args.out)?;
    std::fs::create_dir_all(&out)?;
    let broker = DedicatedBroker::new(&xtask, &args.broker_dir, args.port, args.http_port);
    broker.start_fresh()?;
    let outcome = measure_all(&args, &exe, &out, &broker);
    if let Err(error) = broker.stop() {
        eprintln!("bench: stopping the broker: {error}");
    }
    let (rows, context, panels) = outcome?;
    println!(
        "{:<44} {:>10} {:>22} {:>10} {:>8}",
        "figure", "ours", "peer", "value", "ratio"
    );
    for row in &rows {
        let (peer, value) = row
            .peer
            .as_ref()
            .map_or(("", String::new()), |(name, value)| {
                (name.as_str(), format!("{value:.3}"))
            });
        let ratio = row
            .peer
            .as_ref()
            .filter(|(_, value)| *value != 0.0)
            .map_or(String::new(), |(_, value)| {
                format!("{:.2}", row.ours / value)
            });
        println!(
            "{:<44} {:>10.3} {:>22} {:>10} {:>8}",
            row.name, row.ours, peer, value, ratio
        );
    }
    println!();
    for row in &rows {
        println!("{}", row.line());
    }
    report::write(&out, &rows, &context)?;
    plot::write(&out.join("takeover.svg"), &panels)?;
    println!(
        "\nwrote {} and {}",
        out.join("report.md").display(),
        out.join("takeover.svg").display()
    );
    Ok(())
}

type Measured = (Vec<Row>, Vec<String>, Vec<(String, Vec<plot::Series>)>);

fn measure_all(
    args: &Args,
    exe: &std::path::Path,
    out: &std::path::Path,
    broker: &DedicatedBroker,
) -> Result<Measured, BoxError> {
    let urls = broker.urls();
    let mut rows = Vec::new();
    let mut context = vec![
        format!(
            "machine: {} cores; one run, every peer measured beside leader-jobs in it; broker: \
             Pulsar 4.0.7 standalone with production defaults (failover delay 1 s, keepalive 30 s)",
            std::thread::available_parallelism().map_or(0, usize::from)
        ),
        "takeover: from the signal to another candidate's first sign of leading: leader-jobs' \
         status (polled every 10 ms), a raw failover consumer's first message after a silence \
         (the bench publishes every 20 ms), etcd's `campaign` returning; three candidates each"
            .to_owned(),
        "leader-jobs and raw Pulsar SIGKILL trials run one after another; etcd trials and raw \
         Pulsar SIGSTOP trials (each about a TTL or a keepalive long) run side by side, one \
         election group of three per trial"
            .to_owned(),
        "lateness: leader-jobs on Pulsar claims each tick 50 ms ahead (set by the bench; off by default) and is \
         compared with its embedded backend; `claim_at_tick` is Pulsar with claims ahead turned \
         off, the claim's round trip before each run; busy means two processes spinning, one \
         per core"
            .to_owned(),
        format!(
            "idle cost: {} nodes (--idle-nodes) each running every lock, so each lock has a \
             leader and followers; one election topic per lock (the default), and the same locks \
             on {} election groups (--idle-groups); broker messages are the per-topic \
             msgInCounter + msgOutCounter of the cluster's topics over the window",
            args.idle_nodes, args.idle_groups
        ),
    ];
    let etcd = etcd::EtcdServer::start(out, args.etcd_port);
    if let Err(why) = &etcd {
        eprintln!("bench: etcd rows skipped: {why}");
        context.push(format!("etcd rows skipped: {why}"));
    }
    let setup = Setup {
        exe,
        urls: urls.clone(),
        out,
    };
    let ours = Candidates {
        label: "leader_jobs".into(),
        role: "leader-jobs",
        env: Vec::new(),
        limit: Duration::from_secs(60),
    };
    let raw = Candidates {
        label: "raw_pulsar".into(),
        role: "raw-pulsar",
        env: Vec::new(),
        limit: Duration::from_secs(120),
    };
    let etcd_peers: Vec<Candidates> = match &etcd {
        Ok(server) => [10_u64, 60]
            .into_iter()
            .map(|ttl| Candidates {
                label: format!("etcd_ttl{ttl}"),
                role: "etcd",
                env: vec![
                    (
                        roles::ETCD_ENDPOINT_VAR.into(),
                        server.endpoint().to_owned(),
                    ),
                    (roles::ETCD_TTL_VAR.into(), ttl.to_string()),
                ],
                limit: Duration::from_secs(ttl + 30),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut panels = Vec::new();
    for (fault, trials, name) in [
        (Fault::Kill, args.kill_trials, "sigkill"),
        (Fault::Freeze, args.stop_trials, "sigstop"),
    ] {
        let mut series = Vec::new();
        let ours_trials = takeover::sequential(&setup, &ours, fault, trials)?;
        let raw_trials = match fault {
            Fault::Kill => takeover::sequential(&setup, &raw, fault, trials)?,
            // About a minute each: side by side.
            Fault::Freeze => takeover::parallel(&setup, &raw, fault, trials)?,
        };
        let mut peers = vec![(raw.label.clone(), raw_trials)];
        for peer in &etcd_peers {
            peers.push((
                peer.label.clone(),
                takeover::parallel(&setup, peer, fault, trials)?,
            ));
        }
        series.push(plot::Series {
            label: ours.label.clone(),
            samples: ours_trials.samples.clone(),
        });
        let ours_summary =
            summarize(&seconds(&ours_trials.samples)).ok_or("no leader-jobs takeover")?;
        context.push(timeouts_note(&ours.label, name, &ours_trials));
        for (label, trials) in peers {
            context.push(timeouts_note(&label, name, &trials));
            if let Some(summary) = summarize(&seconds(&trials.samples)) {
                push_summary(
                    &mut rows,
                    &format!("takeover_{name}_vs_{label}"),
                    "s",
                    ours_summary,
                    &label,
                    summary,
                    &format!(
                        "takeover after {} of the leader, seconds",
                        name.to_uppercase()
                    ),
                );
            }
            series.push(plot::Series {
                label,
                samples: trials.samples,
            });
        }
        panels.push((
            format!("takeover after {} of the leader", name.to_uppercase()),
            series,
        ));
    }
    drop(etcd);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for (load, burn) in [("idle", None), ("busy", Some(exe))] {
        eprintln!("bench: lateness, {load}, {} ticks", args.ticks);
        let prefix = leader_jobs_tests::cluster::unique_name(&format!("lateness-{load}"));
        let lateness = runtime.block_on(lateness::measure(&urls, &prefix, args.ticks, burn))?;
        let what = format!(
            "fire lateness of an every-second job, {} ticks, ms, {}",
            args.ticks,
            if burn.is_some() {
                "both cores spinning"
            } else {
                "no other load"
            }
        );
        push_summary(
            &mut rows,
            &format!("lateness_{load}"),
            "ms",
            lateness.pulsar,
            "embedded",
            lateness.embedded,
            &format!("{what}; leader-jobs on Pulsar, claimed ahead, beside its embedded backend"),
        );
        push_summary(
            &mut rows,
            &format!("lateness_{load}_claim_at_tick"),
            "ms",
            lateness.pulsar_at_tick,
            "tokio_cron_scheduler",
            lateness.tokio_cron_scheduler,
            &format!("{what}; leader-jobs on Pulsar claiming at the tick (claim included)"),
        );
        push_summary(
            &mut rows,
            &format!("lateness_{load}_embedded"),
            "ms",
            lateness.embedded,
            "tokio_cron_scheduler",
            lateness.tokio_cron_scheduler,
            &format!("{what}; leader-jobs on its embedded backend"),
        );
    }
    drop(runtime);

    let mut costs = Vec::new();
    for locks in &args.idle_locks {
        for election_groups in [0, args.idle_groups] {
            eprintln!(
                "bench: idle cost, {} nodes, {locks} locks, {election_groups} election groups",
                args.idle_nodes
            );
            let setup = idle::IdleSetup {
                nodes: args.idle_nodes,
                locks: *locks,
                election_groups,
                window: Duration::from_secs(args.idle_window),
            };
            match idle::measure(exe, &urls, out, setup) {
                Ok(cost) => costs.push((setup, cost)),
                // Said in the report: one size that does not come up must not cost the run the
                // figures after it (three nodes did not elect every one of 1000 locks, one
                // election topic each, within 300 s, and the run of 2026-12-07 ended there).
                Err(error) => {
                    eprintln!("bench: {error}");
                    context.push(format!(
                        "idle cost of {locks} locks, {election_groups} election groups, not measured: {error}"
                    ));
                }
            }
        }
    }
    idle_rows(&mut rows, &costs, args.idle_groups);

    for records in &args.cold_read_records {
        eprintln!("bench: cold term start after {records} records");
        let read = cold_read::measure(exe, &urls, *records)?;
        let note = |what: &str| {
            format!(
                "cold term start on a lock's ledger of {records} records (a claim and an outcome per tick), {what}"
            )
        };
        rows.push(
            Row::new(
                format!("cold_term_start_{records}_records_unchecked_ms"),
                read.unchecked_ms,
                note("written without checkpoints (as before them), ms; beside an empty ledger"),
            )
            .beside("empty_ledger", read.empty_ms),
        );
        rows.push(
            Row::new(
                format!("cold_term_start_{records}_records_checkpointed_ms"),
                read.checkpointed_ms,
                note("after a leader checkpointed it, ms; beside an empty ledger"),
            )
            .beside("empty_ledger", read.empty_ms),
        );
        rows.push(Row::new(
            format!("cold_read_{records}_records_other_lock_losses"),
            read.other_lock_losses as f64,
            note("lease losses of another lock the same node led during the fold without checkpoints"),
        ));
        rows.push(Row::new(
            format!("cold_read_{records}_records_kept_after_checkpoint"),
            read.kept_after_checkpoint as f64,
            note("messages the broker keeps for the lock once checkpointed (history backlog)"),
        ));
        rows.push(Row::new(
            format!("cold_read_{records}_records_storage_bytes_after_checkpoint"),
            read.bytes_after_checkpoint as f64,
            note("bytes the broker's storage holds for the lock right after the checkpoint; it trims what lies before at the next bookie ledger rollover (50 000 entries or 4 h by default)"),
        ));
    }

    eprintln!("bench: start-up with {} jobs", startup::JOBS);
    let mut ours_runs = Vec::new();
    let mut theirs_runs = Vec::new();
    for _ in 0..3 {
        ours_runs.push(startup::measure(exe, "startup-ours")?);
        theirs_runs.push(startup::measure(exe, "startup-tcs")?);
    }
    let median = |runs: &[startup::Startup], pick: fn(&startup::Startup) -> f64| {
        summarize(&runs.iter().map(pick).collect::<Vec<_>>()).map_or(0.0, |s| s.p50)
    };
    let note = |what: &str| {
        format!(
            "start-up with {} jobs (100 locks), {what}, median of 3 fresh processes",
            startup::JOBS
        )
    };
    rows.push(
        Row::new(
            "startup_10k_jobs_all_scheduled_ms",
            median(&ours_runs, |s| s.millis),
            note("until every job has its next tick scheduled, ms"),
        )
        .beside("tokio_cron_scheduler", median(&theirs_runs, |s| s.millis)),
    );
    rows.push(
        Row::new(
            "startup_10k_jobs_rss_mb",
            median(&ours_runs, |s| s.rss_mb),
            note("resident memory then, MB"),
        )
        .beside("tokio_cron_scheduler", median(&theirs_runs, |s| s.rss_mb)),
    );
    Ok((rows, context, panels))
}

fn timeouts_note(label: &str, fault: &str, trials: &Trials) -> String {
    format!(
        "{label}, {fault}: {} takeovers measured, {} trials without a takeover within the limit",
        trials.samples.len(),
        trials.timeouts
    )
}

/// The idle cost's rows: per lock count, one election per lock beside the smallest count, and
/// `groups` election groups beside one election per lock. A row has no peer where the peer is
/// itself (the smallest count) or was not measured (one election per lock that did not elect).
fn idle_rows(rows: &mut Vec<Row>, costs: &[(idle::IdleSetup, idle::IdleCost)], groups: u16) {
    let per_lock = |locks: usize| {
        costs
            .iter()
            .find(|(setup, _)| setup.locks == locks && setup.election_groups == 0)
            .map(|(_, cost)| *cost)
    };
    let Some(base) = costs.first().map(|(_, cost)| *cost) else {
        return;
    };
    for (position, (setup, cost)) in costs.iter().enumerate() {
        let (name, peer, against, how) = if setup.election_groups == 0 {
            (
                format!("idle_{}_locks", setup.locks),
                format!("at_{}_locks", base.locks),
                Some(base).filter(|_| position > 0),
                format!(
                    "{} idle nodes sharing {} locks, one election topic each",
                    setup.nodes, setup.locks
                ),
            )
        } else {
            (
                format!("idle_{}_locks_{groups}_groups", setup.locks),
                "one_election_per_lock".to_owned(),
                per_lock(setup.locks),
                format!(
                    "{} idle nodes sharing {} locks on {groups} election topics",
                    setup.nodes, setup.locks
                ),
            )
        };
        let figures = |cost: &idle::IdleCost| {
            [
                cost.cpu_percent,
                cost.rss_mb,
                cost.broker_messages_per_second,
            ]
        };
        let ours = figures(cost);
        let theirs = against.as_ref().map(figures);
        for (index, (what, unit)) in [
            ("CPU % of the busiest node", "cpu_percent"),
            ("resident memory of the largest node, MB", "rss_mb"),
            (
                "broker messages in + out per second, all nodes together",
                "broker_msgs_per_s",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let row = Row::new(
                format!("{name}_{unit}"),
                ours[index],
                format!("{how}: {what}"),
            );
            rows.push(match theirs {
                Some(theirs) => row.beside(&peer, theirs[index]),
                None => row,
            });
        }
    }
}

fn push_summary(
    rows: &mut Vec<Row>,
    name: &str,
    unit: &str,
    ours: Summary,
    peer: &str,
    theirs: Summary,
    note: &str,
) {
    for (stat, mine, other) in [
        ("p50", ours.p50, theirs.p50),
        ("p99", ours.p99, theirs.p99),
        ("max", ours.max, theirs.max),
    ] {
        rows.push(
            Row::new(
                format!("{name}_{stat}_{unit}"),
                mine,
                format!("{note} ({stat})"),
            )
            .beside(peer, other),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn measured(
        locks: usize,
        election_groups: u16,
        cpu_percent: f64,
    ) -> (idle::IdleSetup, idle::IdleCost) {
        let setup = idle::IdleSetup {
            nodes: 3,
            locks,
            election_groups,
            window: Duration::from_secs(30),
        };
        let cost = idle::IdleCost {
            locks,
            cpu_percent,
            rss_mb: 20.0,
            broker_messages_per_second: 32.0,
        };
        (setup, cost)
    }

    fn cpu_line(rows: &[Row], name: &str) -> String {
        rows.iter()
            .map(Row::line)
            .find(|line| line.starts_with(&format!("{name}_cpu_percent ")))
            .unwrap()
    }

    #[test]
    fn an_idle_row_has_a_peer_only_where_another_setup_was_measured() {
        // 1000 locks on one topic each did not elect, so only its groups' row exists.
        let costs = [
            measured(10, 0, 0.3),
            measured(100, 0, 1.5),
            measured(100, 4, 0.3),
            measured(1000, 4, 1.1),
        ];
        let mut rows = Vec::new();
        idle_rows(&mut rows, &costs, 4);
        assert_eq!(
            cpu_line(&rows, "idle_10_locks"),
            "idle_10_locks_cpu_percent ours=0.3000"
        );
        assert!(cpu_line(&rows, "idle_100_locks").contains("at_10_locks=0.3000 ratio=5.000"));
        assert!(cpu_line(&rows, "idle_100_locks_4_groups").contains("one_election_per_lock=1.50"));
        assert!(!cpu_line(&rows, "idle_1000_locks_4_groups").contains("ratio"));
    }
}
