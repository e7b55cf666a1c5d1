//! Building the `pulsar` client: service URL, retry options, token and TLS trust, and the
//! connect loop that retries while the broker is unreachable but gives up at once, with an
//! actionable [`ConnectError`], when the broker refuses the credentials or the certificate.

use std::time::Duration;

use pulsar::{ConnectionRetryOptions, OperationRetryOptions, Pulsar, PulsarBuilder, TokioExecutor};
use tracing::warn;

use super::diagnose::{self, ConnectError};
use super::{Client, PulsarConfig};
use crate::backoff::Backoff;

/// How often a connection to one broker is retried before the operation fails and its caller
/// looks the topic up again (see `builder`).
const CONNECTION_RETRIES: u32 = 3;

/// Connects, retrying with backoff while the broker does not answer. Fails when the cause is
/// one that retrying cannot fix (see [`ConnectError`]).
pub(crate) async fn connect(config: &PulsarConfig) -> Result<Client, ConnectError> {
    let mut backoff = Backoff::new(config.reconnect_backoff.0, config.reconnect_backoff.1);
    loop {
        let attempt = builder(config)?.build().await;
        match attempt {
            Ok(client) => return Ok(client),
            Err(error) => {
                if let Some(cause) = diagnose::diagnose(config).await {
                    return Err(cause);
                }
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

fn builder(config: &PulsarConfig) -> Result<PulsarBuilder<TokioExecutor>, ConnectError> {
    let mut builder = Pulsar::builder(config.service_url.as_str(), TokioExecutor)
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
