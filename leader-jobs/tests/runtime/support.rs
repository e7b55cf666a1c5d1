//! Helpers for deterministic runtime tests: hand-built job descriptors, a log of runs written by
//! the jobs themselves, and runtimes on a test clock.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::TestClock;
use leader_jobs::job::JobFuture;
use leader_jobs::{Handle, Job, JobContext, MisfirePolicy, OverlapPolicy, Runtime};

/// One run as the job saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunRecord {
    pub(crate) job: String,
    pub(crate) tick: DateTime<Utc>,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) node: String,
    pub(crate) term: u64,
}

/// The external record of runs: every job writes one entry when it starts.
pub(crate) struct RunLog(Mutex<Vec<RunRecord>>);

impl RunLog {
    pub(crate) const fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }

    pub(crate) fn record(&self, ctx: &JobContext) {
        self.0.lock().unwrap().push(RunRecord {
            job: ctx.job().to_owned(),
            tick: ctx.tick(),
            started_at: ctx.started_at(),
            node: ctx.node().to_owned(),
            term: ctx.term(),
        });
    }

    pub(crate) fn runs(&self) -> Vec<RunRecord> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn ticks(&self) -> Vec<DateTime<Utc>> {
        self.runs().into_iter().map(|run| run.tick).collect()
    }
}

/// A job description with the runtime's defaults, written as a struct so tests can override
/// fields with `..Spec::new(..)`; `build` turns it into a [`Job`].
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) lock: &'static str,
    pub(crate) cron: &'static str,
    pub(crate) timezone: &'static str,
    pub(crate) overlap: OverlapPolicy,
    pub(crate) misfire: MisfirePolicy,
    pub(crate) catch_up_window: Duration,
    pub(crate) timeout: Option<Duration>,
    pub(crate) run: fn(JobContext) -> JobFuture,
}

impl Spec {
    pub(crate) const fn new(
        name: &'static str,
        cron: &'static str,
        run: fn(JobContext) -> JobFuture,
    ) -> Self {
        Self {
            name,
            lock: "tests",
            cron,
            timezone: "UTC",
            overlap: OverlapPolicy::Skip,
            misfire: MisfirePolicy::FireOnce,
            catch_up_window: Duration::from_secs(3600),
            timeout: None,
            run,
        }
    }

    pub(crate) fn build(self) -> Job {
        let job = Job::new(self.name, self.cron, self.run)
            .lock(self.lock)
            .tz(self.timezone)
            .overlap(self.overlap)
            .misfire(self.misfire);
        let job = if self.misfire == MisfirePolicy::FireAll {
            job.catch_up(self.catch_up_window)
        } else {
            job
        };
        match self.timeout {
            Some(limit) => job.timeout(limit),
            None => job,
        }
    }
}

/// Node `id` running `job` on `cluster` and `clock`, with a 5 s grace period.
pub(crate) fn start(id: &str, job: &Job, cluster: &MemoryCluster, clock: &TestClock) -> Handle {
    Runtime::builder()
        .node_id(id)
        .in_memory(cluster)
        .clock(clock.clone())
        .grace_period(Duration::from_secs(5))
        .jobs([job.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap()
}

/// 2026-01-01 at the given UTC time.
pub(crate) fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, hour, minute, second)
        .unwrap()
}

/// Sleeps (in paused Tokio time) until `clock` reads `until`.
pub(crate) async fn advance_to(clock: &TestClock, until: DateTime<Utc>) {
    use leader_jobs::clock::Clock;
    let remaining = (until - clock.now()).to_std().unwrap();
    tokio::time::sleep(remaining).await;
}

/// Ticks of a job that fires every `every_seconds` seconds, in `(after, until]`.
pub(crate) fn every(
    every_seconds: i64,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let step = chrono::TimeDelta::seconds(every_seconds);
    let mut ticks = Vec::new();
    let mut tick = after + step;
    while tick <= until {
        ticks.push(tick);
        tick += step;
    }
    ticks
}

/// Log output for a failing test: `RUST_LOG=leader_jobs=debug cargo test ...`.
pub(crate) fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
