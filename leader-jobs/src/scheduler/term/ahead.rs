//! Claiming a tick shortly before it is due, where the ledger's verdict takes a trip to a broker,
//! so that the run starts on the tick instead of one round trip after it; and giving such claims
//! back when the term ends before their tick comes.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::{Fenced, Term, WonClaim};
use crate::job::OverlapPolicy;
use crate::scheduler::run::RunKind;

/// How long the end of a term waits for the ledger to take one release. A release that has not
/// landed by then may still land; if a newer term began first, its leader found the claim open.
const RELEASE_PATIENCE: Duration = Duration::from_secs(2);

/// A tick this node claimed ahead and has not started yet.
pub(super) struct ClaimedAhead {
    pub(super) won: WonClaim,
    /// The tick on the monotonic clock, as it was when claimed. The run starts at the tick or at
    /// this instant, whichever comes first: a wall clock stepped back must not delay it past
    /// the claim window, which would leave the claim open for the next leader to report.
    due: Instant,
}

impl Term<'_> {
    /// When job `index` next needs this term: the tick it claimed ahead, else the moment to claim
    /// its next tick ahead, else that tick.
    pub(super) fn wake_at(&self, index: usize) -> Option<DateTime<Utc>> {
        let ticks = &self.jobs[index];
        if let Some(ahead) = &ticks.ahead {
            // Its monotonic due instant is waited for apart: `ahead_due`.
            return Some(ahead.won.claim.tick);
        }
        let next = ticks.next?;
        Some(match self.lead_for(index) {
            Some(lead) => next - lead,
            None => next,
        })
    }

    /// The earliest monotonic instant a tick claimed ahead is due, if any is.
    pub(super) fn ahead_due(&self) -> Option<Instant> {
        self.jobs
            .iter()
            .filter_map(|ticks| ticks.ahead.as_ref().map(|ahead| ahead.due))
            .min()
    }

    /// How far ahead job `index`'s next tick is claimed: only where the ledger asks for it, and
    /// only while nothing of the job runs, waits or catches up, so that the overlap and misfire
    /// policies have nothing to decide at the tick. Otherwise the tick is claimed when it comes.
    fn lead_for(&self, index: usize) -> Option<chrono::TimeDelta> {
        let lead = self.lock.ledger.claim_ahead()?;
        let ticks = &self.jobs[index];
        let idle = !ticks.draining
            && ticks.catch_up.is_empty()
            && ticks.waiting.is_empty()
            && ticks.rerun.is_none()
            && ticks.ahead.is_none();
        let overlap = self.lock.plan.jobs[index].job.get_overlap();
        let free =
            overlap == OverlapPolicy::Allow || self.lock.running[index].load(Ordering::SeqCst) == 0;
        if idle && free {
            chrono::TimeDelta::from_std(lead).ok()
        } else {
            None
        }
    }

    /// Claims job `index`'s next tick, due at `due` (still ahead of `now`), if the moment to
    /// claim it ahead has come.
    pub(super) async fn claim_ahead_if_due(
        &mut self,
        index: usize,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), Fenced> {
        if self.lead_for(index).is_none_or(|lead| due - lead > now) {
            return Ok(());
        }
        let ticks = &mut self.jobs[index];
        ticks.cursor = due;
        ticks.next = self.lock.plan.jobs[index].schedule.next_after(due);
        // The tick on the monotonic clock too: should the wall clock step back before it comes,
        // the run still starts in time for the claim window (see `ClaimedAhead::due`).
        let due_in = (due - now).to_std().unwrap_or_default();
        let due_at = Instant::now() + due_in;
        self.jobs[index].ahead = self
            .claim_to_run(index, due, Some(due_at))
            .await?
            .map(|won| ClaimedAhead { won, due: due_at });
        Ok(())
    }

    /// Starts the run of the tick job `index` claimed ahead, if that tick has come; says whether
    /// it did.
    pub(super) fn start_claimed_ahead(&mut self, index: usize, now: DateTime<Utc>) -> bool {
        let ticks = &mut self.jobs[index];
        let came =
            |ahead: &mut ClaimedAhead| ahead.won.claim.tick <= now || Instant::now() >= ahead.due;
        let Some(ahead) = ticks.ahead.take_if(came) else {
            return false;
        };
        let won = ahead.won;
        self.spawn_run(index, won.claim, RunKind::Scheduled, won.start_by, 1);
        true
    }

    /// Gives back every tick claimed ahead whose run never started: the term ends before them.
    /// The next leader, this node or another, then finds them unclaimed and its misfire policy
    /// decides them.
    pub(super) async fn release_claimed_ahead(&mut self) {
        for index in 0..self.jobs.len() {
            let Some(ahead) = self.jobs[index].ahead.take() else {
                continue;
            };
            let claim = ahead.won.claim;
            let released =
                tokio::time::timeout(RELEASE_PATIENCE, self.lock.ledger.release(&claim)).await;
            match released {
                Ok(Ok(true)) => tracing::info!(
                    job = %claim.job,
                    tick = %claim.tick,
                    term = claim.term,
                    "tick claimed ahead given back: the term ended before it; the next leader's misfire policy decides it"
                ),
                Ok(Ok(false)) => tracing::warn!(
                    job = %claim.job,
                    tick = %claim.tick,
                    term = claim.term,
                    "tick claimed ahead not given back: a newer term began first, and its leader reports it as abandoned"
                ),
                Ok(Err(error)) => tracing::warn!(
                    job = %claim.job,
                    tick = %claim.tick,
                    term = claim.term,
                    %error,
                    "could not give back a tick claimed ahead; the next leader reports it as abandoned"
                ),
                Err(_) => tracing::warn!(
                    job = %claim.job,
                    tick = %claim.tick,
                    term = claim.term,
                    patience = ?RELEASE_PATIENCE,
                    "no answer to giving back a tick claimed ahead; unless it lands before the next term begins, the next leader reports it as abandoned"
                ),
            }
        }
    }
}
