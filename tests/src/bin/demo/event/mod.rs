//! What a node reports, read back into the events the demo follows. Two kinds of JSON lines
//! come from a node's stdout: the runtime's typed events (`leader_jobs::Event` in its documented
//! serde form, which the example writes with `LOG_FORMAT=json`: `typed.rs`), and its log lines
//! (`log.rs`), of which the demo follows only what no event carries: the jobs' own lines (the run
//! happened), the start-up registration of each job, and warnings and errors.

mod log;
mod typed;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// One event of one node, at the node's own timestamp.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Event {
    pub(crate) at: DateTime<Utc>,
    pub(crate) kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    /// The runtime's start-up line for each job.
    JobRegistered {
        job: String,
        lock: String,
        cron: String,
        tz: String,
        misfire: String,
    },
    /// The scheduler began a term: from now on this node runs the lock's jobs.
    LeadershipGained { lock: String, term: u64 },
    /// The scheduler ended its term.
    LeadershipLost {
        lock: String,
        term: u64,
        reason: String,
    },
    /// A line the job itself logged while running a tick: the run happened.
    Run(RunId),
    /// The runtime started a run for a tick that passed while no node led (misfire policy).
    CatchUp(RunId),
    /// The runtime started a run an operator triggered; its tick is the trigger's time.
    Manual(RunId),
    /// The runtime ran a tick again whose attempt an earlier leader abandoned (delivery at least
    /// once): a further attempt, not a duplicate.
    Rerun(RunId),
    /// A tick of a paused job was skipped.
    Paused { job: String, tick: DateTime<Utc> },
    /// A new leader found a claim without outcome: the previous leader died between claiming the
    /// tick and finishing the run, and the tick is not run again.
    Abandoned { job: String, tick: DateTime<Utc> },
    /// The ledger refused this node's claim of a tick: another node's claim came first, or a
    /// newer term began (the node's belief that it leads was stale).
    ClaimLost {
        job: String,
        tick: DateTime<Utc>,
        term: u64,
        highest_term: u64,
    },
    /// Anything else of leader-jobs worth showing: warnings, errors, misfire decisions.
    Notice { level: String, message: String },
}

/// Which run of which tick.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RunId {
    pub(crate) job: String,
    pub(crate) lock: String,
    pub(crate) tick: DateTime<Utc>,
    pub(crate) term: u64,
}

/// Reads one line of a node's stdout; `None` for lines the demo does not follow (the `pulsar`
/// crate's, routine information, anything that is not JSON).
pub(crate) fn parse(line: &str) -> Option<Event> {
    let value: Value = serde_json::from_str(line).ok()?;
    let at = DateTime::parse_from_rfc3339(value.get("timestamp")?.as_str()?)
        .ok()?
        .with_timezone(&Utc);
    let kind = if value.get("event").is_some() {
        typed::parse(&value)?
    } else {
        log::parse(&value)?
    };
    Some(Event { at, kind })
}
