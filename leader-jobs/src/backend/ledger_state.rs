//! The fencing rule, as a pure fold over ledger records in ledger order. Every backend appends
//! records to a totally ordered log and replays them through [`LedgerState`], so the rule that
//! decides which claim runs is written once.
//!
//! The rule (DESIGN.md, "Ledger"):
//! - a term-start is valid only if its term is higher than every valid term before it, so two nodes
//!   that raced to begin the same term cannot both hold it;
//! - a claim is valid only if it was made under the latest valid term, by the node that began it:
//!   once a higher term began, everything the old leader appends is ignored;
//! - of the valid claims for one (job, tick), the first wins. Valid claims of one job come in tick
//!   order (one leader claims its ticks in order; a new leader only claims ticks after the last
//!   claimed one), so "first for this tick" is "tick later than the last claimed tick";
//! - a retry of a tick is valid only under the latest valid term, for the job's last claimed tick,
//!   once the attempt before it has an outcome: one attempt at a time, and none by a stale
//!   leader;
//! - a release gives a claimed tick back, as if it had never been claimed: valid only under the
//!   latest valid term, by the claim's own leader, for the job's last claimed tick while its
//!   first attempt is open. A new leader therefore either finds the claim released (and its
//!   misfire policy decides the tick) or finds it open (and reports or reruns it), never both.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::control::ControlState;
use super::record::first_attempt;
use super::{
    AnnouncedSchedules, Claim, ClaimVerdict, JobRuns, LedgerHistory, PastRun, PendingCommands,
};
use super::{LedgerRecord, RetryCause};

/// What applying one record changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    /// A term-start that became the current term, or one that lost (a term as high already began).
    TermStart { valid: bool },
    /// A claim, and whether it won.
    Claim(ClaimVerdict),
    /// An outcome record, or the report of a claim that never got one.
    Outcome,
    /// A leader's announcement of its schedules.
    Announcement,
    /// An operator's command.
    Command,
    /// A release, and whether it gave the tick back.
    Release { valid: bool },
}

/// The state of a lock's ledger after some prefix of its records.
#[derive(Clone, Debug, Default)]
pub(crate) struct LedgerState {
    highest_term: u64,
    term_holder: Option<String>,
    /// When the holder began the highest term, if its record says.
    term_began: Option<DateTime<Utc>>,
    last_claimed: HashMap<String, DateTime<Utc>>,
    /// Winning claims with no outcome yet, keyed by (job, tick) in tick order per job.
    open: BTreeMap<(String, DateTime<Utc>), OpenRun>,
    /// The latest valid announcement of schedules.
    announced: Option<AnnouncedSchedules>,
    /// Per job, the runs the ledger remembers.
    runs: BTreeMap<String, JobRuns>,
    /// Paused jobs and pending triggers.
    control: ControlState,
}

/// A winning claim (or retry) whose attempt has no outcome yet.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct OpenRun {
    #[serde(flatten)]
    pub(crate) claim: Claim,
    /// Checkpoints before retries wrote none: every open attempt was a first one.
    #[serde(default = "first_attempt", skip_serializing_if = "is_first")]
    pub(crate) attempt: u32,
    /// Why the attempt runs, when it is not a tick's first.
    #[serde(default, skip_serializing_if = "RetryCause::is_failure")]
    pub(crate) after: RetryCause,
    /// A run an operator triggered.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub(crate) manual: bool,
    /// What a release of this claim restores: set for a tick's first scheduled claim only, so
    /// retries, reruns, manual runs and checkpoints written before releases cannot be released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) releasable: Option<Releasable>,
    /// When the claim's leader began its term, by that leader's clock: the attempt began no
    /// earlier. Unknown for terms whose start did not say, and in checkpoints before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) term_began: Option<DateTime<Utc>>,
}

/// A claim that can be given back.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Releasable {
    /// The job's latest claimed tick before this claim: its latest again once released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous: Option<DateTime<Utc>>,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's `skip_serializing_if` passes the field by reference"
)]
fn is_first(attempt: &u32) -> bool {
    *attempt == 1
}

impl LedgerState {
    /// Applies the next record in ledger order.
    pub(crate) fn apply(&mut self, record: &LedgerRecord) -> Applied {
        match record {
            LedgerRecord::TermStart { term, node, at } => {
                let valid = *term > self.highest_term;
                if valid {
                    self.highest_term = *term;
                    self.term_holder = Some(node.clone());
                    self.term_began = *at;
                }
                Applied::TermStart { valid }
            }
            LedgerRecord::Claim(claim) => Applied::Claim(self.judge(claim)),
            LedgerRecord::Retry {
                claim,
                attempt,
                after,
            } => Applied::Claim(self.judge_retry(claim, *attempt, *after)),
            LedgerRecord::Schedules(announced) => {
                let by_holder = announced.term == self.highest_term
                    && self.term_holder.as_deref() == Some(announced.node.as_str());
                if by_holder {
                    self.announced = Some(announced.clone());
                }
                Applied::Announcement
            }
            LedgerRecord::Outcome {
                claim,
                outcome,
                started,
                duration_ms,
                ..
            } => {
                self.settle(claim, |attempt| PastRun {
                    outcome: Some(*outcome),
                    // Versions before run history wrote neither: the entry keeps them unknown.
                    started: *started,
                    duration: duration_ms.map(Duration::from_millis),
                    ..PastRun::abandoned(claim, attempt)
                });
                Applied::Outcome
            }
            LedgerRecord::Pause { job, .. } => {
                self.control.pause(job);
                Applied::Command
            }
            LedgerRecord::Resume { job, .. } => {
                self.control.resume(job);
                Applied::Command
            }
            LedgerRecord::Trigger(trigger) => {
                self.control.request(trigger);
                Applied::Command
            }
            LedgerRecord::Manual { claim, request } => {
                Applied::Claim(self.judge_manual(claim, request))
            }
            LedgerRecord::Abandoned { claim, .. } => {
                self.settle(claim, |attempt| PastRun::abandoned(claim, attempt));
                Applied::Outcome
            }
            LedgerRecord::Release(claim) => Applied::Release {
                valid: self.release(claim),
            },
        }
    }

    /// Gives `claim`'s tick back if the rule allows (see the module's rule), and says whether it
    /// did.
    fn release(&mut self, claim: &Claim) -> bool {
        let key = (claim.job.clone(), claim.tick);
        let latest = self.last_claimed.get(&claim.job) == Some(&claim.tick);
        let Some(open) = self.open.get(&key) else {
            return false;
        };
        let releasable = match &open.releasable {
            Some(releasable) if open.claim == *claim && open.attempt == 1 => releasable.clone(),
            _ => return false,
        };
        if !self.under_current_term(claim) || !latest {
            return false;
        }
        self.open.remove(&key);
        match releasable.previous {
            Some(previous) => self.last_claimed.insert(claim.job.clone(), previous),
            None => self.last_claimed.remove(&claim.job),
        };
        true
    }

    /// Closes `claim`'s open attempt and remembers the run `past` makes of it (given the
    /// attempt's number). A record for an attempt that is not open (a claim that lost, an
    /// outcome repeated) changes nothing.
    fn settle(&mut self, claim: &Claim, past: impl FnOnce(u32) -> PastRun) {
        let key = (claim.job.clone(), claim.tick);
        if self.open.get(&key).is_none_or(|open| open.claim != *claim) {
            return;
        }
        if let Some(open) = self.open.remove(&key) {
            let mut run = past(open.attempt);
            run.rerun = open.after == RetryCause::Abandonment;
            run.manual = open.manual;
            self.runs.entry(claim.job.clone()).or_default().push(run);
        }
    }

    fn under_current_term(&self, claim: &Claim) -> bool {
        claim.term == self.highest_term && self.term_holder.as_deref() == Some(claim.node.as_str())
    }

    fn judge_manual(&mut self, claim: &Claim, request: &str) -> ClaimVerdict {
        let key = (claim.job.clone(), claim.tick);
        if !self.under_current_term(claim) || self.open.contains_key(&key) {
            return ClaimVerdict::Lost {
                winner: self.open.get(&key).map(|open| open.claim.clone()),
                highest_term: self.highest_term,
            };
        }
        if self.control.is_paused(&claim.job) {
            return ClaimVerdict::Paused;
        }
        if !self.control.take(&claim.job, request) {
            return ClaimVerdict::Lost {
                winner: None,
                highest_term: self.highest_term,
            };
        }
        let open = OpenRun {
            claim: claim.clone(),
            attempt: 1,
            after: RetryCause::Failure,
            manual: true,
            releasable: None,
            term_began: self.term_began,
        };
        self.open.insert(key, open);
        ClaimVerdict::Won
    }

    fn judge_retry(&mut self, claim: &Claim, attempt: u32, after: RetryCause) -> ClaimVerdict {
        let key = (claim.job.clone(), claim.tick);
        let latest = self.last_claimed.get(&claim.job) == Some(&claim.tick);
        // A retry after a failure needs the attempt before it settled. A rerun after an
        // abandonment may itself abandon the attempt an older term left open: one record both
        // closes the old attempt and claims the new one, so no leader can fail between the two
        // and leave the tick closed but never run again.
        let free = match self.open.get(&key) {
            None => true,
            Some(open) => after == RetryCause::Abandonment && open.claim.term < claim.term,
        };
        if self.under_current_term(claim) && latest && free {
            if self.control.is_paused(&claim.job) {
                return ClaimVerdict::Paused;
            }
            if let Some(old) = self.open.remove(&key) {
                let mut run = PastRun::abandoned(&old.claim, old.attempt);
                run.rerun = old.after == RetryCause::Abandonment;
                run.manual = old.manual;
                self.runs.entry(claim.job.clone()).or_default().push(run);
            }
            let claim = claim.clone();
            self.open.insert(
                key,
                OpenRun {
                    claim,
                    attempt,
                    after,
                    manual: false,
                    releasable: None,
                    term_began: self.term_began,
                },
            );
            return ClaimVerdict::Won;
        }
        ClaimVerdict::Lost {
            winner: self.open.get(&key).map(|open| open.claim.clone()),
            highest_term: self.highest_term,
        }
    }

    fn judge(&mut self, claim: &Claim) -> ClaimVerdict {
        let under_current_term = self.under_current_term(claim);
        let last = self.last_claimed.get(&claim.job).copied();
        let tick_is_new = last.is_none_or(|last| claim.tick > last);
        if under_current_term && tick_is_new {
            let previous = self.last_claimed.insert(claim.job.clone(), claim.tick);
            if self.control.is_paused(&claim.job) {
                // Handled, not run: no later leader catches a paused tick up.
                return ClaimVerdict::Paused;
            }
            let open = OpenRun {
                claim: claim.clone(),
                attempt: 1,
                after: RetryCause::Failure,
                manual: false,
                releasable: Some(Releasable { previous }),
                term_began: self.term_began,
            };
            self.open.insert((claim.job.clone(), claim.tick), open);
            return ClaimVerdict::Won;
        }
        let winner = self
            .open
            .get(&(claim.job.clone(), claim.tick))
            .map(|open| open.claim.clone());
        ClaimVerdict::Lost {
            winner,
            highest_term: self.highest_term,
        }
    }

    #[cfg(feature = "pulsar")]
    /// The whole state, to be written as a checkpoint that a cold reader starts from instead of
    /// folding every record before it.
    pub(crate) fn snapshot(&self) -> LedgerSnapshot {
        LedgerSnapshot {
            highest_term: self.highest_term,
            term_holder: self.term_holder.clone(),
            term_began: self.term_began,
            last_claimed: self
                .last_claimed
                .iter()
                .map(|(job, tick)| (job.clone(), *tick))
                .collect(),
            open: self.open.values().cloned().collect(),
            announced: self.announced.clone(),
            runs: self.runs.clone(),
            control: self.control.clone(),
        }
    }

    #[cfg(feature = "pulsar")]
    /// The state a checkpoint recorded.
    pub(crate) fn from_snapshot(snapshot: LedgerSnapshot) -> Self {
        Self {
            highest_term: snapshot.highest_term,
            term_holder: snapshot.term_holder,
            term_began: snapshot.term_began,
            last_claimed: snapshot.last_claimed.into_iter().collect(),
            open: snapshot
                .open
                .into_iter()
                .map(|open| ((open.claim.job.clone(), open.claim.tick), open))
                .collect(),
            announced: snapshot.announced,
            runs: snapshot.runs,
            control: snapshot.control,
        }
    }

    #[cfg(feature = "pulsar")]
    /// The highest valid term so far.
    pub(crate) fn highest_term(&self) -> u64 {
        self.highest_term
    }

    /// What a new leader needs to know: highest term, last claimed tick per job, and claims that
    /// never got an outcome.
    /// The paused jobs and pending triggers alone.
    pub(crate) fn commands(&self) -> PendingCommands {
        PendingCommands {
            paused: self.control.paused().clone(),
            triggers: self.control.pending().to_vec(),
        }
    }

    pub(crate) fn history(&self) -> LedgerHistory {
        LedgerHistory {
            highest_term: self.highest_term,
            term_holder: self.term_holder.clone(),
            term_began: self.term_began,
            last_claimed: self.last_claimed.clone(),
            abandoned: self.open.values().map(|open| open.claim.clone()).collect(),
            abandoned_attempts: self
                .open
                .iter()
                .filter(|(_, open)| open.attempt > 1)
                .map(|(key, open)| (key.clone(), open.attempt))
                .collect(),
            abandoned_began: self
                .open
                .iter()
                .filter_map(|(key, open)| {
                    let began = open.term_began?.max(open.claim.tick);
                    Some((key.clone(), began))
                })
                .collect(),
            schedules: self.announced.clone(),
            runs: self.runs.clone(),
            paused: self.control.paused().clone(),
            triggers: self.control.pending().to_vec(),
        }
    }
}

#[cfg(feature = "pulsar")]
/// Everything [`LedgerState`] holds, in the order a checkpoint record writes it; its serde form
/// is the checkpoint's body.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LedgerSnapshot {
    pub(crate) highest_term: u64,
    pub(crate) term_holder: Option<String>,
    /// Checkpoints before the cluster view lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) term_began: Option<DateTime<Utc>>,
    pub(crate) last_claimed: BTreeMap<String, DateTime<Utc>>,
    /// Winning claims with no outcome, in (job, tick) order.
    pub(crate) open: Vec<OpenRun>,
    /// The latest valid announcement of schedules; checkpoints before announcements lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) announced: Option<AnnouncedSchedules>,
    /// Per job, the runs the ledger remembers; checkpoints before run history lack it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) runs: BTreeMap<String, JobRuns>,
    /// Paused jobs and pending triggers; checkpoints before them lack it.
    #[serde(default, skip_serializing_if = "ControlState::is_empty")]
    pub(crate) control: ControlState,
}

#[cfg(test)]
#[path = "ledger_state_tests.rs"]
mod tests;
