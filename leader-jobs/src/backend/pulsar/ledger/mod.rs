//! One lock's ledger on a persistent Pulsar topic.
//!
//! Appends go through a producer and are durable once the broker's receipt arrives; the receipt
//! carries the record's position. Reading is a non-durable reader from the earliest retained
//! record that folds every record through [`LedgerState`], so "read the ledger up to my record"
//! is "consume until the message id from my receipt".
//!
//! Retention: the broker's defaults keep nothing that no durable subscription still needs, and
//! delete topics without subscriptions. Opening the ledger therefore creates a durable
//! subscription, `leader-jobs-history`, that nobody acknowledges on: the topic is never inactive,
//! whatever the namespace's retention policy, and without the admin permission that setting a
//! retention policy needs. The leader moves that subscription to each checkpoint it writes (see
//! [`checkpoint`]), so the broker keeps what lies after the latest checkpoint, and a cold reader
//! starts there instead of at the first record ever written.

mod checkpoint;
mod fold;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::{self, Either};
use pulsar::proto::MessageIdData;
use pulsar::reader::Reader;
use pulsar::{Producer, TokioExecutor};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::debug;

use super::PulsarConfig;
use super::client::{Connected, ServiceClients};
use super::permissions::operation_failure;
use super::records;
use super::slow_open;
use crate::backend::LedgerRecord;
use crate::backend::ledger_state::{Applied, LedgerState};
use crate::backend::{
    AnnouncedSchedules, BackendError, Claim, ClaimVerdict, Command, Ledger, LedgerHistory,
    PendingCommands, RetryCause, RunEnd, TermStart,
};

/// The durable subscription that pins the ledger's history.
const HISTORY_SUBSCRIPTION: &str = "leader-jobs-history";

/// Upper bound on one ledger operation, so a broker that stopped answering cannot hold a tick
/// forever; the operation fails and the scheduler treats the tick as not claimed. A bound on
/// silence instead (time since the last answer to any operation) was tried and reverted after a
/// CI run in which no node led within 90 s of a broker restart (`broker_lifecycle.rs`): every
/// concurrent operation (outcomes of runs beside the scheduler's claims) resets that clock, so a
/// call stuck on a handle the restarted broker dropped may never fail.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a term start on the producer and reader kept from earlier operations may go without
/// any answer from the broker before they are taken for dead and the term start begins again on
/// new ones. A node frozen for longer than its lease keeps handles whose connection the broker
/// dropped meanwhile; in the fault campaign their first term start then waited out all of
/// [`OPERATION_TIMEOUT`], the longest part of a takeover after a long freeze. A healthy broker
/// answers in milliseconds, and a long fold of records answers all along.
const KEPT_HANDLE_PATIENCE: Duration = Duration::from_secs(3);

/// How long an operation may go on before its lookup broker is probed, and how often after that
/// (see `bounded`). A healthy broker answers in milliseconds; a topic moving between live
/// brokers takes a second or two, and is not what the probe looks for.
const LOOKUP_PROBE_AFTER: Duration = Duration::from_secs(2);
const LOOKUP_PROBE_EVERY: Duration = Duration::from_secs(1);

/// One read for operators' commands in this many asks the broker where the ledger ends; the
/// others fold only what the reader has received (see `Ledger::commands`).
const FULL_COMMAND_READ: u32 = 30;

/// A lock's ledger on Pulsar.
pub(crate) struct PulsarLedger {
    clients: Arc<ServiceClients>,
    topic: String,
    lock: String,
    inner: Mutex<Inner>,
    /// When the broker last answered anything; see [`KEPT_HANDLE_PATIENCE`].
    last_answer: std::sync::Mutex<Instant>,
    /// The client the producer or reader in use was made with, or that an open under way uses:
    /// its lookup broker is the one `bounded` probes, and the one it reports when an operation
    /// gets no answer.
    handles_through: std::sync::Mutex<Option<Connected>>,
    /// See [`PulsarConfig::checkpoint_every`].
    checkpoint_every: u64,
    /// See [`PulsarConfig::confirmation_window`] and [`Ledger::claim_window`].
    claim_window: Duration,
    /// See [`PulsarConfig::claim_ahead`] and [`Ledger::claim_ahead`].
    claim_ahead: Duration,
}

#[derive(Default)]
struct Inner {
    producer: Option<Producer<TokioExecutor>>,
    reader: Option<Reader<Vec<u8>, TokioExecutor>>,
    state: LedgerState,
    /// Position of the last record folded into `state`.
    position: Option<(u64, u64)>,
    /// Position of the record folded before that one.
    previous: Option<(u64, u64)>,
    /// Records folded since the last checkpoint the fold met.
    since_checkpoint: u64,
    /// The reader was reopened on `position` to go on from there; its first message must be
    /// that record.
    resuming: bool,
    /// Reads for operators' commands since the last that asked the broker where the ledger ends.
    commands_read: u32,
}

impl PulsarLedger {
    /// Opens the ledger of `lock`, creating its history subscription if needed.
    pub(crate) async fn open(
        clients: Arc<ServiceClients>,
        config: &PulsarConfig,
        lock: &str,
    ) -> Result<Self, BackendError> {
        let topic = config.topic(lock, "ledger");
        let connected = connected(&clients).await?;
        let anchor = checkpoint::subscribe_history(&connected.client, &topic);
        let anchor = slow_open::warn_while_waiting(anchor, lock, &topic, "open the ledger").await;
        let mut anchor = match anchor {
            Ok(anchor) => anchor,
            Err(error) => {
                clients.failed(&connected);
                return Err(pulsar_error(
                    &topic,
                    "create the history subscription on",
                    error,
                ));
            }
        };
        // The subscription outlives the consumer; closing it keeps the broker from dispatching.
        let _ = anchor.close().await;
        Ok(Self {
            clients,
            topic,
            lock: lock.to_owned(),
            inner: Mutex::new(Inner::default()),
            last_answer: std::sync::Mutex::new(Instant::now()),
            handles_through: std::sync::Mutex::new(None),
            checkpoint_every: config.checkpoint_every,
            claim_window: config.confirmation_window,
            claim_ahead: config.claim_ahead,
        })
    }

    /// The client to open consumers and producers with, noted as the one in use.
    async fn connected(&self) -> Result<Connected, BackendError> {
        let connected = connected(&self.clients).await?;
        *self.handles_through() = Some(connected.clone());
        Ok(connected)
    }

    fn handles_through(&self) -> std::sync::MutexGuard<'_, Option<Connected>> {
        self.handles_through
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Resolves once the lookup broker of the handles in use refuses connections, probing from
    /// [`LOOKUP_PROBE_AFTER`] on, and reports it so the next open looks up through another;
    /// never resolves while it answers.
    async fn lookup_gone(&self) -> String {
        tokio::time::sleep(LOOKUP_PROBE_AFTER).await;
        loop {
            let through = self.handles_through().clone();
            if let Some(connected) = through
                && self.clients.lookup_refuses(&connected).await
            {
                self.clients.failed(&connected);
                return self.clients.lookup_url(&connected).to_string();
            }
            tokio::time::sleep(LOOKUP_PROBE_EVERY).await;
        }
    }

    async fn append(
        &self,
        inner: &mut Inner,
        record: &LedgerRecord,
    ) -> Result<(u64, u64), BackendError> {
        self.append_payload(inner, records::encode(record)).await
    }

    /// Appends `record` without reading anything back.
    async fn append_alone(&self, record: &LedgerRecord) -> Result<(), BackendError> {
        let mut inner = self.inner.lock().await;
        self.append(&mut inner, record).await.map(|_| ())
    }

    async fn append_payload(
        &self,
        inner: &mut Inner,
        payload: Vec<u8>,
    ) -> Result<(u64, u64), BackendError> {
        if inner.producer.is_none() {
            let connected = self.connected().await?;
            let built = connected
                .client
                .producer()
                .with_topic(&self.topic)
                .build()
                .await;
            let producer = match built {
                Ok(producer) => producer,
                Err(error) => {
                    self.clients.failed(&connected);
                    return Err(pulsar_error(&self.topic, "create a producer on", error));
                }
            };
            self.answered();
            inner.producer = Some(producer);
        }
        let Some(producer) = inner.producer.as_mut() else {
            return Err(BackendError::new("ledger producer missing after creation"));
        };
        let receipt = async { producer.send_non_blocking(payload).await?.await }.await;
        let receipt = match receipt {
            Ok(receipt) => receipt,
            Err(e) => {
                inner.producer = None;
                return Err(pulsar_error(&self.topic, "append to", e));
            }
        };
        self.answered();
        receipt.message_id.map(|id| position(&id)).ok_or_else(|| {
            BackendError::new(format!(
                "the broker's receipt for {} had no message id",
                self.topic
            ))
        })
    }

    /// Begins a term on the handles there are, or, when they were kept from earlier operations
    /// and the broker stays silent on them for [`KEPT_HANDLE_PATIENCE`], on new ones.
    async fn begin_term_anew_if_stale(
        &self,
        node: &str,
        at: DateTime<Utc>,
    ) -> Result<TermStart, BackendError> {
        let kept = {
            let inner = self.inner.lock().await;
            inner.reader.is_some() || inner.producer.is_some()
        };
        if kept {
            self.answered();
            // Boxed: the attempt holds the `pulsar` crate's large futures, and two term starts
            // inline overflowed a Tokio worker's stack in debug builds.
            let attempt = Box::pin(self.begin_term_inner(node, at));
            let silence = Box::pin(self.silence_of(KEPT_HANDLE_PATIENCE));
            let error = match future::select(attempt, silence).await {
                Either::Left((Ok(start), _)) => return Ok(start),
                Either::Left((Err(error), _)) => error.to_string(),
                Either::Right(((), _)) => format!("no answer within {KEPT_HANDLE_PATIENCE:?}"),
            };
            // The attempt may have appended its term start; the next one reads it and takes the
            // term after it, so a term number is skipped, never shared.
            debug!(lock = %self.lock, %error, "term start on kept handles failed; again on new ones");
            let mut inner = self.inner.lock().await;
            inner.producer = None;
            inner.reader = None;
        }
        Box::pin(self.begin_term_inner(node, at)).await
    }

    /// Notes that the broker answered.
    fn answered(&self) {
        *self
            .last_answer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    }

    /// Completes once the broker has not answered for `patience`.
    async fn silence_of(&self, patience: Duration) {
        loop {
            let last = *self
                .last_answer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.elapsed() >= patience {
                return;
            }
            tokio::time::sleep_until(last + patience).await;
        }
    }

    async fn begin_term_inner(
        &self,
        node: &str,
        at: DateTime<Utc>,
    ) -> Result<TermStart, BackendError> {
        let mut inner = self.inner.lock().await;
        loop {
            self.read_to_end(&mut inner).await?;
            let term = inner.state.highest_term() + 1;
            let record = LedgerRecord::term_start(term, node, at);
            let at = self.append(&mut inner, &record).await?;
            match self.read_until(&mut inner, at).await? {
                // Claims of the old term may have landed between the read and the term start:
                // they are valid, so the new term must know them.
                Some(Applied::TermStart { valid: true }) => {
                    let history = inner.state.history();
                    return Ok(TermStart { term, history });
                }
                // Another node began the same term first: read on and try the next one.
                _ => {
                    debug!(lock = %self.lock, term, "term already taken; retrying with a higher one")
                }
            }
        }
    }

    /// Appends `record` (a claim or a retry of `claim`) and reads the verdict back.
    async fn claim_inner(
        &self,
        claim: &Claim,
        record: LedgerRecord,
    ) -> Result<ClaimVerdict, BackendError> {
        let mut inner = self.inner.lock().await;
        let at = self.append(&mut inner, &record).await?;
        let verdict = match self.read_until(&mut inner, at).await? {
            Some(Applied::Claim(verdict)) => verdict,
            // Our own record was already folded (a reader rebuilt mid-call) or did not decode:
            // never run on an unknown verdict.
            _ => ClaimVerdict::Lost {
                winner: None,
                highest_term: inner.state.highest_term(),
            },
        };
        if verdict == ClaimVerdict::Won {
            self.checkpoint_if_due(&mut inner, claim).await;
        }
        Ok(verdict)
    }
}

#[async_trait]
impl Ledger for PulsarLedger {
    async fn begin_term(&self, node: &str, at: DateTime<Utc>) -> Result<TermStart, BackendError> {
        self.bounded(self.begin_term_anew_if_stale(node, at)).await
    }

    fn claim_window(&self) -> Option<Duration> {
        Some(self.claim_window)
    }

    fn claim_ahead(&self) -> Option<Duration> {
        Some(self.claim_ahead).filter(|lead| !lead.is_zero())
    }

    async fn release(&self, claim: &Claim) -> Result<bool, BackendError> {
        let record = LedgerRecord::Release(claim.clone());
        self.bounded(async {
            let mut inner = self.inner.lock().await;
            let at = self.append(&mut inner, &record).await?;
            let applied = self.read_until(&mut inner, at).await?;
            Ok(applied == Some(Applied::Release { valid: true }))
        })
        .await
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimVerdict, BackendError> {
        let record = LedgerRecord::Claim(claim.clone());
        self.bounded(self.claim_inner(claim, record)).await
    }

    async fn retry(
        &self,
        claim: &Claim,
        attempt: u32,
        after: RetryCause,
    ) -> Result<ClaimVerdict, BackendError> {
        let record = LedgerRecord::Retry {
            claim: claim.clone(),
            attempt,
            after,
        };
        self.bounded(self.claim_inner(claim, record)).await
    }

    async fn claim_manual(
        &self,
        claim: &Claim,
        request: &str,
    ) -> Result<ClaimVerdict, BackendError> {
        let record = LedgerRecord::Manual {
            claim: claim.clone(),
            request: request.to_owned(),
        };
        self.bounded(self.claim_inner(claim, record)).await
    }

    async fn command(&self, command: &Command) -> Result<(), BackendError> {
        self.bounded(self.append_alone(&command.into())).await
    }

    async fn announce_schedules(&self, announced: &AnnouncedSchedules) -> Result<(), BackendError> {
        let record = LedgerRecord::Schedules(announced.clone());
        self.bounded(self.append_alone(&record)).await
    }

    async fn history(&self) -> Result<LedgerHistory, BackendError> {
        self.bounded(async {
            let mut inner = self.inner.lock().await;
            self.read_to_end(&mut inner).await?;
            Ok(inner.state.history())
        })
        .await
    }

    /// Folds what the reader has received, which holds a command appended a moment ago: the
    /// leader asks about every second, and a round trip per lock each time was most of an idle
    /// leader's cost. Every [`FULL_COMMAND_READ`]-th time, or without a reader, it reads to the
    /// end the broker reports, in case a reader stopped receiving without saying so.
    ///
    /// The fold of what was received needs no broker and takes the ledger only when no other
    /// operation holds it, without building the bounded read's future: moving that future was
    /// the largest single cost of an idle leader of 100 locks (`perf`: 12 % of its CPU in
    /// `memcpy` under this call), and with it unboxed, 4 %.
    async fn commands(&self) -> Result<PendingCommands, BackendError> {
        if let Ok(mut inner) = self.inner.try_lock() {
            if inner.reader.is_some() && inner.commands_read + 1 < FULL_COMMAND_READ {
                inner.commands_read += 1;
                if let Err(error) = self.read_received(&mut inner) {
                    // As after any failed operation, the next starts with fresh handles.
                    inner.producer = None;
                    return Err(error);
                }
                return Ok(inner.state.commands());
            }
        }
        // Boxed, so that this call's own future stays small: the trait boxes it on every call.
        Box::pin(self.bounded(async {
            let mut inner = self.inner.lock().await;
            inner.commands_read += 1;
            if inner.reader.is_some() && inner.commands_read < FULL_COMMAND_READ {
                self.read_received(&mut inner)?;
            } else {
                inner.commands_read = 0;
                self.read_to_end(&mut inner).await?;
            }
            Ok(inner.state.commands())
        }))
        .await
    }

    async fn record(&self, claim: &Claim, end: &RunEnd) -> Result<(), BackendError> {
        let record = LedgerRecord::outcome(claim, end);
        self.bounded(self.append_alone(&record)).await
    }

    async fn record_abandoned(
        &self,
        claim: &Claim,
        term: u64,
        node: &str,
    ) -> Result<(), BackendError> {
        let record = LedgerRecord::Abandoned {
            claim: claim.clone(),
            term,
            node: node.to_owned(),
        };
        self.bounded(self.append_alone(&record)).await
    }

    async fn hand_over(&self, term: u64) {
        self.checkpoint_for_handoff(term).await;
    }

    async fn rest(&self) {
        let mut inner = self.inner.lock().await;
        // Dropped, not closed: the `pulsar` crate closes them in the background, and a broker
        // that does not answer must not hold the caller.
        inner.reader = None;
        inner.producer = None;
    }
}

impl PulsarLedger {
    /// Runs one ledger operation within [`OPERATION_TIMEOUT`]; a fold of a long ledger cut by it
    /// goes on from its last record at the next call (see `reader`). After any failure, timeouts
    /// included, the next operation starts over with a fresh producer and reader: the fault
    /// campaign met `pulsar` client handles that stayed broken once their connection had died
    /// (a killed broker: every end-of-topic request failed) or stalled (a process frozen for
    /// seconds: every term start timed out), so the node led its lock and never ran a job.
    async fn bounded<T>(
        &self,
        operation: impl Future<Output = Result<T, BackendError>>,
    ) -> Result<T, BackendError> {
        // The `pulsar` client re-looks a topic up through its one service URL for as long as an
        // operation lasts: when that broker is dead, only the bound would end it. The cluster
        // suite's SIGKILL of a ledger topic's owner, which was also the nodes' lookup broker,
        // left an outcome record, and the claims queued behind it, waiting all 15 s.
        let outcome = tokio::select! {
            bounded = tokio::time::timeout(OPERATION_TIMEOUT, operation) => {
                bounded.unwrap_or_else(|_| {
                    // Cut off here, the client may have been connecting to a broker, and a
                    // `pulsar` client whose connect was dropped never connects there again
                    // (see `ServiceClients::failed`).
                    if let Some(connected) = self.handles_through().as_ref() {
                        self.clients.failed(connected);
                    }
                    Err(BackendError::new(format!(
                        "no answer from the broker on {} within {OPERATION_TIMEOUT:?}; is it reachable?",
                        self.topic
                    )))
                })
            }
            url = self.lookup_gone() => Err(BackendError::new(format!(
                "the broker {url} that {} is looked up through refuses connections; \
                 looking it up through the next service URL",
                self.topic
            ))),
        };
        if outcome.is_err() {
            // The handles may have died with their connection: the next operation makes new
            // ones. Not waited for when another operation holds them: it is bounded too and does
            // the same when it fails, and waiting here held a caller (an operator's `pause`)
            // past the bound it was promised.
            if let Ok(mut inner) = self.inner.try_lock() {
                inner.producer = None;
                inner.reader = None;
            }
        }
        outcome
    }
}

fn position(id: &MessageIdData) -> (u64, u64) {
    (id.ledger_id, id.entry_id)
}

fn pulsar_error(topic: &str, action: &str, error: pulsar::Error) -> BackendError {
    BackendError::with_source(
        operation_failure(topic, &format!("{action} the ledger topic"), &error),
        error,
    )
}

impl std::fmt::Debug for PulsarLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulsarLedger")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

/// Keeps `Arc<PulsarLedger>` usable as the trait object the scheduler holds.
pub(crate) fn into_dyn(ledger: PulsarLedger) -> Arc<dyn Ledger> {
    Arc::new(ledger)
}

/// The client to open with, or why there is none.
async fn connected(clients: &ServiceClients) -> Result<Connected, BackendError> {
    clients
        .get()
        .await
        .map_err(|error| BackendError::with_source(error.to_string(), error))
}
