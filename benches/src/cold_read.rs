//! A cold takeover of a long ledger: how long a node that never read a lock's ledger takes to
//! begin a term there, for an empty ledger, for one of many records written without checkpoints
//! (as versions before checkpoints left it), and for the same ledger once a leader checkpointed
//! it; and whether another lock the same node leads keeps its lease during that first long fold.
//!
//! The long ledger is written in the ledger's wire format by a plain producer, each record its
//! own message as the ledger's producer sends them: a term start, then a claim and an outcome
//! per tick of an every-second job.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use leader_jobs::backend::{Backend, Claim, ClaimVerdict, Leadership};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::broker;
use leader_jobs_tests::cluster::BrokerUrls;
use pulsar::{Pulsar, TokioExecutor};
use serde::{Deserialize, Serialize};

use crate::roles::{RECORDS_VAR, ROLE_VAR};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Records in flight while the long ledger is written.
const IN_FLIGHT: usize = 500;

/// What one `cold-read` process prints.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct ColdRead {
    /// Records in the long ledger.
    pub(crate) records: u64,
    /// Cold term start on an empty ledger, ms.
    pub(crate) empty_ms: f64,
    /// Cold term start on the long ledger without checkpoints, ms (retries included).
    pub(crate) unchecked_ms: f64,
    /// Cold term start on the long ledger after a leader checkpointed it, ms.
    pub(crate) checkpointed_ms: f64,
    /// Times the node lost its lease on another lock during the fold without checkpoints.
    pub(crate) other_lock_losses: u64,
    /// Messages the broker still keeps for the lock after the checkpoint (history backlog).
    pub(crate) kept_after_checkpoint: u64,
}

/// Runs the `cold-read` role in a process of its own against `urls`.
pub(crate) fn measure(exe: &Path, urls: &BrokerUrls, records: u64) -> Result<ColdRead, BoxError> {
    let output = Command::new(exe)
        .env(ROLE_VAR, "cold-read")
        .env(RECORDS_VAR, records.to_string())
        .env(broker::SERVICE_URL_VAR, &urls.service)
        .env(broker::ADMIN_URL_VAR, &urls.admin)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "cold-read failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let text = String::from_utf8(output.stdout)?;
    let line = text.lines().last().ok_or("cold-read printed nothing")?;
    Ok(serde_json::from_str(line)?)
}

/// The `cold-read` role: measures, then prints one JSON line.
pub(crate) async fn role(records: u64) -> Result<(), BoxError> {
    let prefix = leader_jobs_tests::cluster::unique_name("cold-read");
    let lock = "long";
    let empty_ms = cold_term_start(&backend(&prefix)?, "empty").await?;

    // Opening the ledger creates the history subscription, so the broker keeps what follows.
    let writer = backend(&prefix)?;
    writer.ledger(lock, "writer").await?;
    write_unchecked(&prefix, lock, records).await?;

    let reader = backend(&prefix)?;
    let other = reader.election("other", "reader").await?;
    let mut leadership = other.leadership();
    tokio::time::timeout(
        Duration::from_secs(30),
        leadership.wait_for(|l| *l == Leadership::Leading),
    )
    .await??;
    // Counted until the term has begun: the resignation afterwards is no loss.
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
    let started = Instant::now();
    let ledger = reader.ledger(lock, "reader").await?;
    let term = loop {
        match ledger.begin_term("reader").await {
            Ok(start) => break start.term,
            Err(error) => eprintln!("cold-read: term start failed, retrying: {error}"),
        }
    };
    let unchecked_ms = started.elapsed().as_secs_f64() * 1000.0;
    let other_lock_losses = losses.load(Ordering::Relaxed);
    counter.abort();
    other.resign().await;

    let claim = Claim {
        job: "job".into(),
        tick: Utc
            .with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
            .single()
            .ok_or("tick")?,
        term,
        node: "reader".into(),
    };
    if ledger.claim(&claim).await? != ClaimVerdict::Won {
        return Err("the checkpointing claim lost".into());
    }
    let checkpointed_ms = cold_term_start(&backend(&prefix)?, lock).await?;
    let kept_after_checkpoint = history_backlog(&prefix, lock)?;
    let result = ColdRead {
        records,
        empty_ms,
        unchecked_ms,
        checkpointed_ms,
        other_lock_losses,
        kept_after_checkpoint,
    };
    let line = serde_json::to_string(&result)?;
    #[allow(
        clippy::print_stdout,
        reason = "the result goes to the driver on stdout"
    )]
    {
        println!("{line}");
    }
    Ok(())
}

fn backend(prefix: &str) -> Result<PulsarBackend, BoxError> {
    let config = PulsarConfig::new(&broker::service_url())?
        .with_admin_url(&broker::admin_url())?
        .topic_prefix(prefix)?;
    Ok(PulsarBackend::new(config)?)
}

async fn cold_term_start(backend: &PulsarBackend, lock: &str) -> Result<f64, BoxError> {
    let started = Instant::now();
    let ledger = backend.ledger(lock, "cold").await?;
    ledger.begin_term("cold").await?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// Writes a term start and `records - 1` claims and outcomes in the ledger's wire format.
async fn write_unchecked(prefix: &str, lock: &str, records: u64) -> Result<(), BoxError> {
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
    Ok(())
}

fn history_backlog(prefix: &str, lock: &str) -> Result<u64, BoxError> {
    let url = format!(
        "{}/admin/v2/persistent/public/default/{prefix}.{lock}.ledger/stats",
        broker::admin_url().trim_end_matches('/')
    );
    let body = ureq::get(&url).call()?.body_mut().read_to_string()?;
    let stats: serde_json::Value = serde_json::from_str(&body)?;
    stats["subscriptions"]["leader-jobs-history"]["msgBacklog"]
        .as_u64()
        .ok_or_else(|| "no backlog of the history subscription in the topic stats".into())
}
