//! The node's log lines (`LOG_FORMAT=json`, the runtime's `tracing` events) the demo still
//! reads: the lines each job logs inside its run (the run happened: the demo judges from what the
//! jobs did, not from what the runtime says it started), each job's registration at start, and
//! warnings and errors to show. Everything else arrives as a typed event (`typed.rs`).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::{Kind, RunId};

/// Warnings the typed events already show (`claim_lost`, `abandoned_run`): not shown twice.
const SHOWN_AS_EVENTS: [&str; 2] = ["claim lost", "abandoned run"];

/// Reads one log line; `None` for lines the demo does not follow.
pub(super) fn parse(value: &Value) -> Option<Kind> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let message = text("message").unwrap_or_default();
    let target = text("target").unwrap_or_default();
    if !target.starts_with("leader_jobs") {
        // Inside a run's span, a line of the job's own: the run happened.
        let span = value
            .get("span")
            .filter(|span| span.get("name").and_then(Value::as_str) == Some("job_run"))?;
        return run_id(span).map(Kind::Run);
    }
    if message == "job registered" {
        return Some(Kind::JobRegistered {
            job: text("job")?,
            lock: text("lock")?,
            cron: text("cron")?,
            tz: text("tz")?,
            misfire: text("misfire")?,
        });
    }
    if SHOWN_AS_EVENTS
        .iter()
        .any(|shown| message.starts_with(shown))
    {
        return None;
    }
    notice(value, message)
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

/// Warnings and errors, with the line's own fields after the message.
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
    if level != "WARN" && level != "ERROR" {
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
    use chrono::TimeZone;

    use super::super::parse;
    use super::*;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 22, 48, second).unwrap()
    }

    #[test]
    fn a_line_of_the_job_inside_its_run_span_is_a_run() {
        let line = r#"{"timestamp":"2026-11-29T22:48:20.062866Z","level":"INFO","message":"digest sent","customers":3,"target":"email_digest","span":{"job":"email_digest::send_digest","lock":"email","node":"a","term":1,"tick":"2026-11-29 22:48:20 UTC","name":"job_run"},"spans":[]}"#;
        let expected = RunId {
            job: "email_digest::send_digest".into(),
            lock: "email".into(),
            tick: at(20),
            term: 1,
        };
        assert_eq!(parse(line).map(|e| e.kind), Some(Kind::Run(expected)));
        // The runtime's own lines in the span are not the job's.
        let runtime = line
            .replace("digest sent", "catch-up run for a missed tick")
            .replace(
                "\"email_digest\",\"span\"",
                "\"leader_jobs::scheduler::run\",\"span\"",
            );
        assert_eq!(parse(&runtime), None);
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
    fn what_events_carry_is_not_read_from_the_log() {
        for line in [
            r#"{"timestamp":"2026-11-29T22:48:19.551928Z","level":"INFO","message":"leadership gained","lock":"reports","term":1,"node":"a","target":"leader_jobs::scheduler::term"}"#,
            r#"{"timestamp":"2026-11-29T22:57:30.616Z","level":"WARN","message":"claim lost: the ledger gave this tick to another claim; not running it","job":"j","tick":"2026-11-29 22:48:10 UTC","term":2,"highest_term":3,"target":"leader_jobs::scheduler::term::dispatch"}"#,
            r#"{"timestamp":"2026-11-29T22:48:18.404873Z","level":"WARN","message":"abandoned run: a previous leader claimed this tick but recorded no outcome","lock":"email","job":"j","tick":"2026-11-29 22:48:15 UTC","term":2,"node":"b","target":"leader_jobs::scheduler::term"}"#,
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
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
