//! Everything that happened in one demo run: the nodes' events, the faults the demo injected,
//! and the takeovers it measured. The summary and the timeline are drawn from it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::event::{Event, Kind};

/// What the demo did to a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Start,
    Kill,
    Terminate,
    Freeze,
    Thaw,
}

impl Action {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Kill => "SIGKILL",
            Self::Terminate => "SIGTERM",
            Self::Freeze => "SIGSTOP",
            Self::Thaw => "SIGCONT",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Fault {
    pub(crate) at: DateTime<Utc>,
    pub(crate) node: usize,
    pub(crate) action: Action,
}

/// A lock whose leader the demo stopped, and who led it next.
#[derive(Clone, Debug)]
pub(crate) struct Takeover {
    pub(crate) fault: Fault,
    pub(crate) lock: String,
    /// The new leader and how long after the fault it began its term; `None` if nobody did
    /// within the demo's wait.
    pub(crate) by: Option<(usize, Duration)>,
    /// The demo stopped waiting for it.
    pub(crate) gave_up: bool,
}

#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) nodes: Vec<String>,
    pub(crate) started: DateTime<Utc>,
    /// When the final stop began.
    pub(crate) stopped: Option<DateTime<Utc>>,
    pub(crate) events: Vec<(usize, Event)>,
    pub(crate) faults: Vec<Fault>,
    pub(crate) takeovers: Vec<Takeover>,
    /// Per lock, the nodes that believe they lead it, with their terms.
    believers: BTreeMap<String, Vec<(usize, u64)>>,
}

impl Record {
    pub(crate) fn new(nodes: &[&str]) -> Self {
        Self {
            nodes: nodes.iter().map(|&node| node.to_owned()).collect(),
            started: Utc::now(),
            stopped: None,
            events: Vec::new(),
            faults: Vec::new(),
            takeovers: Vec::new(),
            believers: BTreeMap::new(),
        }
    }

    /// Adds a node's event; returns the takeovers it completes.
    pub(crate) fn add_event(&mut self, node: usize, event: Event) -> Vec<Takeover> {
        let mut completed = Vec::new();
        match &event.kind {
            Kind::LeadershipGained { lock, term } => {
                self.believers
                    .entry(lock.clone())
                    .or_default()
                    .push((node, *term));
                for takeover in &mut self.takeovers {
                    let waiting = takeover.by.is_none()
                        && !takeover.gave_up
                        && takeover.lock == *lock
                        && takeover.fault.node != node
                        && event.at > takeover.fault.at;
                    if waiting {
                        let after = (event.at - takeover.fault.at).to_std().unwrap_or_default();
                        takeover.by = Some((node, after));
                        completed.push(takeover.clone());
                    }
                }
            }
            Kind::LeadershipLost { lock, term, .. } => {
                if let Some(believers) = self.believers.get_mut(lock) {
                    believers.retain(|&believer| believer != (node, *term));
                }
            }
            _ => {}
        }
        self.events.push((node, event));
        completed
    }

    /// Records a fault. Stopping a node that leads opens a takeover per lock it led; a killed
    /// process stops believing anything.
    pub(crate) fn add_fault(&mut self, fault: Fault) {
        if matches!(
            fault.action,
            Action::Kill | Action::Terminate | Action::Freeze
        ) {
            for lock in self.locks_led_by(fault.node) {
                self.takeovers.push(Takeover {
                    fault: fault.clone(),
                    lock,
                    by: None,
                    gave_up: false,
                });
            }
        }
        if fault.action == Action::Kill {
            self.node_gone(fault.node);
        }
        self.faults.push(fault);
    }

    /// A node's process ended: whatever it believed ended with it.
    pub(crate) fn node_gone(&mut self, node: usize) {
        for believers in self.believers.values_mut() {
            believers.retain(|&(believer, _)| believer != node);
        }
    }

    /// The node with the highest term among those that believe they lead `lock`.
    pub(crate) fn leader(&self, lock: &str) -> Option<(usize, u64)> {
        self.believers
            .get(lock)?
            .iter()
            .copied()
            .max_by_key(|&(_, term)| term)
    }

    pub(crate) fn locks_led_by(&self, node: usize) -> Vec<String> {
        self.believers
            .keys()
            .filter(|lock| self.leader(lock).is_some_and(|(leader, _)| leader == node))
            .cloned()
            .collect()
    }

    pub(crate) fn pending_takeovers(&self) -> usize {
        self.takeovers
            .iter()
            .filter(|t| t.by.is_none() && !t.gave_up)
            .count()
    }

    /// Seconds since the demo started, for output and the timeline.
    pub(crate) fn seconds(&self, at: DateTime<Utc>) -> f64 {
        (at - self.started).num_microseconds().unwrap_or(0) as f64 / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gained(at: DateTime<Utc>, lock: &str, term: u64) -> Event {
        Event {
            at,
            kind: Kind::LeadershipGained {
                lock: lock.into(),
                term,
            },
        }
    }

    #[test]
    fn a_takeover_is_the_first_term_another_node_begins_after_the_fault() {
        let mut record = Record::new(&["a", "b", "c"]);
        let t0 = record.started;
        let ms = |n| t0 + chrono::Duration::milliseconds(n);
        record.add_event(0, gained(ms(100), "email", 1));
        record.add_event(1, gained(ms(120), "reports", 1));
        assert_eq!(record.leader("email"), Some((0, 1)));
        record.add_fault(Fault {
            at: ms(1_000),
            node: 0,
            action: Action::Kill,
        });
        assert_eq!(record.leader("email"), None);
        assert_eq!(record.pending_takeovers(), 1);
        let done = record.add_event(2, gained(ms(2_060), "email", 2));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].by, Some((2, Duration::from_millis(1_060))));
        assert_eq!(record.pending_takeovers(), 0);
    }

    #[test]
    fn a_frozen_leader_still_believes_but_the_higher_term_leads() {
        let mut record = Record::new(&["a", "b"]);
        let t0 = record.started;
        record.add_event(0, gained(t0, "email", 1));
        record.add_fault(Fault {
            at: t0,
            node: 0,
            action: Action::Freeze,
        });
        record.add_event(1, gained(t0 + chrono::Duration::seconds(5), "email", 2));
        assert_eq!(record.leader("email"), Some((1, 2)));
        assert!(record.locks_led_by(0).is_empty());
    }
}
