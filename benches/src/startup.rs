//! Start-up with 10 000 registered jobs (100 locks of 100 jobs, leader-jobs on its embedded
//! backend so the figure is the scheduler's own): time until every job has its next tick
//! scheduled, and resident memory then; tokio-cron-scheduler with the same 10 000 jobs beside
//! it. Each is measured in a fresh process of its own, three times.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use leader_jobs::Runtime;
use serde::{Deserialize, Serialize};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::generated;
use crate::roles::ROLE_VAR;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Jobs registered in the start-up measurement.
pub(crate) const JOBS: usize = 10_000;
const LOCKS: usize = 100;

/// What one start-up process prints.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Startup {
    /// From process start until every job's next tick was scheduled.
    pub(crate) millis: f64,
    /// Resident memory then.
    pub(crate) rss_mb: f64,
}

fn rss_mb() -> Result<f64, BoxError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .ok_or("no VmRSS")?
        .parse()?;
    Ok(kb / 1024.0)
}

fn print(started: Instant) -> Result<(), BoxError> {
    let result = Startup {
        millis: started.elapsed().as_secs_f64() * 1000.0,
        rss_mb: rss_mb()?,
    };
    let line = serde_json::to_string(&result)?;
    // The driver reads this line from the process's stdout.
    #[allow(
        clippy::print_stdout,
        reason = "the result goes to the driver on stdout"
    )]
    {
        println!("{line}");
    }
    Ok(())
}

/// The `startup-ours` role.
pub(crate) async fn ours() -> Result<(), BoxError> {
    let started = Instant::now();
    let jobs = generated::jobs(LOCKS, JOBS / LOCKS, "0 0 1 1 *");
    let handle = Runtime::builder()
        .node_id("startup")
        .jobs(jobs)
        .build()?
        .start()?;
    loop {
        let status = handle.status();
        let scheduled = status
            .locks
            .iter()
            .flat_map(|lock| &lock.jobs)
            .filter(|job| job.next_tick.is_some())
            .count();
        if scheduled == JOBS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    print(started)?;
    handle.shutdown().await?;
    Ok(())
}

/// The `startup-tcs` role.
pub(crate) async fn tokio_cron_scheduler() -> Result<(), BoxError> {
    let started = Instant::now();
    let scheduler = JobScheduler::new().await?;
    let mut last = None;
    for _ in 0..JOBS {
        let job = Job::new_async("0 0 0 1 1 *", |_, _| Box::pin(async {}))?;
        last = Some(scheduler.add(job).await?);
    }
    scheduler.start().await?;
    let last = last.ok_or("no job added")?;
    let mut scheduler = scheduler;
    while scheduler.next_tick_for_job(last).await?.is_none() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    print(started)?;
    scheduler.shutdown().await?;
    Ok(())
}

/// Runs role `role` in a fresh process and reads its result.
pub(crate) fn measure(exe: &Path, role: &str) -> Result<Startup, BoxError> {
    let output = Command::new(exe).env(ROLE_VAR, role).output()?;
    if !output.status.success() {
        return Err(format!(
            "{role} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let text = String::from_utf8(output.stdout)?;
    let line = text.lines().last().ok_or("no output")?;
    Ok(serde_json::from_str(line)?)
}
