//! One run of a claimed tick: timeout, panics, cancellation after leadership ends, and recording the
//! outcome in the ledger and the status.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::JobContext;
use crate::backend::{Claim, Election, Ledger, RunOutcome};
use crate::clock::Clock;
use crate::job::Job;
use crate::runtime::status::{LastRun, StatusBoard};

/// Why a tick runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RunKind {
    /// At its scheduled time (or as the one queued tick right after the previous run).
    Scheduled,
    /// For a missed tick, per the misfire policy.
    CatchUp,
}

/// Everything one run needs; built by the scheduler once the ledger gave it the tick.
pub(super) struct Run {
    pub(super) job: Arc<Job>,
    pub(super) claim: Claim,
    pub(super) kind: RunKind,
    /// The run must start before this instant or not at all (see `Ledger::claim_window`).
    pub(super) start_by: Option<Instant>,
    pub(super) context: JobContext,
    /// Cancelled when the term ends; the run is dropped `grace` later if still going.
    pub(super) term_ended: CancellationToken,
    pub(super) grace: Duration,
    pub(super) ledger: Arc<dyn Ledger>,
    /// Asked right before the job starts whether the lease still holds.
    pub(super) election: Arc<dyn Election>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) status: Arc<StatusBoard>,
    pub(super) lock_index: usize,
    pub(super) job_index: usize,
    pub(super) running: Arc<AtomicUsize>,
    /// Tells the scheduler the job is free again, so a queued tick can start.
    pub(super) finished: mpsc::UnboundedSender<usize>,
}

impl Run {
    /// Runs the job to its end and records how it ended.
    pub(super) async fn execute(self) {
        let span = tracing::info_span!(
            "job_run",
            job = self.job.name(),
            lock = self.job.get_lock(),
            tick = %self.claim.tick,
            term = self.claim.term,
            node = %self.claim.node,
        );
        async move {
            if self.kind == RunKind::CatchUp {
                tracing::info!("catch-up run for a missed tick");
            }
            let started_at = self.context.started_at();
            // The claim was won, but if the lease ran out before the job began (typically a
            // process frozen between claim and start), starting now would act on a stale term
            // while another node may already lead. The claim is left without an outcome, so the
            // next leader reports the tick as abandoned instead of it being silently lost. A
            // lease that holds is not enough: the run starts only on a recent confirmation from
            // the broker, and within the ledger's claim window of the claim being sent, so that
            // it starts before any newer term's first run.
            let lapsed = if self.term_ended.is_cancelled() || !self.election.confirm().await {
                Some("leadership lapsed before the run began")
            } else if self.start_by.is_some_and(|by| Instant::now() >= by) {
                Some("the claim's verdict came back too late to start the run: a newer term may have begun since")
            } else {
                None
            };
            let (outcome, error) = match lapsed {
                Some(why) => {
                    tracing::warn!(reason = why, "run not started");
                    (RunOutcome::Cancelled, Some(why.to_owned()))
                }
                None => self.outcome().await,
            };
            let finished_at = self.clock.now();
            match outcome {
                RunOutcome::Ok => tracing::debug!("run ok"),
                RunOutcome::Failed => tracing::warn!(error = error.as_deref(), "run failed"),
                RunOutcome::Panicked => tracing::error!(panic = error.as_deref(), "run panicked"),
                RunOutcome::TimedOut => tracing::warn!(
                    timeout = ?self.job.get_timeout(),
                    "run timed out and was cancelled"
                ),
                RunOutcome::Cancelled => tracing::warn!(
                    grace = ?self.grace,
                    "run dropped: still going a grace period after leadership ended"
                ),
            }
            let tick = self.claim.tick;
            let kind = self.kind;
            self.status
                .update_job(self.lock_index, self.job_index, |job| {
                    let counts = &mut job.counts;
                    match outcome {
                        RunOutcome::Ok => counts.ok += 1,
                        RunOutcome::Failed => counts.failed += 1,
                        RunOutcome::Panicked => counts.panicked += 1,
                        RunOutcome::TimedOut => counts.timed_out += 1,
                        RunOutcome::Cancelled => counts.cancelled += 1,
                    }
                    if kind == RunKind::CatchUp {
                        counts.caught_up += 1;
                    }
                    job.running = job.running.saturating_sub(1);
                    job.last_run = Some(LastRun {
                        tick,
                        started_at,
                        finished_at,
                        outcome,
                        error,
                    });
                });
            // The job is done: the next tick may start while the outcome is being recorded. The
            // fault campaign, with 250 ms added to each trip to the broker, saw an every-second
            // job lose every other tick to the overlap policy while a finished run's outcome was
            // still on its way to the ledger.
            self.running.fetch_sub(1, Ordering::SeqCst);
            // The scheduler is gone once it shut down; then nobody waits for the job to be free.
            let _ = self.finished.send(self.job_index);
            if lapsed.is_none() {
                if let Err(err) = self.ledger.record(&self.claim, outcome).await {
                    tracing::error!(error = %err, "could not record the run's outcome in the ledger");
                }
            }
        }
        .instrument(span)
        .await;
    }

    async fn outcome(&self) -> (RunOutcome, Option<String>) {
        let handler = Arc::clone(&self.job.handler);
        let context = self.context.clone();
        // Starting the job inside the guarded future also catches a panic in a closure handler
        // before it returns its future.
        let job = AssertUnwindSafe(async move { handler.call(&context).await }).catch_unwind();
        let bounded = async {
            match self.job.get_timeout() {
                Some(limit) => tokio::time::timeout(limit, job).await.ok(),
                None => Some(job.await),
            }
        };
        let grace_over = async {
            self.term_ended.cancelled().await;
            tokio::time::sleep(self.grace).await;
        };
        tokio::select! {
            result = bounded => match result {
                None => (RunOutcome::TimedOut, None),
                Some(Err(panic)) => (RunOutcome::Panicked, Some(panic_message(panic.as_ref()))),
                Some(Ok(Err(failure))) => (RunOutcome::Failed, Some(failure.to_string())),
                Some(Ok(Ok(()))) => (RunOutcome::Ok, None),
            },
            () = grace_over => (RunOutcome::Cancelled, None),
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}
