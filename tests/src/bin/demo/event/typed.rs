//! The runtime's typed events, one JSON object per line in `leader_jobs::Event`'s serde form
//! (tagged `event`) with the node's `timestamp` beside it: what leadership, runs the runtime
//! started, skipped ticks, refused claims and abandoned runs the demo follows.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Kind, RunId};

/// The event's kind, or `None` for those the demo does not follow (a scheduled run's start: the
/// job's own line says it ran).
pub(super) fn parse(value: &Value) -> Option<Kind> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let number = |key: &str| value.get(key).and_then(Value::as_u64);
    let time = |key: &str| time(value.get(key)?.as_str()?);
    Some(match value.get("event")?.as_str()? {
        "leadership_gained" => Kind::LeadershipGained {
            lock: text("lock")?,
            term: number("term")?,
        },
        "leadership_lost" => Kind::LeadershipLost {
            lock: text("lock")?,
            term: number("term")?,
            reason: text("reason").unwrap_or_default(),
        },
        "run_started" => {
            let run = RunId {
                job: text("job")?,
                lock: text("lock")?,
                tick: time("tick")?,
                term: number("term")?,
            };
            match text("kind")?.as_str() {
                "catch_up" => Kind::CatchUp(run),
                "manual" => Kind::Manual(run),
                "rerun" => Kind::Rerun(run),
                _ => return None,
            }
        }
        "tick_not_run" if text("why")? == "paused" => Kind::Paused {
            job: text("job")?,
            tick: time("tick")?,
        },
        "claim_lost" => Kind::ClaimLost {
            job: text("job")?,
            tick: time("tick")?,
            term: number("term")?,
            highest_term: number("highest_term")?,
        },
        "abandoned_run" => Kind::Abandoned {
            job: text("job")?,
            tick: time("tick")?,
        },
        "misfire" => Kind::Notice {
            level: "INFO".to_owned(),
            message: format!(
                "missed ticks of {} up to {}: its misfire policy decides them",
                text("job")?,
                time("latest")?.format("%H:%M:%S")
            ),
        },
        _ => return None,
    })
}

fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::{Event, parse};
    use super::*;

    fn at(second: u32, micros: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 22, 48, second).unwrap()
            + chrono::Duration::microseconds(i64::from(micros))
    }

    #[test]
    fn leadership_events_carry_lock_term_and_reason() {
        let gained = r#"{"timestamp":"2026-11-29T22:48:19.551928Z","node":"a","event":"leadership_gained","lock":"reports","term":1}"#;
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
        let lost = r#"{"timestamp":"2026-11-29T22:48:27.373365Z","node":"a","event":"leadership_lost","lock":"email","term":1,"reason":"shutdown"}"#;
        assert!(matches!(
            parse(lost).map(|e| e.kind),
            Some(Kind::LeadershipLost { term: 1, reason, .. }) if reason == "shutdown"
        ));
    }

    #[test]
    fn runs_the_runtime_starts_for_a_reason_are_followed_scheduled_ones_are_not() {
        let line = r#"{"timestamp":"2026-11-29T22:48:41Z","node":"b","event":"run_started","job":"j","lock":"email","tick":"2026-11-29T22:48:40Z","term":2,"attempt":1,"kind":"catch_up"}"#;
        let run = RunId {
            job: "j".into(),
            lock: "email".into(),
            tick: at(40, 0),
            term: 2,
        };
        assert_eq!(
            parse(line).map(|e| e.kind),
            Some(Kind::CatchUp(run.clone()))
        );
        let manual = line.replace("catch_up", "manual");
        assert_eq!(parse(&manual).map(|e| e.kind), Some(Kind::Manual(run)));
        assert_eq!(parse(&line.replace("catch_up", "scheduled")), None);
    }

    #[test]
    fn a_refused_claim_names_the_stale_and_the_newer_term() {
        let line = r#"{"timestamp":"2026-11-29T22:57:30.616Z","node":"a","event":"claim_lost","job":"j","lock":"email","tick":"2026-11-29T22:48:10Z","term":2,"highest_term":3}"#;
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
    fn skipped_paused_ticks_and_abandoned_runs_name_their_tick() {
        let paused = r#"{"timestamp":"2026-11-29T22:48:18Z","node":"a","event":"tick_not_run","job":"j","lock":"email","tick":"2026-11-29T22:48:15Z","why":"paused"}"#;
        assert_eq!(
            parse(paused).map(|e| e.kind),
            Some(Kind::Paused {
                job: "j".into(),
                tick: at(15, 0)
            })
        );
        assert_eq!(parse(&paused.replace("paused", "overlap")), None);
        let abandoned = r#"{"timestamp":"2026-11-29T22:48:18Z","node":"b","event":"abandoned_run","job":"j","lock":"email","tick":"2026-11-29T22:48:15Z"}"#;
        assert_eq!(
            parse(abandoned).map(|e| e.kind),
            Some(Kind::Abandoned {
                job: "j".into(),
                tick: at(15, 0)
            })
        );
    }

    /// The lines the example writes are `leader_jobs::Event`'s own serde form: a change to it
    /// fails here, not in a demo run.
    #[test]
    fn reads_the_runtimes_serialized_events() {
        let event = leader_jobs::Event::LeadershipGained {
            lock: "email".into(),
            term: 4,
        };
        let mut line = serde_json::to_value(&event).unwrap();
        line["timestamp"] = "2026-11-29T22:48:19Z".into();
        assert_eq!(
            parse(&line.to_string()).map(|e| e.kind),
            Some(Kind::LeadershipGained {
                lock: "email".into(),
                term: 4
            })
        );
    }
}
