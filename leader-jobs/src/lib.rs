//! Scheduled jobs that run on exactly one node of a cluster.
//!
//! Annotate an `async fn` with [`singleton_job`], start a runtime in `main`, and deploy as many
//! replicas as you like: every tick of the job runs on one of them, and when that node dies another
//! takes over within seconds.

pub mod backend;
pub mod job;

mod context;

pub use backend::pulsar::{PulsarBackend, PulsarConfig, PulsarConfigError, Secret};
pub use context::JobContext;
pub use job::{JobDescriptor, MisfirePolicy, OverlapPolicy};
pub use leader_jobs_macros::singleton_job;

/// What the `#[singleton_job]` expansion refers to. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private;
