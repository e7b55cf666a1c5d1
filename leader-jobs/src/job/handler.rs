//! What a job's function may take and return, and the one erased form the scheduler calls.
//!
//! A handler is any `Fn` whose arguments are [`JobArgument`]s (a [`JobContext`] and
//! [`State<T>`](super::State) values, in any order) and whose future's output is an
//! [`IntoJobResult`]. `#[singleton_job]` hands the annotated function to [`Job::new`](super::Job::new)
//! through this very trait, so attribute jobs and jobs built in code run the same way.

use core::any::{Any, TypeId};
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use std::error::Error as StdError;

use crate::JobContext;

/// The boxed future one run of a job returns.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobFailure>> + Send + 'static>>;

/// Why a run failed: the error's `Display` text and those of its `source()` chain, as the
/// `run failed` event and the status show them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobFailure {
    message: String,
    causes: Vec<String>,
}

impl JobFailure {
    /// A failure with `message` and no causes.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            causes: Vec::new(),
        }
    }

    /// `error`'s text and the texts of its `source()` chain, outermost first.
    pub fn from_error(error: &(dyn StdError + 'static)) -> Self {
        let mut causes = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            causes.push(cause.to_string());
            source = cause.source();
        }
        Self {
            message: error.to_string(),
            causes,
        }
    }

    /// `error`'s `Display` text; the source chain too when `error` is one of the common boxes
    /// (`Box<dyn Error + Send + Sync>`, `Box<dyn Error>`), a `std::io::Error` or a `JobFailure`.
    /// `#[singleton_job]` keeps the chain of every error type that implements `Error`.
    pub fn from_display<E: fmt::Display + 'static>(error: &E) -> Self {
        let any: &dyn Any = error;
        if let Some(failure) = any.downcast_ref::<Self>() {
            return failure.clone();
        }
        if let Some(boxed) = any.downcast_ref::<Box<dyn StdError + Send + Sync>>() {
            return Self::from_error(&**boxed);
        }
        if let Some(boxed) = any.downcast_ref::<Box<dyn StdError>>() {
            return Self::from_error(&**boxed);
        }
        if let Some(io) = any.downcast_ref::<std::io::Error>() {
            return Self::from_error(io);
        }
        Self::new(error.to_string())
    }

    /// The error's own text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The texts of the error's causes, outermost first.
    pub fn causes(&self) -> &[String] {
        &self.causes
    }
}

/// The message followed by each cause, `: `-separated, as `anyhow` prints `{:#}`.
impl fmt::Display for JobFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for cause in &self.causes {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

/// What a job's function may return: `()` (always a success) or `Result<(), E>` where
/// `E: Display`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid return type for a job",
    label = "a job must return `()` or `Result<(), E>` where `E: Display`",
    note = "the runtime records a job's error by its `Display` text"
)]
pub trait IntoJobResult {
    /// The outcome as the runtime records it.
    ///
    /// # Errors
    ///
    /// The job's own error, as [`JobFailure::from_display`] reads it.
    fn into_job_result(self) -> Result<(), JobFailure>;
}

impl IntoJobResult for () {
    fn into_job_result(self) -> Result<(), JobFailure> {
        Ok(())
    }
}

impl<E: fmt::Display + 'static> IntoJobResult for Result<(), E> {
    fn into_job_result(self) -> Result<(), JobFailure> {
        self.map_err(|error| JobFailure::from_display(&error))
    }
}

/// A value a job's function can take: [`JobContext`] or [`State<T>`](super::State). Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of a job",
    label = "not `leader_jobs::JobContext` or `leader_jobs::State<T>`",
    note = "a job takes at most one `leader_jobs::JobContext` and any number of \
            `leader_jobs::State<T>` (with `T: Send + Sync + 'static`), by value"
)]
pub trait JobArgument: sealed::Argument {}

/// Something that can run as a job: an `async fn` or a closure returning a future, taking
/// [`JobArgument`]s and returning an [`IntoJobResult`]. `Args` is the tuple of its argument
/// types; it is inferred. Implemented for functions of up to eight arguments. Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run as a job",
    label = "not a job handler",
    note = "a job handler is an `async fn` or a closure returning a future; it takes a \
            `JobContext` and/or `State<T>` values (with `T: Send + Sync + 'static`) and returns \
            `()` or `Result<(), E>` with `E: Display`; its future must be `Send + 'static`"
)]
pub trait JobHandler<Args>: sealed::Handler<Args> {}

impl<Args, H: sealed::Handler<Args>> JobHandler<Args> for H {}

/// What one argument of a handler asks of the runtime. Public only so the sealed traits can name
/// it; unreachable from outside the crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgumentKind {
    /// The run's [`JobContext`].
    Context,
    /// A value given to `RuntimeBuilder::state`.
    State {
        type_id: TypeId,
        type_name: &'static str,
    },
}

pub(super) mod sealed {
    use super::{ArgumentKind, JobFuture};
    use crate::JobContext;

    /// How an argument is described and taken from a run.
    pub trait Argument: Sized + Send + 'static {
        fn kind() -> ArgumentKind;
        /// `None` only if a state was not provided, which `build()` rules out.
        fn from_run(context: &JobContext) -> Option<Self>;
    }

    pub trait Handler<Args>: Send + Sync + 'static {
        fn arguments() -> Vec<ArgumentKind>;
        fn call(&self, context: &JobContext) -> JobFuture;
    }
}

impl sealed::Argument for JobContext {
    fn kind() -> ArgumentKind {
        ArgumentKind::Context
    }

    fn from_run(context: &JobContext) -> Option<Self> {
        Some(context.clone())
    }
}

impl JobArgument for JobContext {}

/// A run whose state is missing: `build()` checks every argument, so this is a bug.
fn unprovided(kind: ArgumentKind) -> JobFuture {
    let what = match kind {
        ArgumentKind::Context => "the job context",
        ArgumentKind::State { type_name, .. } => type_name,
    };
    let failure = JobFailure::new(format!(
        "no state of type `{what}` was provided to the runtime; this is a bug in leader-jobs, \
         whose build() checks every job's arguments"
    ));
    Box::pin(async move { Err(failure) })
}

macro_rules! impl_handler {
    ($($argument:ident $value:ident),*) => {
        impl<F, Fut, R, $($argument,)*> sealed::Handler<($($argument,)*)> for F
        where
            F: Fn($($argument),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoJobResult,
            $($argument: JobArgument,)*
        {
            fn arguments() -> Vec<ArgumentKind> {
                vec![$(<$argument as sealed::Argument>::kind()),*]
            }

            #[allow(unused_variables, reason = "a handler without arguments ignores the context")]
            fn call(&self, context: &JobContext) -> JobFuture {
                $(
                    let Some($value) = <$argument as sealed::Argument>::from_run(context) else {
                        return unprovided(<$argument as sealed::Argument>::kind());
                    };
                )*
                let future = self($($value),*);
                Box::pin(async move {
                    future.await.into_job_result()
                })
            }
        }
    };
}

impl_handler!();
impl_handler!(A1 a1);
impl_handler!(A1 a1, A2 a2);
impl_handler!(A1 a1, A2 a2, A3 a3);
impl_handler!(A1 a1, A2 a2, A3 a3, A4 a4);
impl_handler!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
impl_handler!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);
impl_handler!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7);
impl_handler!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8);

/// A handler with its argument types forgotten, as the scheduler holds it.
pub(crate) trait ErasedHandler: Send + Sync {
    fn call(&self, context: &JobContext) -> JobFuture;
}

/// `H` as an [`ErasedHandler`]; `fn() -> Args` keeps it `Send + Sync` whatever `Args` is.
struct Erased<H, Args>(H, PhantomData<fn() -> Args>);

/// `handler` with its argument types forgotten, and what those arguments ask for.
pub(crate) fn erase<H: JobHandler<Args>, Args: 'static>(
    handler: H,
) -> (std::sync::Arc<dyn ErasedHandler>, Vec<ArgumentKind>) {
    (
        std::sync::Arc::new(Erased(handler, PhantomData)),
        <H as sealed::Handler<Args>>::arguments(),
    )
}

impl<H: sealed::Handler<Args>, Args> ErasedHandler for Erased<H, Args> {
    fn call(&self, context: &JobContext) -> JobFuture {
        self.0.call(context)
    }
}
