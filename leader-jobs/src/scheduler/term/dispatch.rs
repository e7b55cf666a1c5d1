//! Starting a due tick: the overlap policy decides whether it runs now, waits or is skipped; the
//! ledger decides whether this node may run it at all.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::{Fenced, Term, WonClaim};
use crate::JobContext;
use crate::backend::{Claim, ClaimVerdict, Leadership};
use crate::backoff::Backoff;
use crate::job::OverlapPolicy;
use crate::scheduler::report::{Started, Tally};
use crate::scheduler::run::{Run, RunKind};

/// How many times a tick is claimed when each verdict comes back too late for its run to start
/// (see `Term::claim_to_run`).
const CLAIM_ROUNDS: usize = 2;

/// How much of the claim window must be left when a run is spawned. The run checks the window
/// again as it begins; a spawn delayed past it would leave the claim open, so a claim with less
/// than this left is given back instead.
const START_MARGIN: Duration = Duration::from_millis(50);

/// Whether a run spawned at `runs_at` starts before `start_by`, with `START_MARGIN` to spare.
pub(super) fn starts_in_time(start_by: Option<Instant>, runs_at: Instant) -> bool {
    start_by.is_none_or(|by| runs_at + START_MARGIN < by)
}

impl Term<'_> {
    /// A scheduled tick arrived: run it, or apply the overlap policy if a run is still going.
    pub(super) async fn offer(&mut self, index: usize, tick: DateTime<Utc>) -> Result<(), Fenced> {
        if self.jobs[index].draining {
            self.jobs[index].catch_up.push_back(tick);
            return self.pump(index).await;
        }
        let overlap = self.lock.plan.jobs[index].job.get_overlap();
        if overlap == OverlapPolicy::Allow || self.lock.running[index].load(Ordering::SeqCst) == 0 {
            return self.start(index, tick, RunKind::Scheduled).await;
        }
        let waits = match overlap {
            OverlapPolicy::Queue => self.jobs[index].waiting.is_empty(),
            // Waits while its deadline is ahead; several may wait at once. A claim the ledger
            // held up for two periods (the broker owning it restarted) leaves two ticks due
            // behind one late run of a few milliseconds: the cluster suite's rolling restart
            // lost the second when only one could wait.
            _ => self.jobs[index]
                .skip_deadline(tick)
                .is_some_and(|at| at > self.lock.env.clock.now()),
        };
        if waits {
            self.jobs[index].waiting.push_back(tick);
        } else {
            self.count_skipped(index, tick);
        }
        Ok(())
    }

    /// When job `index`'s oldest waiting tick is skipped if the run before it still goes; only
    /// under overlap policy `skip`.
    pub(super) fn skip_deadline(&self, index: usize) -> Option<DateTime<Utc>> {
        if self.lock.plan.jobs[index].job.get_overlap() != OverlapPolicy::Skip {
            return None;
        }
        let ticks = &self.jobs[index];
        ticks.skip_deadline(*ticks.waiting.front()?)
    }

    /// Skips the ticks waiting under overlap policy `skip` whose run before them has now run as
    /// long as the time between its tick and theirs and still goes.
    pub(super) fn skip_overlapped(&mut self) {
        let now = self.lock.env.clock.now();
        for index in 0..self.jobs.len() {
            while self.lock.running[index].load(Ordering::SeqCst) > 0
                && self.skip_deadline(index).is_some_and(|at| at <= now)
            {
                if let Some(tick) = self.jobs[index].waiting.pop_front() {
                    self.count_skipped(index, tick);
                }
            }
        }
    }

    fn count_skipped(&self, index: usize, tick: DateTime<Utc>) {
        tracing::info!(
            job = self.lock.plan.jobs[index].job.name(),
            tick = %tick,
            "tick skipped: the previous run is still going (overlap policy)"
        );
        self.lock
            .env
            .report
            .tally(self.lock.lock_index, index, Tally::Skipped, tick);
    }

    /// Starts waiting ticks (catch-ups first, oldest first; then those waiting for the run before) while the overlap
    /// policy lets them run.
    pub(super) async fn pump(&mut self, index: usize) -> Result<(), Fenced> {
        let overlap = self.lock.plan.jobs[index].job.get_overlap();
        // On a lapsed lease the ticks wait in their queues (see `await_lease_verdict`).
        while self.lock.election.leading_now()
            && (overlap == OverlapPolicy::Allow
                || self.lock.running[index].load(Ordering::SeqCst) == 0)
        {
            let ticks = &mut self.jobs[index];
            if ticks.catch_up.is_empty() && self.lock.running[index].load(Ordering::SeqCst) == 0 {
                ticks.draining = false;
            }
            let next = match ticks.catch_up.pop_front() {
                Some(tick) => (tick, RunKind::CatchUp),
                None => match ticks.waiting.pop_front() {
                    Some(tick) => (tick, RunKind::Scheduled),
                    None => break,
                },
            };
            self.start(index, next.0, next.1).await?;
        }
        Ok(())
    }

    /// Claims `tick` in the ledger and, if this node won it, starts the run.
    async fn start(
        &mut self,
        index: usize,
        tick: DateTime<Utc>,
        kind: RunKind,
    ) -> Result<(), Fenced> {
        if let Some(won) = self.claim_to_run(index, tick, None).await? {
            self.spawn_run(index, won.claim, kind, won.start_by, 1);
        }
        Ok(())
    }

    /// Claims `tick` for a run that starts at `runs_at` (at once if `None`), and makes sure it
    /// can: a claim whose verdict came back too late for the run to start within the claim
    /// window is given back and the tick claimed again.
    ///
    /// A won claim whose run never started stays open in the ledger. Were the term to go on and
    /// claim the job's later ticks past it, no leader could run it again (a rerun may only claim
    /// a job's latest tick), and a tick delivered at least once was lost: the fault campaign
    /// found it (seed 6926435997621651089, a catch-up's verdict back too late a second after a
    /// broker restart). Ending the term instead made every new leader step down: right after a
    /// takeover the confirmation below routinely waits about a second, while the broker moves
    /// the role to the new leader's consumer at the best priority level. Claimed again, with the
    /// confirmation fresh, the tick runs in the same term.
    pub(super) async fn claim_to_run(
        &mut self,
        index: usize,
        tick: DateTime<Utc>,
        runs_at: Option<Instant>,
    ) -> Result<Option<WonClaim>, Fenced> {
        for _ in 0..CLAIM_ROUNDS {
            let Some(won) = self.claim(index, tick).await? else {
                return Ok(None);
            };
            // The run confirms leadership again before it starts. Waiting for that here, if
            // it must wait (the role just moved between this node's own consumers), delays
            // the next tick instead of making it meet the overlap policy; the run's own look
            // then answers at once.
            let _ = self.lock.election.confirm().await;
            let runs_at = runs_at.map_or_else(Instant::now, |at| at.max(Instant::now()));
            if starts_in_time(won.start_by, runs_at) {
                return Ok(Some(won));
            }
            tracing::warn!(
                job = %won.claim.job,
                tick = %tick,
                term = self.term,
                "the claim's verdict came back too late for its run to start within the claim \
                 window; giving the tick back to claim it again"
            );
            match self.lock.ledger.release(&won.claim).await {
                Ok(true) => {}
                Ok(false) => {
                    // A newer term began before the release landed; its leader found the claim
                    // open and reports or reruns it.
                    tracing::warn!(job = %won.claim.job, tick = %tick, term = self.term, "could not give the tick back: a newer term began; ending this one");
                    return Err(Fenced);
                }
                Err(error) => {
                    // The release may or may not have landed; the next term reads which.
                    tracing::error!(job = %won.claim.job, tick = %tick, term = self.term, %error, "could not give the tick back; ending the term so the next one re-reads the ledger");
                    return Err(Fenced);
                }
            }
        }
        // Given back each time: the tick is unclaimed, and the next term catches it up per the
        // misfire policy, whichever node begins it.
        tracing::warn!(
            job = self.lock.plan.jobs[index].job.name(),
            tick = %tick,
            term = self.term,
            rounds = CLAIM_ROUNDS,
            "every claim's verdict came back too late; beginning a newer term"
        );
        self.renew = true;
        Err(Fenced)
    }

    /// Claims `tick` in the ledger: the claim if this node won it, with the instant its run must
    /// start by; `None` if the tick is not this node's to run (lost, paused, leadership ending).
    async fn claim(
        &mut self,
        index: usize,
        tick: DateTime<Utc>,
    ) -> Result<Option<WonClaim>, Fenced> {
        let job = &self.lock.plan.jobs[index].job;
        if self.ended.is_cancelled() || *self.leadership.borrow() != Leadership::Leading {
            // Leadership is ending; the next leader's misfire policy covers this tick.
            return Ok(None);
        }
        if !self.lock.election.confirm().await {
            // The lease ran out between the caller's look and now, or the broker has not
            // confirmed this node's leadership for about a lease. A claim would win a tick this
            // node must not run; ending the term leaves the tick unclaimed for the next term,
            // whoever begins it, to catch up from the ledger.
            return Err(Fenced);
        }
        let claim = Claim {
            job: job.name().to_owned(),
            tick,
            term: self.term,
            node: self.lock.env.node.to_string(),
        };
        let report = &self.lock.env.report;
        self.lock.election.refresh();
        // Taken before the claim is sent, so the run's deadline is never later than the ledger
        // allows (see `Ledger::claim_window`).
        let start_by = self
            .lock
            .ledger
            .claim_window()
            .map(|window| Instant::now() + window);
        match self.lock.ledger.claim(&claim).await {
            Ok(ClaimVerdict::Paused) => {
                tracing::info!(job = job.name(), tick = %tick, "tick skipped: the job is paused");
                report.tally(self.lock.lock_index, index, Tally::Paused, tick);
                report.paused(self.lock.lock_index, index, true);
                Ok(None)
            }
            Ok(ClaimVerdict::Won) => {
                report.paused(self.lock.lock_index, index, false);
                Ok(Some(WonClaim { claim, start_by }))
            }
            Ok(ClaimVerdict::Lost {
                winner,
                highest_term,
            }) => {
                tracing::warn!(
                    job = job.name(),
                    tick = %tick,
                    term = self.term,
                    winner_node = winner.as_ref().map(|w| w.node.as_str()),
                    winner_term = winner.as_ref().map(|w| w.term),
                    highest_term,
                    "claim lost: the ledger gave this tick to another claim; not running it"
                );
                let lost = Tally::LostClaim {
                    term: self.term,
                    highest_term,
                };
                report.tally(self.lock.lock_index, index, lost, tick);
                self.fenced_if_newer(highest_term).map(|()| None)
            }
            Err(err) => {
                // The claim may or may not be in the ledger. Ending the term is what keeps the
                // tick from being lost or run twice: the next term reads the ledger, sees the
                // claim if it landed, and otherwise catches the tick up per the misfire policy.
                tracing::error!(
                    job = job.name(),
                    tick = %tick,
                    error = %err,
                    "could not claim the tick in the ledger; ending the term so the next one \
                     re-reads the ledger and catches up"
                );
                report.tally(self.lock.lock_index, index, Tally::ClaimError, tick);
                Err(Fenced)
            }
        }
    }

    /// Starts attempt `attempt` of the run of `claim`, which the ledger gave this node.
    pub(super) fn spawn_run(
        &mut self,
        index: usize,
        claim: Claim,
        kind: RunKind,
        start_by: Option<Instant>,
        attempt: u32,
    ) {
        let lock = &*self.lock;
        let job = Arc::clone(&lock.plan.jobs[index].job);
        let next_tick = lock.plan.jobs[index].schedule.next_after(claim.tick);
        let backoff = Backoff::new(job.get_retry_backoff(), Duration::MAX);
        let context = JobContext {
            job: job.name.clone(),
            lock: lock.plan.lock.clone(),
            tick: claim.tick,
            started_at: lock.env.clock.now(),
            node: lock.env.node.clone(),
            term: self.term,
            // A child token, so a job cancelling its own token stops nothing else.
            cancellation: self.ended.child_token(),
            attempt,
            catch_up: kind == RunKind::CatchUp,
            rerun: kind == RunKind::Rerun,
            manual: kind == RunKind::Manual,
            states: lock.env.states.clone(),
        };
        let on_time_for = match kind {
            RunKind::Scheduled | RunKind::CatchUp => claim.tick,
            RunKind::Rerun | RunKind::Manual => context.started_at,
        };
        self.jobs[index].last_run = Some((on_time_for, context.started_at));
        lock.running[index].fetch_add(1, Ordering::SeqCst);
        let started = Started {
            tick: claim.tick,
            term: self.term,
            attempt,
            kind,
        };
        lock.env.report.run_started(lock.lock_index, index, started);
        let run = Run {
            job,
            claim,
            kind,
            start_by,
            next_tick,
            backoff,
            context,
            term_ended: self.ended.clone(),
            grace: lock.env.grace,
            ledger: lock.ledger.clone(),
            election: lock.election.clone(),
            clock: lock.env.clock.clone(),
            report: lock.env.report.clone(),
            lock_index: lock.lock_index,
            job_index: index,
            running: lock.running[index].clone(),
            finished: lock.finished_tx.clone(),
        };
        lock.env.tracker.spawn(run.execute());
    }
}
