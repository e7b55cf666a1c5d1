//! Many jobs without writing them out: jobs built in code with `Job::new`, as an application
//! that declares its jobs from configuration would, instead of 10 000 annotated functions that
//! would take minutes to compile.

use leader_jobs::Job;

/// `locks × jobs_per_lock` jobs on `cron` that do nothing, named `job-<lock>-<n>` on locks
/// `lock-<lock>`.
pub(crate) fn jobs(locks: usize, jobs_per_lock: usize, cron: &str) -> Vec<Job> {
    let mut jobs = Vec::with_capacity(locks * jobs_per_lock);
    for lock in 0..locks {
        for job in 0..jobs_per_lock {
            jobs.push(
                Job::new(format!("job-{lock}-{job}"), cron, || async {})
                    .lock(format!("lock-{lock}")),
            );
        }
    }
    jobs
}
