//! The Pulsar backend: every lock is an election on a failover subscription and a fenced ledger on
//! a persistent topic.
//!
//! Per lock, with the default [`PulsarConfig::topic_prefix`] `leader-jobs`:
//!
//! - `leader-jobs.<lock>.election` (or, with [`PulsarConfig::election_groups`], a topic that the
//!   lock shares with others: [`PulsarConfig::election_topic`]): every node subscribes with
//!   subscription type Failover (its node id as consumer name) and publishes a heartbeat every
//!   [`heartbeat_interval`](PulsarConfig::heartbeat_interval) while it leads, every other one
//!   while it follows. The broker delivers only to the
//!   active consumer, so a node that receives its own heartbeat leads, for a
//!   [`lease`](PulsarConfig::lease) counted from that heartbeat's send time. Followers watch the
//!   subscription's backlog: when the leader stops consuming for
//!   [`stall_grace`](PulsarConfig::stall_grace) (a frozen process), they unload the topic so the
//!   broker picks another leader, instead of waiting about a minute for its keepalive.
//! - `leader-jobs.<lock>.ledger`: terms, claims and outcomes, totally ordered. A durable
//!   subscription that never acknowledges keeps its history without any retention policy.
//!
//! Most applications only name the service URL with
//! [`RuntimeBuilder::pulsar`](crate::RuntimeBuilder::pulsar), or a [`PulsarConfig`] with
//! [`RuntimeBuilder::pulsar_config`](crate::RuntimeBuilder::pulsar_config).

mod admin;
mod auth;
mod client;
mod config;
mod diagnose;
mod election;
mod election_groups;
mod endpoints;
mod ledger;
#[cfg(feature = "oauth2")]
mod oauth2;
mod permissions;
mod records;
mod slow_open;
mod tls;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use pulsar::{Pulsar, TokioExecutor};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use auth::{Secret, TokenError};
pub use config::{PulsarConfig, PulsarConfigError};
pub use diagnose::ConnectError;
#[cfg(feature = "oauth2")]
pub use oauth2::OAuth2ClientCredentials;
pub use tls::TlsError;

use self::admin::AdminClient;
use self::client::ServiceClients;
use self::election::ElectionTask;
use self::ledger::PulsarLedger;
use self::permissions::UnloadPermissionCheck;
use super::{Backend, BackendError, Election, Leadership, Ledger};

type Client = Pulsar<TokioExecutor>;

/// A [`Backend`] on an Apache Pulsar cluster.
///
/// Connects lazily: the first lock to join connects, retrying with backoff (and logging why) while
/// the broker is unreachable, and failing with a [`ConnectError`] as its source when the broker
/// refuses the token or the TLS certificate cannot be trusted.
pub struct PulsarBackend {
    config: Arc<PulsarConfig>,
    admin: AdminClient,
    clients: Arc<ServiceClients>,
    unload_permission: UnloadPermissionCheck,
    elections: TaskTracker,
    /// The election topics this backend holds, shared by the locks elected on each.
    shared: Arc<Mutex<SharedElections>>,
    shutdown: CancellationToken,
    /// When this node started, for the cold-start window.
    started: tokio::time::Instant,
}

impl PulsarBackend {
    /// A backend for the cluster `config` describes.
    pub fn new(config: PulsarConfig) -> Result<Self, PulsarConfigError> {
        config.validate()?;
        let admin = AdminClient::new(&config)?;
        let config = Arc::new(config);
        Ok(Self {
            clients: Arc::new(ServiceClients::new(Arc::clone(&config))),
            config,
            admin,
            unload_permission: UnloadPermissionCheck::default(),
            elections: TaskTracker::new(),
            shared: Arc::default(),
            shutdown: CancellationToken::new(),
            started: tokio::time::Instant::now(),
        })
    }

    /// Connects on first use, so that a broker that refuses the credentials or the certificate
    /// fails the first lock that joins.
    async fn connected(&self) -> Result<(), BackendError> {
        self.clients
            .get()
            .await
            .map(|_| ())
            .map_err(|error| BackendError::with_source(error.to_string(), error))
    }
}

impl std::fmt::Debug for PulsarBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulsarBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// One election topic's task and what it tells the locks elected on it. With
/// [election groups](PulsarConfig::election_groups) several locks hold it; it runs until the
/// last of them resigns.
struct SharedElection {
    leadership: watch::Receiver<Leadership>,
    lease: Arc<election::Lease>,
    resign: CancellationToken,
    tracker: TaskTracker,
    /// How many locks of this node hold the election; guarded by [`PulsarBackend::shared`].
    holders: usize,
}

/// A lock's election on Pulsar: a hold on its election topic's [`SharedElection`].
struct PulsarElection {
    key: ElectionKey,
    shared: Arc<Mutex<SharedElections>>,
    leadership: watch::Receiver<Leadership>,
    lease: Arc<election::Lease>,
    config: Arc<PulsarConfig>,
    resigned: AtomicBool,
}

/// An election topic and the node id that joins it.
type ElectionKey = (String, String);

/// This process's elections.
type SharedElections = HashMap<ElectionKey, SharedElection>;

#[async_trait]
impl Election for PulsarElection {
    fn leadership(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    fn leading_now(&self) -> bool {
        self.lease.holds()
    }

    fn refresh(&self) {
        self.lease.nudge();
    }

    fn lease(&self) -> Duration {
        self.config.lease
    }

    async fn confirm(&self) -> bool {
        self.lease
            .confirm(self.config.confirmation_window, self.config.lease)
            .await
    }

    /// Leaves the election topic once no other lock of this node holds it.
    async fn resign(&self) {
        if self.resigned.swap(true, Ordering::SeqCst) {
            return;
        }
        let last = {
            let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            let left = shared.get_mut(&self.key).map(|election| {
                election.holders = election.holders.saturating_sub(1);
                election.holders
            });
            match left {
                Some(0) => shared.remove(&self.key),
                _ => None,
            }
        };
        if let Some(election) = last {
            election.resign.cancel();
            election.tracker.close();
            election.tracker.wait().await;
        }
    }
}

impl PulsarBackend {
    /// Holds the election on `topic`, starting its task if no lock of this node holds it yet.
    fn hold(&self, topic: &str, lock: &str, node: &str) -> PulsarElection {
        let key = (topic.to_owned(), node.to_owned());
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let election = shared.entry(key.clone()).or_insert_with(|| {
            let (tx, rx) = watch::channel(Leadership::Following);
            let lease = Arc::new(election::Lease::default());
            let resign = self.shutdown.child_token();
            let tracker = TaskTracker::new();
            let task = ElectionTask {
                clients: Arc::clone(&self.clients),
                admin: self.admin.clone(),
                config: Arc::clone(&self.config),
                lock: self.config.election_name(lock),
                topic: topic.to_owned(),
                node: node.to_owned(),
                node_started: self.started,
                leadership: tx,
                lease: Arc::clone(&lease),
                resign: resign.clone(),
            };
            tracker.spawn(self.elections.track_future(task.run()));
            SharedElection {
                leadership: rx,
                lease,
                resign,
                tracker,
                holders: 0,
            }
        });
        election.holders += 1;
        PulsarElection {
            key,
            shared: Arc::clone(&self.shared),
            leadership: election.leadership.clone(),
            lease: Arc::clone(&election.lease),
            config: Arc::clone(&self.config),
            resigned: AtomicBool::new(false),
        }
    }
}

#[async_trait]
impl Backend for PulsarBackend {
    async fn election(&self, lock: &str, node: &str) -> Result<Arc<dyn Election>, BackendError> {
        self.connected().await?;
        let topic = self.config.election_topic(lock);
        self.unload_permission
            .start_once(&self.admin, topic.clone());
        Ok(Arc::new(self.hold(&topic, lock, node)))
    }

    async fn ledger(&self, lock: &str, _node: &str) -> Result<Arc<dyn Ledger>, BackendError> {
        self.connected().await?;
        PulsarLedger::open(Arc::clone(&self.clients), &self.config, lock)
            .await
            .map(ledger::into_dyn)
    }

    async fn close(&self) {
        self.shutdown.cancel();
        self.elections.close();
        self.elections.wait().await;
    }
}
