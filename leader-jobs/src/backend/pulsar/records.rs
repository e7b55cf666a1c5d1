//! The wire format of what leader-jobs writes to Pulsar: JSON objects with a version field `v` and a
//! `kind`, so operators can read topics with `pulsar-client consume` and a rolling upgrade can mix
//! versions. A reader skips kinds it does not know (written by a newer version) instead of failing;
//! a record with a higher `v` than [`VERSION`] is read as far as its known fields go.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::LedgerRecord;
use crate::backend::{Claim, RunOutcome};

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

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Ok,
    Failed,
    Panicked,
    TimedOut,
    Cancelled,
}

impl From<RunOutcome> for Outcome {
    fn from(outcome: RunOutcome) -> Self {
        match outcome {
            RunOutcome::Ok => Self::Ok,
            RunOutcome::Failed => Self::Failed,
            RunOutcome::Panicked => Self::Panicked,
            RunOutcome::TimedOut => Self::TimedOut,
            RunOutcome::Cancelled => Self::Cancelled,
        }
    }
}

impl From<Outcome> for RunOutcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Ok => Self::Ok,
            Outcome::Failed => Self::Failed,
            Outcome::Panicked => Self::Panicked,
            Outcome::TimedOut => Self::TimedOut,
            Outcome::Cancelled => Self::Cancelled,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Wire {
    TermStart {
        v: u32,
        term: u64,
        node: String,
    },
    Claim {
        v: u32,
        job: String,
        tick: DateTime<Utc>,
        term: u64,
        node: String,
    },
    Outcome {
        v: u32,
        job: String,
        tick: DateTime<Utc>,
        term: u64,
        node: String,
        outcome: Outcome,
    },
}

/// Encodes a ledger record.
pub(crate) fn encode(record: &LedgerRecord) -> Vec<u8> {
    let v = VERSION;
    let wire = match record.clone() {
        LedgerRecord::TermStart { term, node } => Wire::TermStart { v, term, node },
        LedgerRecord::Claim(Claim {
            job,
            tick,
            term,
            node,
        }) => Wire::Claim {
            v,
            job,
            tick,
            term,
            node,
        },
        LedgerRecord::Outcome {
            claim:
                Claim {
                    job,
                    tick,
                    term,
                    node,
                },
            outcome,
        } => Wire::Outcome {
            v,
            job,
            tick,
            term,
            node,
            outcome: outcome.into(),
        },
    };
    // Serializing strings, integers and timestamps cannot fail.
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// Why a ledger payload was not turned into a record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Undecodable {
    /// A kind this version does not know: written by a newer version; skip it.
    UnknownKind(String),
    /// Not a leader-jobs record at all.
    Garbage(String),
}

/// Decodes a ledger record.
pub(crate) fn decode(payload: &[u8]) -> Result<LedgerRecord, Undecodable> {
    match serde_json::from_slice::<Wire>(payload) {
        Ok(Wire::TermStart { term, node, .. }) => Ok(LedgerRecord::TermStart { term, node }),
        Ok(Wire::Claim {
            job,
            tick,
            term,
            node,
            ..
        }) => Ok(LedgerRecord::Claim(Claim {
            job,
            tick,
            term,
            node,
        })),
        Ok(Wire::Outcome {
            job,
            tick,
            term,
            node,
            outcome,
            ..
        }) => Ok(LedgerRecord::Outcome {
            claim: Claim {
                job,
                tick,
                term,
                node,
            },
            outcome: outcome.into(),
        }),
        Err(error) => {
            let kind = serde_json::from_slice::<serde_json::Value>(payload)
                .ok()
                .and_then(|value| value.get("kind")?.as_str().map(str::to_owned));
            match kind {
                Some(kind) if !["term_start", "claim", "outcome"].contains(&kind.as_str()) => {
                    Err(Undecodable::UnknownKind(kind))
                }
                _ => Err(Undecodable::Garbage(error.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn claim() -> Claim {
        Claim {
            job: "app::digest".into(),
            tick: Utc.with_ymd_and_hms(2026, 3, 29, 9, 0, 0).single().unwrap(),
            term: 7,
            node: "node-a".into(),
        }
    }

    #[test]
    fn records_round_trip() {
        let records = [
            LedgerRecord::TermStart {
                term: 7,
                node: "node-a".into(),
            },
            LedgerRecord::Claim(claim()),
            LedgerRecord::Outcome {
                claim: claim(),
                outcome: RunOutcome::TimedOut,
            },
        ];
        for record in records {
            assert_eq!(decode(&encode(&record)), Ok(record));
        }
    }

    #[test]
    fn the_format_is_stable() {
        let text = String::from_utf8(encode(&LedgerRecord::Claim(claim()))).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"claim","v":1,"job":"app::digest","tick":"2026-03-29T09:00:00Z","term":7,"node":"node-a"}"#
        );
    }

    #[test]
    fn records_of_a_newer_version_are_read_or_skipped() {
        let newer_claim = br#"{"kind":"claim","v":2,"job":"j","tick":"2026-03-29T09:00:00Z","term":1,"node":"a","extra":true}"#;
        assert!(matches!(decode(newer_claim), Ok(LedgerRecord::Claim(_))));
        let newer_kind = br#"{"kind":"checkpoint","v":2}"#;
        assert_eq!(
            decode(newer_kind),
            Err(Undecodable::UnknownKind("checkpoint".into()))
        );
        assert!(matches!(decode(b"not json"), Err(Undecodable::Garbage(_))));
    }

    #[test]
    fn heartbeats_round_trip() {
        let beat = Heartbeat::new("node-a", 42);
        assert_eq!(Heartbeat::decode(&beat.encode()), Some(beat));
    }
}
