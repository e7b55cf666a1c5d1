//! Whether the nodes of a cluster agree on a lock's schedules. Each node applies its own
//! configuration, so nodes configured differently run a job on different schedules as leadership
//! moves. Every leader announces its schedules in the ledger when it begins a term; a node that
//! finds the latest announcement differing from its own (a follower shortly after it joins, a
//! leader at takeover) warns once per job and difference, and shows the leader's schedule in the
//! job's status. The leader's schedule is the one that applies while it leads.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use super::LockPlan;
use super::report::Report;
use crate::backend::AnnouncedSchedules;

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
