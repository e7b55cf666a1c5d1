//! The records a lock's ledger holds, in the order the ledger holds them.

use chrono::{DateTime, Utc};

use super::{AnnouncedSchedules, Claim, Command, RunEnd, RunOutcome, Trigger};

/// One record of a lock's ledger. Its serde form (a JSON object with a `kind` tag and the claim's
/// fields inline) is what the Pulsar backend writes, with the format version `v` added.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LedgerRecord {
    /// A node began a term: it leads from here on, and claims of other terms after this record are
    /// invalid. Valid only if its term is higher than every valid term before it.
    TermStart {
        /// The new term.
        term: u64,
        /// The node that began it.
        node: String,
        /// When, by the node's wall clock; versions before the cluster view did not write it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<DateTime<Utc>>,
    },
    /// A claim of one tick, appended before the run.
    Claim(Claim),
    /// Another attempt at a tick whose last attempt failed: a retry, appended before it runs. Valid
    /// only under the latest term, for the job's latest claimed tick, once the attempt before it
    /// has an outcome; then the tick is open again until this attempt's outcome.
    Retry {
        /// The claim, under the retrying leader's term.
        #[serde(flatten)]
        claim: Claim,
        /// Which attempt this is: 2 for the first retry.
        attempt: u32,
        /// Why the tick runs again; versions before reruns wrote none, and retried only failures.
        #[serde(default, skip_serializing_if = "RetryCause::is_failure")]
        after: RetryCause,
    },
    /// The schedules a leader runs the lock's jobs on, appended after its term start.
    Schedules(AnnouncedSchedules),
    /// The outcome of an attempt at a claimed tick, appended after it.
    Outcome {
        /// The claim the run was for.
        #[serde(flatten)]
        claim: Claim,
        /// How the run ended.
        outcome: RunOutcome,
        /// Which attempt it was; versions before retries wrote none, and made only first ones.
        #[serde(default = "first_attempt")]
        attempt: u32,
        /// When the attempt started; versions before run history did not write it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        started: Option<DateTime<Utc>>,
        /// How long it ran, in milliseconds; as `started`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    /// An operator paused `job`: no claim of it is valid until it is resumed.
    Pause {
        /// The job.
        job: String,
        /// The node that asked.
        by: String,
    },
    /// An operator resumed `job`.
    Resume {
        /// The job.
        job: String,
        /// The node that asked.
        by: String,
    },
    /// An operator asked for a run of a job now.
    Trigger(Trigger),
    /// The leader's claim of a triggered run, appended before it; `claim.tick` is the trigger's
    /// time. Valid only under the latest term, while the trigger is pending and the job not
    /// paused; the first valid one consumes the trigger.
    Manual {
        /// The claim.
        #[serde(flatten)]
        claim: Claim,
        /// The trigger's request id.
        request: String,
    },
    /// The leader gives back a tick it claimed and did not start (it claimed ahead of the tick and
    /// leadership ended, or the node shut down, before the tick came): the tick is open again, and
    /// the next leader's misfire policy decides it. Valid only under the claim's own term while it
    /// is the latest, for the job's latest claimed tick, while that first attempt is open.
    Release(Claim),
    /// A leader that began its term found `claim` without an outcome and reported it as an
    /// abandoned run; later leaders take it as settled and do not report it again.
    Abandoned {
        /// The claim that never got an outcome.
        #[serde(flatten)]
        claim: Claim,
        /// The term of the leader that reported it.
        #[serde(rename = "by_term")]
        term: u64,
        /// The node that reported it.
        #[serde(rename = "by_node")]
        node: String,
    },
}

/// Why a tick runs again.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryCause {
    /// The attempt before failed on its own (an error, a panic, its timeout): a retry.
    #[default]
    Failure,
    /// The attempt before was abandoned by its leader and the job is delivered at least once: a
    /// rerun after abandonment, by the next leader.
    Abandonment,
}

impl RetryCause {
    #[allow(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's `skip_serializing_if` passes the field by reference"
    )]
    pub(crate) fn is_failure(&self) -> bool {
        *self == Self::Failure
    }
}

impl From<&Command> for LedgerRecord {
    fn from(command: &Command) -> Self {
        match command {
            Command::Pause { job, by } => Self::Pause {
                job: job.clone(),
                by: by.clone(),
            },
            Command::Resume { job, by } => Self::Resume {
                job: job.clone(),
                by: by.clone(),
            },
            Command::Trigger(trigger) => Self::Trigger(trigger.clone()),
        }
    }
}

impl LedgerRecord {
    /// `node`'s start of `term` at `at`.
    pub(crate) fn term_start(term: u64, node: &str, at: DateTime<Utc>) -> Self {
        Self::TermStart {
            term,
            node: node.to_owned(),
            at: Some(at),
        }
    }

    /// The outcome record of `claim`'s attempt that ended as `end`.
    pub(crate) fn outcome(claim: &Claim, end: &RunEnd) -> Self {
        Self::Outcome {
            claim: claim.clone(),
            outcome: end.outcome,
            attempt: end.attempt,
            started: Some(end.started),
            duration_ms: Some(u64::try_from(end.duration.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

pub(crate) fn first_attempt() -> u32 {
    1
}
