//! Everything the `#[singleton_job]` expansion names lives here, so users never depend on
//! `inventory` or spell these paths themselves.

pub use core::time::Duration;
pub use inventory;

pub use crate::JobContext;
pub use crate::job::{
    Delivery, IntoJobResult, Job, JobArgument, JobFailure, JobFuture, MisfirePolicy, OverlapPolicy,
    State,
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
pub fn boxed<F>(future: F) -> JobFuture
where
    F: core::future::Future<Output = Result<(), JobFailure>> + Send + 'static,
{
    Box::pin(future)
}

/// Fails to compile, spanned on the parameter's type, unless `T` can be a job's parameter; the
/// expansion calls it for each, so a wrong type is reported where it is written.
pub const fn assert_argument<T: JobArgument>() {}

/// A job's output on its way to a [`JobFailure`]: `(&Output(&output)).error_chain()` finds the
/// `source()` chain when the output is `Result<(), E>` with `E: Error` ([`ErrorChain`]), and
/// nothing otherwise ([`NoChain`], for every type, so that it adds no error of its own when the
/// return type is wrong). The choice is made where the type is concrete: in the expansion.
pub struct Output<'a, T>(pub &'a T);

/// The `Error` case of [`Output`].
pub trait ErrorChain {
    /// The error's text and its causes, if the run failed.
    fn error_chain(&self) -> Option<JobFailure>;
}

impl<E: std::error::Error + 'static> ErrorChain for Output<'_, Result<(), E>> {
    fn error_chain(&self) -> Option<JobFailure> {
        self.0
            .as_ref()
            .err()
            .map(|error| JobFailure::from_error(error))
    }
}

/// The fallback case of [`Output`].
pub trait NoChain {
    /// Nothing: [`IntoJobResult`] converts the output.
    fn error_chain(&self) -> Option<JobFailure>;
}

impl<T> NoChain for &Output<'_, T> {
    fn error_chain(&self) -> Option<JobFailure> {
        None
    }
}
