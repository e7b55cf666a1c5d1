//! Token authentication: where the token comes from, a wrapper that keeps it out of every
//! `Debug`, `Display` and log line, and the provider that hands it to the `pulsar` client.
//!
//! The provider reads its source on every connection the client opens, not once: a token file
//! that an operator (or a Kubernetes projected volume) rotates is picked up by the next
//! reconnect, and the broker drops connections whose token expired, so reconnects do happen.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use pulsar::authentication::Authentication;
use pulsar::error::AuthenticationError;

/// A secret string (a token) that never shows itself: `Debug` and `Display` print `***`, so a
/// configuration or error can be logged whole without leaking it.
///
/// ```
/// use leader_jobs::backend::pulsar::Secret;
///
/// let token = Secret::new("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl");
/// assert_eq!(format!("{token:?} {token}"), "Secret(***) ***");
/// assert!(token.expose().starts_with("eyJ"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::from(value.into()))
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// How the client authenticates: the token for the binary protocol's `CONNECT` and the admin
/// API's `Authorization: Bearer`.
#[derive(Clone, Debug)]
pub(crate) enum Credentials {
    Token(TokenSource),
    #[cfg(feature = "oauth2")]
    OAuth2(super::oauth2::OAuth2Provider),
}

impl Credentials {
    /// The token to present now: read from its source, or (OAuth2) the cached access token,
    /// fetched again when it nears its expiry.
    pub(crate) async fn current(&self) -> Result<Secret, TokenError> {
        match self {
            Self::Token(source) => source.read(),
            #[cfg(feature = "oauth2")]
            Self::OAuth2(provider) => provider.access_token().await,
        }
    }

    /// Where the token comes from, for messages (never the token).
    pub(crate) fn origin(&self) -> String {
        match self {
            Self::Token(source) => source.origin(),
            #[cfg(feature = "oauth2")]
            Self::OAuth2(provider) => provider.origin(),
        }
    }

    /// The provider the `pulsar` client asks on every connection it opens.
    pub(crate) fn provider(&self) -> Box<dyn Authentication> {
        match self {
            Self::Token(source) => Box::new(TokenAuthentication::new(source.clone())),
            #[cfg(feature = "oauth2")]
            Self::OAuth2(provider) => Box::new(provider.clone()),
        }
    }
}

/// Where a token comes from. Files and variables are read again on every (re)connect.
#[derive(Clone, Debug)]
pub(crate) enum TokenSource {
    Value(Secret),
    File(PathBuf),
    Env(String),
}

/// Why no token could be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token file cannot be read.
    #[error(
        "cannot read the Pulsar token file {path}: {source}; check that it exists and that this process may read it"
    )]
    File {
        /// The file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The environment variable is unset or not Unicode.
    #[error(
        "the environment variable {name} that should hold the Pulsar token is not set (or not valid UTF-8); set it, or configure the token another way"
    )]
    Env {
        /// The variable's name.
        name: String,
    },
    /// The source holds only whitespace.
    #[error("the Pulsar token from {origin} is empty; put the token there")]
    Empty {
        /// Which file or variable.
        origin: String,
    },
    /// No access token could be had from the OAuth2 issuer.
    #[error(
        "cannot get an OAuth2 access token from {issuer}: {reason}; check the issuer URL, the client credentials file and that the issuer's token endpoint is reachable"
    )]
    OAuth2 {
        /// The issuer URL.
        issuer: String,
        /// What went wrong (never the client secret).
        reason: String,
    },
}

impl TokenSource {
    /// The current token, surrounding whitespace (a file's final newline) removed.
    pub(crate) fn read(&self) -> Result<Secret, TokenError> {
        let (text, origin) = match self {
            Self::Value(secret) => return Ok(secret.clone()),
            Self::File(path) => (
                std::fs::read_to_string(path).map_err(|source| TokenError::File {
                    path: path.clone(),
                    source,
                })?,
                path.display().to_string(),
            ),
            Self::Env(name) => (
                std::env::var(name).map_err(|_| TokenError::Env { name: name.clone() })?,
                format!("${name}"),
            ),
        };
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::Empty { origin });
        }
        Ok(Secret::new(token))
    }

    /// Where the token comes from, for messages (never the token).
    pub(crate) fn origin(&self) -> String {
        match self {
            Self::Value(_) => "the configuration".into(),
            Self::File(path) => format!("file {}", path.display()),
            Self::Env(name) => format!("environment variable {name}"),
        }
    }
}

/// The claims of a JWT that the errors use: whose token it is and until when it is valid.
///
/// Read without checking the signature (only the broker has the key); nothing here is
/// trusted, it only makes messages precise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TokenClaims {
    /// `sub`: the Pulsar role.
    pub(crate) role: Option<String>,
    /// `exp`: the expiry.
    pub(crate) expires: Option<DateTime<Utc>>,
}

impl TokenClaims {
    /// The claims of `token` if it is a JWT; `None` for opaque tokens.
    pub(crate) fn of(token: &Secret) -> Option<Self> {
        let payload = token.expose().split('.').nth(1)?;
        let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&json).ok()?;
        Some(Self {
            role: claims
                .get("sub")
                .and_then(|sub| sub.as_str())
                .map(str::to_owned),
            expires: claims
                .get("exp")
                .and_then(serde_json::Value::as_i64)
                .and_then(|exp| DateTime::from_timestamp(exp, 0)),
        })
    }

    /// Whether the token's `exp` lies before `now`.
    pub(crate) fn expired_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.expires.filter(|exp| *exp <= now)
    }
}

/// The `pulsar` client's authentication provider: method `token`, data read from the source
/// each time the client (re)connects.
pub(crate) struct TokenAuthentication {
    source: TokenSource,
}

impl TokenAuthentication {
    pub(crate) fn new(source: TokenSource) -> Self {
        Self { source }
    }
}

#[async_trait]
impl Authentication for TokenAuthentication {
    fn auth_method_name(&self) -> String {
        "token".into()
    }

    async fn initialize(&mut self) -> Result<(), AuthenticationError> {
        self.auth_data().await.map(|_| ())
    }

    async fn auth_data(&mut self) -> Result<Vec<u8>, AuthenticationError> {
        // A failure is final for this connection attempt: at start the backend reports it at
        // once, and a consumer that cannot reconnect is rebuilt by its task, with backoff.
        self.source
            .read()
            .map(|token| token.expose().as_bytes().to_vec())
            .map_err(|error| AuthenticationError::Custom(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> Secret {
        let encode = |s: &str| URL_SAFE_NO_PAD.encode(s);
        Secret::new(format!(
            "{}.{}.c2ln",
            encode(r#"{"alg":"HS256"}"#),
            encode(claims)
        ))
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("s3cr3t");
        let source = TokenSource::Value(secret.clone());
        for shown in [
            format!("{secret:?}"),
            format!("{secret}"),
            format!("{source:?}"),
            format!("{secret:#?}"),
        ] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
        assert_eq!(secret.expose(), "s3cr3t");
    }

    #[test]
    fn claims_give_role_and_expiry() {
        let claims = TokenClaims::of(&jwt(r#"{"sub":"app","exp":1000}"#)).unwrap();
        assert_eq!(claims.role.as_deref(), Some("app"));
        let exp = DateTime::from_timestamp(1000, 0).unwrap();
        assert_eq!(claims.expired_at(Utc::now()), Some(exp));
        let later = TokenClaims::of(&jwt(r#"{"sub":"app","exp":4102444800}"#)).unwrap();
        assert_eq!(later.expired_at(Utc::now()), None);
        assert_eq!(TokenClaims::of(&Secret::new("opaque-token")), None);
    }

    #[test]
    fn a_file_token_is_read_again_and_trimmed() {
        let path = std::env::temp_dir().join(format!("token-{}", std::process::id()));
        std::fs::write(&path, "first\n").unwrap();
        let source = TokenSource::File(path.clone());
        assert_eq!(source.read().unwrap().expose(), "first");
        std::fs::write(&path, "second").unwrap();
        assert_eq!(source.read().unwrap().expose(), "second");
        std::fs::write(&path, " \n").unwrap();
        assert!(matches!(source.read(), Err(TokenError::Empty { .. })));
        std::fs::remove_file(&path).unwrap();
        let missing = source.read().unwrap_err().to_string();
        assert!(missing.contains(&path.display().to_string()), "{missing}");
    }
}
