//! A job: its name, schedule, lock, policies and handler. `#[singleton_job]` builds one per
//! annotated function; [`Job::new`] builds one in code. Both are checked by
//! [`RuntimeBuilder::build`](crate::RuntimeBuilder::build) with the same rules.

mod handler;
mod policy;
mod state;

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

pub use handler::{IntoJobResult, JobArgument, JobFailure, JobFuture, JobHandler};
pub use policy::{Delivery, MisfirePolicy, OverlapPolicy, SourceLocation};
pub use state::State;

pub(crate) use handler::{ArgumentKind, ErasedHandler};
pub(crate) use state::States;

/// The time zone a schedule is read in unless [`Job::tz`] names another.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// How far back [`MisfirePolicy::FireAll`] catches up unless [`Job::catch_up`] says otherwise.
pub const DEFAULT_CATCH_UP_WINDOW: Duration = Duration::from_secs(3600);

/// The first delay before a retry unless [`Job::retry_backoff`] says otherwise.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(1);

/// A scheduled job: what `#[singleton_job]` declares, built in code.
///
/// Give it to [`RuntimeBuilder::job`](crate::RuntimeBuilder::job). The handler is an `async fn`
/// or a closure returning a future; it takes a [`JobContext`](crate::JobContext) and/or
/// [`State<T>`] values in any order and returns `()` or `Result<(), E>` with `E: Display`.
/// Nothing is checked here: [`build`](crate::RuntimeBuilder::build) checks every job with the
/// attribute's rules and names the job in its error.
///
/// ```standalone_crate
/// use std::time::Duration;
///
/// use leader_jobs::{Job, JobContext, MisfirePolicy, State};
///
/// struct Tenant {
///     name: String,
/// }
///
/// # fn main() -> Result<(), leader_jobs::Error> {
/// let cleanup = Job::new("tenant-cleanup", "0 3 * * *", |tenant: State<Tenant>, ctx: JobContext| async move {
///     println!("cleaning {} for {}", tenant.name, ctx.tick());
///     Ok::<(), std::io::Error>(())
/// })
/// .lock("maintenance")
/// .tz("Europe/Berlin")
/// .misfire(MisfirePolicy::Skip)
/// .timeout(Duration::from_secs(600))
/// .retries(2);
///
/// let runtime = leader_jobs::Runtime::builder()
///     .state(Tenant { name: "acme".into() })
///     .jobs([cleanup])
///     .build()?;
/// # drop(runtime);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Job {
    pub(crate) name: Arc<str>,
    /// `None`: the lock is the job's name.
    pub(crate) lock: Option<Arc<str>>,
    pub(crate) cron: Arc<str>,
    pub(crate) timezone: Arc<str>,
    pub(crate) overlap: OverlapPolicy,
    pub(crate) misfire: MisfirePolicy,
    /// `None`: [`DEFAULT_CATCH_UP_WINDOW`]; given, it requires `FireAll`.
    pub(crate) catch_up: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retries: u32,
    pub(crate) retry_backoff: Duration,
    pub(crate) delivery: Delivery,
    /// `None`: until the job's next tick; given, it requires `AtLeastOnce`.
    pub(crate) rerun_window: Option<Duration>,
    pub(crate) location: SourceLocation,
    pub(crate) handler: Arc<dyn ErasedHandler>,
    pub(crate) arguments: Vec<ArgumentKind>,
    /// The parameters' names as written, when the attribute knows them.
    pub(crate) parameter_names: Option<&'static [&'static str]>,
}

impl Job {
    /// A job named `name` (unique in the cluster: the ledger knows it by it) that runs `handler`
    /// at the ticks of `cron` (the [`Schedule`](crate::Schedule) dialect), in UTC, under the lock
    /// of its own name, with the attribute's defaults for everything else.
    #[track_caller]
    pub fn new<H, Args>(name: impl Into<String>, cron: impl Into<String>, handler: H) -> Self
    where
        H: JobHandler<Args>,
        Args: 'static,
    {
        let (handler, arguments) = handler::erase(handler);
        Self {
            name: name.into().into(),
            lock: None,
            cron: cron.into().into(),
            timezone: DEFAULT_TIMEZONE.into(),
            overlap: OverlapPolicy::Skip,
            misfire: MisfirePolicy::FireOnce,
            catch_up: None,
            timeout: None,
            retries: 0,
            retry_backoff: DEFAULT_RETRY_BACKOFF,
            delivery: Delivery::AtMostOnce,
            rerun_window: None,
            location: SourceLocation::caller(),
            handler,
            arguments,
            parameter_names: None,
        }
    }

    /// Runs under `lock`: one node of the cluster leads each lock, and jobs that share a lock run
    /// on the same node. Default: the job's name.
    #[must_use]
    pub fn lock(mut self, lock: impl Into<String>) -> Self {
        self.lock = Some(lock.into().into());
        self
    }

    /// Reads the schedule in the IANA time zone `tz` (`Europe/Berlin`). Default: UTC.
    #[must_use]
    pub fn tz(mut self, tz: impl Into<String>) -> Self {
        self.timezone = tz.into().into();
        self
    }

    /// What a tick does while the previous run is still going. Default: [`OverlapPolicy::Skip`].
    #[must_use]
    pub fn overlap(mut self, policy: OverlapPolicy) -> Self {
        self.overlap = policy;
        self
    }

    /// What happens to ticks missed while no node led. Default: [`MisfirePolicy::FireOnce`].
    #[must_use]
    pub fn misfire(mut self, policy: MisfirePolicy) -> Self {
        self.misfire = policy;
        self
    }

    /// How far back [`MisfirePolicy::FireAll`] catches up (only with that policy). Default:
    /// [`DEFAULT_CATCH_UP_WINDOW`].
    #[must_use]
    pub fn catch_up(mut self, window: Duration) -> Self {
        self.catch_up = Some(window);
        self
    }

    /// Cancels a run still going after `limit`; it is recorded as timed out. Default: none.
    #[must_use]
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Runs a failed tick again up to `retries` more times, under the same claim and term, waiting
    /// [`retry_backoff`](Self::retry_backoff) (doubled each time, with jitter) in between. Retries
    /// stop when leadership is lost and never run past the job's next tick. Default: 0.
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The delay before the first retry; each later one waits twice as long, with jitter.
    /// Default: [`DEFAULT_RETRY_BACKOFF`].
    #[must_use]
    pub fn retry_backoff(mut self, first_delay: Duration) -> Self {
        self.retry_backoff = first_delay;
        self
    }

    /// What happens to a tick whose leader never reported how its run ended. Default:
    /// [`Delivery::AtMostOnce`]. [`Delivery::AtLeastOnce`] needs overlap policy `skip` or
    /// `queue`: only a job's latest claimed tick can be run again.
    #[must_use]
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// With [`Delivery::AtLeastOnce`], how long after an abandoned attempt began it may still be
    /// run again. Default: the time from the job's tick to its next one. The window counts from
    /// the attempt's tick, or from its leader's term start where that came later (a catch-up
    /// after a leaderless stretch, a rerun): the term start is written in the ledger by that
    /// leader's clock, so a node whose clock runs ahead gives its attempts a later window, never
    /// an earlier one. The rerun waits until the old leader's run has surely stopped (its lease
    /// plus the grace period after the takeover), so a job ticking more often than that needs a
    /// longer window to be rerun at all. How late a missed tick may begin at all is the misfire
    /// policy's [`catch_up`](Self::catch_up) window.
    #[must_use]
    pub fn rerun_window(mut self, window: Duration) -> Self {
        self.rerun_window = Some(window);
        self
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cron expression.
    pub fn cron(&self) -> &str {
        &self.cron
    }

    /// The lock the job runs under.
    pub fn get_lock(&self) -> &str {
        self.lock.as_deref().unwrap_or(&self.name)
    }

    /// The IANA time zone the schedule is read in.
    pub fn get_tz(&self) -> &str {
        &self.timezone
    }

    /// The overlap policy.
    pub fn get_overlap(&self) -> OverlapPolicy {
        self.overlap
    }

    /// The misfire policy.
    pub fn get_misfire(&self) -> MisfirePolicy {
        self.misfire
    }

    /// How far back [`MisfirePolicy::FireAll`] catches up.
    pub fn get_catch_up(&self) -> Duration {
        self.catch_up.unwrap_or(DEFAULT_CATCH_UP_WINDOW)
    }

    /// The run timeout, if any.
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// How many times a failed tick is run again.
    pub fn get_retries(&self) -> u32 {
        self.retries
    }

    /// The delay before the first retry.
    pub fn get_retry_backoff(&self) -> Duration {
        self.retry_backoff
    }

    /// The delivery guarantee.
    pub fn get_delivery(&self) -> Delivery {
        self.delivery
    }

    /// How long after its tick an abandoned run may be run again, if not until the next tick.
    pub fn get_rerun_window(&self) -> Option<Duration> {
        self.rerun_window
    }

    /// Where the job was declared: the attribute, or the call of [`Job::new`].
    pub fn location(&self) -> SourceLocation {
        self.location
    }

    /// The name of parameter `index` for error messages: as written for an attribute job, by
    /// position for a closure.
    pub(crate) fn parameter(&self, index: usize) -> String {
        match self.parameter_names.and_then(|names| names.get(index)) {
            Some(name) => format!("parameter `{name}`"),
            None => format!("parameter {} of the handler", index + 1),
        }
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("lock", &self.get_lock())
            .field("cron", &self.cron)
            .field("tz", &self.timezone)
            .field("overlap", &self.overlap)
            .field("misfire", &self.misfire)
            .field("catch_up", &self.catch_up)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("retry_backoff", &self.retry_backoff)
            .field("delivery", &self.delivery)
            .field("rerun_window", &self.rerun_window)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}
