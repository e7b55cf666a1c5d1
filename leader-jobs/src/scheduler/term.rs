//! One term of leadership of a lock: begin it in the ledger, catch up what was missed, then fire
//! every job at its ticks until leadership ends.

mod ahead;
mod control;
mod dispatch;
mod rerun;

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::report::Tally;
use super::{LockScheduler, misfire, schedule_check, timer};
use crate::backend::{Claim, Leadership, LedgerHistory, TermStart};
use crate::backoff::Backoff;
use crate::job::MisfirePolicy;

/// How often a term whose lease ran out checks whether the election renewed it or said so.
const LEASE_RECHECK: Duration = Duration::from_millis(20);

/// Why a term ended.
pub(super) enum TermEnd {
    /// The runtime is shutting down.
    Shutdown,
    /// The election reported a change (lost, or lost and regained).
    LeadershipChanged,
    /// The backend dropped the election.
    ElectionEnded,
    /// The ledger refused a claim because a newer term began (another node leads), or did not
    /// answer a claim.
    Fenced,
    /// A run this term won could not start within the claim window, and only a newer term can
    /// run its tick (see `Term::claim_to_run`): this node begins one at once if it still leads.
    Renew,
}

/// The term cannot go on: the ledger refused a claim because a higher term began, or a claim's
/// verdict is unknown because the ledger did not answer.
struct Fenced;

/// Per job, what this term has done with its ticks.
struct JobTicks {
    /// The latest tick handled: claimed, skipped or given to the misfire policy.
    cursor: DateTime<Utc>,
    /// The next tick to fire at, if the schedule has one.
    next: Option<DateTime<Utc>>,
    /// Missed ticks waiting to run, oldest first.
    catch_up: VecDeque<DateTime<Utc>>,
    /// Ticks waiting for the current run to end, oldest first: under overlap policy `queue` at
    /// most one; under `skip` each until its own deadline (see `skip_deadline`).
    waiting: VecDeque<DateTime<Utc>>,
    /// The run this term started last: its tick, and when it started, counted from the tick it
    /// was on time for (a rerun or a manual run is on time whenever it starts).
    last_run: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Catch-up runs are pending or going: ticks that come due meanwhile join the catch-up queue
    /// instead of meeting the overlap policy, which is about a run overlapping the next tick,
    /// not about a backlog the misfire policy asked to run.
    draining: bool,
    /// An abandoned attempt waiting to run again (delivery at least once); the job's ticks wait
    /// until it has started.
    rerun: Option<rerun::PendingRerun>,
    /// The tick claimed ahead of time, waiting to start when it comes (see `ahead.rs`); `next`
    /// is already the one after it.
    ahead: Option<ahead::ClaimedAhead>,
}

impl JobTicks {
    /// Under overlap policy `skip`, when `tick` is skipped if the run before it still goes: once
    /// that run has run as long as the time between its tick and `tick`. A run overlaps the tick
    /// only if it outlasts that time, which is known at once only for a run that started on
    /// time; one that started late (its claim was slow to come back: the slow-leader test, with
    /// 300 ms each way, saw a 50 ms job skip ticks that way) gets the whole time from its start.
    fn skip_deadline(&self, tick: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.last_run
            .map(|(run_tick, started)| started + (tick - run_tick))
    }
}

/// A claim this node won, not run yet.
struct WonClaim {
    claim: Claim,
    /// The run must start before this instant or not at all (see `Ledger::claim_window`).
    start_by: Option<Instant>,
}

struct Term<'a> {
    lock: &'a mut LockScheduler,
    leadership: &'a mut watch::Receiver<Leadership>,
    term: u64,
    /// Cancelled when the term ends; runs see it through their context.
    ended: CancellationToken,
    jobs: Vec<JobTicks>,
    /// When the ledger was last read for operators' commands.
    polled: DateTime<Utc>,
    /// Set with a `Fenced` that asks for a newer term at once instead (`TermEnd::Renew`).
    renew: bool,
}

/// Leads the lock for one term, from beginning it in the ledger until leadership ends.
pub(super) async fn lead(
    lock: &mut LockScheduler,
    leadership: &mut watch::Receiver<Leadership>,
) -> TermEnd {
    let TermStart { term, history } = match begin(lock, leadership).await {
        Ok(start) => start,
        Err(end) => return end,
    };
    let (lock_name, node) = (lock.plan.lock.clone(), lock.env.node.clone());
    tracing::info!(lock = &*lock_name, term, node = %node, "leadership gained");
    lock.env.report.leading(lock.lock_index, term);
    schedule_check::at_term_start(lock, &history, term);
    let now = lock.env.clock.now();
    let ended = lock.env.shutdown.child_token();
    let jobs = lock
        .plan
        .jobs
        .iter()
        .map(|_| JobTicks {
            cursor: now,
            next: None,
            catch_up: VecDeque::new(),
            waiting: VecDeque::new(),
            last_run: None,
            draining: false,
            rerun: None,
            ahead: None,
        })
        .collect();
    let mut this = Term {
        lock,
        leadership,
        term,
        ended,
        jobs,
        polled: now,
        renew: false,
    };
    let end = this.run(history).await;
    this.release_claimed_ahead().await;
    this.ended.cancel();
    this.lock.leading.store(false, Ordering::SeqCst);
    if matches!(end, TermEnd::Shutdown) {
        this.lock.ledger.hand_over(term).await;
    }
    let reason = match end {
        TermEnd::Shutdown => "shutdown",
        TermEnd::LeadershipChanged => "the election changed",
        TermEnd::ElectionEnded => "the election ended",
        TermEnd::Fenced => "a newer term began in the ledger, or the ledger did not answer",
        TermEnd::Renew => "a run could not start in time; beginning a newer term to run it",
    };
    tracing::info!(lock = &*lock_name, term, node = %node, reason, "leadership lost");
    this.lock
        .env
        .report
        .following(this.lock.lock_index, term, reason);
    end
}

/// Begins a term in the ledger, retrying while this node still leads.
async fn begin(
    lock: &LockScheduler,
    leadership: &mut watch::Receiver<Leadership>,
) -> Result<TermStart, TermEnd> {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
    loop {
        let attempt = tokio::select! {
            () = lock.env.shutdown.cancelled() => return Err(TermEnd::Shutdown),
            changed = leadership.changed() => return Err(changed_end(changed)),
            attempt = lock.ledger.begin_term(&lock.env.node, lock.env.clock.now()) => attempt,
        };
        let delay = backoff.next_delay();
        match attempt {
            Ok(start) => return settle(lock, leadership, start).await,
            Err(err) => tracing::warn!(
                lock = &*lock.plan.lock,
                error = %err,
                retry_in = ?delay,
                "could not begin a term in the ledger; no job of the lock runs until it works"
            ),
        }
        tokio::select! {
            () = lock.env.shutdown.cancelled() => return Err(TermEnd::Shutdown),
            changed = leadership.changed() => return Err(changed_end(changed)),
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// Holds a new term back for the ledger's claim window when older terms left claims without an
/// outcome: their leaders may still start those runs within the window of sending the claims,
/// which all landed before this term's start (see [`Ledger::claim_window`]). The window runs
/// from the moment the term start was read back, after it became durable.
///
/// [`Ledger::claim_window`]: crate::backend::Ledger::claim_window
async fn settle(
    lock: &LockScheduler,
    leadership: &mut watch::Receiver<Leadership>,
    start: TermStart,
) -> Result<TermStart, TermEnd> {
    let Some(window) = lock.ledger.claim_window() else {
        return Ok(start);
    };
    if start.history.abandoned.is_empty() {
        return Ok(start);
    }
    tracing::debug!(
        lock = &*lock.plan.lock,
        term = start.term,
        open_claims = start.history.abandoned.len(),
        ?window,
        "older terms left claims without an outcome; their runs may still start: waiting one claim window"
    );
    tokio::select! {
        () = lock.env.shutdown.cancelled() => Err(TermEnd::Shutdown),
        changed = leadership.changed() => Err(changed_end(changed)),
        () = tokio::time::sleep(window) => Ok(start),
    }
}

fn changed_end(changed: Result<(), watch::error::RecvError>) -> TermEnd {
    match changed {
        Ok(()) => TermEnd::LeadershipChanged,
        Err(_) => TermEnd::ElectionEnded,
    }
}

impl Term<'_> {
    async fn run(&mut self, history: LedgerHistory) -> TermEnd {
        match self.lead_term(history).await {
            TermEnd::Fenced if self.renew => TermEnd::Renew,
            end => end,
        }
    }

    async fn lead_term(&mut self, history: LedgerHistory) -> TermEnd {
        let reruns = self.plan_reruns(&history);
        self.report_abandoned(&history, &reruns).await;
        if self.act_on_commands(&history.commands()).await.is_err() {
            return TermEnd::Fenced;
        }
        let now = self.lock.env.clock.now();
        for index in 0..self.jobs.len() {
            let name = self.lock.plan.jobs[index].job.name();
            if let Some(&last) = history.last_claimed.get(name) {
                self.jobs[index].cursor = last;
                if self.jobs[index].rerun.is_some() {
                    continue;
                }
                self.take_missed(index, now);
            }
            let schedule = &self.lock.plan.jobs[index].schedule;
            self.jobs[index].next = schedule.next_after(self.jobs[index].cursor);
            if self.pump(index).await.is_err() {
                return TermEnd::Fenced;
            }
        }
        loop {
            self.publish_next_ticks();
            let deadline = (0..self.jobs.len())
                .flat_map(|index| {
                    let job = &self.jobs[index];
                    [
                        self.wake_at(index),
                        self.skip_deadline(index),
                        job.rerun.as_ref().map(|r| r.due()),
                    ]
                })
                .flatten()
                .chain([self.next_poll()])
                .min();
            let clock = self.lock.env.clock.clone();
            let ahead_due = self.ahead_due();
            tokio::select! {
                biased;
                () = self.lock.env.shutdown.cancelled() => return TermEnd::Shutdown,
                changed = self.leadership.changed() => return changed_end(changed),
                Some(job) = self.lock.finished_rx.recv() => {
                    if self.pump(job).await.is_err() {
                        return TermEnd::Fenced;
                    }
                }
                () = timer::sleep_until_or(&*clock, deadline, ahead_due) => {
                    if !self.lock.election.leading_now() {
                        if let Some(end) = self.await_lease_verdict().await {
                            return end;
                        }
                        continue;
                    }
                    // First, before anything that waits on the broker: these runs are on time.
                    let now = self.lock.env.clock.now();
                    for index in 0..self.jobs.len() {
                        self.start_claimed_ahead(index, now);
                    }
                    if self.poll_commands().await.is_err() || self.start_due_reruns().await.is_err() {
                        return TermEnd::Fenced;
                    }
                    self.skip_overlapped();
                    if self.fire_due().await.is_err() {
                        return TermEnd::Fenced;
                    }
                }
            }
        }
    }

    /// Waits a moment for the election to act on a lease that ran out without its saying so
    /// yet, as in a process resumed from a freeze, whose timers fire before its election task
    /// looks. Claiming then would win ticks this node must not run (the fault campaign saw a
    /// fire_once catch-up claimed and dropped, losing the ticks it stood for); ticks left due
    /// fire late if the lease is renewed, or the next term catches them up from the ledger.
    async fn await_lease_verdict(&mut self) -> Option<TermEnd> {
        tokio::select! {
            biased;
            () = self.lock.env.shutdown.cancelled() => Some(TermEnd::Shutdown),
            changed = self.leadership.changed() => Some(changed_end(changed)),
            () = tokio::time::sleep(LEASE_RECHECK) => None,
        }
    }

    /// Fires every job whose next tick has come.
    async fn fire_due(&mut self) -> Result<(), Fenced> {
        let now = self.lock.env.clock.now();
        for index in 0..self.jobs.len() {
            if self.jobs[index].ahead.is_some() {
                // Started when its tick comes, first thing on waking (see `run`).
                continue;
            }
            let Some(due) = self.jobs[index].next else {
                continue;
            };
            if due > now {
                self.claim_ahead_if_due(index, due, now).await?;
                continue;
            }
            let schedule = &self.lock.plan.jobs[index].schedule;
            if schedule.next_after(due).is_some_and(|tick| tick <= now) {
                // Woke up so late that a later tick is due too: the busy or suspended process
                // missed ticks while leading, and the misfire policy decides.
                self.take_missed(index, now);
            } else {
                self.jobs[index].cursor = due;
                self.offer(index, due).await?;
            }
            let schedule = &self.lock.plan.jobs[index].schedule;
            self.jobs[index].next = schedule.next_after(self.jobs[index].cursor);
            self.pump(index).await?;
        }
        Ok(())
    }

    /// Hands the ticks in `(cursor, now]` to the job's misfire policy and moves the cursor past
    /// them.
    fn take_missed(&mut self, index: usize, now: DateTime<Utc>) {
        let job = &self.lock.plan.jobs[index];
        let ticks = &mut self.jobs[index];
        let Some(latest) = misfire::latest_tick(&job.schedule, ticks.cursor, now) else {
            return;
        };
        let (name, policy) = (job.job.name(), job.job.get_misfire());
        match policy {
            MisfirePolicy::Skip => {
                tracing::info!(job = name, latest = %latest, "missed ticks not run (misfire policy skip)");
            }
            MisfirePolicy::FireOnce => {
                tracing::info!(job = name, latest = %latest, "missed ticks: one catch-up run (misfire policy fire_once)");
                ticks.catch_up.push_back(latest);
                ticks.draining = true;
            }
            MisfirePolicy::FireAll => {
                let window = job.job.get_catch_up();
                let catch_up = misfire::catch_up_within(&job.schedule, ticks.cursor, now, window);
                if catch_up.dropped_older {
                    tracing::warn!(job = name, window = ?window, "missed ticks older than the catch-up window are not run");
                }
                tracing::info!(job = name, runs = catch_up.ticks.len(), latest = %latest, "missed ticks: one catch-up run each (misfire policy fire_all)");
                ticks.draining |= !catch_up.ticks.is_empty();
                ticks.catch_up.extend(catch_up.ticks);
            }
        }
        ticks.cursor = latest;
        self.lock
            .env
            .report
            .tally(self.lock.lock_index, index, Tally::Misfire, latest);
    }

    /// Reports each claim earlier leaders left without an outcome, but those `reruns` runs
    /// again later.
    async fn report_abandoned(&self, history: &LedgerHistory, reruns: &[Claim]) {
        for claim in history.abandoned.iter().filter(|c| !reruns.contains(c)) {
            self.note_abandoned(
                claim,
                "abandoned run: a previous leader claimed this tick but recorded no outcome (it \
                 crashed, was fenced, or is still running); not running it again",
            )
            .await;
        }
    }

    /// Logs `message` about an abandoned claim, counts it, and notes it in the ledger so that
    /// later leaders do not report it again.
    async fn note_abandoned(&self, claim: &Claim, message: &str) {
        self.warn_abandoned(claim, message);
        let noted = self
            .lock
            .ledger
            .record_abandoned(claim, self.term, &self.lock.env.node)
            .await;
        if let Err(error) = noted {
            tracing::warn!(
                lock = &*self.lock.plan.lock,
                job = %claim.job,
                tick = %claim.tick,
                %error,
                "could not note the abandoned run in the ledger; the next leader reports it again"
            );
        }
    }

    /// Logs `message` about an abandoned claim and counts it.
    fn warn_abandoned(&self, claim: &Claim, message: &str) {
        tracing::warn!(
            lock = &*self.lock.plan.lock,
            job = %claim.job,
            tick = %claim.tick,
            term = claim.term,
            node = %claim.node,
            "{message}"
        );
        if let Some(index) = self.job_index(&claim.job) {
            self.lock
                .env
                .report
                .tally(self.lock.lock_index, index, Tally::Abandoned, claim.tick);
        }
    }

    /// A claim lost to `highest_term`: the term ends if a newer one began, else only the tick
    /// is lost.
    fn fenced_if_newer(&self, highest_term: u64) -> Result<(), Fenced> {
        if highest_term > self.term {
            Err(Fenced)
        } else {
            Ok(())
        }
    }

    /// The index of the job named `name` in this lock's plan.
    fn job_index(&self, name: &str) -> Option<usize> {
        self.lock
            .plan
            .jobs
            .iter()
            .position(|job| job.job.name() == name)
    }

    fn publish_next_ticks(&self) {
        for (index, ticks) in self.jobs.iter().enumerate() {
            let next = ticks
                .ahead
                .as_ref()
                .map(|ahead| ahead.won.claim.tick)
                .or(ticks.next);
            self.lock
                .env
                .report
                .next_tick(self.lock.lock_index, index, next);
        }
    }
}
