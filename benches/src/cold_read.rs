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
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use leader_jobs::backend::{Backend, Claim, ClaimVerdict, Leadership};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::cluster::BrokerUrls;
use leader_jobs_tests::{broker, long_ledger};
use serde::{Deserialize, Serialize};

use crate::roles::{RECORDS_VAR, ROLE_VAR};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    /// Bytes of storage the broker still holds for the lock right after the checkpoint: it
    /// trims what lies before only once the bookie ledger holding it rolls over.
    pub(crate) bytes_after_checkpoint: u64,
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
    long_ledger::write_legacy(&prefix, lock, records).await?;

    let reader = backend(&prefix)?;
    let other = reader.election("other", "reader").await?;
    let mut leadership = other.leadership();
    tokio::time::timeout(
        Duration::from_secs(30),
        leadership.wait_for(|l| *l == Leadership::Leading),
    )
    .await??;
    // Counted until the term has begun: the resignation afterwards is no loss.
    let losses = long_ledger::LeaseLosses::count(leadership);
    let started = Instant::now();
    let ledger = reader.ledger(lock, "reader").await?;
    let term = loop {
        match ledger.begin_term("reader", chrono::Utc::now()).await {
            Ok(start) => break start.term,
            Err(error) => eprintln!("cold-read: term start failed, retrying: {error}"),
        }
    };
    let unchecked_ms = started.elapsed().as_secs_f64() * 1000.0;
    let other_lock_losses = losses.stop();
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
    let kept = long_ledger::kept(&prefix, lock)?;
    let result = ColdRead {
        records,
        empty_ms,
        unchecked_ms,
        checkpointed_ms,
        other_lock_losses,
        kept_after_checkpoint: kept.messages,
        bytes_after_checkpoint: kept.bytes,
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
    ledger.begin_term("cold", chrono::Utc::now()).await?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}
