//! One run of a claimed tick: timeout, panics, cancellation after leadership ends, retries under
//! the same claim, and recording each attempt's outcome in the ledger and the status.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::report::{Finished, Report};
use crate::JobContext;
use crate::backend::{Claim, ClaimVerdict, Election, Ledger, RetryCause, RunEnd, RunOutcome};
use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::job::Job;

/// Why a tick runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunKind {
    /// At its scheduled time, or right after the run before it ended (overlap policies `skip` and
    /// `queue`).
    Scheduled,
    /// For a missed tick, per the misfire policy.
    CatchUp,
    /// Again, for a tick whose last attempt was abandoned (delivery at least once).
    Rerun,
    /// Now, because an operator triggered it.
    Manual,
}

/// Everything one run needs; built by the scheduler once the ledger gave it the tick.
pub(super) struct Run {
    pub(super) job: Arc<Job>,
    pub(super) claim: Claim,
    pub(super) kind: RunKind,
    /// The run must start before this instant or not at all (see `Ledger::claim_window`).
    pub(super) start_by: Option<Instant>,
    /// The job's next tick after this one: retries never start at or after it.
    pub(super) next_tick: Option<DateTime<Utc>>,
    pub(super) context: JobContext,
    /// The waits between attempts: the job's `retry_backoff`, doubling.
    pub(super) backoff: Backoff,
    /// Cancelled when the term ends; the run is dropped `grace` later if still going.
    pub(super) term_ended: CancellationToken,
    pub(super) grace: Duration,
    pub(super) ledger: Arc<dyn Ledger>,
    /// Asked right before the job starts whether the lease still holds.
    pub(super) election: Arc<dyn Election>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) report: Arc<dyn Report>,
    pub(super) lock_index: usize,
    pub(super) job_index: usize,
    pub(super) running: Arc<AtomicUsize>,
    /// Tells the scheduler the job is free again, so a queued tick can start.
    pub(super) finished: mpsc::UnboundedSender<usize>,
}

/// How one attempt ended.
struct Attempt {
    end: RunEnd,
    /// The attempt never started (leadership lapsed, or the verdict came too late).
    not_started: bool,
}

impl Run {
    /// Runs the job to its end, retrying a failed attempt as the job allows, and records how
    /// each attempt ended.
    pub(super) async fn execute(mut self) {
        let span = tracing::info_span!(
            "job_run",
            job = self.job.name(),
            lock = self.job.get_lock(),
            tick = %self.claim.tick,
            term = self.claim.term,
            node = %self.claim.node,
            attempt = self.context.attempt,
        );
        async move {
            match self.kind {
                RunKind::CatchUp => tracing::info!("catch-up run for a missed tick"),
                RunKind::Rerun => {
                    tracing::info!(
                        "rerun of a tick whose last attempt was abandoned (delivery at_least_once)"
                    );
                }
                RunKind::Manual => tracing::info!("manual run, triggered by an operator"),
                RunKind::Scheduled => {}
            }
            loop {
                let attempt = self.attempt().await;
                // A manual run's tick is the trigger's, never the job's latest claimed tick, which
                // is the only one the ledger lets a retry claim.
                let retry = !attempt.not_started
                    && self.kind != RunKind::Manual
                    && retries_after(attempt.end.outcome)
                    && self.context.attempt <= self.job.get_retries();
                if attempt.not_started {
                    break;
                }
                // The next attempt's claim is valid only once this one's outcome is in the
                // ledger, so it is recorded before any retry.
                if retry {
                    self.record(&attempt.end).await;
                    if self.retry().await {
                        continue;
                    }
                    break;
                }
                self.release();
                self.record(&attempt.end).await;
                return;
            }
            self.release();
        }
        .instrument(span)
        .await;
    }

    /// One attempt: started only on a recent confirmation of leadership and within the claim
    /// window, then run under the job's timeout and the grace period.
    async fn attempt(&self) -> Attempt {
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
            Some(
                "the claim's verdict came back too late to start the run: a newer term may have begun since",
            )
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
        let finished = Finished {
            tick: self.claim.tick,
            term: self.claim.term,
            started_at,
            finished_at,
            outcome,
            error,
            attempt: self.context.attempt,
            catch_up: self.kind == RunKind::CatchUp,
            rerun: self.context.rerun,
            manual: self.context.manual,
        };
        self.report
            .attempt_finished(self.lock_index, self.job_index, finished);
        Attempt {
            end: RunEnd::new(outcome, self.context.attempt, started_at, finished_at),
            not_started: lapsed.is_some(),
        }
    }

    /// Waits the backoff and claims the next attempt in the ledger; `false` if there is none to
    /// run: the next tick comes first, leadership ended, or the ledger refused it.
    async fn retry(&mut self) -> bool {
        let attempt = self.context.attempt + 1;
        let delay = self.backoff.next_delay();
        // A delay too long for a timestamp is past any next tick.
        let due = chrono::TimeDelta::from_std(delay)
            .ok()
            .and_then(|delay| self.clock.now().checked_add_signed(delay));
        if self
            .next_tick
            .is_some_and(|next| due.is_none_or(|due| due >= next))
        {
            tracing::warn!(
                attempt,
                delay = ?delay,
                "no retry: the job's next tick comes before it would start"
            );
            return false;
        }
        tracing::info!(attempt, delay = ?delay, "retrying the failed run");
        tokio::select! {
            () = self.term_ended.cancelled() => {
                tracing::warn!(attempt, "no retry: leadership ended before it was due");
                return false;
            }
            () = tokio::time::sleep(delay) => {}
        }
        if !self.election.confirm().await {
            tracing::warn!(attempt, "no retry: leadership lapsed before it was due");
            return false;
        }
        let sent = Instant::now();
        match self
            .ledger
            .retry(&self.claim, attempt, RetryCause::Failure)
            .await
        {
            Ok(ClaimVerdict::Won) => {}
            Ok(ClaimVerdict::Lost { highest_term, .. }) => {
                tracing::warn!(attempt, highest_term, "no retry: the ledger refused it");
                return false;
            }
            Ok(ClaimVerdict::Paused) => {
                tracing::info!(attempt, "no retry: the job was paused");
                return false;
            }
            Err(err) => {
                tracing::error!(attempt, error = %err, "no retry: the ledger could not be reached");
                return false;
            }
        }
        self.start_by = self.ledger.claim_window().map(|window| sent + window);
        self.context.attempt = attempt;
        self.context.rerun = false;
        self.context.started_at = self.clock.now();
        tracing::Span::current().record("attempt", attempt);
        true
    }

    /// The job is done: the next tick may start while the outcome is being recorded. The fault
    /// campaign, with 250 ms added to each trip to the broker, saw an every-second job lose every
    /// other tick to the overlap policy while a finished run's outcome was still on its way to the
    /// ledger.
    fn release(&self) {
        self.report.run_ended(self.lock_index, self.job_index);
        self.running.fetch_sub(1, Ordering::SeqCst);
        // The scheduler is gone once it shut down; then nobody waits for the job to be free.
        let _ = self.finished.send(self.job_index);
    }

    async fn record(&self, end: &RunEnd) {
        if let Err(err) = self.ledger.record(&self.claim, end).await {
            tracing::error!(error = %err, "could not record the run's outcome in the ledger");
        }
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

/// Whether an attempt that ended with `outcome` may be retried: it failed on its own (an error, a
/// panic, its timeout). A run dropped after leadership ended is not: another node leads now.
fn retries_after(outcome: RunOutcome) -> bool {
    matches!(
        outcome,
        RunOutcome::Failed | RunOutcome::Panicked | RunOutcome::TimedOut
    )
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}
