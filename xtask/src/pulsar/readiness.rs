//! Is the broker ready, and are its ports free: the checks made over loopback.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Whether the broker is ready for clients; if not, what it still lacks.
///
/// Ready means: the admin API answers, the standalone has created `public/default` (its last
/// start-up step), a topic there can be looked up, which makes the broker take ownership of the
/// namespace's bundle (CI once saw a first subscription wait more than 10 s for that), and a topic
/// can be created, which takes a ledger on the bookie. A broker answers every read while its
/// bookie refuses writes (CI met one whose bookie had turned read-only on a nearly full disk), and
/// then every test fails with "Not enough non-faulty bookies available". A broker with
/// authentication needs `token` (a super-user's).
pub(crate) fn admin_ready(admin_url: &str, token: Option<&str>) -> Result<(), String> {
    let admin = Admin {
        agent: admin_agent(),
        url: admin_url.trim_end_matches('/'),
        token,
    };
    // Asking for the tenant's namespaces before the tenant exists puts an ERROR line in the
    // broker's log on every poll; asking for the tenant list does not.
    admin.expect(Method::Get, "/admin/v2/tenants", "\"public\"")?;
    admin.expect(
        Method::Get,
        "/admin/v2/namespaces/public",
        "\"public/default\"",
    )?;
    admin.expect(
        Method::Get,
        &format!("/lookup/v2/topic/persistent/public/default/{LOOKUP_TOPIC}"),
        "\"brokerUrl\"",
    )?;
    // A name of its own each time: creating a topic that exists proves nothing.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let written = format!("/admin/v2/persistent/public/default/{WRITE_TOPIC_PREFIX}-{nanos}");
    admin.expect(Method::Put, &written, "")?;
    // Tidying up is a courtesy: the broker deletes an unused topic after a minute anyway.
    let _ = admin.expect(Method::Delete, &written, "");
    Ok(())
}

/// An HTTP client for readiness checks: a short timeout, no proxy (the broker is on loopback),
/// and every status an answer to read rather than an error.
pub(crate) fn admin_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

/// The topic looked up by the readiness check; it is never written to.
const LOOKUP_TOPIC: &str = "leader-jobs-readiness";
/// The readiness check creates (and deletes) a topic named by this and a timestamp.
const WRITE_TOPIC_PREFIX: &str = "leader-jobs-readiness-write";

#[derive(Debug, Clone, Copy)]
enum Method {
    Get,
    Put,
    Delete,
}

/// The admin API of one broker, asked with a short timeout.
struct Admin<'a> {
    agent: ureq::Agent,
    url: &'a str,
    token: Option<&'a str>,
}

impl Admin<'_> {
    /// Succeeds when `method path` answers 2xx with a body containing `needle`; otherwise
    /// says what it got.
    fn expect(&self, method: Method, path: &str, needle: &str) -> Result<(), String> {
        let url = format!("{}{path}", self.url);
        let bearer = self.token.map(|token| format!("Bearer {token}"));
        let answer = match method {
            Method::Get => with_auth(self.agent.get(&url), bearer.as_deref()).call(),
            Method::Delete => with_auth(self.agent.delete(&url), bearer.as_deref()).call(),
            Method::Put => with_auth(self.agent.put(&url), bearer.as_deref())
                .content_type("application/json")
                .send(""),
        };
        let what = format!("{} {path}", format!("{method:?}").to_uppercase());
        let mut response = answer.map_err(|error| format!("{what}: {error}"))?;
        let status = response.status();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        if status.is_success() && body.contains(needle) {
            return Ok(());
        }
        let body: String = body.chars().take(300).collect();
        Err(format!("{what} answered {status}: {body}"))
    }
}

fn with_auth<B>(request: ureq::RequestBuilder<B>, bearer: Option<&str>) -> ureq::RequestBuilder<B> {
    match bearer {
        Some(bearer) => request.header("Authorization", bearer),
        None => request,
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
