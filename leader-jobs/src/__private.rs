//! Everything the `#[singleton_job]` expansion names lives here, so users never depend on
//! `inventory` or spell these paths themselves.

pub use core::time::Duration;
pub use inventory;

pub use crate::JobContext;
pub use crate::job::{JobDescriptor, JobFuture, MisfirePolicy, OverlapPolicy, SourceLocation};

inventory::collect!(JobDescriptor);

/// Fields of a descriptor, in the order the macro passes them.
#[allow(clippy::too_many_arguments)]
pub const fn descriptor(
    name: &'static str,
    lock: &'static str,
    cron: &'static str,
    timezone: &'static str,
    overlap: OverlapPolicy,
    misfire: MisfirePolicy,
    catch_up_window: Duration,
    timeout: Option<Duration>,
    location: SourceLocation,
    run: fn(JobContext) -> JobFuture,
) -> JobDescriptor {
    JobDescriptor {
        name,
        lock,
        cron,
        timezone,
        overlap,
        misfire,
        catch_up_window,
        timeout,
        location,
        run,
    }
}

/// Turns what a job function returns into the runtime's result type: `()` is success, and
/// `Result<(), E>` keeps the error's `Display` text.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid return type for a `#[singleton_job]` function",
    label = "a job must return `()` or `Result<(), E>` where `E: Display`",
    note = "the runtime records a job's error by its `Display` text"
)]
pub trait IntoJobResult {
    /// Converts the return value.
    fn into_job_result(self) -> Result<(), String>;
}

impl IntoJobResult for () {
    fn into_job_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: core::fmt::Display> IntoJobResult for Result<(), E> {
    fn into_job_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// Boxes a job's future; the expansion calls this so it need not name `Box` or `Pin`.
pub fn boxed<F>(future: F) -> JobFuture
where
    F: core::future::Future<Output = Result<(), String>> + Send + 'static,
{
    Box::pin(future)
}
