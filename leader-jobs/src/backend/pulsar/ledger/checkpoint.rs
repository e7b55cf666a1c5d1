//! Checkpoints: every [`PulsarConfig::checkpoint_every`] records (1 000 unless configured) the
//! leader appends the state it has folded, and so does a leader that shuts down gracefully,
//! and moves the history subscription to it. That does two things with consume permission only:
//! the broker may delete what lies before the checkpoint (retention 0 keeps only what a durable
//! subscription still needs), and the first message the subscription delivers to a new consumer
//! is the checkpoint, which is how a cold reader finds it without folding the records before.
//!
//! Facts of Pulsar 4.0.7 this rests on, checked against the broker: seeking a durable shared
//! subscription to a message moves its mark-delete position to just before it, and a consumer
//! that subscribes afterwards gets that message first; a reader started on a message id gets that
//! message first.
//!
//! A checkpoint is trusted only if nothing came between the state it records and itself: the
//! writer reads its own checkpoint back and moves the subscription only if the record just before
//! it is the last one its state had folded. A stale leader's outcome landing in between would
//! otherwise be missing from the state a cold reader starts with. An old version skips the
//! checkpoint's kind.

use std::time::Duration;

use futures::StreamExt;
use pulsar::consumer::{ConsumerOptions, InitialPosition};
use pulsar::proto::MessageIdData;
use pulsar::{Consumer, SubType, TokioExecutor};
use tracing::{debug, warn};

use super::{HISTORY_SUBSCRIPTION, Inner, PulsarLedger, position, pulsar_error};
use crate::backend::ledger_state::LedgerSnapshot;
use crate::backend::pulsar::Client;
#[cfg(doc)]
use crate::backend::pulsar::PulsarConfig;
use crate::backend::pulsar::records::{self, Entry};
use crate::backend::{BackendError, Claim};

/// How long each step of a cold reader's lookup (subscribing, then the subscription's first
/// message) may take before it reads from the first record instead. A healthy broker answers in
/// milliseconds; no message comes when another node's lookup holds it at the same moment.
const LOOKUP_PATIENCE: Duration = Duration::from_secs(5);

/// How long a leader handing over gracefully spends on its last checkpoint at most: the next
/// leader waits for it. A healthy broker needs a few milliseconds.
const HANDOFF_PATIENCE: Duration = Duration::from_millis(500);

/// Where a cold reader of a ledger starts.
pub(super) enum ColdStart {
    /// At this checkpoint, the history subscription's first message, with this state.
    Checkpoint(Box<LedgerSnapshot>, MessageIdData),
    /// At the first record: the subscription was never moved, so nothing was dropped.
    FirstRecord,
}

/// A consumer on the history subscription, delivering one message at a time.
pub(super) async fn subscribe_history(
    client: &Client,
    topic: &str,
) -> Result<Consumer<Vec<u8>, TokioExecutor>, pulsar::Error> {
    client
        .consumer()
        .with_topic(topic)
        .with_subscription(HISTORY_SUBSCRIPTION)
        .with_subscription_type(SubType::Shared)
        .with_options(
            ConsumerOptions::default()
                .with_initial_position(InitialPosition::Earliest)
                .with_receiver_queue_size(1),
        )
        .build::<Vec<u8>>()
        .await
}

impl PulsarLedger {
    /// Where a cold reader starts: at the checkpoint the history subscription was moved to, or
    /// at the first record when it never was (then the broker has dropped nothing, so folding
    /// from the first record is exact).
    ///
    /// When the lookup cannot tell (the broker did not answer in time, or another node's lookup
    /// held the subscription's first message), it fails rather than guess: once the
    /// subscription was moved, the broker may have dropped every record before the checkpoint,
    /// and a fold from the first record left would start in the middle of the history. The
    /// fault campaign met this after a broker restart: a new leader, missing the job's latest
    /// claimed tick, caught nothing up and lost at-least-once ticks.
    pub(super) async fn locate_checkpoint(&self) -> Result<ColdStart, BackendError> {
        let unknown = |why: &str| {
            BackendError::new(format!(
                "could not find where to start reading {} ({why}); trying again",
                self.topic
            ))
        };
        let connected = self.connected().await?;
        let subscribe = subscribe_history(&connected.client, &self.topic);
        let subscribed = match tokio::time::timeout(LOOKUP_PATIENCE, subscribe).await {
            Ok(Ok(consumer)) => Ok(consumer),
            Ok(Err(error)) => Err(unknown(&error.to_string())),
            Err(_) => Err(unknown("no answer to subscribing to its history")),
        };
        let mut consumer = match subscribed {
            Ok(consumer) => consumer,
            Err(error) => {
                self.clients.failed(&connected);
                return Err(error);
            }
        };
        self.answered();
        let first = async {
            let last = consumer
                .get_last_message_id()
                .await
                .map_err(|error| error.to_string())?;
            // An empty topic reports entry id -1: nothing to wait for.
            if last.iter().all(|id| id.entry_id == u64::MAX) {
                return Ok(None);
            }
            match consumer.next().await {
                Some(Ok(message)) => Ok(Some(message)),
                Some(Err(error)) => Err(error.to_string()),
                None => Err("the history consumer closed".to_owned()),
            }
        };
        let first = tokio::time::timeout(LOOKUP_PATIENCE, first).await;
        // Dropped, not closed: pulsar 6.9's `close` waits on a consumer that holds an
        // unacknowledged message (more than 5 s against 4.0.7), while dropping it closes it in
        // the background and the message goes back to the subscription at once.
        drop(consumer);
        let first = first
            .map_err(|_| unknown("its history's first message did not come"))?
            .map_err(|error| unknown(&error))?;
        let Some(message) = first else {
            return Ok(ColdStart::FirstRecord);
        };
        match records::decode(&message.payload.data) {
            Ok(Entry::Checkpoint(snapshot)) => {
                let (ledger_id, entry_id) = position(message.message_id());
                debug!(lock = %self.lock, ledger_id, entry_id, "reading the ledger from its latest checkpoint");
                // Only the position: a reader started on the id as the consumer got it (with
                // partition -1) delivers nothing.
                let at = MessageIdData {
                    ledger_id,
                    entry_id,
                    ..MessageIdData::default()
                };
                Ok(ColdStart::Checkpoint(Box::new(snapshot), at))
            }
            _ => Ok(ColdStart::FirstRecord),
        }
    }

    /// Writes a checkpoint if `checkpoint_every` records were folded since the last one and
    /// `claim`, just won, shows this node holds the latest term. A failure is logged and leaves
    /// the ledger as it was: the next claim tries again.
    pub(super) async fn checkpoint_if_due(&self, inner: &mut Inner, claim: &Claim) {
        if inner.since_checkpoint < self.checkpoint_every {
            return;
        }
        self.write_checkpoint(inner, claim.term).await;
    }

    /// Before a graceful handoff: folds what the ledger holds (this leader's own outcomes were
    /// appended without reading them back) and checkpoints it, so the next leader folds nothing
    /// instead of up to `checkpoint_every` records. Bounded by [`HANDOFF_PATIENCE`], since the
    /// election waits for it.
    pub(super) async fn checkpoint_for_handoff(&self, term: u64) {
        let written = tokio::time::timeout(HANDOFF_PATIENCE, async {
            let mut inner = self.inner.lock().await;
            if let Err(error) = self.read_to_end(&mut inner).await {
                debug!(lock = %self.lock, %error, "no checkpoint at handoff: the ledger could not be read");
                return;
            }
            if inner.since_checkpoint > 0 {
                self.write_checkpoint(&mut inner, term).await;
            }
        })
        .await;
        if written.is_err() {
            debug!(lock = %self.lock, "no checkpoint at handoff within {HANDOFF_PATIENCE:?}");
            // Cut mid-operation, the handles may be mid-request: runs still finishing record
            // their outcomes on new ones.
            let mut inner = self.inner.lock().await;
            inner.producer = None;
            inner.reader = None;
        }
    }

    /// Appends the folded state as a checkpoint and moves the history subscription to it, unless
    /// a record came between the state and the checkpoint. `term` is for the logs.
    async fn write_checkpoint(&self, inner: &mut Inner, term: u64) {
        let covers = inner.position;
        let payload = records::encode_checkpoint(&inner.state.snapshot());
        let written = async {
            let at = self.append_payload(inner, payload).await?;
            self.read_until(inner, at).await?;
            Ok::<_, crate::backend::BackendError>(at)
        }
        .await;
        let at = match written {
            Ok(at) => at,
            Err(error) => {
                warn!(lock = %self.lock, %error, "could not write a checkpoint; trying again at the next claim");
                return;
            }
        };
        if inner.previous != covers {
            debug!(lock = %self.lock, term, "a record came between the checkpoint's state and itself; not starting cold reads there");
            return;
        }
        let id = MessageIdData {
            ledger_id: at.0,
            entry_id: at.1,
            ..MessageIdData::default()
        };
        match self.move_history_to(id).await {
            Ok(()) => {
                debug!(lock = %self.lock, term, ledger_id = at.0, entry_id = at.1, "history subscription moved to a new checkpoint");
            }
            Err(error) => {
                warn!(lock = %self.lock, %error, "could not move the history subscription to the new checkpoint; the broker keeps the records before it until a later one");
            }
        }
    }

    async fn move_history_to(&self, id: MessageIdData) -> Result<(), BackendError> {
        let connected = self.connected().await?;
        let subscribed = subscribe_history(&connected.client, &self.topic).await;
        let mut consumer = match subscribed {
            Ok(consumer) => consumer,
            Err(error) => {
                self.clients.failed(&connected);
                return Err(pulsar_error(
                    &self.topic,
                    "subscribe to the history of",
                    error,
                ));
            }
        };
        let moved = consumer
            .seek(None, Some(id), None, connected.client.clone())
            .await
            .map_err(|error| pulsar_error(&self.topic, "move the history subscription of", error));
        // Dropped, not closed, as in `locate_checkpoint`.
        drop(consumer);
        moved
    }
}
