//! Is the broker ready, and are its ports free: the checks made over loopback.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use anyhow::bail;

/// Where clients reach a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerUrls {
    /// `pulsar://…`, the binary protocol.
    pub(crate) service: String,
    /// `http://…`, the admin REST API.
    pub(crate) admin: String,
}

impl BrokerUrls {
    pub(crate) fn on_loopback(service_port: u16, http_port: u16) -> Self {
        Self {
            service: format!("pulsar://127.0.0.1:{service_port}"),
            admin: format!("http://127.0.0.1:{http_port}"),
        }
    }
}

/// Whether the admin API answers, the standalone has created `public/default` (its last
/// start-up step) and a topic there can be looked up, which makes the broker take ownership of
/// the namespace's bundle: the first client then subscribes at once instead of waiting for that
/// (CI once saw a first subscription wait more than 10 s). A broker with authentication needs
/// `token` (a super-user's).
pub(crate) fn admin_ready(admin_url: &str, token: Option<&str>) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let admin_url = admin_url.trim_end_matches('/');
    // Asking for the tenant's namespaces before the tenant exists puts an ERROR line in the
    // broker's log on every poll; asking for the tenant list does not.
    body_contains(
        &agent,
        &format!("{admin_url}/admin/v2/tenants"),
        token,
        "\"public\"",
    ) && body_contains(
        &agent,
        &format!("{admin_url}/admin/v2/namespaces/public"),
        token,
        "\"public/default\"",
    ) && body_contains(
        &agent,
        &format!("{admin_url}/lookup/v2/topic/persistent/public/default/{READINESS_TOPIC}"),
        token,
        "\"brokerUrl\"",
    )
}

/// The topic looked up by the readiness check; it is never written to.
const READINESS_TOPIC: &str = "leader-jobs-readiness";

/// Whether `GET url` answers 200 with a body containing `needle`.
fn body_contains(agent: &ureq::Agent, url: &str, token: Option<&str>, needle: &str) -> bool {
    let mut request = agent.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    match request.call() {
        Ok(mut response) if response.status() == 200 => response
            .body_mut()
            .read_to_string()
            .is_ok_and(|body| body.contains(needle)),
        _ => false,
    }
}

/// Fails, naming the port and the option that moves it, when another program holds it.
pub(crate) fn ensure_port_free(port: u16, purpose: &str, option: &str) -> anyhow::Result<()> {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(_listener) => Ok(()),
        Err(error) if error.kind() == ErrorKind::AddrInUse => bail!(
            "port {port} ({purpose}) on 127.0.0.1 is already in use by another program: \
             stop that program (`ss -ltnp 'sport = :{port}'` names it) or choose another port \
             with {option}"
        ),
        Err(error) => bail!("could not check whether port {port} ({purpose}) is free: {error}"),
    }
}
