//! The job descriptor that `#[singleton_job]` emits, one per annotated function.

use core::future::Future;
use core::pin::Pin;
use core::time::Duration;

use crate::JobContext;

/// The boxed future one run of a job returns.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'static>>;

/// What happens when a tick arrives while the previous run of the same job is still going.
///
/// A run overlaps the next tick if it lasts longer than the period between its own tick and that
/// one, counted from when it started: a run that started late (its claim was slow to come back
/// from the broker) and is still going when the next tick comes due makes that tick wait, and the
/// tick is skipped only if the run is still going a whole period after it began.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OverlapPolicy {
    /// The tick is skipped and recorded as skipped (the default).
    Skip,
    /// The tick runs right after the current run ends; at most one tick waits.
    Queue,
    /// The tick runs at once, beside the current run.
    Allow,
}

/// What happens to ticks that passed while no node led the job's lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MisfirePolicy {
    /// One catch-up run for all missed ticks (the default).
    FireOnce,
    /// Missed ticks are recorded as missed and not run.
    Skip,
    /// Every missed tick inside the catch-up window runs, oldest first.
    FireAll,
}

/// The attribute's spelling: `skip`, `queue`, `allow`.
impl core::fmt::Display for OverlapPolicy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Skip => "skip",
            Self::Queue => "queue",
            Self::Allow => "allow",
        })
    }
}

/// The attribute's spelling: `fire_once`, `skip`, `fire_all`.
impl core::fmt::Display for MisfirePolicy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::FireOnce => "fire_once",
            Self::Skip => "skip",
            Self::FireAll => "fire_all",
        })
    }
}

/// Where a job was declared, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceLocation {
    /// `module_path!()` of the annotated function.
    pub module_path: &'static str,
    /// `file!()` of the annotated function.
    pub file: &'static str,
    /// `line!()` of the annotated function.
    pub line: u32,
}

impl core::fmt::Display for SourceLocation {
    /// `file:line`, as compilers and editors print locations.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A job as declared by `#[singleton_job]`: its schedule, lock, policies and entry point.
///
/// Built at compile time by the macro and collected at startup by the runtime.
#[derive(Clone, Copy)]
pub struct JobDescriptor {
    pub(crate) name: &'static str,
    pub(crate) lock: &'static str,
    pub(crate) cron: &'static str,
    pub(crate) timezone: &'static str,
    pub(crate) overlap: OverlapPolicy,
    pub(crate) misfire: MisfirePolicy,
    pub(crate) catch_up_window: Duration,
    pub(crate) timeout: Option<Duration>,
    pub(crate) location: SourceLocation,
    pub(crate) run: fn(JobContext) -> JobFuture,
}

impl JobDescriptor {
    /// The job's unique name (default: module path and function name).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The lock the job runs under; every lock is elected independently.
    pub fn lock(&self) -> &'static str {
        self.lock
    }

    /// The cron expression as written in the attribute.
    pub fn cron(&self) -> &'static str {
        self.cron
    }

    /// The IANA time zone the cron expression is read in.
    pub fn timezone(&self) -> &'static str {
        self.timezone
    }

    /// The overlap policy.
    pub fn overlap(&self) -> OverlapPolicy {
        self.overlap
    }

    /// The misfire policy.
    pub fn misfire(&self) -> MisfirePolicy {
        self.misfire
    }

    /// How far back `MisfirePolicy::FireAll` catches up.
    pub fn catch_up_window(&self) -> Duration {
        self.catch_up_window
    }

    /// The run timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Where the job was declared.
    pub fn location(&self) -> SourceLocation {
        self.location
    }

    /// Starts one run of the job.
    pub(crate) fn start(&self, ctx: JobContext) -> JobFuture {
        (self.run)(ctx)
    }
}

impl core::fmt::Debug for JobDescriptor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JobDescriptor")
            .field("name", &self.name)
            .field("lock", &self.lock)
            .field("cron", &self.cron)
            .field("timezone", &self.timezone)
            .field("overlap", &self.overlap)
            .field("misfire", &self.misfire)
            .field("catch_up_window", &self.catch_up_window)
            .field("timeout", &self.timeout)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}
