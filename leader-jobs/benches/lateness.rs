//! Fire lateness (actual start of the job body − its scheduled tick) of an every-second job, for
//! leader-jobs on its embedded backend and for tokio-cron-scheduler, running side by side in one
//! process at the same time so both see the same machine load.
//!
//! `cargo bench -p leader-jobs --bench lateness [-- <ticks>]`, or `LATENESS_TICKS=<ticks>`;
//! 200 ticks (about 200 s) by default. The last line of output is
//! `lateness_p99_ms ours=<x> tokio_cron_scheduler=<y>`.

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use leader_jobs::{JobContext, Runtime, singleton_job};
use tokio_cron_scheduler::{Job, JobScheduler};

const DEFAULT_TICKS: usize = 200;
/// Ticks when `cargo test --all-targets` runs the bench (without `--bench`): a smoke run that
/// keeps the measuring code working without spending 200 s of the test suite.
const SMOKE_TICKS: usize = 3;

/// Lateness of leader-jobs' runs, in milliseconds.
static OURS: Mutex<Vec<f64>> = Mutex::new(Vec::new());

#[singleton_job(cron = "* * * * * *", lock = "lateness")]
async fn every_second(ctx: JobContext) {
    record(&OURS, Utc::now() - ctx.tick());
}

fn record(samples: &Mutex<Vec<f64>>, lateness: TimeDelta) {
    let micros = lateness.num_microseconds().unwrap_or(i64::MAX);
    let millis = micros as f64 / 1000.0;
    samples
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(millis);
}

fn count(samples: &Mutex<Vec<f64>>) -> usize {
    samples.lock().unwrap_or_else(PoisonError::into_inner).len()
}

/// The tick count from the first numeric argument, then the environment; without either,
/// [`DEFAULT_TICKS`] under `cargo bench` (which passes `--bench`) and [`SMOKE_TICKS`] otherwise.
fn ticks() -> Result<usize, Box<dyn Error>> {
    let argument = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    match argument.or_else(|| std::env::var("LATENESS_TICKS").ok()) {
        Some(ticks) => Ok(ticks.parse()?),
        None if benchmarking => Ok(DEFAULT_TICKS),
        None => Ok(SMOKE_TICKS),
    }
}

struct Summary {
    samples: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

/// Nearest-rank percentiles of the first `ticks` samples.
fn summarize(samples: &Mutex<Vec<f64>>, ticks: usize) -> Option<Summary> {
    let mut values: Vec<f64> = samples
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .take(ticks)
        .copied()
        .collect();
    values.sort_by(f64::total_cmp);
    let rank = |percent: usize| values.get((values.len() * percent).div_ceil(100).max(1) - 1);
    Some(Summary {
        samples: values.len(),
        p50: *rank(50)?,
        p99: *rank(99)?,
        max: *values.last()?,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let ticks = ticks()?;
    println!("measuring {ticks} ticks of an every-second job for both schedulers, side by side");

    let theirs = Arc::new(Mutex::new(Vec::new()));
    let mut cron = JobScheduler::new().await?;
    let samples = theirs.clone();
    cron.add(Job::new_async("* * * * * *", move |_, _| {
        let samples = samples.clone();
        Box::pin(async move {
            // tokio-cron-scheduler does not tell a job its tick; an every-second job's tick is
            // the whole second it fires in, as long as it is less than a second late.
            let now: DateTime<Utc> = Utc::now();
            let tick = now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now);
            record(&samples, now - tick);
        })
    })?)
    .await?;
    cron.start().await?;
    let ours = Runtime::builder()
        .node_id("lateness-bench")
        .build()?
        .start()?;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(ticks as u64 + 30);
    while (count(&OURS) < ticks || count(&theirs) < ticks) && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ours.shutdown().await?;
    cron.shutdown().await?;

    let (Some(ours), Some(theirs)) = (summarize(&OURS, ticks), summarize(&theirs, ticks)) else {
        return Err("a scheduler never fired".into());
    };
    println!(
        "{:<22} {:>7} {:>10} {:>10} {:>10}",
        "scheduler", "ticks", "p50 ms", "p99 ms", "max ms"
    );
    for (name, summary) in [("leader-jobs", &ours), ("tokio-cron-scheduler", &theirs)] {
        println!(
            "{name:<22} {:>7} {:>10.3} {:>10.3} {:>10.3}",
            summary.samples, summary.p50, summary.p99, summary.max
        );
    }
    println!(
        "lateness_p99_ms ours={:.3} tokio_cron_scheduler={:.3}",
        ours.p99, theirs.p99
    );
    Ok(())
}
