//! Configuring a runtime: node id, backend, grace period, which jobs with which schedules and
//! state, and the checks `build` runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::overrides::ScheduleOverrides;
use super::{Runtime, node_id};
use crate::backend::Backend;
use crate::backend::memory::MemoryCluster;
#[cfg(feature = "pulsar")]
use crate::backend::pulsar::{PulsarBackend, PulsarConfig, PulsarConfigError};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::job::{Job, States};
use crate::registry;
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
    /// `None`: every job `#[singleton_job]` registered.
    jobs: Option<Vec<Job>>,
    /// Added to those with `.job(..)`.
    added: Vec<Job>,
    states: States,
    schedules: ScheduleOverrides,
    clock: Arc<dyn Clock>,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        Self {
            node_id: None,
            backend: BackendChoice::Embedded,
            grace: DEFAULT_GRACE_PERIOD,
            jobs: None,
            added: Vec::new(),
            states: States::default(),
            schedules: ScheduleOverrides::new(),
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

    /// Runs exactly `jobs` (and those added with [`job`](Self::job)) instead of every job
    /// registered with `#[singleton_job]` in the binary: for tests, and for binaries that run a
    /// subset ([`registered_jobs`](crate::registered_jobs) lists them).
    pub fn jobs(mut self, jobs: impl IntoIterator<Item = Job>) -> Self {
        self.jobs = Some(jobs.into_iter().collect());
        self
    }

    /// Adds `job`, built in code, to the registered jobs (or to those given to
    /// [`jobs`](Self::jobs)). It may share a lock with attribute jobs.
    ///
    /// ```standalone_crate
    /// use leader_jobs::{Job, JobContext};
    ///
    /// #[leader_jobs::singleton_job(cron = "0 9 * * *", lock = "email")]
    /// async fn send_daily_digest() {}
    ///
    /// # fn main() -> Result<(), leader_jobs::Error> {
    /// let reminders = Job::new("reminders", "0 */4 * * *", |ctx: JobContext| async move {
    ///     println!("reminders for {}", ctx.tick());
    /// })
    /// .lock("email");
    /// let runtime = leader_jobs::Runtime::builder().job(reminders).build()?;
    /// # drop(runtime);
    /// # Ok(())
    /// # }
    /// ```
    pub fn job(mut self, job: Job) -> Self {
        self.added.push(job);
        self
    }

    /// Gives jobs a value of type `T`, which they take as a [`State<T>`](crate::State)
    /// parameter: a database pool, a mail client, settings. One value per type; a second call
    /// with the same type replaces the first. `build` fails if a job takes a state of a type no
    /// call gave, naming the job, the parameter and the type.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states.insert(value);
        self
    }

    /// Runs job `name` at the ticks of `cron` instead of its declared schedule (in the job's time
    /// zone). `build` fails on an unknown name, listing the known ones, and on an invalid
    /// expression, naming the job and the field. For schedules from the environment or a
    /// configuration file, see [`schedules`](Self::schedules).
    pub fn schedule(mut self, name: impl Into<String>, cron: impl Into<String>) -> Self {
        self.schedules = self.schedules.with_schedule(name, cron);
        self
    }

    /// Switches job `name` off on this node: it is neither scheduled nor run here. `build` fails
    /// on an unknown name, listing the known ones.
    pub fn disable(mut self, name: impl Into<String>) -> Self {
        self.schedules = self.schedules.with_off(name);
        self
    }

    /// Applies every override in `overrides`, as [`schedule`](Self::schedule) and
    /// [`disable`](Self::disable) would, after those given before.
    ///
    /// ```standalone_crate
    /// #[leader_jobs::singleton_job(cron = "0 9 * * *", lock = "email", name = "digest")]
    /// async fn send_daily_digest() {}
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // LEADER_JOBS_SCHEDULES="digest = 0 7 * * 1-5" runs the digest at 07:00 on weekdays;
    /// // "digest = off" switches it off.
    /// let runtime = leader_jobs::Runtime::builder()
    ///     .schedules(leader_jobs::ScheduleOverrides::from_env()?)
    ///     .build()?;
    /// # drop(runtime);
    /// # Ok(())
    /// # }
    /// ```
    pub fn schedules(mut self, overrides: ScheduleOverrides) -> Self {
        for (name, value) in overrides.iter() {
            self.schedules = if overrides.is_off(name) {
                self.schedules.with_off(name)
            } else {
                self.schedules.with_schedule(name, value)
            };
        }
        self
    }

    /// Reads wall-clock time from `clock` instead of the system clock: with
    /// [`TestClock`](crate::clock::TestClock), tests run simulated days deterministically.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the configuration and the jobs: a usable node id; unique job names; schedules,
    /// locks and settings that are valid (the attribute's rules, for jobs built in code too);
    /// the state every job takes; overrides that name known jobs. Jobs are grouped by lock.
    ///
    /// # Errors
    ///
    /// The first problem found, naming the job where there is one.
    pub fn build(self) -> Result<Runtime, Error> {
        let node = match self.node_id {
            Some(id) => id,
            None => node_id::generate(),
        };
        node_id::validate(&node)?;
        let mut jobs = self.jobs.unwrap_or_else(registry::registered_jobs);
        jobs.extend(self.added);
        if jobs.is_empty() {
            return Err(Error::NoJobs);
        }
        let names = self.schedules.iter().map(|(name, _)| name);
        registry::check_known("a schedule override", names, &jobs)?;
        let jobs: Vec<Job> = jobs
            .into_iter()
            .filter(|job| !self.schedules.is_off(job.name()))
            .map(|mut job| {
                if let Some(cron) = self.schedules.schedule(job.name()) {
                    job.cron = cron.into();
                }
                job
            })
            .collect();
        let locks = plan(registry::check(jobs, Some(&self.states))?);
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
            states: Arc::new(self.states),
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
            .field("added", &self.added)
            .field("states", &self.states)
            .field("schedules", &self.schedules)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Groups `jobs` (checked, with their parsed schedules) by lock, locks and jobs sorted by name.
fn plan(jobs: Vec<(Job, Schedule)>) -> Vec<LockPlan> {
    let mut by_lock: BTreeMap<String, Vec<ScheduledJob>> = BTreeMap::new();
    for (job, schedule) in jobs {
        by_lock
            .entry(job.get_lock().to_owned())
            .or_default()
            .push(ScheduledJob {
                job: Arc::new(job),
                schedule,
            });
    }
    by_lock
        .into_iter()
        .map(|(lock, jobs)| LockPlan {
            lock: lock.into(),
            jobs,
        })
        .collect()
}
