//! The one admin call leader-jobs makes: unloading a lock's election topic, which makes the broker
//! drop every consumer of it at once. Followers use it when the leader holds the role but has
//! stopped acknowledging heartbeats (a frozen or partitioned process), because the broker alone
//! keeps such a consumer until its keepalive gives up, about 56 s.

use std::time::Duration;

use reqwest::StatusCode;
use url::Url;

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdminError {
    #[error(
        "the Pulsar admin API at {url} refused to unload {topic} ({status}): the application's role lacks the \
         permission to unload topics in this namespace; grant it (a tenant admin role) or accept that a frozen \
         leader is replaced only when the broker's keepalive drops it (about 60 s)"
    )]
    Forbidden {
        url: Url,
        topic: String,
        status: StatusCode,
    },
    #[error("the Pulsar admin API at {url} answered {status} to unloading {topic}: {body}")]
    Status {
        url: Url,
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
        matches!(self, Self::Forbidden { .. })
    }
}

/// A small client of the Pulsar admin REST API.
#[derive(Clone, Debug)]
pub(crate) struct AdminClient {
    base: Url,
    http: reqwest::Client,
}

impl AdminClient {
    pub(crate) fn new(base: Url) -> Self {
        // Building a client with only a timeout set cannot fail in practice; fall back to the
        // default client rather than refusing to start.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self { base, http }
    }

    /// Unloads `topic` (a full `persistent://tenant/namespace/name`), which disconnects its
    /// producers and consumers; they reconnect, and the failover subscription picks its active
    /// consumer among those that do.
    pub(crate) async fn unload(&self, topic: &str) -> Result<(), AdminError> {
        let path = topic.replacen("persistent://", "admin/v2/persistent/", 1) + "/unload";
        let url = self.base.join(&path).map_err(|_| AdminError::Status {
            url: self.base.clone(),
            topic: topic.to_owned(),
            status: StatusCode::BAD_REQUEST,
            body: "the topic name does not form a URL".into(),
        })?;
        let response =
            self.http
                .put(url.clone())
                .send()
                .await
                .map_err(|source| AdminError::Unreachable {
                    url: url.clone(),
                    source,
                })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(AdminError::Forbidden {
                url,
                topic: topic.to_owned(),
                status,
            });
        }
        let body = response.text().await.unwrap_or_default();
        Err(AdminError::Status {
            url,
            topic: topic.to_owned(),
            status,
            body,
        })
    }
}
