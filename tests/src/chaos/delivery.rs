//! The checks of jobs delivered at least once: every tick that started completed (or is still
//! open in the ledger at the end, its rerun pending); no two attempts at one tick ran at the same
//! time; and a tick completed twice only where the first completion's outcome cannot have reached
//! the ledger, because a fault hit its node (or the broker) right then.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::app::JobSpec;
use super::check::{Evidence, run_intervals};
use super::faults::FaultRecord;
use super::report::{Lost, Report};
use crate::cluster::ProcessAction;
use crate::run_log::RunEvent;

/// How long after a completion a fault on its node may have kept the outcome from the ledger:
/// the outcome is appended right after the run ends, within the ledger's 15 s operation bound.
const OUTCOME_IN_FLIGHT: TimeDelta = TimeDelta::seconds(15);

/// Whether `job` is delivered at least once.
pub(super) fn at_least_once(job: &JobSpec) -> bool {
    job.delivery == leader_jobs::Delivery::AtLeastOnce.to_string()
}

/// Judges every job delivered at least once.
pub(super) fn judge(evidence: &Evidence, faults: &[FaultRecord], report: &mut Report) {
    for job in evidence.jobs.iter().filter(|job| at_least_once(job)) {
        let runs: Vec<&RunEvent> = evidence
            .runs
            .iter()
            .filter(|run| run.job == job.name)
            .collect();
        report.reruns += runs
            .iter()
            .filter(|run| run.event == "start" && run.rerun)
            .count();
        let mut by_tick: BTreeMap<DateTime<Utc>, Vec<&RunEvent>> = BTreeMap::new();
        for run in &runs {
            by_tick.entry(run.tick).or_default().push(run);
        }
        for (tick, events) in &by_tick {
            completed(job, *tick, events, evidence, faults, report);
            overlapping(job, *tick, events, evidence, report);
        }
    }
}

/// A started tick must have completed, once unless a fault explains a second completion.
fn completed(
    job: &JobSpec,
    tick: DateTime<Utc>,
    events: &[&RunEvent],
    evidence: &Evidence,
    faults: &[FaultRecord],
    report: &mut Report,
) {
    let mut ends: Vec<&&RunEvent> = events.iter().filter(|e| e.event == "end").collect();
    ends.sort_by_key(|end| end.at);
    match ends.as_slice() {
        [] if evidence.open_at_end.contains(&(job.name.clone(), tick)) => {
            report.reruns_pending_at_end += 1;
        }
        [] => report.lost.push(Lost {
            job: job.name.clone(),
            tick,
            reason: "started but never completed (delivery at_least_once)".to_owned(),
        }),
        [_] => {}
        [first, ..] => {
            report.completed_twice += 1;
            let explained = faults.iter().any(|fault| {
                fault.node.as_ref().is_none_or(|node| *node == first.node)
                    && fault.began <= first.at + OUTCOME_IN_FLIGHT
                    && fault.lifted >= first.at
            });
            if !explained {
                report.unexplained_completions.push(format!(
                    "{} tick {tick}: completed by {} (term {}) at {} and again, with no fault on {} to keep the first outcome from the ledger",
                    job.name, first.node, first.term, first.at, first.node
                ));
            }
        }
    }
}

/// Attempts at one tick, in order of start, must not overlap: each starts after the one before
/// it ended or its node died. A node frozen meanwhile has lost its lease, so the rerun may begin
/// while its attempt is still suspended; if it then wakes up and ends that attempt, the overlap
/// is counted apart.
fn overlapping(
    job: &JobSpec,
    tick: DateTime<Utc>,
    events: &[&RunEvent],
    evidence: &Evidence,
    report: &mut Report,
) {
    let mut attempts = run_intervals(events, &evidence.lifecycle);
    attempts.sort_by_key(|(_, from, _)| *from);
    let starts: Vec<&&RunEvent> = events.iter().filter(|e| e.event == "start").collect();
    for pair in attempts.windows(2) {
        let [(_, earlier_from, earlier_until), (_, later_from, _)] = pair else {
            continue;
        };
        if later_from >= earlier_until {
            continue;
        }
        let earlier = starts.iter().find(|start| start.at == *earlier_from);
        let Some(earlier) = earlier else {
            continue;
        };
        let frozen = evidence.lifecycle.iter().any(|event| {
            event.node == earlier.node
                && event.action == ProcessAction::Frozen
                && event.at >= *earlier_from
                && event.at <= *later_from
        });
        if frozen {
            report.overlaps_after_freeze += 1;
        } else {
            report.overlapping_attempts.push(format!(
                "{} tick {tick}: an attempt began at {later_from} while the one {} began at {earlier_from} went on until {earlier_until}",
                job.name, earlier.node
            ));
        }
    }
}
