//! Operators' commands as the leader sees them: about every second it reads the ledger for
//! triggers of its jobs and runs each once (a manual run, its tick the trigger's time), and
//! notes which jobs are paused. Pauses need no reading: the ledger refuses a paused job's claims
//! at its next tick.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::{Fenced, Term};
use crate::backend::{Claim, ClaimVerdict, PendingCommands, Trigger};
use crate::scheduler::report::Tally;
use crate::scheduler::run::RunKind;

/// How often the leader reads the ledger for triggers: a trigger runs within about this long.
/// On Pulsar each read is one round trip per lock this node leads.
pub(super) const CONTROL_POLL: std::time::Duration = std::time::Duration::from_secs(1);

impl Term<'_> {
    /// When the next read for commands is due.
    pub(super) fn next_poll(&self) -> DateTime<Utc> {
        chrono::TimeDelta::from_std(CONTROL_POLL)
            .ok()
            .and_then(|poll| self.polled.checked_add_signed(poll))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
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
