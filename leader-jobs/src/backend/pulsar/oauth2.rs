//! OAuth2 client credentials, through the `pulsar` crate's provider (feature `oauth2`).
//!
//! The provider discovers the issuer's token endpoint (OpenID Connect discovery), exchanges
//! the client id and secret for an access token, caches it and fetches a new one when 90 % of
//! its lifetime has passed. It is asked on every connection the client opens; the broker closes
//! connections whose token expired, so the reconnect presents a fresh one. One provider serves
//! the client, the admin calls and the connection diagnosis, so all use the same token.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use pulsar::authentication::Authentication;
use pulsar::authentication::oauth2::{OAuth2Authentication, OAuth2Params};
use pulsar::error::AuthenticationError;
use tokio::sync::Mutex;
use url::Url;

use super::auth::{Secret, TokenError};

/// Where and as whom to get OAuth2 access tokens (the client-credentials grant).
///
/// The credentials file is JSON with `client_id` and `client_secret` (optionally
/// `issuer_url`), the format of Pulsar's other clients; it is read when the backend first
/// connects.
///
/// ```
/// use leader_jobs::backend::pulsar::OAuth2ClientCredentials;
/// use leader_jobs::PulsarConfig;
///
/// let config = PulsarConfig::new("pulsar+ssl://pulsar.example.com:6651")?.oauth2(
///     OAuth2ClientCredentials::new("https://auth.example.com/", "/etc/pulsar/client.json")
///         .audience("urn:pulsar:cluster-1"),
/// );
/// # Ok::<(), leader_jobs::PulsarConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct OAuth2ClientCredentials {
    issuer_url: String,
    credentials_file: PathBuf,
    audience: Option<String>,
    scope: Option<String>,
}

impl OAuth2ClientCredentials {
    /// Tokens from the issuer at `issuer_url`, for the client in `credentials_file`.
    pub fn new(issuer_url: &str, credentials_file: impl Into<PathBuf>) -> Self {
        Self {
            issuer_url: issuer_url.to_owned(),
            credentials_file: credentials_file.into(),
            audience: None,
            scope: None,
        }
    }

    /// The `audience` parameter of the token request (many issuers require it).
    pub fn audience(mut self, audience: &str) -> Self {
        self.audience = Some(audience.to_owned());
        self
    }

    /// The `scope` of the token request.
    pub fn scope(mut self, scope: &str) -> Self {
        self.scope = Some(scope.to_owned());
        self
    }
}

/// The `pulsar` crate's OAuth2 provider, shared between the client, the admin calls and the
/// diagnosis.
#[derive(Clone)]
pub(crate) struct OAuth2Provider {
    issuer: String,
    credentials_file: PathBuf,
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    params: OAuth2Params,
    provider: Option<Box<dyn Authentication>>,
}

impl OAuth2Provider {
    pub(crate) fn new(credentials: OAuth2ClientCredentials) -> Self {
        let OAuth2ClientCredentials {
            issuer_url,
            credentials_file,
            audience,
            scope,
        } = credentials;
        let file = std::path::absolute(&credentials_file).unwrap_or(credentials_file.clone());
        let credentials_url = Url::from_file_path(&file)
            .map(String::from)
            .unwrap_or_else(|()| format!("file://{}", file.display()));
        Self {
            issuer: issuer_url.clone(),
            credentials_file,
            inner: Arc::new(Mutex::new(Inner {
                params: OAuth2Params {
                    issuer_url,
                    credentials_url,
                    audience,
                    scope,
                },
                provider: None,
            })),
        }
    }

    /// The current access token, fetched if none is cached or it nears its expiry.
    pub(crate) async fn access_token(&self) -> Result<Secret, TokenError> {
        let token = self
            .inner
            .lock()
            .await
            .token()
            .await
            .map_err(|error| TokenError::OAuth2 {
                issuer: self.issuer.clone(),
                reason: error.to_string(),
            })?;
        String::from_utf8(token)
            .map(Secret::new)
            .map_err(|_| TokenError::OAuth2 {
                issuer: self.issuer.clone(),
                reason: "the access token is not text".into(),
            })
    }

    pub(crate) fn origin(&self) -> String {
        format!(
            "OAuth2 issuer {} (client credentials {})",
            self.issuer,
            self.credentials_file.display()
        )
    }
}

impl Inner {
    /// Initializes the provider on first use (reading the credentials, discovering the token
    /// endpoint) and asks it for the token.
    async fn token(&mut self) -> Result<Vec<u8>, AuthenticationError> {
        if self.provider.is_none() {
            let mut provider = OAuth2Authentication::client_credentials(self.params.clone());
            provider.initialize().await?;
            self.provider = Some(provider);
        }
        match self.provider.as_mut() {
            Some(provider) => provider.auth_data().await,
            None => Err(AuthenticationError::Custom(
                "the OAuth2 provider is not initialized".into(),
            )),
        }
    }
}

impl fmt::Debug for OAuth2Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Provider")
            .field("issuer", &self.issuer)
            .field("credentials_file", &self.credentials_file)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Authentication for OAuth2Provider {
    fn auth_method_name(&self) -> String {
        "token".into()
    }

    async fn initialize(&mut self) -> Result<(), AuthenticationError> {
        self.inner.lock().await.token().await.map(|_| ())
    }

    async fn auth_data(&mut self) -> Result<Vec<u8>, AuthenticationError> {
        self.inner.lock().await.token().await
    }
}
