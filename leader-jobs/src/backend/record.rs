//! The records a lock's ledger holds, in the order the ledger holds them.

use chrono::{DateTime, Utc};

use super::{Claim, RunOutcome};

/// One entry of a lock's ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LedgerRecord {
    /// A node began a term; valid only if `term` is higher than every valid term before it.
    TermStart {
        /// The term begun.
        term: u64,
        /// The node that began it.
        node: String,
    },
    /// A node claimed a tick of a job.
    Claim(Claim),
    /// A run that won its claim ended.
    Outcome {
        /// The job.
        job: String,
        /// The tick that ran.
        tick: DateTime<Utc>,
        /// The term of the run's claim.
        term: u64,
        /// The node that ran it.
        node: String,
        /// How the run ended.
        outcome: RunOutcome,
    },
}
