//! Whether the nodes of a cluster agree on a lock's schedules. Each node applies its own
//! configuration, so nodes configured differently run a job on different schedules as leadership
//! moves. Every leader announces its schedules in the ledger when it begins a term; a node that
//! finds the latest announcement differing from its own (a follower shortly after it joins, a
//! leader at takeover) warns once per job and difference, and shows the leader's schedule in the
//! job's status. The leader's schedule is the one that applies while it leads.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use super::report::Report;
use super::{LockPlan, LockScheduler};
use crate::backend::{AnnouncedSchedules, LedgerHistory};

/// How a job's schedule is written in an announcement and in the status.
pub(crate) fn describe(cron: &str, tz: &str) -> String {
    format!("{cron} ({tz})")
}

/// This node's schedules for `plan`, as the leader of `term` announces them.
pub(super) fn announcement(plan: &LockPlan, term: u64, node: &str) -> AnnouncedSchedules {
    AnnouncedSchedules {
        term,
        node: node.to_owned(),
        schedules: plan
            .jobs
            .iter()
            .map(|job| {
                let schedule = describe(job.job.cron(), job.job.get_tz());
                (job.job.name().to_owned(), schedule)
            })
            .collect(),
    }
}

/// Compares the schedules the previous leader announced with this node's (warning once about
/// differences: this node's apply from now on), then announces this node's.
pub(super) fn at_term_start(lock: &LockScheduler, history: &LedgerHistory, term: u64) {
    lock.leading.store(true, Ordering::SeqCst);
    if let Some(announced) = history
        .schedules
        .as_ref()
        .filter(|a| *a.node != *lock.env.node)
    {
        let report = &*lock.env.report;
        lock.schedule_check
            .compare(&lock.plan, lock.lock_index, announced, report);
    }
    for index in 0..lock.plan.jobs.len() {
        lock.env
            .report
            .leader_schedule(lock.lock_index, index, None);
    }
    // Beside the term's first claims rather than before them: nothing depends on it.
    let announced = announcement(&lock.plan, term, &lock.env.node);
    let (ledger, name) = (Arc::clone(&lock.ledger), Arc::clone(&lock.plan.lock));
    let shutdown = lock.env.shutdown.clone();
    lock.env.tracker.spawn(async move {
        // Shutdown does not wait for it: a broker that is down would hold it for a whole
        // ledger operation.
        let announced = tokio::select! {
            () = shutdown.cancelled() => return,
            announced = ledger.announce_schedules(&announced) => announced,
        };
        if let Err(error) = announced {
            tracing::warn!(
                lock = &*name,
                term,
                %error,
                "could not announce this node's schedules in the ledger; nodes configured \
                 otherwise will not be warned"
            );
        }
    });
}

/// The differences one node has already warned about, so that each is warned once.
#[derive(Debug, Default)]
pub(super) struct ScheduleCheck {
    warned: Mutex<BTreeSet<(String, String)>>,
}

impl ScheduleCheck {
    /// Compares `announced` (another node's) with this node's `ours` for lock `lock_index`,
    /// warning once per difference and reporting the leader's schedule where it differs.
    pub(super) fn compare(
        &self,
        plan: &LockPlan,
        lock_index: usize,
        announced: &AnnouncedSchedules,
        report: &dyn Report,
    ) {
        let ours = announcement(plan, announced.term, &announced.node);
        for (index, (job, schedule)) in ours.schedules.iter().enumerate() {
            let theirs = announced.schedules.get(job);
            if theirs == Some(schedule) {
                report.leader_schedule(lock_index, index, None);
                continue;
            }
            let theirs = theirs.map_or("off", String::as_str);
            report.leader_schedule(lock_index, index, Some(theirs.to_owned()));
            if self.first_time(job, theirs) {
                tracing::warn!(
                    lock = &*plan.lock,
                    job,
                    ours = %schedule,
                    leader = %theirs,
                    leader_node = %announced.node,
                    leader_term = announced.term,
                    "the nodes' schedules differ: the lock's latest leader runs this job on \
                     another schedule (or has it off); whichever node leads applies its own, so \
                     give every node the same configuration"
                );
            }
        }
        for (job, theirs) in &announced.schedules {
            if !ours.schedules.contains_key(job) && self.first_time(job, theirs) {
                tracing::warn!(
                    lock = &*plan.lock,
                    job = %job,
                    leader = %theirs,
                    leader_node = %announced.node,
                    leader_term = announced.term,
                    "the nodes' schedules differ: the lock's latest leader runs a job this node \
                     does not run (switched off here, or not in this binary)"
                );
            }
        }
    }

    fn first_time(&self, job: &str, theirs: &str) -> bool {
        self.warned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((job.to_owned(), theirs.to_owned()))
    }
}
