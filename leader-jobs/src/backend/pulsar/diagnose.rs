//! Turning connection failures into errors a user can act on.
//!
//! The `pulsar` crate reports every connect-time authentication or TLS failure — no token, a
//! bad signature, an expired token, an unknown CA, a wrong host name — as the same
//! "fatal error when connecting to the Pulsar server"; the cause only reaches its `log` output.
//! When a connect fails, [`diagnose`] finds the cause itself: it opens one connection to the
//! service address, does the TLS handshake with the same trust the client has (rustls names
//! the certificate problem), sends the protocol's `CONNECT` with the same token (the broker
//! answers with its reason), and reads the token's `exp` claim locally.
//!
//! A probe that reaches no broker, or that connects fine, finds nothing: the failure is then
//! taken as transient and the caller retries.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{SinkExt as _, StreamExt as _};
use pulsar::message::{Codec, Message};
use pulsar::proto::{self, ServerError};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use url::{Host, Url};

use super::PulsarConfig;
use super::auth::{Secret, TokenClaims, TokenError};
use super::permissions::operation_failure;
use super::tls::TlsError;

/// Bound on the whole probe, so a diagnosis never holds up the retry loop for long.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the client cannot connect to the broker, when the cause is one only a change of
/// configuration (or of the broker's certificate) fixes. Retrying does not help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The broker refused the token.
    #[error(
        "the Pulsar broker at {url} rejected the token from {origin}{role}: {broker}; give a token issued for this cluster (signed with its secret or private key) and check that it was copied whole"
    )]
    TokenRejected {
        /// The service URL.
        url: String,
        /// Where the token came from (never the token).
        origin: String,
        /// `, role <sub>` when the token names one.
        role: String,
        /// The broker's reason.
        broker: String,
    },
    /// The token's `exp` claim lies in the past.
    #[error(
        "the token from {origin}{role} expired at {expired_at}; give a fresh token (with PulsarConfig::token_file the file is read again on every reconnect, so replacing its content is enough)"
    )]
    TokenExpired {
        /// The service URL.
        url: String,
        /// Where the token came from (never the token).
        origin: String,
        /// `, role <sub>` when the token names one.
        role: String,
        /// The token's `exp`.
        expired_at: DateTime<Utc>,
    },
    /// The broker demands authentication and none is configured.
    #[error(
        "the Pulsar broker at {url} requires authentication ({broker}); configure a token with PulsarConfig::token, token_file or token_env"
    )]
    TokenRequired {
        /// The service URL.
        url: String,
        /// The broker's reason.
        broker: String,
    },
    /// The token could not be read.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The configured trust could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The broker's certificate is signed by a CA the client does not trust.
    #[error(
        "the TLS certificate of {url} is not signed by a trusted CA (trusted: {trusted}); give the CA that signed the broker's certificate with PulsarConfig::tls_ca_file"
    )]
    UntrustedCertificate {
        /// The service URL.
        url: String,
        /// What the client trusts.
        trusted: String,
    },
    /// The broker's certificate does not name the host the client connected to.
    #[error(
        "the TLS certificate of {url} is not valid for the host name `{host}` (it is valid for {presented}); connect with a name the certificate lists, or have the broker's certificate reissued to include `{host}`"
    )]
    HostnameMismatch {
        /// The service URL.
        url: String,
        /// The host the client connected to.
        host: String,
        /// The names the certificate lists.
        presented: String,
    },
    /// The broker's certificate is outside its validity period.
    #[error(
        "the TLS certificate of {url} is expired or not yet valid ({reason}); renew the broker's certificate, or check this machine's clock"
    )]
    CertificateNotValidNow {
        /// The service URL.
        url: String,
        /// What rustls reported.
        reason: String,
    },
    /// The TLS handshake failed for another reason.
    #[error(
        "the TLS handshake with {url} failed ({reason}); check that the port serves TLS (`pulsar+ssl://` needs the broker's TLS port, brokerServicePortTls, usually 6651)"
    )]
    TlsHandshake {
        /// The service URL.
        url: String,
        /// What rustls reported.
        reason: String,
    },
}

/// Finds out why connecting to the broker at `url`, one of `config`'s, failed; `None` when the
/// cause is not one of the above (the broker is unreachable, or the probe connected fine).
pub(crate) async fn diagnose(config: &PulsarConfig, url: &Url) -> Option<ConnectError> {
    tokio::time::timeout(PROBE_TIMEOUT, probe(config, url))
        .await
        .ok()
        .flatten()
}

async fn probe(config: &PulsarConfig, url: &Url) -> Option<ConnectError> {
    let token = match &config.credentials {
        Some(credentials) => match credentials.current().await {
            Ok(token) => Some(token),
            Err(error) => return Some(error.into()),
        },
        None => None,
    };
    let shown_url = url.to_string();
    let tls = url.scheme() == "pulsar+ssl";
    let port = url.port().unwrap_or(if tls { 6651 } else { 6650 });
    let host = url.host()?;
    let tcp = connect_any(&host, port).await?;
    let answer = if tls {
        let client_config = match config.tls.client_config() {
            Ok(client_config) => client_config,
            Err(error) => return Some(error.into()),
        };
        let name = server_name(&host)?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
        match connector.connect(name, tcp).await {
            Ok(stream) => exchange_connect(stream, token.as_ref()).await,
            Err(error) => return Some(classify_tls(config, url, &host, &error)),
        }
    } else {
        exchange_connect(tcp, token.as_ref()).await
    };
    let (code, broker) = answer?;
    if code != ServerError::AuthenticationError {
        return None;
    }
    let Some(token) = token else {
        return Some(ConnectError::TokenRequired {
            url: shown_url,
            broker,
        });
    };
    let origin = config
        .credentials
        .as_ref()
        .map(super::auth::Credentials::origin)
        .unwrap_or_default();
    let claims = TokenClaims::of(&token).unwrap_or_default();
    let role = claims
        .role
        .as_ref()
        .map(|role| format!(", role {role}"))
        .unwrap_or_default();
    Some(match claims.expired_at(Utc::now()) {
        Some(expired_at) => ConnectError::TokenExpired {
            url: shown_url,
            origin,
            role,
            expired_at,
        },
        None => ConnectError::TokenRejected {
            url: shown_url,
            origin,
            role,
            broker,
        },
    })
}

/// A TCP connection to the first address of `host` that accepts one.
async fn connect_any(host: &Host<&str>, port: u16) -> Option<TcpStream> {
    let target = match host {
        Host::Domain(domain) => format!("{domain}:{port}"),
        Host::Ipv4(ip) => format!("{ip}:{port}"),
        Host::Ipv6(ip) => format!("[{ip}]:{port}"),
    };
    for address in tokio::net::lookup_host(target).await.ok()? {
        if let Ok(stream) = TcpStream::connect(address).await {
            return Some(stream);
        }
    }
    None
}

fn server_name(host: &Host<&str>) -> Option<ServerName<'static>> {
    match host {
        Host::Domain(domain) => ServerName::try_from((*domain).to_owned()).ok(),
        Host::Ipv4(ip) => Some(ServerName::IpAddress((*ip).into())),
        Host::Ipv6(ip) => Some(ServerName::IpAddress((*ip).into())),
    }
}

/// Sends `CONNECT` as the client would and returns the broker's error, if it answers with one.
async fn exchange_connect<S>(stream: S, token: Option<&Secret>) -> Option<(ServerError, String)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed = Framed::new(stream, Codec);
    framed.send(connect_command(token)).await.ok()?;
    let answer = framed.next().await?.ok()?;
    let error = answer.command.error?;
    let code = ServerError::try_from(error.error).ok()?;
    Some((code, error.message))
}

fn connect_command(token: Option<&Secret>) -> Message {
    Message {
        command: proto::BaseCommand {
            r#type: proto::base_command::Type::Connect as i32,
            connect: Some(proto::CommandConnect {
                client_version: format!("leader-jobs-diagnosis-{}", env!("CARGO_PKG_VERSION")),
                auth_method_name: token.map(|_| "token".to_owned()),
                auth_data: token.map(|token| token.expose().as_bytes().to_vec()),
                protocol_version: Some(12),
                ..Default::default()
            }),
            ..Default::default()
        },
        payload: None,
    }
}

fn classify_tls(
    config: &PulsarConfig,
    url: &Url,
    host: &Host<&str>,
    error: &std::io::Error,
) -> ConnectError {
    use rustls::CertificateError as Cert;

    let url = url.to_string();
    let Some(rustls_error) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        // The connection broke without a TLS verdict: a plain-text port answers a TLS hello
        // by closing or with garbage.
        return ConnectError::TlsHandshake {
            url,
            reason: error.to_string(),
        };
    };
    match rustls_error {
        rustls::Error::InvalidCertificate(Cert::UnknownIssuer) => {
            ConnectError::UntrustedCertificate {
                url,
                trusted: config.tls.describe(),
            }
        }
        rustls::Error::InvalidCertificate(Cert::NotValidForNameContext { presented, .. }) => {
            ConnectError::HostnameMismatch {
                url,
                host: host.to_string(),
                presented: presented
                    .iter()
                    .map(|name| plain_name(name))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        }
        rustls::Error::InvalidCertificate(Cert::NotValidForName) => {
            ConnectError::HostnameMismatch {
                url,
                host: host.to_string(),
                presented: "other names".into(),
            }
        }
        rustls::Error::InvalidCertificate(
            cert @ (Cert::Expired
            | Cert::ExpiredContext { .. }
            | Cert::NotValidYet
            | Cert::NotValidYetContext { .. }),
        ) => ConnectError::CertificateNotValidNow {
            url,
            reason: format!("{cert:?}"),
        },
        other => ConnectError::TlsHandshake {
            url,
            reason: other.to_string(),
        },
    }
}

/// `127.0.0.1` for rustls's `IpAddress(127.0.0.1)`, `a.example` for `DnsName("a.example")`.
fn plain_name(presented: &str) -> &str {
    presented
        .split_once('(')
        .and_then(|(_, inner)| inner.strip_suffix(')'))
        .map_or(presented, |inner| inner.trim_matches('"'))
}

/// [`operation_failure`], or the connection-level cause when [`diagnose`] finds one at the first
/// service URL (a token that expired while the client ran, a certificate replaced by one the
/// client does not trust).
pub(crate) async fn explain_failure(
    config: &PulsarConfig,
    topic: &str,
    action: &str,
    error: &pulsar::Error,
) -> String {
    match diagnose(config, config.service.first()).await {
        Some(cause) => format!("cannot {action} {topic}: {cause}"),
        None => operation_failure(topic, action, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_names_are_shown_plainly() {
        assert_eq!(plain_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(plain_name("DnsName(\"a.example\")"), "a.example");
        assert_eq!(plain_name("odd"), "odd");
    }
}
