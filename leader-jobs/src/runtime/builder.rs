//! Configuring a runtime: node id, backend, grace period, which jobs, and the checks `build` runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Runtime, node_id};
use crate::backend::Backend;
use crate::backend::memory::MemoryCluster;
#[cfg(feature = "pulsar")]
use crate::backend::pulsar::{PulsarBackend, PulsarConfig, PulsarConfigError};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::job::JobDescriptor;
use crate::registry::{self, RegistryError};
use crate::scheduler::{LockPlan, ScheduledJob};
use leader_jobs_cron::Schedule;

/// How long shutdown and a lost leadership wait for running jobs, by default.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30);

/// Where elections and ledgers live.
enum BackendChoice {
    /// A private single-node in-memory cluster: this node always leads.
    Embedded,
    /// A backend the caller supplied.
    Custom(Arc<dyn Backend>),
    /// A Pulsar cluster; a bad URL is reported by `build`.
    #[cfg(feature = "pulsar")]
    Pulsar(Box<Result<PulsarConfig, PulsarConfigError>>),
}

/// Configures a [`Runtime`]; made by [`Runtime::builder`].
///
/// ```standalone_crate
/// use std::time::Duration;
///
/// #[leader_jobs::singleton_job(cron = "0 3 * * *")]
/// async fn compact_tables() {}
///
/// # fn main() -> Result<(), leader_jobs::Error> {
/// let runtime = leader_jobs::Runtime::builder()
///     .node_id("billing-1")
///     .grace_period(Duration::from_secs(10))
///     .build()?;
/// assert_eq!(runtime.node_id(), "billing-1");
/// # Ok(())
/// # }
/// ```
pub struct RuntimeBuilder {
    node_id: Option<String>,
    backend: BackendChoice,
    grace: Duration,
    jobs: Option<Vec<&'static JobDescriptor>>,
    clock: Arc<dyn Clock>,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        Self {
            node_id: None,
            backend: BackendChoice::Embedded,
            grace: DEFAULT_GRACE_PERIOD,
            jobs: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl RuntimeBuilder {
    /// This node's id in every election and in the ledger. It must be unique in the cluster and
    /// consist of 1 to 128 characters from `A-Z a-z 0-9 - _ .`. Default: `hostname-pid-random`.
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.node_id = Some(id.into());
        self
    }

    /// Uses `backend` for elections and ledgers.
    pub fn backend(mut self, backend: impl Backend) -> Self {
        self.backend = BackendChoice::Custom(Arc::new(backend));
        self
    }

    /// Elects leaders on the Pulsar cluster at `service_url` (`pulsar://host:6650` or
    /// `pulsar+ssl://host:6651`) with default settings; [`pulsar_config`](Self::pulsar_config)
    /// sets the rest. Without a backend the runtime runs alone on an in-process one. Needs the
    /// `pulsar` feature (on by default).
    ///
    /// ```standalone_crate
    /// #[leader_jobs::singleton_job(cron = "0 9 * * *", lock = "email")]
    /// async fn send_daily_digest() {}
    ///
    /// # fn main() -> Result<(), leader_jobs::Error> {
    /// let runtime = leader_jobs::Runtime::builder()
    ///     .pulsar("pulsar://127.0.0.1:6650")
    ///     .build()?;
    /// # drop(runtime);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "pulsar")]
    pub fn pulsar(mut self, service_url: &str) -> Self {
        self.backend = BackendChoice::Pulsar(Box::new(PulsarConfig::new(service_url)));
        self
    }

    /// Elects leaders on the Pulsar cluster `config` describes. Needs the `pulsar` feature.
    #[cfg(feature = "pulsar")]
    pub fn pulsar_config(mut self, config: PulsarConfig) -> Self {
        self.backend = BackendChoice::Pulsar(Box::new(Ok(config)));
        self
    }

    /// Joins the in-process `cluster` as one of its nodes: for tests with several simulated nodes.
    /// Without any backend, a runtime runs alone on a private in-process backend and always leads.
    pub fn in_memory(self, cluster: &MemoryCluster) -> Self {
        self.backend(cluster.clone())
    }

    /// How long running jobs get to finish after shutdown begins or leadership is lost; after it
    /// their futures are dropped. Default: [`DEFAULT_GRACE_PERIOD`].
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs exactly `jobs` instead of every job registered with `#[singleton_job]` in the binary:
    /// for tests, and for binaries that run a subset.
    pub fn jobs(mut self, jobs: impl IntoIterator<Item = &'static JobDescriptor>) -> Self {
        self.jobs = Some(jobs.into_iter().collect());
        self
    }

    /// Reads wall-clock time from `clock` instead of the system clock: with
    /// [`TestClock`](crate::clock::TestClock), tests run simulated days deterministically.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the configuration and the jobs: a usable node id, and unique job names with schedules
    /// that parse (see [`registry::collect_checked`]). Jobs are grouped by lock.
    pub fn build(self) -> Result<Runtime, Error> {
        let node = match self.node_id {
            Some(id) => id,
            None => node_id::generate(),
        };
        node_id::validate(&node)?;
        let jobs = match self.jobs {
            Some(jobs) => registry::check(jobs)?,
            None => registry::collect_checked()?,
        };
        let locks = plan(jobs)?;
        let backend: Arc<dyn Backend> = match self.backend {
            BackendChoice::Embedded => Arc::new(MemoryCluster::new()),
            BackendChoice::Custom(backend) => backend,
            #[cfg(feature = "pulsar")]
            BackendChoice::Pulsar(config) => Arc::new(PulsarBackend::new((*config)?)?),
        };
        Ok(Runtime {
            node: node.into(),
            backend,
            clock: self.clock,
            grace: self.grace,
            locks,
        })
    }
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("node_id", &self.node_id)
            .field("grace", &self.grace)
            .field("jobs", &self.jobs)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Parses the schedules of `jobs` (checked by the registry) and groups them by lock, locks and jobs sorted
/// by name.
fn plan(jobs: Vec<&'static JobDescriptor>) -> Result<Vec<LockPlan>, Error> {
    if jobs.is_empty() {
        return Err(Error::NoJobs);
    }
    let mut by_lock: BTreeMap<&'static str, Vec<ScheduledJob>> = BTreeMap::new();
    for descriptor in jobs {
        let schedule = Schedule::parse(descriptor.cron())
            .and_then(|schedule| schedule.in_timezone(descriptor.timezone()))
            .map_err(|problem| RegistryError::InvalidSchedule {
                job: descriptor,
                problem,
            })?;
        by_lock
            .entry(descriptor.lock())
            .or_default()
            .push(ScheduledJob {
                descriptor,
                schedule,
            });
    }
    Ok(by_lock
        .into_iter()
        .map(|(lock, jobs)| LockPlan { lock, jobs })
        .collect())
}
