//! Fire lateness (start of the job body − its scheduled tick) of an every-second job, for
//! leader-jobs on Pulsar claiming each tick ahead of it (the default), leader-jobs on Pulsar
//! claiming at the tick (the design before claims ahead: the claim's round trip comes first),
//! leader-jobs on its embedded backend, and tokio-cron-scheduler, all four side by side in one
//! process so they share the machine's load; with no other load, and with two processes spinning
//! on the two cores.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use leader_jobs::{JobContext, PulsarConfig, Runtime, singleton_job};
use leader_jobs_tests::cluster::BrokerUrls;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::roles::ROLE_VAR;
use crate::stats::{Summary, summarize};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Lateness in milliseconds per runtime (its node id).
static SAMPLES: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());

const PULSAR_NODE: &str = "lateness-pulsar";
const AT_TICK_NODE: &str = "lateness-pulsar-at-tick";
const EMBEDDED_NODE: &str = "lateness-embedded";

fn record(series: &str, lateness: TimeDelta) {
    let millis = lateness.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0;
    SAMPLES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(series.to_owned())
        .or_default()
        .push(millis);
}

fn count(series: &str) -> usize {
    SAMPLES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(series)
        .map_or(0, Vec::len)
}

fn summary(series: &str, ticks: usize) -> Option<Summary> {
    let samples = SAMPLES.lock().unwrap_or_else(PoisonError::into_inner);
    let values: Vec<f64> = samples.get(series)?.iter().take(ticks).copied().collect();
    summarize(&values)
}

#[singleton_job(
    cron = "* * * * * *",
    lock = "lateness",
    name = "lateness_every_second"
)]
async fn every_second(ctx: JobContext) {
    record(ctx.node(), Utc::now() - ctx.tick());
}

/// The schedulers' lateness.
pub(crate) struct Lateness {
    pub(crate) pulsar: Summary,
    pub(crate) pulsar_at_tick: Summary,
    pub(crate) embedded: Summary,
    pub(crate) tokio_cron_scheduler: Summary,
}

/// Two processes that spin until dropped.
struct Burners(Vec<Child>);

impl Burners {
    fn start(exe: &std::path::Path, count: usize) -> std::io::Result<Self> {
        let mut children = Vec::new();
        for _ in 0..count {
            children.push(
                Command::new(exe)
                    .env(ROLE_VAR, "burn")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn()?,
            );
        }
        Ok(Self(children))
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Measures `ticks` ticks of each scheduler; with `burn`, two processes spin meanwhile.
pub(crate) async fn measure(
    urls: &BrokerUrls,
    prefix: &str,
    ticks: usize,
    burn: Option<&std::path::Path>,
) -> Result<Lateness, BoxError> {
    SAMPLES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    let _burners = burn.map(|exe| Burners::start(exe, 2)).transpose()?;
    let only_this_job = || {
        leader_jobs::registered_jobs()
            .into_iter()
            .filter(|job| job.get_lock() == "lateness")
    };
    let config = |prefix: &str| {
        PulsarConfig::new(&urls.service)?
            .with_admin_url(&urls.admin)?
            .topic_prefix(prefix)
    };
    let on_pulsar = Runtime::builder()
        .node_id(PULSAR_NODE)
        .pulsar_config(config(prefix)?.claim_ahead(Duration::from_millis(50)))
        .jobs(only_this_job())
        .build()?
        .start()?;
    let at_tick = config(&format!("{prefix}-at-tick"))?.claim_ahead(Duration::ZERO);
    let on_pulsar_at_tick = Runtime::builder()
        .node_id(AT_TICK_NODE)
        .pulsar_config(at_tick)
        .jobs(only_this_job())
        .build()?
        .start()?;
    let embedded = Runtime::builder()
        .node_id(EMBEDDED_NODE)
        .jobs(only_this_job())
        .build()?
        .start()?;
    let theirs = Arc::new(String::from("tokio-cron-scheduler"));
    let mut cron = JobScheduler::new().await?;
    let series = theirs.clone();
    cron.add(Job::new_async("* * * * * *", move |_, _| {
        let series = series.clone();
        Box::pin(async move {
            // tokio-cron-scheduler does not tell a job its tick; an every-second job's tick is
            // the whole second it fires in, as long as it is less than a second late.
            let now: DateTime<Utc> = Utc::now();
            let tick = now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now);
            record(&series, now - tick);
        })
    })?)
    .await?;
    cron.start().await?;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(ticks as u64 + 60);
    while [PULSAR_NODE, AT_TICK_NODE, EMBEDDED_NODE, theirs.as_str()]
        .iter()
        .any(|series| count(series) < ticks)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    on_pulsar.shutdown().await?;
    on_pulsar_at_tick.shutdown().await?;
    embedded.shutdown().await?;
    cron.shutdown().await?;
    let missing = |series: &str| format!("{series} fired fewer than {ticks} times");
    Ok(Lateness {
        pulsar: summary(PULSAR_NODE, ticks).ok_or_else(|| missing(PULSAR_NODE))?,
        pulsar_at_tick: summary(AT_TICK_NODE, ticks).ok_or_else(|| missing(AT_TICK_NODE))?,
        embedded: summary(EMBEDDED_NODE, ticks).ok_or_else(|| missing(EMBEDDED_NODE))?,
        tokio_cron_scheduler: summary(&theirs, ticks).ok_or_else(|| missing(&theirs))?,
    })
}
