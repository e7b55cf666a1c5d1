//! The demo's operator: pauses, resumes and triggers jobs the way any tool that can write a
//! lock's ledger can, with a command record, through the backend the nodes use. The nodes see
//! the commands in their ledgers; the demo only sees what the nodes log about them.

use leader_jobs::backend::{Backend, Command, Trigger};
use leader_jobs::{PulsarBackend, PulsarConfig};

/// The operator's id in the ledger's records.
const OPERATOR: &str = "demo-operator";

/// Appends `command` to the ledger of `lock`.
pub(crate) fn send(
    service_url: &str,
    topic_prefix: &str,
    lock: &str,
    command: Command,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let config = PulsarConfig::new(service_url)?.topic_prefix(topic_prefix)?;
        let backend = PulsarBackend::new(config)?;
        let sent = async {
            let ledger = backend.ledger(lock, OPERATOR).await?;
            ledger.command(&command).await
        }
        .await;
        backend.close().await;
        sent?;
        Ok(())
    })
}

pub(crate) fn pause(job: &str) -> Command {
    Command::Pause {
        job: job.to_owned(),
        by: OPERATOR.to_owned(),
    }
}

pub(crate) fn resume(job: &str) -> Command {
    Command::Resume {
        job: job.to_owned(),
        by: OPERATOR.to_owned(),
    }
}

pub(crate) fn trigger(job: &str) -> Command {
    let request = format!("{OPERATOR}-{}", chrono::Utc::now().timestamp_micros());
    Command::Trigger(Trigger::new(job, &request, OPERATOR, chrono::Utc::now()))
}
