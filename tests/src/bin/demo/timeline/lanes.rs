//! What the timeline shows, worked out from the record: the locks, each node's leader spans,
//! and when each process was down or frozen. Times are seconds since the demo started.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::event::Kind;
use crate::record::{Action, Record};

/// A span during which `node` led lock number `lock` in `term`.
#[derive(Debug, PartialEq)]
pub(super) struct Span {
    pub(super) node: usize,
    pub(super) lock: usize,
    pub(super) from: f64,
    pub(super) to: f64,
    pub(super) term: u64,
}

/// A span during which a node's process was down (killed or stopped, until restarted) or frozen.
#[derive(Debug, PartialEq)]
pub(super) struct Gap {
    pub(super) node: usize,
    pub(super) from: f64,
    pub(super) to: f64,
    pub(super) frozen: bool,
}

/// The locks in the order the nodes registered their jobs.
pub(super) fn locks(record: &Record) -> Vec<String> {
    let mut locks: Vec<String> = Vec::new();
    for (_, event) in &record.events {
        if let Kind::JobRegistered { lock, .. } = &event.kind {
            if !locks.contains(lock) {
                locks.push(lock.clone());
            }
        }
    }
    locks
}

/// Each job's lock, as an index into `locks`.
pub(super) fn lock_of_jobs<'a>(record: &'a Record, locks: &[String]) -> BTreeMap<&'a str, usize> {
    record
        .events
        .iter()
        .filter_map(|(_, event)| match &event.kind {
            Kind::JobRegistered { job, lock, .. } => {
                Some((job.as_str(), locks.iter().position(|known| known == lock)?))
            }
            _ => None,
        })
        .collect()
}

/// From each node's "leadership gained" to its "leadership lost", or to the SIGKILL that ended
/// its process, or to `end`.
pub(super) fn leader_spans(record: &Record, locks: &[String], end: f64) -> Vec<Span> {
    // A SIGKILL is a moment without an event.
    let mut moments: Vec<(DateTime<Utc>, usize, Option<&Kind>)> = record
        .events
        .iter()
        .map(|(node, event)| (event.at, *node, Some(&event.kind)))
        .collect();
    moments.extend(
        record
            .faults
            .iter()
            .filter(|fault| fault.action == Action::Kill)
            .map(|fault| (fault.at, fault.node, None)),
    );
    moments.sort_by_key(|(at, _, _)| *at);
    let index_of = |name: &str| locks.iter().position(|lock| lock == name);
    let mut open: BTreeMap<(usize, usize), (f64, u64)> = BTreeMap::new();
    let mut spans = Vec::new();
    let mut close = |node, lock, (from, term), to| {
        spans.push(Span {
            node,
            lock,
            from,
            to,
            term,
        });
    };
    for (at, node, kind) in moments {
        let x = record.seconds(at);
        match kind {
            Some(Kind::LeadershipGained { lock, term }) => {
                if let Some(lock) = index_of(lock) {
                    open.insert((node, lock), (x, *term));
                }
            }
            Some(Kind::LeadershipLost { lock, .. }) => {
                let Some(lock) = index_of(lock) else { continue };
                if let Some(start) = open.remove(&(node, lock)) {
                    close(node, lock, start, x);
                }
            }
            Some(_) => {}
            None => {
                let killed: Vec<_> = open.keys().filter(|(n, _)| *n == node).copied().collect();
                for key in killed {
                    if let Some(start) = open.remove(&key) {
                        close(node, key.1, start, x);
                    }
                }
            }
        }
    }
    for ((node, lock), start) in open {
        close(node, lock, start, end);
    }
    spans
}

/// Where each node's process was down or frozen, from the demo's own actions.
pub(super) fn process_gaps(record: &Record, end: f64) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let mut since: BTreeMap<usize, (f64, bool)> = BTreeMap::new();
    for fault in &record.faults {
        let x = record.seconds(fault.at);
        match fault.action {
            Action::Kill | Action::Terminate => {
                since.insert(fault.node, (x, false));
            }
            Action::Freeze => {
                since.insert(fault.node, (x, true));
            }
            Action::Start | Action::Thaw => {
                if let Some((from, frozen)) = since.remove(&fault.node) {
                    gaps.push(Gap {
                        node: fault.node,
                        from,
                        to: x,
                        frozen,
                    });
                }
            }
        }
    }
    gaps.extend(since.into_iter().map(|(node, (from, frozen))| Gap {
        node,
        from,
        to: end,
        frozen,
    }));
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::record::Fault;

    #[test]
    fn a_span_ends_at_leadership_lost_or_at_the_kill() {
        let mut record = Record::new(&["a", "b"]);
        let started = record.started;
        let at = |s| started + chrono::Duration::seconds(s);
        let gained = |s, lock: &str, term| Event {
            at: at(s),
            kind: Kind::LeadershipGained {
                lock: lock.into(),
                term,
            },
        };
        let (email_gained, reports_gained) = (gained(1, "email", 1), gained(1, "reports", 1));
        let b_gained = gained(6, "email", 2);
        let b_lost = Event {
            at: at(8),
            kind: Kind::LeadershipLost {
                lock: "email".into(),
                term: 2,
                reason: "shutdown".into(),
            },
        };
        let kill = Fault {
            at: at(5),
            node: 0,
            action: Action::Kill,
        };
        record.add_event(0, email_gained);
        record.add_event(0, reports_gained);
        record.add_fault(kill);
        record.add_event(1, b_gained);
        record.add_event(1, b_lost);
        let locks = vec!["email".to_owned(), "reports".to_owned()];
        let spans = leader_spans(&record, &locks, 10.0);
        let span = |node, lock, from, to, term| Span {
            node,
            lock,
            from,
            to,
            term,
        };
        assert_eq!(
            spans,
            vec![
                span(0, 0, 1.0, 5.0, 1),
                span(0, 1, 1.0, 5.0, 1),
                span(1, 0, 6.0, 8.0, 2)
            ]
        );
        assert_eq!(
            process_gaps(&record, 10.0),
            vec![Gap {
                node: 0,
                from: 5.0,
                to: 10.0,
                frozen: false
            }]
        );
    }
}
