//! Operators' commands from any node: pause, resume and run now, appended to the job's lock's
//! ledger (see [`Handle::pause`](crate::Handle::pause)). One record each, so a command either
//! landed or did not: nothing is half-applied.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use super::cluster::{LockLedger, lock_of};
use crate::backend::{Command, Trigger};
use crate::error::Error;
use crate::scheduler::{LockPlan, OpenLedgers};

/// Appends `command` to the ledger of `job`'s lock; `what` names the call in errors.
pub(super) async fn send(
    plans: &[Arc<LockPlan>],
    ledgers: &OpenLedgers,
    job: &str,
    what: &str,
    command: Command,
) -> Result<(), Error> {
    let index = lock_of(plans, job, what)?;
    let open = LockLedger::of(plans, ledgers, index)?;
    open.ledger
        .command(&command)
        .await
        .map_err(|source| open.failed(source))
}

/// A request id unique to this process: the node, the time and a counter.
pub(super) fn request_id(node: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let count = NEXT.fetch_add(1, Ordering::Relaxed);
    let now = Utc::now().timestamp_micros();
    format!("{node}-{now}-{count}")
}

/// The trigger of `job` with `request`, by `node`, at `at`.
pub(super) fn trigger(job: &str, request: &str, node: &str, at: DateTime<Utc>) -> Command {
    Command::Trigger(Trigger::new(job, request, node, at))
}
