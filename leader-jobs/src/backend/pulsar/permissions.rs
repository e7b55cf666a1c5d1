//! What the application's role may do, and what to tell the user when it may not.
//!
//! Everything leader-jobs does needs produce and consume on the namespace; a refusal of either
//! is turned into a message naming the grant. The one permission leader-jobs can do without is
//! unloading a stalled leader's election topic. Without the unload (Pulsar allows
//! it to tenant admins only) elections and ledgers work the same, but a leader that froze while
//! its connection stays open keeps the role until the broker's keepalive drops it. The backend
//! says so once, at start, rather than at the first stall when someone is already waiting.

use std::sync::atomic::{AtomicBool, Ordering};

use pulsar::proto::ServerError;
use tracing::{debug, warn};

use super::admin::{AdminClient, UnloadPermission};

/// Checks the unload permission once per backend, in the background.
#[derive(Debug, Default)]
pub(crate) struct UnloadPermissionCheck {
    started: AtomicBool,
}

impl UnloadPermissionCheck {
    /// Starts the check against `topic` (an election topic) unless it already ran; logs a
    /// warning naming the missing permission and its cost when the role lacks it.
    pub(crate) fn start_once(&self, admin: &AdminClient, topic: String) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let admin = admin.clone();
        tokio::spawn(async move {
            match admin.may_unload(&topic).await {
                Ok(UnloadPermission::Granted) => {
                    debug!(%topic, "the role may unload election topics: stalled leaders are replaced after stall_grace");
                }
                Ok(UnloadPermission::Missing(refusal)) => warn!(
                    %topic,
                    %refusal,
                    "the application's role lacks the permission to unload topics (Pulsar grants it to tenant admins \
                     and super-users only; checked by reading the topic's compaction status, which Pulsar authorizes \
                     like an unload): elections and jobs work, but a leader that freezes while its connection stays \
                     open is replaced only when the broker's keepalive drops it (about a minute with the \
                     default keepAliveIntervalSeconds of 30) instead of after stall_grace; make the role an admin of the \
                     tenant to get fast takeover"
                ),
                Err(error) => warn!(
                    %topic,
                    %error,
                    "could not check whether the role may unload stalled leaders' election topics"
                ),
            }
        });
    }
}

/// The broker's reason when `error` is a refusal of permission (`AuthorizationError`).
fn authorization_refusal(error: &pulsar::Error) -> Option<String> {
    use pulsar::error::{ConnectionError, ConsumerError, ProducerError, ServiceDiscoveryError};

    let (code, message) = match error {
        pulsar::Error::Connection(ConnectionError::PulsarError(code, message))
        | pulsar::Error::Consumer(ConsumerError::Connection(ConnectionError::PulsarError(
            code,
            message,
        )))
        | pulsar::Error::Producer(ProducerError::Connection(ConnectionError::PulsarError(
            code,
            message,
        )))
        | pulsar::Error::ServiceDiscovery(ServiceDiscoveryError::Query(code, message))
        | pulsar::Error::ServiceDiscovery(ServiceDiscoveryError::Connection(
            ConnectionError::PulsarError(code, message),
        )) => (code, message),
        _ => return None,
    };
    (*code == Some(ServerError::AuthorizationError))
        .then(|| message.clone().unwrap_or_else(|| "no reason given".into()))
}

/// The message for a failed `action` on `topic`: when the broker refused permission, it says
/// which grant is missing and how to give it.
pub(crate) fn operation_failure(topic: &str, action: &str, error: &pulsar::Error) -> String {
    let Some(reason) = authorization_refusal(error) else {
        return format!("cannot {action} {topic}: {error}");
    };
    let namespace = topic
        .split("://")
        .nth(1)
        .and_then(|rest| rest.rsplit_once('/'))
        .map_or("<tenant>/<namespace>", |(namespace, _)| namespace);
    format!(
        "the broker refused to let this application's role {action} {topic} ({reason}); grant the role \
         produce and consume on the namespace: `pulsar-admin namespaces grant-permission {namespace} \
         --role <role> --actions produce,consume`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_permission_names_the_grant() {
        let refused = pulsar::Error::Connection(pulsar::error::ConnectionError::PulsarError(
            Some(ServerError::AuthorizationError),
            Some("Client is not authorized".into()),
        ));
        let message = operation_failure("persistent://acme/jobs/t", "read", &refused);
        assert!(
            message.contains("grant-permission acme/jobs --role"),
            "{message}"
        );
        let other = pulsar::Error::Custom("boom".into());
        assert_eq!(
            operation_failure("persistent://acme/jobs/t", "read", &other),
            "cannot read persistent://acme/jobs/t: error: boom"
        );
    }
}
