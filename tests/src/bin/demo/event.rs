//! What a node reports: its JSON log lines (`LOG_FORMAT=json`), read back into the events the
//! demo follows. The messages and fields are those the runtime emits through `tracing`.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// One event of one node, at the node's own timestamp.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Event {
    pub(crate) at: DateTime<Utc>,
    pub(crate) kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    /// The runtime's start-up line for each job.
    JobRegistered {
        job: String,
        lock: String,
        cron: String,
        tz: String,
        misfire: String,
    },
    /// The scheduler began a term: from now on this node runs the lock's jobs.
    LeadershipGained { lock: String, term: u64 },
    /// The scheduler ended its term.
    LeadershipLost {
        lock: String,
        term: u64,
        reason: String,
    },
    /// A line the job itself logged while running a tick: the run happened.
    Run(RunId),
    /// The runtime started a run for a tick that passed while no node led (misfire policy).
    CatchUp(RunId),
    /// The runtime started a run an operator triggered; its tick is the trigger's time.
    Manual(RunId),
    /// The runtime ran a tick again whose attempt an earlier leader abandoned (delivery at least
    /// once): a further attempt, not a duplicate.
    Rerun(RunId),
    /// A tick of a paused job was skipped.
    Paused { job: String, tick: DateTime<Utc> },
    /// A new leader found a claim without outcome: the previous leader died between claiming the
    /// tick and finishing the run, and the tick is not run again.
    Abandoned { job: String, tick: DateTime<Utc> },
    /// The ledger refused this node's claim of a tick: another node's claim came first, or a
    /// newer term began (the node's belief that it leads was stale).
    ClaimLost {
        job: String,
        tick: DateTime<Utc>,
        term: u64,
        highest_term: u64,
    },
    /// Anything else of leader-jobs worth showing: warnings, errors, misfire decisions.
    Notice { level: String, message: String },
}

/// Which run of which tick.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RunId {
    pub(crate) job: String,
    pub(crate) lock: String,
    pub(crate) tick: DateTime<Utc>,
    pub(crate) term: u64,
}

/// Reads one log line; `None` for lines the demo does not follow (the `pulsar` crate's, debug
/// output, anything that is not JSON).
pub(crate) fn parse(line: &str) -> Option<Event> {
    let value: Value = serde_json::from_str(line).ok()?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let at = DateTime::parse_from_rfc3339(&text("timestamp")?)
        .ok()?
        .with_timezone(&Utc);
    let message = text("message").unwrap_or_default();
    let target = text("target").unwrap_or_default();
    let in_run = value
        .get("span")
        .filter(|span| span.get("name").and_then(Value::as_str) == Some("job_run"));
    let kind = if let Some(span) = in_run {
        let run = run_id(span)?;
        if !target.starts_with("leader_jobs") {
            Kind::Run(run)
        } else if message == "catch-up run for a missed tick" {
            Kind::CatchUp(run)
        } else if message == "manual run, triggered by an operator" {
            Kind::Manual(run)
        } else if message.starts_with("rerun of a tick whose last attempt was abandoned") {
            Kind::Rerun(run)
        } else {
            notice(&value, format!("{message} ({} tick {})", run.job, run.tick))?
        }
    } else {
        let term = value.get("term").and_then(Value::as_u64);
        match (message.as_str(), term) {
            ("job registered", _) => Kind::JobRegistered {
                job: text("job")?,
                lock: text("lock")?,
                cron: text("cron")?,
                tz: text("tz")?,
                misfire: text("misfire")?,
            },
            // The election backend logs these too, without a term; the scheduler's, with the
            // term, are the ones after which jobs run.
            ("leadership gained", Some(term)) => Kind::LeadershipGained {
                lock: text("lock")?,
                term,
            },
            ("leadership lost", Some(term)) => Kind::LeadershipLost {
                lock: text("lock")?,
                term,
                reason: text("reason").unwrap_or_default(),
            },
            (message, Some(term)) if message.starts_with("claim lost") => Kind::ClaimLost {
                job: text("job")?,
                tick: parse_tick(&text("tick")?)?,
                term,
                highest_term: value.get("highest_term").and_then(Value::as_u64)?,
            },
            ("tick skipped: the job is paused", _) => Kind::Paused {
                job: text("job")?,
                tick: parse_tick(&text("tick")?)?,
            },
            (message, _) if message.starts_with("abandoned run") => Kind::Abandoned {
                job: text("job")?,
                tick: parse_tick(&text("tick")?)?,
            },
            _ if target.starts_with("leader_jobs") => notice(&value, message)?,
            _ => return None,
        }
    };
    Some(Event { at, kind })
}

fn run_id(span: &Value) -> Option<RunId> {
    let text = |key: &str| span.get(key).and_then(Value::as_str);
    Some(RunId {
        job: text("job")?.to_owned(),
        lock: text("lock")?.to_owned(),
        tick: parse_tick(text("tick")?)?,
        term: span.get("term").and_then(Value::as_u64)?,
    })
}

/// A tick as the `job_run` span shows it: chrono's `Display`, `2026-01-01 09:00:00 UTC`.
fn parse_tick(text: &str) -> Option<DateTime<Utc>> {
    let naive = text.strip_suffix(" UTC")?;
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|tick| tick.and_utc())
}

/// Warnings and errors, and the misfire decisions (info) that explain catch-up runs, with the
/// event's own fields after the message.
fn notice(value: &Value, message: String) -> Option<Kind> {
    const SHOWN_ELSEWHERE: [&str; 7] = [
        "timestamp",
        "level",
        "message",
        "target",
        "span",
        "spans",
        "node",
    ];
    let level = value.get("level").and_then(Value::as_str)?.to_owned();
    if level == "INFO" && !message.starts_with("missed ticks") {
        return None;
    }
    let fields = value
        .as_object()?
        .iter()
        .filter(|(key, _)| !SHOWN_ELSEWHERE.contains(&key.as_str()) && !key.starts_with("log."));
    let mut message = message;
    for (key, field) in fields {
        match field.as_str() {
            Some(text) => message.push_str(&format!(" {key}={text}")),
            None => message.push_str(&format!(" {key}={field}")),
        }
    }
    Some(Kind::Notice { level, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(second: u32, micros: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 22, 48, second).unwrap()
            + chrono::Duration::microseconds(i64::from(micros))
    }

    #[test]
    fn reads_the_scheduler_leadership_lines_and_ignores_the_election_backend_ones() {
        let gained = r#"{"timestamp":"2026-11-29T22:48:19.551928Z","level":"INFO","message":"leadership gained","lock":"reports","term":1,"node":"a","target":"leader_jobs::scheduler::term"}"#;
        assert_eq!(
            parse(gained),
            Some(Event {
                at: at(19, 551_928),
                kind: Kind::LeadershipGained {
                    lock: "reports".into(),
                    term: 1
                }
            })
        );
        let backend = r#"{"timestamp":"2026-11-29T22:48:19.467061Z","level":"INFO","message":"leadership gained","lock":"reports","node":"a","target":"leader_jobs::backend::pulsar::election"}"#;
        assert_eq!(parse(backend), None);
        let lost = r#"{"timestamp":"2026-11-29T22:48:27.373365Z","level":"INFO","message":"leadership lost","lock":"email","term":1,"node":"a","reason":"shutdown","target":"leader_jobs::scheduler::term"}"#;
        assert!(matches!(
            parse(lost).map(|e| e.kind),
            Some(Kind::LeadershipLost { term: 1, reason, .. }) if reason == "shutdown"
        ));
    }

    #[test]
    fn a_line_of_the_job_inside_its_run_span_is_a_run() {
        let line = r#"{"timestamp":"2026-11-29T22:48:20.062866Z","level":"INFO","message":"digest sent","customers":3,"target":"email_digest","span":{"job":"email_digest::send_digest","lock":"email","node":"a","term":1,"tick":"2026-11-29 22:48:20 UTC","name":"job_run"},"spans":[]}"#;
        let expected = RunId {
            job: "email_digest::send_digest".into(),
            lock: "email".into(),
            tick: at(20, 0),
            term: 1,
        };
        assert_eq!(
            parse(line).map(|e| e.kind),
            Some(Kind::Run(expected.clone()))
        );
        let catch_up = line
            .replace("digest sent", "catch-up run for a missed tick")
            .replace(
                "\"email_digest\",\"span\"",
                "\"leader_jobs::scheduler::run\",\"span\"",
            );
        assert_eq!(
            parse(&catch_up).map(|e| e.kind),
            Some(Kind::CatchUp(expected))
        );
    }

    #[test]
    fn a_refused_claim_names_the_stale_and_the_newer_term() {
        let line = r#"{"timestamp":"2026-11-29T22:57:30.616Z","level":"WARN","message":"claim lost: the ledger gave this tick to another claim; not running it","job":"j","tick":"2026-11-29 22:48:10 UTC","term":2,"highest_term":3,"target":"leader_jobs::scheduler::term::dispatch"}"#;
        assert_eq!(
            parse(line).map(|e| e.kind),
            Some(Kind::ClaimLost {
                job: "j".into(),
                tick: at(10, 0),
                term: 2,
                highest_term: 3
            })
        );
    }

    #[test]
    fn abandoned_claims_name_their_tick() {
        let line = r#"{"timestamp":"2026-11-29T22:48:18.404873Z","level":"WARN","message":"abandoned run: a previous leader claimed this tick but recorded no outcome","lock":"email","job":"j","tick":"2026-11-29 22:48:15 UTC","term":2,"node":"b","target":"leader_jobs::scheduler::term"}"#;
        assert_eq!(
            parse(line).map(|e| e.kind),
            Some(Kind::Abandoned {
                job: "j".into(),
                tick: at(15, 0)
            })
        );
    }

    #[test]
    fn job_registrations_carry_the_schedule() {
        let line = r#"{"timestamp":"2026-11-29T22:48:18.378716Z","level":"INFO","message":"job registered","node":"a","lock":"reports","job":"email_digest::build_report","cron":"*/2 * * * * *","tz":"UTC","misfire":"fire_all","overlap":"skip","target":"leader_jobs::runtime"}"#;
        assert!(matches!(
            parse(line).map(|e| e.kind),
            Some(Kind::JobRegistered { cron, misfire, .. }) if cron == "*/2 * * * * *" && misfire == "fire_all"
        ));
    }

    #[test]
    fn other_crates_and_routine_info_lines_are_not_followed() {
        let pulsar = r#"{"timestamp":"2026-11-29T22:48:18.404873Z","level":"WARN","message":"Retry #0","target":"pulsar::retry_op"}"#;
        assert_eq!(parse(pulsar), None);
        let routine = r#"{"timestamp":"2026-11-29T22:48:18.404873Z","level":"INFO","message":"something routine","target":"leader_jobs::backend"}"#;
        assert_eq!(parse(routine), None);
        let warning = r#"{"timestamp":"2026-11-29T22:48:18.404873Z","level":"WARN","message":"the leader stopped acknowledging heartbeats","backlog":27,"target":"leader_jobs::backend::pulsar::election"}"#;
        assert_eq!(
            parse(warning).map(|e| e.kind),
            Some(Kind::Notice {
                level: "WARN".into(),
                message: "the leader stopped acknowledging heartbeats backlog=27".into()
            })
        );
        assert_eq!(parse("not json"), None);
    }
}
