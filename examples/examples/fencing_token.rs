//! The fencing token: `ctx.term()` handed to a downstream store, which refuses writes that
//! carry a lower term than one it has already accepted.
//!
//! The ledger already makes sure that a tick *starts* only once. But a leader can freeze in the
//! middle of a run (a long GC pause, SIGSTOP, a VM migration), lose the lock while frozen, and
//! wake up to finish the run after another node has taken over. Only the store can refuse that
//! late write, and the term is what lets it tell the writes apart.
//!
//! Two nodes on the in-process backend, on simulated time, so it runs in a moment without a
//! broker: `cargo run -p leader-jobs-examples --example fencing_token`.

// The example shows what the store decided on stdout.
#![allow(clippy::print_stdout)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use leader_jobs::backend::memory::{MemoryCluster, Timing};
use leader_jobs::clock::TestClock;
use leader_jobs::{JobContext, Runtime, singleton_job};

/// A store that keeps the highest term it has accepted and refuses anything older: what a
/// database does with `UPDATE reports SET body = $1, term = $2 WHERE id = 'daily' AND term <= $2`.
struct FencedStore {
    highest_term: Mutex<u64>,
}

/// A write from a leader that has since been replaced.
#[derive(Debug)]
struct StaleTerm {
    term: u64,
    highest: u64,
}

impl std::fmt::Display for StaleTerm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "refused: written with term {}, but term {} has written since",
            self.term, self.highest
        )
    }
}

impl FencedStore {
    fn put(&self, report: &str, term: u64) -> Result<(), StaleTerm> {
        let mut highest = self
            .highest_term
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if term < *highest {
            println!("store: REFUSED  term {term}  {report}");
            return Err(StaleTerm {
                term,
                highest: *highest,
            });
        }
        *highest = term;
        println!("store: accepted term {term}  {report}");
        Ok(())
    }
}

static STORE: FencedStore = FencedStore {
    highest_term: Mutex::new(0),
};

/// Set by `main` to make the next run freeze for a while, as a frozen process would.
static FREEZE_NEXT_RUN: AtomicBool = AtomicBool::new(false);

/// Publishes a report every 10 seconds, passing the term along with the write.
#[singleton_job(cron = "*/10 * * * * *", lock = "reports")]
async fn publish_report(ctx: JobContext) -> Result<(), StaleTerm> {
    if FREEZE_NEXT_RUN.swap(false, Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(25)).await;
    }
    let report = format!(
        "report for {} from node {}",
        ctx.tick().format("%H:%M:%S"),
        ctx.node()
    );
    STORE.put(&report, ctx.term())
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The runtime's own account of leaderships, claims and runs, between the store's lines.
    tracing_subscriber::fmt()
        .without_time()
        .with_target(false)
        .compact()
        .init();
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
        .single()
        .ok_or("no such time")?;
    let clock = TestClock::starting_at(start);
    let cluster = MemoryCluster::with_timing(Timing {
        lease: Duration::from_secs(5),
        failover_delay: Duration::from_secs(1),
    });
    let node = |id: &str| {
        Runtime::builder()
            .node_id(id)
            .in_memory(&cluster)
            .clock(clock.clone())
            .build()?
            .start()
    };
    // Node a joins first, so it leads.
    let a = node("a")?;
    let b = node("b")?;

    until(&clock, start, 9).await;
    println!("09:00:09  node a will freeze in its next run (09:00:10) for 25 s");
    FREEZE_NEXT_RUN.store(true, Ordering::SeqCst);
    until(&clock, start, 11).await;
    // The whole process is frozen: its view of the election too. After the lease, b leads.
    cluster.pause("a")?;
    until(&clock, start, 36).await;
    println!("09:00:36  node a has finished its late write and runs normally again");
    cluster.resume("a")?;
    until(&clock, start, 55).await;
    let (a, b) = tokio::join!(a.shutdown(), b.shutdown());
    a?;
    b?;
    Ok(())
}

/// Sleeps until `seconds` after `start` on the simulated clock.
async fn until(clock: &TestClock, start: DateTime<Utc>, seconds: i64) {
    use leader_jobs::clock::Clock as _;
    let target = start + chrono::Duration::seconds(seconds);
    if let Ok(wait) = (target - clock.now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}
