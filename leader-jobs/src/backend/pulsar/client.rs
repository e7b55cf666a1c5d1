//! Building the `pulsar` client: service URLs, retry options, token and TLS trust, and the
//! connect loop that retries while no broker is reachable but gives up at once, with an
//! actionable [`ConnectError`], when the broker refuses the credentials or the certificate.
//!
//! The `pulsar` crate takes one service URL and looks every topic up through it, also when a
//! consumer or producer reconnects. [`ServiceClients`] keeps one client and replaces it when an
//! open through it fails, or an operation times out or disconnects: with several service URLs
//! by a client on the next one, so a dead lookup broker costs each election and ledger one
//! failed open; with one, by a fresh client on the same URL, because a client can be left
//! unable to connect at all (see [`ServiceClients::failed`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pulsar::{ConnectionRetryOptions, OperationRetryOptions, Pulsar, PulsarBuilder, TokioExecutor};
use tokio::sync::Mutex;
use tracing::{info, warn};
use url::Url;

use super::diagnose::{self, ConnectError};
use super::{Client, PulsarConfig};
use crate::backoff::Backoff;

/// How long a probe of the lookup broker waits for its TCP handshake (see
/// [`ServiceClients::lookup_refuses`]).
const PROBE_CONNECT: Duration = Duration::from_secs(1);

/// How often a connection to one broker is retried before the operation fails and its caller
/// looks the topic up again (see `builder`).
const CONNECTION_RETRIES: u32 = 3;

/// The client that elections and ledgers open their consumers and producers with.
pub(crate) struct ServiceClients {
    config: std::sync::Arc<PulsarConfig>,
    current: Mutex<Option<Current>>,
    /// One more than the newest generation of client an open through which failed (0: none):
    /// if that is the current client, the next caller connects anew, through the next service
    /// URL.
    /// Apart from `current`, so that reporting a failure never waits for a connect under way.
    failed: AtomicU64,
}

struct Current {
    client: Client,
    /// Which service URL it connected through, counting round (see `Endpoints::nth_round`).
    url: usize,
    /// Counts the clients made, so that many failed opens through one client move on once.
    generation: u64,
}

/// A client handed out, to open with and to report a failed open of.
#[derive(Clone)]
pub(crate) struct Connected {
    pub(crate) client: Client,
    /// The service URL it looks topics up through, counting round.
    url: usize,
    generation: u64,
}

impl ServiceClients {
    pub(crate) fn new(config: std::sync::Arc<PulsarConfig>) -> Self {
        Self {
            config,
            current: Mutex::new(None),
            failed: AtomicU64::new(0),
        }
    }

    /// The client to open with, connecting first if there is none yet or an open through the
    /// last one failed.
    pub(crate) async fn get(&self) -> Result<Connected, ConnectError> {
        let mut current = self.current.lock().await;
        let failed = self.failed.load(Ordering::Relaxed);
        let (start, generation) = match current.as_ref() {
            Some(known) if known.generation + 1 != failed => {
                return Ok(Connected {
                    client: known.client.clone(),
                    url: known.url,
                    generation: known.generation,
                });
            }
            Some(known) => (known.url + 1, known.generation + 1),
            None => (0, 0),
        };
        let (client, url) = connect(&self.config, start).await?;
        if current.is_some() {
            let url = self.config.service.nth_round(url);
            if self.config.service.len() > 1 {
                info!(%url, "looking topics up through another broker");
            } else {
                info!(%url, "connected to Pulsar again with a fresh client after a failure");
            }
        }
        *current = Some(Current {
            client: client.clone(),
            url,
            generation,
        });
        Ok(Connected {
            client,
            url,
            generation,
        })
    }

    /// Reports that an open through `connected` failed, or that an operation on handles made
    /// with it got no answer or lost its connection: the next [`get`](Self::get) makes a new
    /// client, through the next service URL when there are several (the lookup broker may be
    /// the one that is gone). Clients already handed out keep working where their broker does.
    ///
    /// With one service URL the new client is on the same URL, and that is the point: the
    /// `pulsar` crate (6.9) marks a broker "connecting" while it retries a connection, and when
    /// the future that started the attempt is dropped — every bounded operation of ours drops
    /// it at its bound — the mark stays, and every later connection to that broker waits on it
    /// forever. A test that killed and restarted its broker met exactly that: the node's
    /// client never connected again (the broker's log showed no connection from it), and its
    /// ledger stayed unreadable. A fresh client starts with no marks.
    pub(crate) fn failed(&self, connected: &Connected) {
        self.failed
            .fetch_max(connected.generation + 1, Ordering::Relaxed);
    }

    /// Whether the broker that `connected` looks topics up through refuses TCP connections: its
    /// process is gone. Only asked with several service URLs, where there is another to move to.
    /// A frozen or slow broker still completes the handshake (its kernel answers), so for those
    /// this says no and the caller's own bound applies.
    pub(crate) async fn lookup_refuses(&self, connected: &Connected) -> bool {
        if self.config.service.len() < 2 {
            return false;
        }
        refuses(self.config.service.nth_round(connected.url)).await
    }

    /// The service URL `connected` looks topics up through.
    pub(crate) fn lookup_url(&self, connected: &Connected) -> &Url {
        self.config.service.nth_round(connected.url)
    }
}

/// Connects through the service URLs from the `start`-th on, in turn, retrying with backoff
/// after each round while no broker answers. Fails when the cause is one that retrying cannot
/// fix (see [`ConnectError`]). Returns the client and which URL it connected through.
async fn connect(config: &PulsarConfig, start: usize) -> Result<(Client, usize), ConnectError> {
    let mut backoff = Backoff::new(config.reconnect_backoff.0, config.reconnect_backoff.1);
    let urls = config.service.len();
    let mut index = start;
    loop {
        let url = config.service.nth_round(index);
        let attempt = builder(config, url)?.build().await;
        match attempt {
            Ok(client) => return Ok((client, index % urls)),
            Err(error) => {
                if let Some(cause) = diagnose::diagnose(config, url).await {
                    return Err(cause);
                }
                index += 1;
                if index % urls != start % urls {
                    warn!(%url, %error, "cannot connect to this Pulsar broker; trying the next service URL");
                    continue;
                }
                let delay = backoff.next_delay();
                warn!(
                    url = %config.service,
                    %error,
                    retry_in = ?delay,
                    "cannot connect to Pulsar; check that the broker runs and the service URL is right"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Whether the host and port of `url` refuse a TCP connection (rather than accept it, or not
/// answer within [`PROBE_CONNECT`]).
async fn refuses(url: &Url) -> bool {
    let (Some(host), Some(port)) = (url.host_str(), url.port()) else {
        return false;
    };
    let probe = tokio::net::TcpStream::connect((host, port));
    matches!(
        tokio::time::timeout(PROBE_CONNECT, probe).await,
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

fn builder(config: &PulsarConfig, url: &Url) -> Result<PulsarBuilder<TokioExecutor>, ConnectError> {
    let mut builder = Pulsar::builder(url.as_str(), TokioExecutor)
        .with_connection_retry_options(ConnectionRetryOptions {
            min_backoff: config.reconnect_backoff.0,
            max_backoff: config.reconnect_backoff.1,
            // A connection that stops answering pings is dropped after this, which bounds how
            // long a cut connection looks alive; the lease bounds leadership separately.
            keep_alive: config.lease,
            // The crate tries a broker 13 times over about 40 s before giving up. When the
            // broker a lookup named has died, in a cluster whose metadata still names it for a
            // few seconds, that held every consumer and producer of its topics on the dead
            // address until it came back (the cluster tests measured 24 s without a leader).
            // Giving up after about a second sends them back to a lookup, which names a live
            // broker once the dead one's metadata session has expired; every caller retries.
            max_retries: CONNECTION_RETRIES,
            ..ConnectionRetryOptions::default()
        })
        .with_operation_retry_options(OperationRetryOptions {
            // The crate waits 5 s before re-subscribing after `ServiceNotReady` (a topic being
            // unloaded or moved), which made most of the measured 1–6 s takeover after an
            // unload; a short delay lets a new leader subscribe right away.
            retry_delay: config.reconnect_backoff.0.max(Duration::from_millis(200)),
            ..OperationRetryOptions::default()
        });
    if let Some(credentials) = &config.credentials {
        builder = builder.with_auth_provider(credentials.provider());
    }
    if let Some(roots) = config.tls.extra_roots_pem()? {
        builder = builder.with_certificate_chain(roots);
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_broker_that_listens_is_not_taken_for_gone_and_one_that_stopped_is() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = Url::parse(&format!("pulsar://127.0.0.1:{port}")).unwrap();
        assert!(!refuses(&url).await);
        drop(listener);
        assert!(refuses(&url).await);
    }
}
