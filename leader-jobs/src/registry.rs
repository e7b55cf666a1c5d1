//! The jobs `#[singleton_job]` registered in this binary, and the checks the runtime runs on every
//! job, registered or built in code, before it joins any election.

use std::collections::BTreeSet;

use crate::__private::Registration;
use crate::job::{
    ArgumentKind, Delivery, Job, MisfirePolicy, OverlapPolicy, SourceLocation, States,
};
use leader_jobs_cron::{Schedule, ScheduleError, lock_name};

/// Most retries a job may ask for; more would hide a job that never succeeds.
pub const MAX_RETRIES: u32 = 100;

/// Why the jobs cannot be run. Each names the job and where it was declared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two jobs share a name; names identify jobs in the ledger, so they must be unique.
    #[error(
        "two jobs are named `{name}`, one declared at {first} and one at {second}; job names must \
         be unique, so give one of them another name (`name = \"...\"` in its #[singleton_job] \
         attribute, or the first argument of `Job::new`)"
    )]
    DuplicateName {
        /// The shared name.
        name: String,
        /// Where the first job is declared.
        first: SourceLocation,
        /// Where the second job is declared.
        second: SourceLocation,
    },

    /// A job's cron expression or time zone does not parse.
    #[error(
        "job `{job}` declared at {location} has an invalid schedule `{cron}` in `{timezone}`: \
         {problem}"
    )]
    InvalidSchedule {
        /// The job's name.
        job: String,
        /// Where it is declared.
        location: SourceLocation,
        /// The expression.
        cron: String,
        /// The time zone.
        timezone: String,
        /// What is wrong with the expression or the zone (boxed: it keeps every error small).
        problem: Box<ScheduleError>,
    },

    /// A job's lock cannot be part of a topic name.
    #[error(
        "job `{job}` declared at {location} has an invalid lock name {lock:?}: {problem}; {rule}",
        rule = lock_name::RULE
    )]
    InvalidLock {
        /// The job's name.
        job: String,
        /// Where it is declared.
        location: SourceLocation,
        /// The lock (the job's name unless `.lock(..)` gave one).
        lock: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A job's settings contradict each other or are out of range.
    #[error("job `{job}` declared at {location}: {problem}")]
    InvalidJob {
        /// The job's name.
        job: String,
        /// Where it is declared.
        location: SourceLocation,
        /// What is wrong, and how to fix it.
        problem: String,
    },

    /// A job takes a `State<T>` that was not given to the runtime.
    #[error(
        "job `{job}` declared at {location} takes `State<{type_name}>` as its {parameter}, but \
         no `{type_name}` was given to the runtime: add `.state(value)` with a value of that type \
         to the `Runtime::builder()` chain"
    )]
    MissingState {
        /// The job's name.
        job: String,
        /// Where it is declared.
        location: SourceLocation,
        /// Which parameter: its name for an attribute job, its position for a closure.
        parameter: String,
        /// The state's type.
        type_name: &'static str,
    },

    /// `schedule(..)` or `disable(..)` names a job the runtime does not have.
    #[error(
        "{what} names the job `{name}`, but there is no job of that name; known jobs: {known}",
        known = .known.join(", ")
    )]
    UnknownJob {
        /// Which setting named it, e.g. "`schedule(..)`".
        what: String,
        /// The name given.
        name: String,
        /// The names of the jobs there are.
        known: Vec<String>,
    },
}

/// Every job declared with `#[singleton_job]` anywhere in this binary, sorted by name.
///
/// ```
/// #[leader_jobs::singleton_job(cron = "*/5 * * * *", lock = "reports")]
/// async fn refresh_reports() {}
///
/// let jobs = leader_jobs::registered_jobs();
/// let job = jobs.iter().find(|job| job.get_lock() == "reports").unwrap();
/// assert!(job.name().ends_with("::refresh_reports"));
/// assert_eq!(job.cron(), "*/5 * * * *");
/// ```
pub fn registered_jobs() -> Vec<Job> {
    let mut jobs: Vec<Job> = inventory::iter::<Registration>
        .into_iter()
        .map(|registration| (registration.0)())
        .collect();
    sort_by_name(&mut jobs);
    jobs
}

fn sort_by_name(jobs: &mut [Job]) {
    // Declaration order breaks ties so that errors about duplicates are the same on every run.
    jobs.sort_by(|a, b| {
        (&*a.name, a.location.file, a.location.line).cmp(&(
            &*b.name,
            b.location.file,
            b.location.line,
        ))
    });
}

/// The registered jobs, sorted by name, after the checks the runtime runs on them (unique names,
/// schedules and time zones that parse, valid locks and settings); it does not know the state a
/// runtime will be given.
///
/// Call it in a test of your own binary to catch a mistake before deploying.
///
/// ```
/// #[leader_jobs::singleton_job(cron = "@hourly")]
/// async fn rotate_keys() {}
///
/// let jobs = leader_jobs::registry::collect_checked()?;
/// assert!(jobs.iter().any(|job| job.name().ends_with("::rotate_keys")));
/// # Ok::<(), leader_jobs::registry::RegistryError>(())
/// ```
///
/// # Errors
///
/// The first problem found, naming the job.
pub fn collect_checked() -> Result<Vec<Job>, RegistryError> {
    let checked = check(registered_jobs(), None)?;
    Ok(checked.into_iter().map(|(job, _)| job).collect())
}

/// Sorts `jobs` by name and checks them, and, given the runtime's `states`, that every state they
/// take is there. Returns each job with its schedule, parsed once here.
pub(crate) fn check(
    mut jobs: Vec<Job>,
    states: Option<&States>,
) -> Result<Vec<(Job, Schedule)>, RegistryError> {
    sort_by_name(&mut jobs);
    if let Some(pair) = jobs.windows(2).find(|pair| pair[0].name == pair[1].name) {
        return Err(RegistryError::DuplicateName {
            name: pair[0].name.to_string(),
            first: pair[0].location,
            second: pair[1].location,
        });
    }
    jobs.into_iter()
        .map(|job| {
            let schedule = check_job(&job, states)?;
            Ok((job, schedule))
        })
        .collect()
}

/// Fails if a name in `names` is not the name of one of `jobs`; `what` names the setting.
pub(crate) fn check_known<'a>(
    what: &str,
    names: impl IntoIterator<Item = &'a str>,
    jobs: &[Job],
) -> Result<(), RegistryError> {
    let known: BTreeSet<&str> = jobs.iter().map(Job::name).collect();
    match names.into_iter().find(|name| !known.contains(name)) {
        None => Ok(()),
        Some(name) => Err(RegistryError::UnknownJob {
            what: what.to_owned(),
            name: name.to_owned(),
            known: known.into_iter().map(str::to_owned).collect(),
        }),
    }
}

fn check_job(job: &Job, states: Option<&States>) -> Result<Schedule, RegistryError> {
    let invalid = |problem: String| RegistryError::InvalidJob {
        job: job.name.to_string(),
        location: job.location,
        problem,
    };
    if job.name.trim().is_empty() {
        return Err(invalid("the job's name must not be empty".to_owned()));
    }
    if let Err(problem) = lock_name::check(job.get_lock()) {
        return Err(RegistryError::InvalidLock {
            job: job.name.to_string(),
            location: job.location,
            lock: job.get_lock().to_owned(),
            problem,
        });
    }
    let schedule = Schedule::parse(&job.cron)
        .and_then(|schedule| schedule.in_timezone(&job.timezone))
        .map_err(|problem| RegistryError::InvalidSchedule {
            job: job.name.to_string(),
            location: job.location,
            cron: job.cron.to_string(),
            timezone: job.timezone.to_string(),
            problem: Box::new(problem),
        })?;
    if let Some(window) = job.catch_up {
        if job.misfire != MisfirePolicy::FireAll {
            return Err(invalid(
                "`catch_up` only applies with `misfire = \"fire_all\"`; set that policy or \
                 remove `catch_up`"
                    .to_owned(),
            ));
        }
        if window.is_zero() {
            return Err(invalid("`catch_up` must be longer than zero".to_owned()));
        }
    }
    if job.timeout.is_some_and(|limit| limit.is_zero()) {
        return Err(invalid("`timeout` must be longer than zero".to_owned()));
    }
    if job.retries > MAX_RETRIES {
        return Err(invalid(format!(
            "`retries` = {} is more than {MAX_RETRIES}; a job that needs more fails for a reason \
             retries will not fix",
            job.retries
        )));
    }
    if job.retries > 0 && job.retry_backoff.is_zero() {
        return Err(invalid(
            "`retry_backoff` must be longer than zero".to_owned(),
        ));
    }
    if job.delivery == Delivery::AtLeastOnce && job.overlap == OverlapPolicy::Allow {
        return Err(invalid(
            "`delivery = \"at_least_once\"` needs `overlap = \"skip\"` or `\"queue\"`: with \
             `allow`, runs of older ticks may be going when the leader dies, and only a job's \
             latest tick can be run again"
                .to_owned(),
        ));
    }
    if let Some(window) = job.rerun_window {
        if job.delivery != Delivery::AtLeastOnce {
            return Err(invalid(
                "`rerun_window` only applies with `delivery = \"at_least_once\"`; set that or \
                 remove `rerun_window`"
                    .to_owned(),
            ));
        }
        if window.is_zero() {
            return Err(invalid(
                "`rerun_window` must be longer than zero".to_owned(),
            ));
        }
    }
    let mut contexts = job
        .arguments
        .iter()
        .enumerate()
        .filter(|(_, kind)| **kind == ArgumentKind::Context);
    if let (Some(_), Some((second, _))) = (contexts.next(), contexts.next()) {
        return Err(invalid(format!(
            "a job takes at most one `JobContext`; remove its {}",
            job.parameter(second)
        )));
    }
    if let Some(states) = states {
        for (index, kind) in job.arguments.iter().enumerate() {
            if let ArgumentKind::State { type_id, type_name } = *kind {
                if !states.contains(type_id) {
                    return Err(RegistryError::MissingState {
                        job: job.name.to_string(),
                        location: job.location,
                        parameter: job.parameter(index),
                        type_name,
                    });
                }
            }
        }
    }
    Ok(schedule)
}
