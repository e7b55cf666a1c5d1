//! Many jobs without writing them out: descriptors built at run time.
//!
//! `#[singleton_job]` is the only public way to declare a job, and 10 000 annotated functions
//! would take minutes to compile. The bench therefore calls the hidden constructor the macro
//! expands to (`leader_jobs::__private::descriptor`), which is not public API; it is used here
//! only to measure how the runtime copes with many jobs and locks.

use leader_jobs::__private::{
    Duration, JobDescriptor, JobFuture, MisfirePolicy, OverlapPolicy, SourceLocation, boxed,
    descriptor,
};
use leader_jobs::JobContext;

fn nothing(_: JobContext) -> JobFuture {
    boxed(async { Ok(()) })
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// `locks × jobs_per_lock` jobs on `cron`, named `job-<lock>-<n>` on locks `lock-<lock>`; they
/// live for the rest of the process.
pub(crate) fn jobs(
    locks: usize,
    jobs_per_lock: usize,
    cron: &'static str,
) -> Vec<&'static JobDescriptor> {
    let mut jobs = Vec::with_capacity(locks * jobs_per_lock);
    for lock in 0..locks {
        let lock_name = leak(format!("lock-{lock}"));
        for job in 0..jobs_per_lock {
            let built = descriptor(
                leak(format!("job-{lock}-{job}")),
                lock_name,
                cron,
                "UTC",
                OverlapPolicy::Skip,
                MisfirePolicy::FireOnce,
                Duration::from_secs(3600),
                None,
                SourceLocation {
                    module_path: module_path!(),
                    file: file!(),
                    line: line!(),
                },
                nothing,
            );
            jobs.push(&*Box::leak(Box::new(built)));
        }
    }
    jobs
}
