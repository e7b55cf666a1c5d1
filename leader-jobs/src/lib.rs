//! Scheduled jobs that run on exactly one node of a cluster.
//!
//! Annotate an `async fn` with [`singleton_job`], start a runtime in `main`, and deploy as many
//! replicas as you like: every tick of the job runs on one of them, and when that node dies another
//! takes over within seconds.

pub mod backend;
pub mod clock;
pub mod job;
pub mod registry;

mod context;
mod error;
mod runtime;
mod schedule;
mod scheduler;
mod upcoming;

pub use backend::pulsar::{PulsarBackend, PulsarConfig, PulsarConfigError, Secret};
pub use context::JobContext;
pub use error::Error;
pub use job::{JobDescriptor, MisfirePolicy, OverlapPolicy};
#[doc = include_str!("../doc/singleton_job.md")]
pub use leader_jobs_macros::singleton_job;
pub use registry::registered_jobs;
pub use runtime::status::{JobStatus, LastRun, LockStatus, RunCounts, Status};
pub use runtime::{DEFAULT_GRACE_PERIOD, Handle, Runtime, RuntimeBuilder};
pub use schedule::Schedule;
pub use schedule::error::{CronField, ScheduleError};
pub use upcoming::Upcoming;

/// What the `#[singleton_job]` expansion refers to. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private;
