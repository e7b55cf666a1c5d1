//! Who really led each lock when: the nodes' own reports, cut short where the cluster killed,
//! froze or stopped a process (a dead or frozen node cannot report that it no longer leads).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::cluster::{NodeEvent, ProcessAction, ProcessEvent};

/// A span of time during which one node effectively led one lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The node.
    pub node: String,
    /// Its term.
    pub term: u64,
    /// From.
    pub from: DateTime<Utc>,
    /// Until.
    pub until: DateTime<Utc>,
}

enum Step<'a> {
    Process(&'a ProcessEvent),
    Report(&'a NodeEvent),
}

/// Per lock, the spans of effective leadership up to `end`: a node leads from its report of a
/// term until it reports otherwise, dies, begins a graceful shutdown, or is frozen (and again
/// from its thaw, if it has not reported otherwise meanwhile).
pub fn spans(
    reports: &[NodeEvent],
    lifecycle: &[ProcessEvent],
    end: DateTime<Utc>,
) -> BTreeMap<String, Vec<Span>> {
    let mut by_lock: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    let locks: std::collections::BTreeSet<&str> =
        reports.iter().map(|report| report.lock.as_str()).collect();
    let nodes: std::collections::BTreeSet<&str> = reports
        .iter()
        .map(|report| report.node.as_str())
        .chain(lifecycle.iter().map(|event| event.node.as_str()))
        .collect();
    for lock in locks {
        let spans = by_lock.entry(lock.to_owned()).or_default();
        for node in &nodes {
            let mut steps: Vec<(DateTime<Utc>, Step<'_>)> = lifecycle
                .iter()
                .filter(|event| event.node == *node)
                .map(|event| (event.at, Step::Process(event)))
                .chain(
                    reports
                        .iter()
                        .filter(|report| report.node == *node && report.lock == lock)
                        .map(|report| (report.at, Step::Report(report))),
                )
                .collect();
            // Stable: a process step and a report at the same instant keep the process first.
            steps.sort_by_key(|(at, _)| *at);
            node_spans(node, &steps, end, spans);
        }
        spans.sort_by_key(|span| span.from);
    }
    by_lock
}

fn node_spans(
    node: &str,
    steps: &[(DateTime<Utc>, Step<'_>)],
    end: DateTime<Utc>,
    out: &mut Vec<Span>,
) {
    let (mut alive, mut frozen, mut term) = (false, false, None::<u64>);
    let mut open: Option<(u64, DateTime<Utc>)> = None;
    for (at, step) in steps {
        match step {
            Step::Process(event) => match event.action {
                ProcessAction::Started => {
                    (alive, frozen, term) = (true, false, None);
                }
                // A node shutting down gracefully resigns first thing.
                ProcessAction::Terminating => term = None,
                ProcessAction::Killed | ProcessAction::Exited => (alive, term) = (false, None),
                ProcessAction::Frozen => frozen = true,
                ProcessAction::Thawed => frozen = false,
            },
            Step::Report(report) => {
                if alive {
                    term = report.term;
                }
            }
        }
        let leading = if alive && !frozen { term } else { None };
        match (open, leading) {
            (Some((held, _)), Some(now)) if held == now => {}
            (current, now) => {
                if let Some((held, from)) = current {
                    out.push(Span {
                        node: node.to_owned(),
                        term: held,
                        from,
                        until: *at,
                    });
                }
                open = now.map(|now| (now, *at));
            }
        }
    }
    if let Some((held, from)) = open {
        out.push(Span {
            node: node.to_owned(),
            term: held,
            from,
            until: end.max(from),
        });
    }
}

/// The longest stretch inside `[from, until]` covered by no span: its start and length.
pub fn longest_gap(
    spans: &[Span],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> (DateTime<Utc>, chrono::TimeDelta) {
    let mut covered_to = from;
    let mut best = (from, chrono::TimeDelta::zero());
    let mut sorted: Vec<&Span> = spans.iter().filter(|span| span.until > from).collect();
    sorted.sort_by_key(|span| span.from);
    for span in sorted {
        if span.from > until {
            break;
        }
        if span.from > covered_to && span.from - covered_to > best.1 {
            best = (covered_to, span.from - covered_to);
        }
        covered_to = covered_to.max(span.until);
    }
    if until > covered_to && until - covered_to > best.1 {
        best = (covered_to, until - covered_to);
    }
    best
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(second)
    }

    fn process(node: &str, action: ProcessAction, second: i64) -> ProcessEvent {
        ProcessEvent {
            node: node.into(),
            action,
            at: at(second),
        }
    }

    fn report(node: &str, term: Option<u64>, second: i64) -> NodeEvent {
        NodeEvent {
            node: node.into(),
            lock: "l".into(),
            term,
            at: at(second),
        }
    }

    #[test]
    fn death_and_freezes_end_leadership_that_was_never_reported_lost() {
        let lifecycle = [
            process("a", ProcessAction::Started, 0),
            process("b", ProcessAction::Started, 0),
            process("a", ProcessAction::Frozen, 10),
            process("a", ProcessAction::Thawed, 12),
            process("a", ProcessAction::Killed, 20),
        ];
        let reports = [
            report("a", None, 1),
            report("b", None, 1),
            report("a", Some(1), 2),
            report("b", Some(2), 23),
        ];
        let spans = spans(&reports, &lifecycle, at(30));
        let spans = &spans["l"];
        let summary: Vec<(&str, i64, i64)> = spans
            .iter()
            .map(|s| (s.node.as_str(), s.from.timestamp(), s.until.timestamp()))
            .collect();
        assert_eq!(summary, [("a", 2, 10), ("a", 12, 20), ("b", 23, 30)]);
        let (start, length) = longest_gap(spans, at(2), at(30));
        assert_eq!((start, length), (at(20), TimeDelta::seconds(3)));
    }
}
