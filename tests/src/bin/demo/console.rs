//! The demo's output: one line per event, prefixed by the time since the start and the node,
//! coloured per node when stdout is a terminal.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;

use chrono::{DateTime, Utc};

use crate::event::{Event, Kind, RunId};

/// ANSI colours of the nodes' lines, in node order.
const NODE_COLOURS: [&str; 3] = ["36", "35", "33"];
const DEMO_COLOUR: &str = "1;31";
const DIM: &str = "2";

pub(crate) struct Console {
    colour: bool,
    started: DateTime<Utc>,
    nodes: Vec<String>,
    /// Jobs whose registration was shown (every node registers every job at each start).
    shown_jobs: BTreeSet<String>,
    /// Runs the runtime announced as catch-ups; the job's own line comes after.
    catch_ups: BTreeSet<RunId>,
    /// Runs the runtime announced as triggered by an operator.
    manual: BTreeSet<RunId>,
}

impl Console {
    pub(crate) fn new(started: DateTime<Utc>, nodes: &[&str]) -> Self {
        Self {
            colour: std::io::stdout().is_terminal(),
            started,
            nodes: nodes.iter().map(|&node| node.to_owned()).collect(),
            shown_jobs: BTreeSet::new(),
            catch_ups: BTreeSet::new(),
            manual: BTreeSet::new(),
        }
    }

    pub(crate) fn event(&mut self, node: usize, event: &Event) {
        let text = match &event.kind {
            Kind::JobRegistered {
                job,
                lock,
                cron,
                tz,
                misfire,
            } => {
                if !self.shown_jobs.insert(job.clone()) {
                    return;
                }
                format!("job {job}: cron \"{cron}\" ({tz}), lock {lock}, misfire {misfire}")
            }
            Kind::LeadershipGained { lock, term } => format!("LEADS {lock} (term {term})"),
            Kind::LeadershipLost { lock, term, reason } => {
                format!("stops leading {lock} (term {term}): {reason}")
            }
            Kind::CatchUp(run) => {
                self.catch_ups.insert(run.clone());
                return;
            }
            Kind::Manual(run) => {
                self.manual.insert(run.clone());
                return;
            }
            Kind::Rerun(run) => format!(
                "runs {} tick {} again: its last attempt was abandoned (delivery at least once)",
                short_name(&run.job),
                run.tick.format("%H:%M:%S")
            ),
            Kind::Paused { job, tick } => format!(
                "tick {} of {} skipped: the job is paused",
                tick.format("%H:%M:%S"),
                short_name(job)
            ),
            Kind::Run(run) => {
                let manual = self.manual.remove(run);
                let catch_up = if self.catch_ups.remove(run) {
                    "  catch-up for a missed tick"
                } else if manual {
                    "  run now, as the operator asked at that time"
                } else {
                    ""
                };
                // A manual run's tick is the request's time, to the millisecond.
                let tick_format = if manual { "%H:%M:%S%.3f" } else { "%H:%M:%S" };
                format!(
                    "  {:<8} {:<13} tick {}  term {}{catch_up}",
                    run.lock,
                    short_name(&run.job),
                    run.tick.format(tick_format),
                    run.term
                )
            }
            Kind::Abandoned { job, tick } => format!(
                "tick {} of {} was claimed by a leader that died before finishing it: not run again",
                tick.format("%H:%M:%S"),
                short_name(job)
            ),
            Kind::ClaimLost {
                job,
                tick,
                term,
                highest_term,
            } => {
                let why = if highest_term > term {
                    format!("its term {term} is stale, term {highest_term} began")
                } else {
                    "another claim came first".to_owned()
                };
                format!(
                    "the ledger refused its claim of {} tick {}: {why}",
                    short_name(job),
                    tick.format("%H:%M:%S"),
                )
            }
            Kind::Notice { level, message } => {
                let line = format!("{level} {message}");
                self.print(event.at, &self.nodes[node], DIM, &line);
                return;
            }
        };
        let colour = NODE_COLOURS[node % NODE_COLOURS.len()];
        self.print(event.at, &self.nodes[node], colour, &text);
    }

    /// A line of the demo itself: a fault, a takeover, a phase.
    pub(crate) fn note(&self, text: &str) {
        self.print(Utc::now(), "demo", DEMO_COLOUR, text);
    }

    fn print(&self, at: DateTime<Utc>, who: &str, colour: &str, text: &str) {
        let seconds = (at - self.started).num_milliseconds() as f64 / 1000.0;
        let line = format!("{seconds:>6.1}s {who:<7} {text}");
        if self.colour {
            println!("\x1b[{colour}m{line}\x1b[0m");
        } else {
            println!("{line}");
        }
    }
}

/// `email_digest::send_digest` → `send_digest`.
pub(crate) fn short_name(job: &str) -> &str {
    job.rsplit("::").next().unwrap_or(job)
}
