//! Reading a lock's ledger: the reader, kept open between operations, and the fold of the
//! records it delivers into the ledger's state.

use futures::{FutureExt as _, StreamExt as _};
use pulsar::TokioExecutor;
use pulsar::consumer::{ConsumerOptions, InitialPosition, Message};
use pulsar::proto::MessageIdData;
use pulsar::reader::Reader;
use tracing::{debug, warn};

use super::checkpoint::ColdStart;
use super::{Inner, PulsarLedger, position, pulsar_error};
use crate::backend::BackendError;
use crate::backend::ledger_state::{Applied, LedgerState};
use crate::backend::pulsar::records::{self, Entry, Undecodable};

/// What folding one message did.
enum Folded {
    /// A record (or checkpoint, or a record this version skips) at `at`, and what applying it
    /// did, if it was a record.
    Record {
        at: (u64, u64),
        applied: Option<Applied>,
    },
    /// The first message of a resumed reader, already folded, or the sign that the fold must
    /// start again from the latest checkpoint.
    Resumed,
}

impl PulsarLedger {
    pub(super) async fn reader<'a>(
        &self,
        inner: &'a mut Inner,
    ) -> Result<&'a mut Reader<Vec<u8>, TokioExecutor>, BackendError> {
        if inner.reader.is_none() {
            if let Some(at) = inner.position {
                // The fold so far stays: go on from its last record, which the reader delivers
                // first if the broker still has it (checked in `read_until`). A fold of a long
                // ledger cut by the operation bound thus resumes instead of starting over.
                let options = ConsumerOptions::default().starting_on_message(MessageIdData {
                    ledger_id: at.0,
                    entry_id: at.1,
                    ..MessageIdData::default()
                });
                let reader = self.open_reader(options).await?;
                inner.resuming = true;
                inner.reader = Some(reader);
                return inner
                    .reader
                    .as_mut()
                    .ok_or_else(|| BackendError::new("ledger reader missing after creation"));
            }
            // A fresh reader starts at the latest checkpoint, or else at the beginning: fold
            // everything after it again.
            let (state, options) = match self.locate_checkpoint().await? {
                ColdStart::Checkpoint(snapshot, at) => (
                    LedgerState::from_snapshot(*snapshot),
                    ConsumerOptions::default().starting_on_message(at),
                ),
                ColdStart::FirstRecord => (
                    LedgerState::default(),
                    ConsumerOptions::default().with_initial_position(InitialPosition::Earliest),
                ),
            };
            let reader = self.open_reader(options).await?;
            inner.state = state;
            inner.position = None;
            inner.previous = None;
            inner.since_checkpoint = 0;
            self.answered();
            inner.reader = Some(reader);
        }
        inner
            .reader
            .as_mut()
            .ok_or_else(|| BackendError::new("ledger reader missing after creation"))
    }

    async fn open_reader(
        &self,
        options: ConsumerOptions,
    ) -> Result<Reader<Vec<u8>, TokioExecutor>, BackendError> {
        let connected = self.connected().await?;
        let opened = connected
            .client
            .reader()
            .with_topic(&self.topic)
            .with_options(options)
            .into_reader::<Vec<u8>>()
            .await;
        let reader = match opened {
            Ok(reader) => reader,
            Err(error) => {
                self.clients.failed(&connected);
                return Err(pulsar_error(&self.topic, "read", error));
            }
        };
        self.answered();
        Ok(reader)
    }

    /// Folds records until the one at `target` has been applied; returns what applying it did.
    pub(super) async fn read_until(
        &self,
        inner: &mut Inner,
        target: (u64, u64),
    ) -> Result<Option<Applied>, BackendError> {
        if inner.position.is_some_and(|p| p >= target) {
            return Ok(None);
        }
        loop {
            let reader = self.reader(inner).await?;
            let message = match reader.next().await {
                Some(Ok(message)) => message,
                Some(Err(e)) => {
                    inner.reader = None;
                    return Err(pulsar_error(&self.topic, "read", e));
                }
                None => {
                    inner.reader = None;
                    return Err(BackendError::new(format!(
                        "the reader of {} closed; retrying",
                        self.topic
                    )));
                }
            };
            if let Folded::Record { at, applied } = self.fold(inner, &message) {
                if at >= target {
                    return Ok(applied);
                }
            }
        }
    }

    /// Folds every record the ledger held when called.
    pub(super) async fn read_to_end(&self, inner: &mut Inner) -> Result<(), BackendError> {
        let reader = self.reader(inner).await?;
        let last = reader
            .get_last_message_id()
            .await
            .map_err(|e| pulsar_error(&self.topic, "find the end of", e))?;
        self.answered();
        // An empty topic reports entry id -1.
        if last.entry_id == u64::MAX || i64::try_from(last.entry_id).is_err() {
            return Ok(());
        }
        self.read_until(inner, position(&last)).await.map(|_| ())
    }

    /// Folds the records the reader has received already, without asking the broker anything:
    /// it pushes records to the reader as they are appended, so one another node appended a
    /// moment ago is among them. Does nothing without a reader.
    pub(super) fn read_received(&self, inner: &mut Inner) -> Result<(), BackendError> {
        loop {
            let Some(reader) = inner.reader.as_mut() else {
                return Ok(());
            };
            let message = match reader.next().now_or_never() {
                None => return Ok(()),
                Some(Some(Ok(message))) => message,
                Some(Some(Err(e))) => {
                    inner.reader = None;
                    return Err(pulsar_error(&self.topic, "read", e));
                }
                Some(None) => {
                    inner.reader = None;
                    return Err(BackendError::new(format!(
                        "the reader of {} closed; retrying",
                        self.topic
                    )));
                }
            };
            self.fold(inner, &message);
        }
    }

    /// Folds one message the reader delivered into `inner`'s state.
    fn fold(&self, inner: &mut Inner, message: &Message<Vec<u8>>) -> Folded {
        let at = position(message.message_id());
        if std::mem::take(&mut inner.resuming) {
            if Some(at) != inner.position {
                // The broker no longer has the record the fold stopped at (it dropped what lay
                // before a newer checkpoint): records after it may be gone too, so fold anew.
                debug!(lock = %self.lock, "the ledger's last folded record is gone; reading from the latest checkpoint");
                inner.reader = None;
                inner.position = None;
            }
            return Folded::Resumed;
        }
        let applied = match records::decode(&message.payload.data) {
            Ok(Entry::Record(record)) => {
                inner.since_checkpoint += 1;
                Some(inner.state.apply(&record))
            }
            // The state folded so far is exact already, whether it began at this checkpoint or
            // at the first record.
            Ok(Entry::Checkpoint(_)) => {
                inner.since_checkpoint = 0;
                None
            }
            Err(Undecodable::UnknownKind(kind)) => {
                debug!(lock = %self.lock, kind, "skipping a ledger record of a newer version");
                None
            }
            Err(Undecodable::Garbage(error)) => {
                warn!(lock = %self.lock, %error, "skipping a ledger record that is not leader-jobs JSON");
                None
            }
        };
        self.answered();
        inner.previous = inner.position;
        inner.position = Some(at);
        Folded::Record { at, applied }
    }
}
