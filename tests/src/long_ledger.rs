//! Long ledgers for the tests and the benchmark: written straight in the ledger's wire format, as
//! a release before checkpoints left them, and read back through the broker's topic stats.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use leader_jobs::backend::{Leadership, RunEnd, RunOutcome};
use pulsar::{Pulsar, TokioExecutor};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::broker;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Records in flight while a long ledger is written.
const IN_FLIGHT: usize = 500;

/// Counts how often a lock led meanwhile loses its leader (its leadership turns to following):
/// what a long fold must not cause to another lock of the same node.
pub struct LeaseLosses {
    losses: Arc<AtomicU64>,
    counter: JoinHandle<()>,
}

impl LeaseLosses {
    /// Starts counting the losses `leadership` reports from now on.
    pub fn count(mut leadership: watch::Receiver<Leadership>) -> Self {
        let losses = Arc::new(AtomicU64::new(0));
        let counter = tokio::spawn({
            let losses = losses.clone();
            async move {
                while leadership.changed().await.is_ok() {
                    if *leadership.borrow() == Leadership::Following {
                        losses.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        Self { losses, counter }
    }

    /// Stops counting (a resignation afterwards is no loss) and returns the count.
    pub fn stop(self) -> u64 {
        self.counter.abort();
        self.losses.load(Ordering::Relaxed)
    }
}

/// A first attempt that ran for 10 ms and succeeded, for tests that write a ledger by hand.
pub fn ok_attempt() -> RunEnd {
    let started = Utc::now();
    let finished = started + Duration::from_millis(10);
    RunEnd::new(RunOutcome::Ok, 1, started, finished)
}

/// Writes, to the ledger of `lock` under `prefix`, a term start of term 1 by `writer` and then
/// `records - 1` claims and outcomes of an every-second job `job`, in the wire format of the
/// release before checkpoints, each record its own message as the ledger's producer sends them.
/// The ledger must have been opened once before, so that its history subscription keeps them.
///
/// # Errors
///
/// When the broker does not take a record.
pub async fn write_legacy(prefix: &str, lock: &str, records: u64) -> Result<(), BoxError> {
    let client: Pulsar<TokioExecutor> = Pulsar::builder(broker::service_url(), TokioExecutor)
        .build()
        .await?;
    let mut producer = client
        .producer()
        .with_topic(format!(
            "persistent://public/default/{prefix}.{lock}.ledger"
        ))
        .with_options(pulsar::ProducerOptions {
            block_queue_if_full: true,
            ..pulsar::ProducerOptions::default()
        })
        .build()
        .await?;
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .ok_or("start")?;
    let mut receipts = Vec::with_capacity(IN_FLIGHT);
    for index in 0..records {
        let payload = if index == 0 {
            r#"{"kind":"term_start","v":1,"term":1,"node":"writer"}"#.to_owned()
        } else {
            let tick = (start + chrono::Duration::seconds(i64::try_from((index - 1) / 2)?))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let kind = if index % 2 == 1 { "claim" } else { "outcome" };
            let outcome = if kind == "outcome" {
                r#","outcome":"ok""#
            } else {
                ""
            };
            format!(
                r#"{{"kind":"{kind}","v":1,"job":"job","tick":"{tick}","term":1,"node":"writer"{outcome}}}"#
            )
        };
        receipts.push(producer.send_non_blocking(payload.into_bytes()).await?);
        if receipts.len() == IN_FLIGHT {
            for receipt in receipts.drain(..) {
                receipt.await?;
            }
        }
    }
    for receipt in receipts {
        receipt.await?;
    }
    producer.close().await?;
    Ok(())
}

/// What the broker keeps of the ledger of `lock` under `prefix`, from its topic stats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kept {
    /// Messages the history subscription still holds.
    pub messages: u64,
    /// Bytes the topic's storage holds (the bookie ledgers not yet trimmed).
    pub bytes: u64,
}

/// Reads [`Kept`] from the broker's admin API.
///
/// # Errors
///
/// When the admin API does not answer or the topic has no history subscription.
pub fn kept(prefix: &str, lock: &str) -> Result<Kept, BoxError> {
    let url = format!(
        "{}/admin/v2/persistent/public/default/{prefix}.{lock}.ledger/stats",
        broker::admin_url().trim_end_matches('/')
    );
    let body = ureq::get(&url).call()?.body_mut().read_to_string()?;
    let stats: serde_json::Value = serde_json::from_str(&body)?;
    let messages = stats["subscriptions"]["leader-jobs-history"]["msgBacklog"]
        .as_u64()
        .ok_or("no backlog of the history subscription in the topic stats")?;
    let bytes = stats["storageSize"]
        .as_u64()
        .ok_or("no storage size in the topic stats")?;
    Ok(Kept { messages, bytes })
}
