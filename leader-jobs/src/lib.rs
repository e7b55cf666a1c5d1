//! Scheduled jobs that run on exactly one node of a cluster.
//!
//! Annotate an `async fn` with [`singleton_job`], start a [`Runtime`] in `main`, and deploy as
//! many replicas as you like: every tick of the job runs on one of them, and when that node dies
//! another takes over in about a second. Leader election comes from Apache Pulsar's failover
//! subscription; a run ledger on Pulsar makes sure no tick runs twice or is silently lost.
//!
//! # Quickstart
//!
//! ```standalone_crate,no_run
//! use leader_jobs::{JobContext, Runtime, singleton_job};
//!
//! /// Every day at 09:00 Berlin time, on one node of the cluster.
//! #[singleton_job(cron = "0 9 * * *", lock = "email", tz = "Europe/Berlin")]
//! async fn send_daily_digest(ctx: JobContext) -> Result<(), std::io::Error> {
//!     // ctx.term() is the fencing token: pass it to the systems the job writes to.
//!     println!("digest for {} (term {})", ctx.tick(), ctx.term());
//!     Ok(())
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), leader_jobs::Error> {
//!     Runtime::builder()
//!         .pulsar("pulsar://127.0.0.1:6650") // leave out: one node, in-process backend
//!         .build()?
//!         .run_until(async {
//!             let _ = tokio::signal::ctrl_c().await;
//!         })
//!         .await
//! }
//! ```
//!
//! Every node runs the same binary. Without `.pulsar(..)` the runtime runs alone on an in-process
//! backend, which is how the job can be tried out (and tested) without a broker:
//!
//! ```standalone_crate
//! #[leader_jobs::singleton_job(cron = "*/5 * * * * *")]
//! async fn heartbeat() {}
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! let handle = leader_jobs::Runtime::builder().build()?.start()?;
//! let elected = async {
//!     while !handle.status().locks[0].leading {
//!         tokio::time::sleep(Duration::from_millis(10)).await;
//!     }
//! };
//! tokio::time::timeout(Duration::from_secs(5), elected).await?;
//! handle.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # How it works
//!
//! Jobs are grouped by their `lock`; each lock is elected on its own, so different locks may be
//! led by different nodes. The node that leads a lock begins a new **term** in the lock's ledger,
//! and before every run it appends a **claim** for the tick: the first valid claim wins, and a
//! claim is valid only under the latest term. So even while an old leader that froze still
//! believes it leads, a tick starts at most once. A new leader reads the ledger first and runs
//! the ticks that passed without a leader as the job's misfire policy says. [`JobContext::term`]
//! carries the term into the job, for downstream systems to refuse writes from a stale leader.
//!
//! # Where to look
//!
//! - [`singleton_job`]: the attribute's keys (schedule, lock, time zone, overlap, misfire,
//!   timeout, retries) and the compile errors it gives; [`Job`] builds the same job in code.
//! - [`State`]: application values (a pool, a client, settings) handed to jobs, given once with
//!   [`RuntimeBuilder::state`].
//! - [`ScheduleOverrides`]: schedules replaced or switched off by the environment or a
//!   configuration file.
//! - [`Schedule`]: the cron dialect and the daylight-saving rule.
//! - [`RuntimeBuilder`]: node id, backend, grace period; [`Handle`] for
//!   [`status`](Handle::status) and [`shutdown`](Handle::shutdown).
//! - [`PulsarConfig`]: heartbeat, lease, stall detection, namespace, token and TLS settings.
//! - [`JobContext`]: what a run knows, cancellation, the fencing token.
//! - `dashboard` (feature `dashboard`): a web page and JSON API for operators, mounted in the
//!   application's axum server.
//! - [`backend::memory::MemoryCluster`]: several nodes in one process, for testing your jobs
//!   through kills and pauses on simulated time.
//!
//! # What it logs
//!
//! The runtime reports through [`tracing`](https://docs.rs/tracing); install any subscriber.
//! Events a deployment may want to watch or parse (fields in parentheses):
//!
//! | message | level | fields |
//! |---|---|---|
//! | `job registered` (once per job at start) | INFO | `node`, `lock`, `job`, `cron`, `tz`, `misfire`, `overlap`, `retries` |
//! | `leadership gained` | INFO | `lock`, `term`, `node` |
//! | `leadership lost` | INFO | `lock`, `term`, `node`, `reason` |
//! | `missed ticks: …` (the misfire policy at work) | INFO | `job`, `latest`, `runs` with `fire_all` |
//! | `catch-up run for a missed tick` | INFO | inside the run's span |
//! | `run not started` (the claim was won, but leadership lapsed or the verdict came too late) | WARN | inside the run's span; `reason` |
//! | `run failed`, `run panicked`, `run timed out …`, `run dropped …` | WARN / ERROR | inside the run's span; `error` (the error's text and its `source()` chain) or `panic` |
//! | `retrying the failed run` | INFO | inside the run's span; `attempt` (the next one), `delay` |
//! | `no retry: …` (the next tick comes first, leadership ended, the ledger refused it) | WARN / ERROR | inside the run's span; `attempt` |
//! | `abandoned run: …` (once per claim: by the first leader that finds it; for a job delivered at least once, again when its rerun is due) | WARN | `lock`, `job`, `tick`, `term`, `node` of the claim; `attempt`, `rerun_at`, `rerun_until` when it will be run again |
//! | `rerun of a tick whose last attempt was abandoned …` | INFO | inside the run's span |
//! | `no rerun: …` (the old attempt's outcome came in, or the ledger refused it) | INFO / WARN | `job`, `tick` |
//! | `the nodes' schedules differ: …` (once per job and difference) | WARN | `lock`, `job`, `ours`, `leader`, `leader_node`, `leader_term` |
//! | `claim lost: …` | WARN | `job`, `tick`, `term`, `winner_node`, `winner_term`, `highest_term` |
//! | `tick skipped: the job is paused` | INFO | `job`, `tick` |
//! | `running a triggered job` | INFO | `job`, `request`, `by` |
//!
//! The Pulsar election also logs `leadership gained` / `leadership lost` without a `term` when the
//! broker's choice changes; the scheduler's lines, with the `term`, mark when jobs start and stop
//! running here.
//!
//! The same happenings come typed, without parsing logs, from
//! [`Handle::events`](crate::Handle::events) ([`Event`]; its JSON form is tagged `event`).
//!
//! Every run executes inside a span named `job_run` with the fields `job`, `lock`, `tick`,
//! `term`, `node` and `attempt`, so whatever the job itself logs carries them too. The
//! `email_digest` example shows a subscriber that writes these events as JSON lines.

pub mod backend;
pub mod clock;
#[cfg(feature = "dashboard")]
pub mod dashboard;
pub mod job;
pub mod registry;

mod backoff;
mod context;
mod error;
mod runtime;
mod scheduler;

#[cfg(feature = "pulsar")]
pub use backend::pulsar::{PulsarBackend, PulsarConfig, PulsarConfigError, Secret};
pub use context::{JobContext, RunId};
pub use error::Error;
pub use job::{Delivery, Job, JobFailure, MisfirePolicy, OverlapPolicy, State};
pub use leader_jobs_cron::{CronField, Schedule, ScheduleError, Upcoming};
#[doc = include_str!("../doc/singleton_job.md")]
pub use leader_jobs_macros::singleton_job;
pub use registry::registered_jobs;
pub use runtime::cluster::{ClusterView, JobView, LockView};
pub use runtime::events::{EVENTS_BUFFERED, Event, NotRun, RunKind};
/// The names of the series the runtime writes through the `metrics` facade.
#[cfg(feature = "metrics")]
pub use runtime::metrics::SERIES as METRICS;
pub use runtime::status::{JobStatus, LastRun, LockStatus, RunCounts, Status};
pub use runtime::{
    DEFAULT_GRACE_PERIOD, Handle, Runtime, RuntimeBuilder, SCHEDULES_ENV, ScheduleOverrides,
    ScheduleOverridesError,
};

/// What the `#[singleton_job]` expansion refers to. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private;
