//! The jobs `#[singleton_job]` registered in this binary, and the checks the runtime runs on them
//! at startup.

use crate::job::{JobDescriptor, SourceLocation};
use leader_jobs_cron::Schedule;
use leader_jobs_cron::ScheduleError;

/// Why the registered jobs cannot be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two jobs share a name; names identify jobs in the ledger, so they must be unique.
    #[error(
        "two jobs are named `{name}`, one declared at {first} and one at {second}; job names must \
         be unique, so give one of them another name with `name = \"...\"` in its \
         #[singleton_job] attribute"
    )]
    DuplicateName {
        /// The shared name.
        name: &'static str,
        /// Where the first job is declared.
        first: SourceLocation,
        /// Where the second job is declared.
        second: SourceLocation,
    },

    /// A job's `cron` or `tz` does not parse. The attribute checks both at compile time with the
    /// same code, so this means the descriptor was not built by a matching `#[singleton_job]`.
    #[error(
        "job `{}` declared at {} has an invalid schedule `{}` in `{}`: {problem}; \
         #[singleton_job] rejects this at compile time, so make sure leader-jobs and \
         leader-jobs-macros are the same version and rebuild",
        .job.name, .job.location, .job.cron, .job.timezone
    )]
    InvalidSchedule {
        /// The job.
        job: &'static JobDescriptor,
        /// What is wrong with the expression or the zone.
        problem: ScheduleError,
    },
}

/// Every job declared with `#[singleton_job]` anywhere in this binary, sorted by name.
///
/// ```
/// #[leader_jobs::singleton_job(cron = "*/5 * * * *", lock = "reports")]
/// async fn refresh_reports() {}
///
/// let jobs = leader_jobs::registered_jobs();
/// let job = jobs.iter().find(|job| job.lock() == "reports").unwrap();
/// assert!(job.name().ends_with("::refresh_reports"));
/// assert_eq!(job.cron(), "*/5 * * * *");
/// ```
pub fn registered_jobs() -> Vec<&'static JobDescriptor> {
    let mut jobs: Vec<&'static JobDescriptor> =
        inventory::iter::<JobDescriptor>.into_iter().collect();
    sort_by_name(&mut jobs);
    jobs
}

fn sort_by_name(jobs: &mut [&'static JobDescriptor]) {
    // Declaration order breaks ties so that errors about duplicates are the same on every run.
    jobs.sort_by(|a, b| {
        (a.name, a.location.file, a.location.line).cmp(&(b.name, b.location.file, b.location.line))
    });
}

/// The registered jobs, sorted by name, after the checks the runtime needs: unique names, and a
/// schedule and time zone that parse.
///
/// The runtime calls this at startup; call it in a test of your own binary to catch a duplicate
/// name before deploying.
///
/// ```
/// #[leader_jobs::singleton_job(cron = "@hourly")]
/// async fn rotate_keys() {}
///
/// let jobs = leader_jobs::registry::collect_checked()?;
/// assert!(jobs.iter().any(|job| job.name().ends_with("::rotate_keys")));
/// # Ok::<(), leader_jobs::registry::RegistryError>(())
/// ```
pub fn collect_checked() -> Result<Vec<&'static JobDescriptor>, RegistryError> {
    check(registered_jobs())
}

/// Sorts `jobs` by name and checks them; the runtime also checks a set given to
/// `RuntimeBuilder::jobs` with it.
pub(crate) fn check(
    mut jobs: Vec<&'static JobDescriptor>,
) -> Result<Vec<&'static JobDescriptor>, RegistryError> {
    sort_by_name(&mut jobs);
    if let Some(pair) = jobs.windows(2).find(|pair| pair[0].name == pair[1].name) {
        return Err(RegistryError::DuplicateName {
            name: pair[0].name,
            first: pair[0].location,
            second: pair[1].location,
        });
    }
    for &job in &jobs {
        Schedule::parse(job.cron)
            .and_then(|schedule| schedule.in_timezone(job.timezone))
            .map_err(|problem| RegistryError::InvalidSchedule { job, problem })?;
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::{RegistryError, check};
    use crate::__private::{
        JobDescriptor, JobFuture, MisfirePolicy, OverlapPolicy, SourceLocation, boxed, descriptor,
    };
    use crate::JobContext;

    fn succeed(_: JobContext) -> JobFuture {
        boxed(async { Ok(()) })
    }

    const fn job(name: &'static str, file: &'static str, line: u32) -> JobDescriptor {
        job_with_schedule(name, "0 9 * * *", "UTC", file, line)
    }

    const fn job_with_schedule(
        name: &'static str,
        cron: &'static str,
        timezone: &'static str,
        file: &'static str,
        line: u32,
    ) -> JobDescriptor {
        descriptor(
            name,
            "lock",
            cron,
            timezone,
            OverlapPolicy::Skip,
            MisfirePolicy::FireOnce,
            Duration::from_secs(3600),
            None,
            SourceLocation {
                module_path: "app::jobs",
                file,
                line,
            },
            succeed,
        )
    }

    static DIGEST: JobDescriptor = job("app::digest", "src/mail.rs", 12);
    static DIGEST_AGAIN: JobDescriptor = job("app::digest", "src/reports.rs", 40);
    static CLEANUP: JobDescriptor = job("app::cleanup", "src/db.rs", 7);
    static BAD_HOUR: JobDescriptor =
        job_with_schedule("app::report", "0 25 * * *", "UTC", "src/report.rs", 3);
    static BAD_ZONE: JobDescriptor =
        job_with_schedule("app::sync", "@hourly", "Berlin", "src/sync.rs", 9);

    #[test]
    fn duplicate_names_are_reported_with_both_locations() {
        let error = check(vec![&CLEANUP, &DIGEST, &DIGEST_AGAIN]).unwrap_err();
        assert!(matches!(
            error,
            RegistryError::DuplicateName {
                name: "app::digest",
                ..
            }
        ));
        assert_eq!(
            error.to_string(),
            "two jobs are named `app::digest`, one declared at src/mail.rs:12 and one at \
             src/reports.rs:40; job names must be unique, so give one of them another name with \
             `name = \"...\"` in its #[singleton_job] attribute"
        );
    }

    #[test]
    fn distinct_names_pass_in_order() {
        let jobs = check(vec![&CLEANUP, &DIGEST]).unwrap();
        let names: Vec<&str> = jobs.iter().map(|job| job.name()).collect();
        assert_eq!(names, ["app::cleanup", "app::digest"]);
    }

    #[test]
    fn a_schedule_that_does_not_parse_names_the_job_and_the_problem() {
        let error = check(vec![&CLEANUP, &BAD_HOUR]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "job `app::report` declared at src/report.rs:3 has an invalid schedule `0 25 * * *` \
             in `UTC`: hour must be 0–23, got 25; #[singleton_job] rejects this at compile time, \
             so make sure leader-jobs and leader-jobs-macros are the same version and rebuild"
        );
    }

    #[test]
    fn an_unknown_time_zone_is_rejected_at_startup() {
        let error = check(vec![&BAD_ZONE]).unwrap_err();
        let RegistryError::InvalidSchedule { job, problem } = error else {
            panic!("expected InvalidSchedule, got {error:?}");
        };
        assert_eq!(job.name(), "app::sync");
        assert!(matches!(
            problem,
            crate::ScheduleError::UnknownTimeZone { .. }
        ));
    }
}
