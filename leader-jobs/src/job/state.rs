//! Application state handed to jobs: one value per type, given to `RuntimeBuilder::state`.

use core::any::{Any, TypeId};
use core::fmt;
use core::ops::Deref;
use std::collections::HashMap;
use std::sync::Arc;

use super::handler::{ArgumentKind, JobArgument, sealed};
use crate::JobContext;

/// A value the application gave the runtime with
/// [`RuntimeBuilder::state`](crate::RuntimeBuilder::state), taken by a job as a parameter.
/// Cheap to clone (an `Arc`), and derefs to `T`.
///
/// ```standalone_crate
/// use leader_jobs::{JobContext, State};
///
/// struct Mailer {
///     from: String,
/// }
///
/// #[leader_jobs::singleton_job(cron = "0 9 * * *", lock = "email")]
/// async fn send_daily_digest(mailer: State<Mailer>, ctx: JobContext) {
///     println!("digest from {} for {}", mailer.from, ctx.tick());
/// }
///
/// # fn main() -> Result<(), leader_jobs::Error> {
/// let runtime = leader_jobs::Runtime::builder()
///     .state(Mailer { from: "digest@example.com".into() })
///     .build()?;
/// # drop(runtime);
/// # Ok(())
/// # }
/// ```
pub struct State<T: ?Sized>(Arc<T>);

impl<T: ?Sized> State<T> {
    /// The shared value itself, to keep beyond the run or hand to code that takes an `Arc`.
    pub fn into_arc(self) -> Arc<T> {
        self.0
    }
}

impl<T: ?Sized> Clone for State<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("State").field(&&*self.0).finish()
    }
}

impl<T: Send + Sync + 'static> sealed::Argument for State<T> {
    fn kind() -> ArgumentKind {
        ArgumentKind::State {
            type_id: TypeId::of::<T>(),
            type_name: core::any::type_name::<T>(),
        }
    }

    fn from_run(context: &JobContext) -> Option<Self> {
        context.states.get::<T>().map(State)
    }
}

impl<T: Send + Sync + 'static> JobArgument for State<T> {}

/// The values given to `RuntimeBuilder::state`, by type.
#[derive(Clone, Default)]
pub(crate) struct States(HashMap<TypeId, (&'static str, Arc<dyn Any + Send + Sync>)>);

impl States {
    /// Stores `value`, replacing an earlier value of the same type.
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(
            TypeId::of::<T>(),
            (core::any::type_name::<T>(), Arc::new(value)),
        );
    }

    pub(crate) fn contains(&self, type_id: TypeId) -> bool {
        self.0.contains_key(&type_id)
    }

    fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let (_, value) = self.0.get(&TypeId::of::<T>())?;
        Arc::clone(value).downcast::<T>().ok()
    }
}

impl fmt::Debug for States {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.0.values().map(|(name, _)| *name).collect();
        names.sort_unstable();
        f.debug_set().entries(names).finish()
    }
}
