//! The wire format of what leader-jobs writes to Pulsar: JSON objects with a version field `v` and a
//! `kind`, so operators can read topics with `pulsar-client consume` and a rolling upgrade can mix
//! versions. A reader skips kinds it does not know (written by a newer version) instead of failing;
//! a record with a higher `v` than [`VERSION`] is read as far as its known fields go.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::LedgerRecord;
use crate::backend::ledger_state::LedgerSnapshot;
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
    /// Another attempt at a claimed tick; versions before retries skip the kind, so they do not
    /// see the tick open again and would not report a crashed retry as abandoned.
    Retry {
        v: u32,
        job: String,
        tick: DateTime<Utc>,
        term: u64,
        node: String,
        attempt: u32,
    },
    Outcome {
        v: u32,
        job: String,
        tick: DateTime<Utc>,
        term: u64,
        node: String,
        outcome: Outcome,
    },
    /// A leader reported a claim that never got an outcome; `by_term` and `by_node` are that
    /// leader's. Versions before it skip the kind and report the claim again.
    Abandoned {
        v: u32,
        job: String,
        tick: DateTime<Utc>,
        term: u64,
        node: String,
        by_term: u64,
        by_node: String,
    },
    /// The fold of every record before it (see `PulsarLedger`'s checkpoints); versions before
    /// checkpoints skip it as a kind they do not know.
    Checkpoint {
        v: u32,
        highest_term: u64,
        term_holder: Option<String>,
        last_claimed: BTreeMap<String, DateTime<Utc>>,
        open: Vec<WireClaim>,
    },
}

#[derive(Serialize, Deserialize)]
struct WireClaim {
    job: String,
    tick: DateTime<Utc>,
    term: u64,
    node: String,
}

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
    let wire = Wire::Checkpoint {
        v: VERSION,
        highest_term: snapshot.highest_term,
        term_holder: snapshot.term_holder.clone(),
        last_claimed: snapshot.last_claimed.clone(),
        open: snapshot
            .open
            .iter()
            .map(|claim| WireClaim {
                job: claim.job.clone(),
                tick: claim.tick,
                term: claim.term,
                node: claim.node.clone(),
            })
            .collect(),
    };
    serde_json::to_vec(&wire).unwrap_or_default()
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
        LedgerRecord::Retry {
            claim:
                Claim {
                    job,
                    tick,
                    term,
                    node,
                },
            attempt,
        } => Wire::Retry {
            v,
            job,
            tick,
            term,
            node,
            attempt,
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
        LedgerRecord::Abandoned {
            claim:
                Claim {
                    job,
                    tick,
                    term,
                    node,
                },
            term: by_term,
            node: by_node,
        } => Wire::Abandoned {
            v,
            job,
            tick,
            term,
            node,
            by_term,
            by_node,
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

/// Decodes a message of a ledger topic.
pub(crate) fn decode(payload: &[u8]) -> Result<Entry, Undecodable> {
    let wire = serde_json::from_slice::<Wire>(payload).map_err(|error| {
        let kind = serde_json::from_slice::<serde_json::Value>(payload)
            .ok()
            .and_then(|value| value.get("kind")?.as_str().map(str::to_owned));
        match kind {
            Some(kind) if !KNOWN_KINDS.contains(&kind.as_str()) => Undecodable::UnknownKind(kind),
            _ => Undecodable::Garbage(error.to_string()),
        }
    })?;
    let claim = |job, tick, term, node| Claim {
        job,
        tick,
        term,
        node,
    };
    Ok(match wire {
        Wire::TermStart { term, node, .. } => Entry::Record(LedgerRecord::TermStart { term, node }),
        Wire::Claim {
            job,
            tick,
            term,
            node,
            ..
        } => Entry::Record(LedgerRecord::Claim(claim(job, tick, term, node))),
        Wire::Retry {
            job,
            tick,
            term,
            node,
            attempt,
            ..
        } => Entry::Record(LedgerRecord::Retry {
            claim: claim(job, tick, term, node),
            attempt,
        }),
        Wire::Outcome {
            job,
            tick,
            term,
            node,
            outcome,
            ..
        } => Entry::Record(LedgerRecord::Outcome {
            claim: claim(job, tick, term, node),
            outcome: outcome.into(),
        }),
        Wire::Abandoned {
            job,
            tick,
            term,
            node,
            by_term,
            by_node,
            ..
        } => Entry::Record(LedgerRecord::Abandoned {
            claim: claim(job, tick, term, node),
            term: by_term,
            node: by_node,
        }),
        Wire::Checkpoint {
            highest_term,
            term_holder,
            last_claimed,
            open,
            ..
        } => Entry::Checkpoint(LedgerSnapshot {
            highest_term,
            term_holder,
            last_claimed,
            open: open
                .into_iter()
                .map(|c| claim(c.job, c.tick, c.term, c.node))
                .collect(),
        }),
    })
}

/// The kinds this version reads; any other was written by a newer version.
const KNOWN_KINDS: [&str; 6] = [
    "term_start",
    "claim",
    "retry",
    "outcome",
    "abandoned",
    "checkpoint",
];

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
            LedgerRecord::Retry {
                claim: claim(),
                attempt: 2,
            },
            LedgerRecord::Outcome {
                claim: claim(),
                outcome: RunOutcome::TimedOut,
            },
            LedgerRecord::Abandoned {
                claim: claim(),
                term: 8,
                node: "node-b".into(),
            },
        ];
        for record in records {
            assert_eq!(decode(&encode(&record)), Ok(Entry::Record(record)));
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
        let snapshot = LedgerSnapshot {
            highest_term: 9,
            term_holder: Some("node-b".into()),
            last_claimed: [("app::digest".to_owned(), claim().tick)].into(),
            open: vec![claim()],
        };
        assert_eq!(
            decode(&encode_checkpoint(&snapshot)),
            Ok(Entry::Checkpoint(snapshot))
        );
    }
}
