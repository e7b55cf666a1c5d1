//! Operators' commands as the leader sees them: about every second it reads the ledger for
//! triggers of its jobs and runs each once (a manual run, its tick the trigger's time), and
//! notes which jobs are paused. Pauses need no reading: the ledger refuses a paused job's claims
//! at its next tick.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use tokio::time::Instant;

use super::{Fenced, Term};
use crate::backend::{Claim, ClaimVerdict, PendingCommands, Trigger};
use crate::scheduler::report::Tally;
use crate::scheduler::run::RunKind;

/// How often the leader reads the ledger for triggers: a trigger runs within about this long.
const CONTROL_POLL: TimeDelta = TimeDelta::seconds(1);
/// Where in each second the reads fall: every lock of a node reads at the same moment, so that
/// one wake-up of the runtime serves all of them rather than one each, half-way between the
/// ticks, which fall on whole seconds.
const POLL_PHASE: TimeDelta = TimeDelta::milliseconds(500);

/// The read for commands after one at `polled`: the first moment at [`POLL_PHASE`] into a second
/// that is at most [`CONTROL_POLL`] after it (sooner after a read off that grid).
fn poll_after(polled: DateTime<Utc>) -> DateTime<Utc> {
    let due = polled.checked_add_signed(CONTROL_POLL - POLL_PHASE);
    due.and_then(|due| due.duration_trunc(TimeDelta::seconds(1)).ok())
        .and_then(|second| second.checked_add_signed(POLL_PHASE))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Term<'_> {
    /// When the next read for commands is due.
    pub(super) fn next_poll(&self) -> DateTime<Utc> {
        poll_after(self.polled)
    }

    /// Reads the ledger if a read is due, and acts on what it holds.
    pub(super) async fn poll_commands(&mut self) -> Result<(), Fenced> {
        let now = self.lock.env.clock.now();
        if now < self.next_poll() {
            return Ok(());
        }
        self.polled = now;
        match self.lock.ledger.commands().await {
            Ok(commands) => self.act_on_commands(&commands).await,
            Err(error) => {
                tracing::warn!(lock = &*self.lock.plan.lock, %error, "could not read the ledger for operators' commands; trying again in a second");
                Ok(())
            }
        }
    }

    /// Notes paused jobs and runs every pending trigger of this lock's jobs.
    pub(super) async fn act_on_commands(
        &mut self,
        commands: &PendingCommands,
    ) -> Result<(), Fenced> {
        for (index, job) in self.lock.plan.jobs.iter().enumerate() {
            let paused = commands.paused.contains(job.job.name());
            self.lock
                .env
                .report
                .paused(self.lock.lock_index, index, paused);
        }
        // A paused job's triggers wait in the ledger until it is resumed.
        let runnable = commands
            .triggers
            .iter()
            .filter(|trigger| !commands.paused.contains(&trigger.job));
        for trigger in runnable {
            if let Some(index) = self.job_index(&trigger.job) {
                self.run_triggered(index, trigger).await?;
            }
        }
        Ok(())
    }

    async fn run_triggered(&mut self, index: usize, trigger: &Trigger) -> Result<(), Fenced> {
        if !self.lock.election.confirm().await {
            return Err(Fenced);
        }
        let claim = Claim {
            job: trigger.job.clone(),
            tick: trigger.at,
            term: self.term,
            node: self.lock.env.node.to_string(),
        };
        let start_by = self
            .lock
            .ledger
            .claim_window()
            .map(|window| Instant::now() + window);
        match self
            .lock
            .ledger
            .claim_manual(&claim, &trigger.request)
            .await
        {
            Ok(ClaimVerdict::Won) => {
                tracing::info!(job = %trigger.job, request = %trigger.request, by = %trigger.by, "running a triggered job");
                self.lock
                    .env
                    .report
                    .tally(self.lock.lock_index, index, Tally::Manual, trigger.at);
                self.spawn_run(index, claim, RunKind::Manual, start_by, 1);
                Ok(())
            }
            // Waits in the ledger and runs once the job is resumed.
            Ok(ClaimVerdict::Paused) => Ok(()),
            Ok(ClaimVerdict::Lost { highest_term, .. }) => self.fenced_if_newer(highest_term),
            Err(error) => {
                tracing::error!(job = %trigger.job, request = %trigger.request, %error, "could not claim a triggered run in the ledger; ending the term so the next one re-reads the ledger");
                Err(Fenced)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::milliseconds(1_700_000_000_000 + millis)
    }

    #[test]
    fn reads_fall_half_way_between_ticks_a_second_apart() {
        assert_eq!(poll_after(at(500)), at(1_500));
        assert_eq!(poll_after(at(503)), at(1_500));
        assert_eq!(poll_after(at(1_499)), at(1_500));
    }

    #[test]
    fn a_read_off_the_grid_moves_onto_it_within_a_second() {
        assert_eq!(poll_after(at(200)), at(500));
        assert_eq!(poll_after(at(0)), at(500));
        assert_eq!(poll_after(at(900)), at(1_500));
    }
}
