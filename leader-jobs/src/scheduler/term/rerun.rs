//! Delivery at least once: a new leader runs again the tick whose last attempt an earlier leader
//! abandoned (crashed, froze past its lease, or was fenced mid-run).
//!
//! The rerun waits until the old attempt has surely stopped: the old leader believed it led for
//! at most its lease after its last confirmation, which came before this term began, and then
//! dropped the run at most a grace period later. Then the ledger is read again: an outcome that
//! came in meanwhile means the old attempt finished, and nothing runs twice. Otherwise one retry
//! record abandons the old attempt and claims the new one; the ledger's rule makes it valid only
//! under this term and for the job's latest tick, and from then on the old attempt's late outcome
//! settles nothing. If it does not land, the old claim stays open for the next leader to rerun. While a rerun waits, the job's later ticks wait too; the misfire
//! policy decides them once it has started.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::dispatch::starts_in_time;
use super::{Fenced, Term};
use crate::backend::{Claim, ClaimVerdict, LedgerHistory, RetryCause};
use crate::job::Delivery;
use crate::scheduler::report::Tally;
use crate::scheduler::run::RunKind;

/// An abandoned attempt this term runs again once `at` has come, if before `until`.
pub(super) struct PendingRerun {
    /// The abandoned claim, under the old leader's term.
    abandoned: Claim,
    /// Which attempt the abandoned one was.
    attempt: u32,
    /// When the old attempt has surely stopped, on the scheduler's clock, for its timer.
    at: DateTime<Utc>,
    /// The same instant on the monotonic clock, which decides: a clock stepped forward must not
    /// bring the rerun closer.
    stopped_by: Instant,
    /// The end of the job's rerun window.
    until: DateTime<Utc>,
}

impl PendingRerun {
    /// When the rerun is due.
    pub(super) fn due(&self) -> DateTime<Utc> {
        self.at
    }
}

impl Term<'_> {
    /// Picks, per job delivered at least once, the abandoned claim of its latest tick to run
    /// again, if its attempts are not used up. Returns the claims it took; the rest are reported
    /// abandoned at once.
    pub(super) fn plan_reruns(&mut self, history: &LedgerHistory) -> Vec<Claim> {
        let wait = self.lock.election.lease() + self.lock.env.grace;
        let (now, instant) = (self.lock.env.clock.now(), Instant::now());
        self.lock
            .stopped_by
            .retain(|claim, _| history.abandoned.contains(claim));
        let mut taken = Vec::new();
        for claim in &history.abandoned {
            let Some(index) = self.job_index(&claim.job) else {
                continue;
            };
            let planned = &self.lock.plan.jobs[index];
            let job = &planned.job;
            let attempt = history
                .abandoned_attempts
                .get(&(claim.job.clone(), claim.tick))
                .copied()
                .unwrap_or(1);
            let latest = history.last_claimed.get(&claim.job) == Some(&claim.tick);
            if job.get_delivery() != Delivery::AtLeastOnce
                || !latest
                || attempt > job.get_retries().max(1)
            {
                continue;
            }
            let began = history
                .abandoned_began
                .get(&(claim.job.clone(), claim.tick))
                .copied()
                .unwrap_or(claim.tick);
            let window = match job.get_rerun_window() {
                Some(window) => chrono::TimeDelta::from_std(window).ok(),
                None => planned
                    .schedule
                    .next_after(claim.tick)
                    .map(|next| next - claim.tick),
            };
            let until = window
                .and_then(|window| began.checked_add_signed(window))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            let stopped_by = *self
                .lock
                .stopped_by
                .entry(claim.clone())
                .or_insert(instant + wait);
            let at = later(now, stopped_by.saturating_duration_since(instant));
            tracing::warn!(
                lock = &*self.lock.plan.lock,
                job = %claim.job,
                tick = %claim.tick,
                term = claim.term,
                node = %claim.node,
                attempt,
                rerun_at = %at,
                rerun_until = %until,
                "abandoned run: a previous leader claimed this tick but recorded no outcome; \
                 running it again once the old attempt has surely stopped (delivery at_least_once)"
            );
            self.jobs[index].rerun = Some(PendingRerun {
                abandoned: claim.clone(),
                attempt,
                at,
                stopped_by,
                until,
            });
            taken.push(claim.clone());
        }
        taken
    }

    /// Starts every rerun that is due, then lets the job's ticks go on.
    pub(super) async fn start_due_reruns(&mut self) -> Result<(), Fenced> {
        let now = self.lock.env.clock.now();
        for index in 0..self.jobs.len() {
            let Some(pending) = self.jobs[index].rerun.as_mut() else {
                continue;
            };
            if pending.at > now {
                continue;
            }
            let left = pending.stopped_by.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                pending.at = later(now, left);
                continue;
            }
            let Some(rerun) = self.jobs[index].rerun.take() else {
                continue;
            };
            self.rerun(index, rerun, now).await?;
            self.take_missed(index, now);
            let schedule = &self.lock.plan.jobs[index].schedule;
            self.jobs[index].next = schedule.next_after(self.jobs[index].cursor);
            self.pump(index).await?;
        }
        Ok(())
    }

    async fn rerun(
        &mut self,
        index: usize,
        rerun: PendingRerun,
        now: DateTime<Utc>,
    ) -> Result<(), Fenced> {
        let abandoned = rerun.abandoned;
        if now >= rerun.until {
            self.note_abandoned(
                &abandoned,
                "abandoned run not run again: its rerun window ended before the old attempt had surely stopped",
            )
            .await;
            return Ok(());
        }
        let still_open = match self.lock.ledger.history().await {
            Ok(history) => history.abandoned.contains(&abandoned),
            Err(error) => {
                tracing::error!(job = %abandoned.job, tick = %abandoned.tick, %error, "could not read the ledger before a rerun; ending the term so the next one decides");
                return Err(Fenced);
            }
        };
        if !still_open {
            tracing::info!(job = %abandoned.job, tick = %abandoned.tick, "no rerun: the abandoned attempt's outcome came in after all");
            return Ok(());
        }
        // Reported, but not noted in the ledger on its own: the retry record below abandons the
        // old attempt in the same record that claims the new one. A note appended first, and a
        // claim that then failed (leadership lapsed, the ledger did not answer), left the tick
        // closed and never run again: the fault campaign lost at-least-once ticks that way.
        self.warn_abandoned(&abandoned, "abandoned run: running it again");
        if !self.lock.election.confirm().await {
            return Err(Fenced);
        }
        let claim = Claim {
            term: self.term,
            node: self.lock.env.node.to_string(),
            ..abandoned
        };
        let attempt = rerun.attempt + 1;
        let start_by = self
            .lock
            .ledger
            .claim_window()
            .map(|window| Instant::now() + window);
        match self
            .lock
            .ledger
            .retry(&claim, attempt, RetryCause::Abandonment)
            .await
        {
            Ok(ClaimVerdict::Won) => {
                let _ = self.lock.election.confirm().await;
                if !starts_in_time(start_by, Instant::now()) {
                    // The attempt stays open, and only a newer term may run it again; claiming
                    // the job's later ticks in this one would leave it behind for good.
                    tracing::warn!(job = %claim.job, tick = %claim.tick, attempt, "the rerun's verdict came back too late for it to start within the claim window; beginning a newer term to run it");
                    self.renew = true;
                    return Err(Fenced);
                }
                self.spawn_run(index, claim, RunKind::Rerun, start_by, attempt);
                Ok(())
            }
            Ok(ClaimVerdict::Paused) => {
                tracing::info!(job = %claim.job, tick = %claim.tick, "no rerun: the job is paused");
                Ok(())
            }
            Ok(ClaimVerdict::Lost { highest_term, .. }) => {
                tracing::warn!(job = %claim.job, tick = %claim.tick, highest_term, "no rerun: the ledger refused it");
                self.lock.env.report.tally(
                    self.lock.lock_index,
                    index,
                    Tally::LostClaim {
                        term: self.term,
                        highest_term,
                    },
                    claim.tick,
                );
                self.fenced_if_newer(highest_term)
            }
            Err(error) => {
                tracing::error!(job = %claim.job, tick = %claim.tick, %error, "could not claim the rerun in the ledger; ending the term so the next one re-reads the ledger");
                self.lock.env.report.tally(
                    self.lock.lock_index,
                    index,
                    Tally::ClaimError,
                    claim.tick,
                );
                Err(Fenced)
            }
        }
    }
}

/// `wait` after `now`, or the end of time.
fn later(now: DateTime<Utc>, wait: std::time::Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(wait)
        .ok()
        .and_then(|wait| now.checked_add_signed(wait))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
