//! The demo's script: three nodes start; the leader of `email` is killed and later restarted;
//! a leader is stopped gracefully and restarted; the leader of `email` is frozen and resumed;
//! an operator pauses the reports for a few seconds, resumes them and asks for a digest now.
//! Between the faults the nodes' events are printed as they come.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::Utc;

use crate::console::Console;
use crate::node::{Launcher, Node, Report};
use crate::operator;
use crate::record::{Action, Fault, Record, Takeover};
use crate::{EMAIL, REPORTS};

/// When each fault happens, as a fraction of the run, so that a longer run spreads them out.
const KILL_AT: f64 = 0.17;
const RESTART_KILLED_AT: f64 = 0.30;
const STOP_AT: f64 = 0.44;
const RESTART_STOPPED_AT: f64 = 0.56;
const FREEZE_AT: f64 = 0.67;
/// How long the nodes get to elect leaders for both locks at the start.
const FIRST_ELECTION_LIMIT: Duration = Duration::from_secs(60);
/// How long the demo waits for a takeover before it reports that none happened.
const TAKEOVER_LIMIT: Duration = Duration::from_secs(30);
/// How long a node gets for its graceful shutdown.
const STOP_LIMIT: Duration = Duration::from_secs(35);
/// How long a frozen node stays frozen after another took over, so that it wakes up stale.
const STAY_FROZEN: Duration = Duration::from_secs(4);
/// How long the operator keeps the reports paused: a few of their ticks.
const PAUSED_FOR: Duration = Duration::from_secs(5);
/// How long the demo waits for the triggered digest before going on.
const TRIGGER_WAIT: Duration = Duration::from_secs(3);
/// The jobs the operator acts on.
const REPORT_JOB: &str = "email_digest::build_report";
const DIGEST_JOB: &str = "email_digest::send_digest";

/// Ctrl-C, seen between two steps.
#[derive(Debug)]
pub(crate) struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

pub(crate) struct Demo {
    launcher: Launcher,
    nodes: Vec<Node>,
    reports: Receiver<Report>,
    pub(crate) record: Record,
    console: Console,
    interrupted: Arc<AtomicBool>,
    began: Instant,
}

impl Demo {
    pub(crate) fn new(
        launcher: Launcher,
        node_ids: &[&str],
        reports: Receiver<Report>,
        interrupted: Arc<AtomicBool>,
    ) -> Self {
        let record = Record::new(node_ids);
        let console = Console::new(record.started, node_ids);
        let nodes = node_ids
            .iter()
            .enumerate()
            .map(|(index, id)| Node::new(index, id))
            .collect();
        Self {
            launcher,
            nodes,
            reports,
            record,
            console,
            interrupted,
            began: Instant::now(),
        }
    }

    /// Runs the script for `duration`; with `faults` false the nodes just run.
    pub(crate) fn run(&mut self, duration: Duration, faults: bool) -> anyhow::Result<()> {
        for node in 0..self.nodes.len() {
            self.act(node, Action::Start)?;
        }
        let both_led =
            |record: &Record| record.leader(EMAIL).is_some() && record.leader(REPORTS).is_some();
        self.pump_while(FIRST_ELECTION_LIMIT, |record| !both_led(record))?;
        if !both_led(&self.record) {
            bail!(
                "no node began leading both locks within {} s; see the nodes' logs in {}",
                FIRST_ELECTION_LIMIT.as_secs(),
                self.launcher.log_dir.display()
            );
        }
        if faults {
            let at = |fraction: f64| duration.mul_f64(fraction);
            self.pump_until(at(KILL_AT))?;
            self.console.note("killing the leader of email (SIGKILL)");
            let killed = self.stop_leader(EMAIL, Action::Kill)?;
            self.pump_until(at(RESTART_KILLED_AT))?;
            self.console.note("restarting it: it rejoins the elections");
            self.act(killed, Action::Start)?;
            self.pump_until(at(STOP_AT))?;
            self.console
                .note("stopping the leader of reports gracefully (SIGTERM)");
            let stopped = self.stop_leader(REPORTS, Action::Terminate)?;
            self.pump_until(at(RESTART_STOPPED_AT))?;
            self.console.note("restarting it");
            self.act(stopped, Action::Start)?;
            self.pump_until(at(FREEZE_AT))?;
            self.console.note(
                "freezing the leader of email (SIGSTOP): its connections stay open, only the \
                 lease and the followers' stall check notice",
            );
            let frozen = self.stop_leader(EMAIL, Action::Freeze)?;
            self.pump_for(STAY_FROZEN)?;
            self.console
                .note("resuming it (SIGCONT): its lease has run out, the ledger fences it");
            self.act(frozen, Action::Thaw)?;
            self.operate()?;
        }
        self.pump_until(duration)?;
        Ok(())
    }

    /// Pauses the reports, resumes them, and triggers a digest, through the ledgers.
    fn operate(&mut self) -> anyhow::Result<()> {
        self.console.note(
            "pausing build_report (an operator's pause record in the reports ledger): its \
             ticks are skipped, whichever node leads",
        );
        self.command(REPORTS, operator::pause(REPORT_JOB))?;
        self.pump_for(PAUSED_FOR)?;
        self.console
            .note("resuming it: the next tick runs, the skipped ones stay skipped");
        self.command(REPORTS, operator::resume(REPORT_JOB))?;
        self.console.note(
            "asking for a digest now (a trigger record in the email ledger): the leader runs it \
             once, within about a second",
        );
        self.command(EMAIL, operator::trigger(DIGEST_JOB))?;
        self.pump_for(TRIGGER_WAIT)
    }

    fn command(
        &mut self,
        lock: &str,
        command: leader_jobs::backend::Command,
    ) -> anyhow::Result<()> {
        let launcher = &self.launcher;
        operator::send(&launcher.service_url, &launcher.topic_prefix, lock, command)
            .with_context(|| format!("sending an operator's command to the {lock} ledger"))
    }

    /// Stops every node gracefully (thawing a frozen one first) and collects their last events.
    pub(crate) fn stop_all(&mut self) -> anyhow::Result<()> {
        self.record.stopped = Some(Utc::now());
        self.console.note("stopping every node (SIGTERM)");
        let deadline = Instant::now() + STOP_LIMIT;
        for node in &mut self.nodes {
            node.request_stop()?;
        }
        for index in 0..self.nodes.len() {
            if !self.nodes[index].wait_exit(deadline)? {
                self.console.note(&format!(
                    "{} did not stop within {} s and was killed",
                    self.nodes[index].id,
                    STOP_LIMIT.as_secs()
                ));
            }
        }
        // The nodes have exited; what they wrote last may still be in the pipes.
        while let Ok((node, event)) = self.reports.recv_timeout(Duration::from_millis(500)) {
            self.handle(node, event);
        }
        Ok(())
    }

    /// Waits for `lock` to have a leader, applies `action` to it and waits for another node to
    /// take over every lock it led. Returns the node.
    fn stop_leader(&mut self, lock: &str, action: Action) -> anyhow::Result<usize> {
        self.pump_while(TAKEOVER_LIMIT, |record| record.leader(lock).is_none())?;
        let (leader, _) = self.record.leader(lock).with_context(|| {
            format!("no node has led {lock} for {} s", TAKEOVER_LIMIT.as_secs())
        })?;
        self.act(leader, action)?;
        self.pump_while(TAKEOVER_LIMIT, |record| record.pending_takeovers() > 0)?;
        for takeover in &mut self.record.takeovers {
            if takeover.by.is_none() && !takeover.gave_up {
                takeover.gave_up = true;
                self.console.note(&format!(
                    "nobody took {} over within {} s",
                    takeover.lock,
                    TAKEOVER_LIMIT.as_secs()
                ));
            }
        }
        Ok(leader)
    }

    fn act(&mut self, node: usize, action: Action) -> anyhow::Result<()> {
        let at = Utc::now();
        let process = &mut self.nodes[node];
        match action {
            Action::Start => process.start(&self.launcher)?,
            Action::Kill => process.kill()?,
            Action::Freeze => process.freeze()?,
            Action::Thaw => process.thaw()?,
            Action::Terminate => {
                // Recorded before waiting, so the takeover is timed from the signal.
                process.request_stop()?;
            }
        }
        self.record.add_fault(Fault { at, node, action });
        if action == Action::Terminate {
            let deadline = Instant::now() + STOP_LIMIT;
            while !self.nodes[node].has_exited()? {
                if Instant::now() >= deadline {
                    self.nodes[node].kill()?;
                    self.console
                        .note("the node did not stop in time and was killed");
                    break;
                }
                self.pump_for(Duration::from_millis(50))?;
            }
            self.record.node_gone(node);
        }
        Ok(())
    }

    fn pump_until(&mut self, since_start: Duration) -> anyhow::Result<()> {
        let remaining = since_start.saturating_sub(self.began.elapsed());
        self.pump_for(remaining)
    }

    fn pump_for(&mut self, duration: Duration) -> anyhow::Result<()> {
        self.pump_while(duration, |_| true)
    }

    /// Prints and records events while `condition` holds, for at most `limit`.
    fn pump_while(
        &mut self,
        limit: Duration,
        condition: impl Fn(&Record) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        while condition(&self.record) {
            if self.interrupted.load(Ordering::SeqCst) {
                return Err(Interrupted.into());
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            match self.reports.recv_timeout(wait) {
                Ok((node, event)) => self.handle(node, event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => bail!("the node readers stopped"),
            }
        }
        Ok(())
    }

    fn handle(&mut self, node: usize, event: crate::event::Event) {
        self.console.event(node, &event);
        for takeover in self.record.add_event(node, event) {
            self.report_takeover(&takeover);
        }
    }

    fn report_takeover(&self, takeover: &Takeover) {
        if let Some((by, after)) = takeover.by {
            self.console.note(&format!(
                "{} taken over by {} {:.2} s after the {} of {}",
                takeover.lock,
                self.record.nodes[by],
                after.as_secs_f64(),
                takeover.fault.action.label(),
                self.record.nodes[takeover.fault.node],
            ));
        }
    }
}
