//! Where the tests' Pulsar broker is, and a check that it answers.
//!
//! The broker is named by `PULSAR_URL` (binary protocol) and `PULSAR_ADMIN_URL` (admin REST
//! API); without them the tests use the local broker of `cargo xtask pulsar start`.

use std::time::Duration;

/// Environment variable naming the broker's service URL.
pub const SERVICE_URL_VAR: &str = "PULSAR_URL";
/// Environment variable naming the broker's admin API URL.
pub const ADMIN_URL_VAR: &str = "PULSAR_ADMIN_URL";
/// The service URL of `cargo xtask pulsar start`.
pub const DEFAULT_SERVICE_URL: &str = "pulsar://127.0.0.1:6650";
/// The admin API URL of `cargo xtask pulsar start`.
pub const DEFAULT_ADMIN_URL: &str = "http://127.0.0.1:8080";

/// The broker's service URL: `$PULSAR_URL`, else [`DEFAULT_SERVICE_URL`].
pub fn service_url() -> String {
    std::env::var(SERVICE_URL_VAR).unwrap_or_else(|_| DEFAULT_SERVICE_URL.to_owned())
}

/// The broker's admin API URL: `$PULSAR_ADMIN_URL`, else [`DEFAULT_ADMIN_URL`].
pub fn admin_url() -> String {
    std::env::var(ADMIN_URL_VAR).unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// Returns the service URL once the broker's admin API answers with the `public/default`
/// namespace; panics otherwise, saying how to start a broker.
///
/// Every test that needs a broker calls this first, so that none passes without one. It
/// blocks for at most a few seconds: call it before creating async clients.
///
/// # Panics
///
/// When no broker answers at [`admin_url`], or it has no `public/default` namespace yet.
///
/// # Example
///
/// ```no_run
/// #[test]
/// fn talks_to_pulsar() {
///     let service_url = leader_jobs_tests::broker::require_broker();
///     // ... connect a `pulsar::Pulsar` client to `service_url` ...
/// }
/// ```
#[allow(
    clippy::panic,
    reason = "a test without its broker must fail loudly, not pass"
)]
pub fn require_broker() -> String {
    let admin = admin_url();
    if let Err(problem) = public_default_exists(&admin) {
        panic!(
            "no ready Pulsar broker at {admin} ({problem}). Start one with \
             `cargo xtask pulsar start`, or run every test with `cargo xtask test`, which \
             starts and stops one; a broker elsewhere is named by {SERVICE_URL_VAR} and \
             {ADMIN_URL_VAR}"
        );
    }
    service_url()
}

fn public_default_exists(admin: &str) -> Result<(), String> {
    let agent = crate::http_agent(Duration::from_secs(5));
    let url = format!("{}/admin/v2/namespaces/public", admin.trim_end_matches('/'));
    let mut response = agent
        .get(&url)
        .call()
        .map_err(|error| format!("GET {url}: {error}"))?;
    let status = response.status();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|error| format!("GET {url}: {error}"))?;
    if status == 200 && body.contains("\"public/default\"") {
        Ok(())
    } else {
        Err(format!("GET {url} answered {status}: {body}"))
    }
}
