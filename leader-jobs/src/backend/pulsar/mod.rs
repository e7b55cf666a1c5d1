//! The Pulsar backend: every lock is an election on a failover subscription and a fenced ledger on
//! a persistent topic. See `election` and `ledger` for how each works, and DESIGN.md for why.

mod admin;
mod backoff;
mod config;
mod election;
mod ledger;
mod records;

use std::sync::Arc;

use async_trait::async_trait;
use pulsar::{ConnectionRetryOptions, OperationRetryOptions, Pulsar, TokioExecutor};
use tokio::sync::{OnceCell, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

pub use config::{PulsarConfig, PulsarConfigError};

use self::admin::AdminClient;
use self::backoff::Backoff;
use self::election::ElectionTask;
use self::ledger::PulsarLedger;
use super::{Backend, BackendError, Election, Leadership, Ledger};

type Client = Pulsar<TokioExecutor>;

/// A [`Backend`] on an Apache Pulsar cluster.
///
/// Connects lazily: the first lock to join connects, retrying with backoff (and logging why) while
/// the broker is unreachable.
pub struct PulsarBackend {
    config: Arc<PulsarConfig>,
    admin: AdminClient,
    client: OnceCell<Client>,
    elections: TaskTracker,
    shutdown: CancellationToken,
}

impl PulsarBackend {
    /// A backend for the cluster `config` describes.
    pub fn new(config: PulsarConfig) -> Result<Self, PulsarConfigError> {
        config.validate()?;
        let admin = AdminClient::new(config.admin_url.clone());
        Ok(Self {
            config: Arc::new(config),
            admin,
            client: OnceCell::new(),
            elections: TaskTracker::new(),
            shutdown: CancellationToken::new(),
        })
    }

    async fn client(&self) -> Client {
        self.client
            .get_or_init(|| connect(&self.config))
            .await
            .clone()
    }
}

impl std::fmt::Debug for PulsarBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulsarBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Connects, retrying with backoff until the broker answers.
async fn connect(config: &PulsarConfig) -> Client {
    let mut backoff = Backoff::new(config.reconnect_backoff);
    loop {
        let attempt = Pulsar::builder(config.service_url.as_str(), TokioExecutor)
            .with_connection_retry_options(ConnectionRetryOptions {
                min_backoff: config.reconnect_backoff.0,
                max_backoff: config.reconnect_backoff.1,
                // A connection that stops answering pings is dropped after this, which bounds how
                // long a cut connection looks alive; the lease bounds leadership separately.
                keep_alive: config.lease,
                ..ConnectionRetryOptions::default()
            })
            .with_operation_retry_options(OperationRetryOptions {
                // The crate waits 5 s before re-subscribing after `ServiceNotReady` (a topic being
                // unloaded or moved), which made most of the measured 1–6 s takeover after an
                // unload; a short delay lets a new leader subscribe right away.
                retry_delay: config
                    .reconnect_backoff
                    .0
                    .max(std::time::Duration::from_millis(200)),
                ..OperationRetryOptions::default()
            })
            .build()
            .await;
        match attempt {
            Ok(client) => return client,
            Err(error) => {
                let delay = backoff.next_delay();
                warn!(
                    url = %config.service_url,
                    %error,
                    retry_in = ?delay,
                    "cannot connect to Pulsar; check that the broker runs and the service URL is right"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// A lock's election on Pulsar: the task runs until resigned.
struct PulsarElection {
    leadership: watch::Receiver<Leadership>,
    resign: CancellationToken,
    tracker: TaskTracker,
}

#[async_trait]
impl Election for PulsarElection {
    fn leadership(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    async fn resign(&self) {
        self.resign.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

#[async_trait]
impl Backend for PulsarBackend {
    async fn election(&self, lock: &str, node: &str) -> Result<Arc<dyn Election>, BackendError> {
        let client = self.client().await;
        let (tx, rx) = watch::channel(Leadership::Following);
        let resign = self.shutdown.child_token();
        let tracker = TaskTracker::new();
        let task = ElectionTask {
            client,
            admin: self.admin.clone(),
            config: Arc::clone(&self.config),
            lock: lock.to_owned(),
            node: node.to_owned(),
            leadership: tx,
            resign: resign.clone(),
        };
        tracker.spawn(self.elections.track_future(task.run()));
        Ok(Arc::new(PulsarElection {
            leadership: rx,
            resign,
            tracker,
        }))
    }

    async fn ledger(&self, lock: &str, _node: &str) -> Result<Arc<dyn Ledger>, BackendError> {
        let client = self.client().await;
        PulsarLedger::open(client, &self.config, lock)
            .await
            .map(ledger::into_dyn)
    }

    async fn close(&self) {
        self.shutdown.cancel();
        self.elections.close();
        self.elections.wait().await;
    }
}
