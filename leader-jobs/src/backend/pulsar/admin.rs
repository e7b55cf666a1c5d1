//! The one admin call leader-jobs makes: unloading a lock's election topic, which makes the broker
//! drop every consumer of it at once. Followers use it when the leader holds the role but has
//! stopped acknowledging heartbeats (a frozen or partitioned process), because the broker alone
//! keeps such a consumer until its keepalive gives up, about 56 s.
//!
//! Requests carry the same token as the binary protocol (read again for every request, so a
//! rotated token file applies) and trust the same CAs.
//!
//! Unloading needs more than produce and consume: Pulsar's authorization provider allows it to
//! super-users and admins of the topic's tenant only, and answers others 401 with the reason
//! "Unauthorized to validateTopicOperation for operation [UNLOAD]". Reading a topic's compaction
//! status is allowed to exactly the same roles (operation COMPACT, same check, measured on
//! Pulsar 4.0.7) and changes nothing, so [`AdminClient::may_unload`] asks that instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use url::Url;

use super::PulsarConfig;
use super::auth::{Credentials, TokenError};
use super::endpoints::Endpoints;
use super::tls::TlsError;

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdminError {
    #[error(
        "the Pulsar admin API at {url} refused to unload {topic} ({status}: {reason}): the application's role lacks \
         the permission to unload topics, which Pulsar grants to super-users and tenant admins only; make the role an \
         admin of the tenant, or accept that a frozen leader is replaced only when the broker's keepalive drops it \
         (about 60 s)"
    )]
    Forbidden {
        url: Box<Url>,
        topic: String,
        status: StatusCode,
        reason: String,
    },
    #[error(
        "the Pulsar admin API at {url} did not accept the credentials ({status}); configure the same token as for \
         the service URL, and check that the admin URL points at the same cluster"
    )]
    Unauthenticated { url: Url, status: StatusCode },
    #[error("cannot authenticate to the Pulsar admin API: {0}")]
    Token(#[from] TokenError),
    #[error("the Pulsar admin API at {url} answered {status} to unloading {topic}: {body}")]
    Status {
        url: Box<Url>,
        topic: String,
        status: StatusCode,
        body: String,
    },
    #[error(
        "the Pulsar admin API at {url} is unreachable ({source}); check the admin URL (PulsarConfig::with_admin_url)"
    )]
    Unreachable {
        url: Url,
        #[source]
        source: reqwest::Error,
    },
}

impl AdminError {
    /// A missing permission does not go away by retrying.
    pub(crate) fn is_permanent(&self) -> bool {
        matches!(self, Self::Forbidden { .. } | Self::Unauthenticated { .. })
    }
}

/// Whether the application's role may unload its election topics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UnloadPermission {
    Granted,
    /// Refused, with the broker's reason.
    Missing(String),
}

/// A small client of the Pulsar admin REST API. With several admin URLs it asks the one that
/// answered last, and the others in turn while that one cannot be reached; a broker that does not
/// own the topic redirects the request to the one that does.
#[derive(Clone, Debug)]
pub(crate) struct AdminClient {
    bases: Endpoints,
    /// Which of `bases` answered last.
    preferred: Arc<AtomicUsize>,
    credentials: Option<Credentials>,
    http: reqwest::Client,
}

impl AdminClient {
    pub(crate) fn new(config: &PulsarConfig) -> Result<Self, TlsError> {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
        for root in config.tls.extra_roots()? {
            let certificate =
                reqwest::Certificate::from_der(&root).map_err(|error| TlsError::Anchor {
                    origin: config.tls.describe(),
                    reason: error.to_string(),
                })?;
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder.build().map_err(|error| TlsError::Anchor {
            origin: config.tls.describe(),
            reason: error.to_string(),
        })?;
        Ok(Self {
            bases: config.admin.clone(),
            preferred: Arc::default(),
            credentials: config.credentials.clone(),
            http,
        })
    }

    /// Whether the role may unload `topic`, found out without unloading: by reading the topic's
    /// compaction status, which Pulsar authorizes exactly like an unload (see the module docs).
    /// A topic that does not exist yet answers 404 to an authorized role and 401 to others.
    pub(crate) async fn may_unload(&self, topic: &str) -> Result<UnloadPermission, AdminError> {
        let (url, response) = self.send(Method::GET, topic, "compaction").await?;
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok(UnloadPermission::Granted);
        }
        match refusal(response).await {
            Some(reason) => Ok(UnloadPermission::Missing(reason)),
            None if is_auth_status(status) => Err(AdminError::Unauthenticated { url, status }),
            None => Err(AdminError::Status {
                url: Box::new(url),
                topic: topic.to_owned(),
                status,
                body: String::new(),
            }),
        }
    }

    fn topic_url(base: &Url, topic: &str, action: &str) -> Result<Url, AdminError> {
        let path = topic.replacen("persistent://", "admin/v2/persistent/", 1) + "/" + action;
        base.join(&path).map_err(|_| AdminError::Status {
            url: Box::new(base.clone()),
            topic: topic.to_owned(),
            status: StatusCode::BAD_REQUEST,
            body: "the topic name does not form a URL".into(),
        })
    }

    /// Sends `method` to `action` of `topic`, through each admin URL in turn from the one that
    /// answered last until one answers; returns the URL that answered and its answer.
    async fn send(
        &self,
        method: Method,
        topic: &str,
        action: &str,
    ) -> Result<(Url, reqwest::Response), AdminError> {
        let token = match &self.credentials {
            Some(credentials) => Some(credentials.current().await?),
            None => None,
        };
        let first = self.preferred.load(Ordering::Relaxed);
        let mut unreachable = None;
        for index in first..first + self.bases.len() {
            let url = Self::topic_url(self.bases.nth_round(index), topic, action)?;
            let mut request = self.http.request(method.clone(), url.clone());
            if let Some(token) = &token {
                request = request.bearer_auth(token.expose());
            }
            match request.send().await {
                Ok(response) => {
                    self.preferred
                        .store(index % self.bases.len(), Ordering::Relaxed);
                    return Ok((url, response));
                }
                Err(source) => unreachable = Some(AdminError::Unreachable { url, source }),
            }
        }
        Err(unreachable.unwrap_or_else(|| AdminError::Status {
            url: Box::new(self.bases.first().clone()),
            topic: topic.to_owned(),
            status: StatusCode::BAD_REQUEST,
            body: "no admin URL".into(),
        }))
    }

    /// Unloads `topic` (a full `persistent://tenant/namespace/name`), which disconnects its
    /// producers and consumers; they reconnect, and the failover subscription picks its active
    /// consumer among those that do.
    pub(crate) async fn unload(&self, topic: &str) -> Result<(), AdminError> {
        let (url, response) = self.send(Method::PUT, topic, "unload").await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if is_auth_status(status) {
            return Err(match refusal(response).await {
                Some(reason) => AdminError::Forbidden {
                    url: Box::new(url),
                    topic: topic.to_owned(),
                    status,
                    reason,
                },
                None => AdminError::Unauthenticated { url, status },
            });
        }
        let body = response.text().await.unwrap_or_default();
        Err(AdminError::Status {
            url: Box::new(url),
            topic: topic.to_owned(),
            status,
            body,
        })
    }
}

fn is_auth_status(status: StatusCode) -> bool {
    matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
}

/// The reason of an authorization refusal. Pulsar answers a role it authenticated but does not
/// authorize with a JSON `reason`, and credentials it rejects with Jetty's HTML "Authentication
/// required" page; only the first has a reason.
async fn refusal(response: reqwest::Response) -> Option<String> {
    let status = response.status();
    if !is_auth_status(status) {
        return None;
    }
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.ok()?).ok()?;
    body.get("reason")?.as_str().map(str::to_owned)
}
