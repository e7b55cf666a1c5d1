//! The wire format of what leader-jobs writes to Pulsar: JSON objects with a version field `v` and a
//! `kind`, so operators can read topics with `pulsar-client consume` and a rolling upgrade can mix
//! versions. A reader skips kinds it does not know (written by a newer version) instead of failing;
//! a record with a higher `v` than [`VERSION`] is read as far as its known fields go.

use serde::{Deserialize, Serialize};

use crate::backend::LedgerRecord;
use crate::backend::ledger_state::LedgerSnapshot;

/// The record format version this build writes.
pub(crate) const VERSION: u32 = 1;

/// A heartbeat on a lock's election topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Heartbeat {
    pub(crate) v: u32,
    pub(crate) node: String,
    /// Per-process sequence number: the sender matches its own heartbeats to their send time.
    pub(crate) seq: u64,
}

impl Heartbeat {
    pub(crate) fn new(node: &str, seq: u64) -> Self {
        Self {
            v: VERSION,
            node: node.to_owned(),
            seq,
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serializing a struct of strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(crate) fn decode(payload: &[u8]) -> Option<Self> {
        serde_json::from_slice(payload).ok()
    }
}

/// The kind a checkpoint is written as; every other kind is a [`LedgerRecord`]'s (its serde
/// `kind` tag).
const CHECKPOINT: &str = "checkpoint";

/// What one message of a ledger topic holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A record of the ledger.
    Record(LedgerRecord),
    /// A checkpoint: the state after every record before it.
    Checkpoint(LedgerSnapshot),
}

/// Encodes a checkpoint.
pub(crate) fn encode_checkpoint(snapshot: &LedgerSnapshot) -> Vec<u8> {
    versioned(snapshot, Some(CHECKPOINT))
}

/// Encodes a ledger record.
pub(crate) fn encode(record: &LedgerRecord) -> Vec<u8> {
    versioned(record, None)
}

/// `value` as a JSON object with the version `v` added, and `kind` when the type does not carry
/// its own tag.
fn versioned(value: &impl Serialize, kind: Option<&str>) -> Vec<u8> {
    // Serializing strings, integers and timestamps into an object cannot fail.
    let mut object = match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(object)) => object,
        _ => serde_json::Map::new(),
    };
    object.insert("v".into(), VERSION.into());
    if let Some(kind) = kind {
        object.insert("kind".into(), kind.into());
    }
    serde_json::to_vec(&object).unwrap_or_default()
}

/// Why a ledger payload was not turned into a record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Undecodable {
    /// A kind this version does not know: written by a newer version; skip it.
    UnknownKind(String),
    /// Not a leader-jobs record at all.
    Garbage(String),
}

/// Decodes a message of a ledger topic.
pub(crate) fn decode(payload: &[u8]) -> Result<Entry, Undecodable> {
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|error| Undecodable::Garbage(error.to_string()))?;
    let kind = value
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Undecodable::Garbage("no `kind`".into()))?;
    let garbage = |error: serde_json::Error| Undecodable::Garbage(error.to_string());
    if kind == CHECKPOINT {
        return serde_json::from_value(value)
            .map(Entry::Checkpoint)
            .map_err(garbage);
    }
    if !KNOWN_KINDS.contains(&kind.as_str()) {
        return Err(Undecodable::UnknownKind(kind));
    }
    serde_json::from_value(value)
        .map(Entry::Record)
        .map_err(garbage)
}

/// The record kinds this version reads; any other (but `checkpoint`) was written by a newer
/// version.
const KNOWN_KINDS: [&str; 11] = [
    "term_start",
    "claim",
    "retry",
    "schedules",
    "outcome",
    "abandoned",
    "pause",
    "resume",
    "trigger",
    "manual",
    "release",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::control::ControlState;
    use crate::backend::ledger_state::{OpenRun, Releasable};
    use crate::backend::{Claim, JobRuns, PastRun, RetryCause, RunEnd, RunOutcome, Trigger};
    use chrono::TimeZone;
    use chrono::Utc;

    fn claim() -> Claim {
        Claim {
            job: "app::digest".into(),
            tick: Utc.with_ymd_and_hms(2026, 3, 29, 9, 0, 0).single().unwrap(),
            term: 7,
            node: "node-a".into(),
        }
    }

    fn started() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 29, 9, 0, 1).single().unwrap()
    }

    /// The second attempt at `claim()`, timed out after 1.5 s.
    fn outcome() -> LedgerRecord {
        let end = RunEnd::new(
            RunOutcome::TimedOut,
            2,
            started(),
            started() + chrono::TimeDelta::milliseconds(1500),
        );
        LedgerRecord::outcome(&claim(), &end)
    }

    /// A trigger of `claim()`'s job by node-b.
    fn trigger() -> Trigger {
        Trigger::new("app::digest", "r-1", "node-b", started())
    }

    /// A checkpoint with an open retry and one past run.
    fn snapshot() -> LedgerSnapshot {
        let mut runs = JobRuns::default();
        runs.push(PastRun {
            outcome: Some(RunOutcome::Ok),
            started: Some(started()),
            duration: Some(std::time::Duration::from_millis(1500)),
            ..PastRun::abandoned(&claim(), 1)
        });
        LedgerSnapshot {
            highest_term: 9,
            term_holder: Some("node-b".into()),
            term_began: None,
            last_claimed: [("app::digest".to_owned(), claim().tick)].into(),
            open: vec![
                OpenRun {
                    claim: claim(),
                    attempt: 2,
                    after: RetryCause::Abandonment,
                    manual: false,
                    releasable: None,
                    term_began: None,
                },
                OpenRun {
                    claim: Claim {
                        job: "app::report".into(),
                        term: 9,
                        node: "node-b".into(),
                        ..claim()
                    },
                    attempt: 1,
                    after: RetryCause::Failure,
                    manual: false,
                    releasable: Some(Releasable {
                        previous: Some(
                            Utc.with_ymd_and_hms(2026, 3, 29, 8, 0, 0).single().unwrap(),
                        ),
                    }),
                    term_began: None,
                },
            ],
            announced: None,
            runs: [("app::digest".to_owned(), runs)].into(),
            control: ControlState::default(),
        }
    }

    #[test]
    fn records_round_trip() {
        let records = [
            LedgerRecord::TermStart {
                term: 7,
                node: "node-a".into(),
                at: Some(started()),
            },
            LedgerRecord::Claim(claim()),
            LedgerRecord::Retry {
                claim: claim(),
                attempt: 2,
                after: RetryCause::Abandonment,
            },
            outcome(),
            LedgerRecord::Abandoned {
                claim: claim(),
                term: 8,
                node: "node-b".into(),
            },
            LedgerRecord::Release(claim()),
        ];
        for record in records {
            assert_eq!(decode(&encode(&record)), Ok(Entry::Record(record)));
        }
    }

    /// What earlier versions wrote, field for field: every kind must still encode to it and
    /// decode from it.
    #[test]
    fn the_format_is_stable() {
        let written: [(LedgerRecord, &str); 11] = [
            (
                LedgerRecord::TermStart {
                    term: 7,
                    node: "node-a".into(),
                    at: Some(started()),
                },
                r#"{"kind":"term_start","v":1,"term":7,"node":"node-a","at":"2026-03-29T09:00:01Z"}"#,
            ),
            (
                LedgerRecord::Claim(claim()),
                r#"{"kind":"claim","v":1,"job":"app::digest","tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a"}"#,
            ),
            (
                LedgerRecord::Retry {
                    claim: claim(),
                    attempt: 2,
                    after: RetryCause::Failure,
                },
                r#"{"kind":"retry","v":1,"job":"app::digest","tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a","attempt":2}"#,
            ),
            (
                LedgerRecord::Retry {
                    claim: claim(),
                    attempt: 3,
                    after: RetryCause::Abandonment,
                },
                r#"{"kind":"retry","v":1,"job":"app::digest","tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a","attempt":3,"after":"abandonment"}"#,
            ),
            (
                outcome(),
                r#"{"kind":"outcome","v":1,"job":"app::digest","tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a","outcome":"timed_out","attempt":2,"started":"2026-03-29T09:00:01Z","duration_ms":1500}"#,
            ),
            (
                LedgerRecord::Abandoned {
                    claim: claim(),
                    term: 8,
                    node: "node-b".into(),
                },
                r#"{"kind":"abandoned","v":1,"job":"app::digest","tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a","by_term":8,"by_node":"node-b"}"#,
            ),
            (
                LedgerRecord::Pause {
                    job: "app::digest".into(),
                    by: "node-b".into(),
                },
                r#"{"kind":"pause","v":1,"job":"app::digest","by":"node-b"}"#,
            ),
            (
                LedgerRecord::Resume {
                    job: "app::digest".into(),
                    by: "node-b".into(),
                },
                r#"{"kind":"resume","v":1,"job":"app::digest","by":"node-b"}"#,
            ),
            (
                LedgerRecord::Trigger(trigger()),
                r#"{"kind":"trigger","v":1,"job":"app::digest","request":"r-1","by":"node-b","at":"2026-03-29T09:00:01.000000001Z"}"#,
            ),
            (
                LedgerRecord::Manual {
                    claim: Claim {
                        tick: trigger().at,
                        ..claim()
                    },
                    request: "r-1".into(),
                },
                r#"{"kind":"manual","v":1,"job":"app::digest","tick":"2026-03-29T09:00:01.000000001Z","term":7,"node":"node-a","request":"r-1"}"#,
            ),
            (
                LedgerRecord::Release(claim()),
                r#"{"kind":"release","v":1,"job":"app::digest","tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a"}"#,
            ),
        ];
        for (record, text) in written {
            let encoded: serde_json::Value = serde_json::from_slice(&encode(&record)).unwrap();
            let expected: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(encoded, expected);
            assert_eq!(decode(text.as_bytes()), Ok(Entry::Record(record)));
        }
        let checkpoint = r#"{"kind":"checkpoint","v":1,"highest_term":9,"term_holder":"node-b","last_claimed":{"app::digest":"2026-03-29T09:00:00Z"},"open":[{"job":"app::digest","tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a","attempt":2,"after":"abandonment"},{"job":"app::report","tick":"2026-03-29T09:00:00Z","term":9,"node":"node-b","releasable":{"previous":"2026-03-29T08:00:00Z"}}],"runs":{"app::digest":{"recent":[{"tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a","attempt":1,"started":"2026-03-29T09:00:01Z","duration_ms":1500,"outcome":"ok"}],"last_success":{"tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a","attempt":1,"started":"2026-03-29T09:00:01Z","duration_ms":1500,"outcome":"ok"},"totals":{"ok":1,"failed":0,"panicked":0,"timed_out":0,"cancelled":0,"abandoned":0,"reruns":0}}}}"#;
        let encoded: serde_json::Value =
            serde_json::from_slice(&encode_checkpoint(&snapshot())).unwrap();
        assert_eq!(
            encoded,
            serde_json::from_str::<serde_json::Value>(checkpoint).unwrap()
        );
        assert_eq!(
            decode(checkpoint.as_bytes()),
            Ok(Entry::Checkpoint(snapshot()))
        );
    }

    /// Records and checkpoints as versions before retries and run history wrote them.
    #[test]
    fn what_older_versions_wrote_is_read() {
        let outcome = r#"{"kind":"outcome","v":1,"job":"app::digest","tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a","outcome":"timed_out"}"#;
        assert_eq!(
            decode(outcome.as_bytes()),
            Ok(Entry::Record(LedgerRecord::Outcome {
                claim: claim(),
                outcome: RunOutcome::TimedOut,
                attempt: 1,
                started: None,
                duration_ms: None,
            }))
        );
        let checkpoint = r#"{"kind":"checkpoint","v":1,"highest_term":9,"term_holder":"node-b","last_claimed":{"app::digest":"2026-03-29T09:00:00Z"},"open":[{"job":"app::digest","tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a"}]}"#;
        let Ok(Entry::Checkpoint(read)) = decode(checkpoint.as_bytes()) else {
            panic!("an old checkpoint is read");
        };
        assert_eq!(read.open[0].attempt, 1);
        assert_eq!(
            read.open[0].releasable, None,
            "a claim of an older version is not released"
        );
        assert!(read.runs.is_empty());
    }

    #[test]
    fn records_of_a_newer_version_are_read_or_skipped() {
        let newer_claim = br#"{"kind":"claim","v":2,"job":"j","tick":"2026-03-29T09:00:00Z","term":1,"node":"a","extra":true}"#;
        assert!(matches!(
            decode(newer_claim),
            Ok(Entry::Record(LedgerRecord::Claim(_)))
        ));
        let newer_kind = br#"{"kind":"retention_note","v":2}"#;
        assert_eq!(
            decode(newer_kind),
            Err(Undecodable::UnknownKind("retention_note".into()))
        );
        assert!(matches!(decode(b"not json"), Err(Undecodable::Garbage(_))));
    }

    #[test]
    fn heartbeats_round_trip() {
        let beat = Heartbeat::new("node-a", 42);
        assert_eq!(Heartbeat::decode(&beat.encode()), Some(beat));
    }

    #[test]
    fn checkpoints_round_trip() {
        assert_eq!(
            decode(&encode_checkpoint(&snapshot())),
            Ok(Entry::Checkpoint(snapshot()))
        );
        let mut began = snapshot();
        began.open[0].term_began = Some(started());
        assert_eq!(
            decode(&encode_checkpoint(&began)),
            Ok(Entry::Checkpoint(began))
        );
    }
}
