//! Everything the `#[singleton_job]` expansion names lives here, so users never depend on
//! `inventory` or spell these paths themselves.

pub use core::time::Duration;
pub use inventory;

pub use crate::JobContext;
pub use crate::job::{
    IntoJobResult, Job, JobFailure, JobFuture, MisfirePolicy, OverlapPolicy, State,
};

/// One `#[singleton_job]`: builds its [`Job`] when the runtime collects the registered jobs.
pub struct Registration(pub(crate) fn() -> Job);

impl Registration {
    /// Registers the job `build` returns.
    pub const fn new(build: fn() -> Job) -> Self {
        Self(build)
    }
}

inventory::collect!(Registration);

/// `job` with the names its function gives its parameters, for the errors of `build()`.
pub fn named(mut job: Job, parameter_names: &'static [&'static str]) -> Job {
    job.parameter_names = Some(parameter_names);
    job
}

/// Boxes a job's future; the expansion calls this so it need not name `Box` or `Pin`.
pub fn boxed<F, R>(future: F) -> JobFuture
where
    F: core::future::Future<Output = R> + Send + 'static,
    R: IntoJobResult,
{
    Box::pin(async move {
        future
            .await
            .into_job_result()
            .map_err(|error| JobFailure::from_display(&error))
    })
}

/// A job's error on its way to a [`JobFailure`]: `(&Failed(error)).failure()` picks
/// [`ErrorChain`] when the error type implements `Error` (keeping its `source()` chain) and
/// [`DisplayOnly`] otherwise. The choice is made where the type is concrete: in the expansion.
pub struct Failed<E>(pub E);

/// The `Error` case of [`Failed`].
pub trait ErrorChain {
    /// The error's text and its causes.
    fn failure(&self) -> JobFailure;
}

impl<E: std::error::Error + 'static> ErrorChain for Failed<E> {
    fn failure(&self) -> JobFailure {
        JobFailure::from_error(&self.0)
    }
}

/// The `Display`-only case of [`Failed`].
pub trait DisplayOnly {
    /// The error's text.
    fn failure(&self) -> JobFailure;
}

impl<E: core::fmt::Display + 'static> DisplayOnly for &Failed<E> {
    fn failure(&self) -> JobFailure {
        JobFailure::from_display(&self.0)
    }
}
