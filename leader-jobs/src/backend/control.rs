//! Operators' control of jobs through the ledger: pause, resume and "run now". Any node (or any
//! tool that can write the lock's ledger) appends the command; the fold applies it in ledger
//! order, so the fencing rule covers it: a paused job's claims are invalid whoever makes them,
//! and a trigger is consumed by the first valid manual claim of the latest term.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};

/// How many request ids of a job's triggers the ledger remembers, so that a repeated request
/// runs once.
pub const REQUESTS_KEPT: usize = 100;

/// A request to run a job now, appended by any node and run once by the lock's leader.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Trigger {
    /// The job to run.
    pub job: String,
    /// The caller's id of the request: a request repeated with the same id runs once.
    pub request: String,
    /// The node that appended it.
    pub by: String,
    /// When it was asked for; the manual run's tick. Never a whole second, so a manual run is
    /// never mistaken for a scheduled one.
    pub at: DateTime<Utc>,
}

impl Trigger {
    /// A request `request` by `by`, made at `at`, to run `job` now.
    pub fn new(job: &str, request: &str, by: &str, mut at: DateTime<Utc>) -> Self {
        if at.timestamp_subsec_nanos() == 0 {
            at += chrono::TimeDelta::nanoseconds(1);
        }
        Self {
            job: job.to_owned(),
            request: request.to_owned(),
            by: by.to_owned(),
            at,
        }
    }
}

/// A command to a job, appended to its lock's ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// From now on in ledger order no claim of `job` is valid: its ticks are skipped.
    Pause {
        /// The job.
        job: String,
        /// The node that asked.
        by: String,
    },
    /// Undoes a pause: the job's next tick runs; those skipped meanwhile are not caught up.
    Resume {
        /// The job.
        job: String,
        /// The node that asked.
        by: String,
    },
    /// Run the job now, once.
    Trigger(Trigger),
}

/// What the ledger's commands left: paused jobs and triggers not yet run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ControlState {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    paused: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pending: Vec<Trigger>,
    /// Per job, the latest request ids seen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    requests: BTreeMap<String, VecDeque<String>>,
}

impl ControlState {
    #[cfg(feature = "pulsar")]
    pub(crate) fn is_empty(&self) -> bool {
        self.paused.is_empty() && self.pending.is_empty() && self.requests.is_empty()
    }

    pub(crate) fn pause(&mut self, job: &str) {
        self.paused.insert(job.to_owned());
    }

    pub(crate) fn resume(&mut self, job: &str) {
        self.paused.remove(job);
    }

    pub(crate) fn is_paused(&self, job: &str) -> bool {
        self.paused.contains(job)
    }

    /// Takes `trigger` as pending, unless its request id was seen before.
    pub(crate) fn request(&mut self, trigger: &Trigger) {
        let seen = self.requests.entry(trigger.job.clone()).or_default();
        if seen.contains(&trigger.request) {
            return;
        }
        if seen.len() == REQUESTS_KEPT {
            seen.pop_front();
        }
        seen.push_back(trigger.request.clone());
        let waiting = self.pending.iter().filter(|t| t.job == trigger.job).count();
        if waiting == REQUESTS_KEPT {
            if let Some(oldest) = self.pending.iter().position(|t| t.job == trigger.job) {
                self.pending.remove(oldest);
            }
        }
        self.pending.push(trigger.clone());
    }

    /// Consumes the pending trigger `request` of `job`, if there is one.
    pub(crate) fn take(&mut self, job: &str, request: &str) -> bool {
        let before = self.pending.len();
        self.pending
            .retain(|trigger| !(trigger.job == job && trigger.request == request));
        self.pending.len() < before
    }

    pub(crate) fn paused(&self) -> &BTreeSet<String> {
        &self.paused
    }

    pub(crate) fn pending(&self) -> &[Trigger] {
        &self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_request_is_pending_once_and_taken_once() {
        let mut state = ControlState::default();
        let trigger = Trigger::new("j", "r1", "a", Utc::now());
        state.request(&trigger);
        state.request(&trigger);
        assert_eq!(state.pending(), std::slice::from_ref(&trigger));
        assert!(state.take("j", "r1"));
        assert!(!state.take("j", "r1"));
        state.request(&trigger);
        assert!(
            state.pending().is_empty(),
            "a request already run is not run again"
        );
    }

    #[test]
    fn the_ids_kept_are_bounded() {
        let mut state = ControlState::default();
        for n in 0..=REQUESTS_KEPT {
            state.request(&Trigger::new("j", &n.to_string(), "a", Utc::now()));
        }
        assert_eq!(state.requests["j"].len(), REQUESTS_KEPT);
        let whole = DateTime::<Utc>::UNIX_EPOCH;
        assert_ne!(
            Trigger::new("j", "r", "a", whole)
                .at
                .timestamp_subsec_nanos(),
            0
        );
    }
}
