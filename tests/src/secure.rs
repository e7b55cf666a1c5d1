//! The secured broker of `cargo xtask test` (token authentication, authorization, TLS) and what
//! its tests need: tokens minted with its key, namespaces and grants made with its admin token.
//!
//! The broker is named by `PULSAR_SECURE_URL`, `PULSAR_SECURE_TLS_URL`,
//! `PULSAR_SECURE_ADMIN_URL`, `PULSAR_SECURE_ADMIN_TLS_URL` and `PULSAR_SECURE_DIR` (the
//! directory holding `secret.key`, `admin.token`, `ca.pem` and `untrusted-ca.pem`).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The secured broker.
#[derive(Clone, Debug)]
pub struct SecureBroker {
    /// `pulsar://…` (token authentication without TLS).
    pub url: String,
    /// `pulsar+ssl://127.0.0.1:…`; the certificate is valid for `127.0.0.1` only.
    pub tls_url: String,
    /// `http://…` admin API.
    pub admin_url: String,
    /// `https://127.0.0.1:…` admin API.
    pub admin_tls_url: String,
    /// The broker's directory.
    pub dir: PathBuf,
}

impl SecureBroker {
    /// The broker the environment names; panics (failing the test) when it does not, saying how
    /// to get one: secure tests never pass without their broker.
    ///
    /// # Panics
    ///
    /// When a `PULSAR_SECURE_*` variable is missing or the broker does not answer.
    #[allow(
        clippy::panic,
        reason = "a test without its broker must fail loudly, not pass"
    )]
    pub fn require() -> Self {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is not set: the security tests need the secured broker that `cargo xtask test` \
                     starts (or `cargo xtask pulsar start-secure`, which prints the variables to export)"
                )
            })
        };
        let broker = Self {
            url: var("PULSAR_SECURE_URL"),
            tls_url: var("PULSAR_SECURE_TLS_URL"),
            admin_url: var("PULSAR_SECURE_ADMIN_URL"),
            admin_tls_url: var("PULSAR_SECURE_ADMIN_TLS_URL"),
            dir: PathBuf::from(var("PULSAR_SECURE_DIR")),
        };
        if let Err(problem) = broker.admin("GET", "/admin/v2/tenants", None) {
            panic!(
                "the secured broker at {} does not answer ({problem}); run the tests with `cargo xtask test`",
                broker.admin_url
            );
        }
        broker
    }

    /// The CA that signed the broker's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A CA that signed nothing the broker presents.
    pub fn untrusted_ca_file(&self) -> PathBuf {
        self.dir.join("untrusted-ca.pem")
    }

    /// A token for `role`, expiring at `expires` (seconds since the epoch) if given.
    ///
    /// # Panics
    ///
    /// When the broker's key cannot be read.
    #[allow(clippy::expect_used, reason = "test setup")]
    pub fn token(&self, role: &str, expires: Option<u64>) -> String {
        let key = std::fs::read(self.dir.join("secret.key")).expect("read secret.key");
        mint(&key, role, expires)
    }

    /// Seconds since the epoch, `offset` from now.
    pub fn epoch_in(offset: Duration) -> u64 {
        (SystemTime::now() + offset)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs())
    }

    /// Creates namespace `public/<name>` and grants `role` the `actions` (`produce`,
    /// `consume`) on it.
    ///
    /// # Panics
    ///
    /// When the admin API refuses.
    #[allow(clippy::panic, reason = "test setup")]
    pub fn namespace_for(&self, name: &str, role: &str, actions: &[&str]) {
        let namespace = format!("/admin/v2/namespaces/public/{name}");
        if let Err(problem) = self.admin("PUT", &namespace, Some("{}".into())) {
            panic!("creating namespace public/{name}: {problem}");
        }
        let actions = format!(
            "[{}]",
            actions
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        if let Err(problem) = self.admin(
            "POST",
            &format!("{namespace}/permissions/{role}"),
            Some(actions),
        ) {
            panic!("granting {role} on public/{name}: {problem}");
        }
    }

    /// `(consumerName, connectedSince)` of each consumer of the default-prefixed election
    /// subscription of `lock` in `public/<namespace>`; empty when the topic has no stats.
    pub fn election_consumers(&self, namespace: &str, lock: &str) -> Vec<(String, String)> {
        let path =
            format!("/admin/v2/persistent/public/{namespace}/leader-jobs.{lock}.election/stats");
        let Ok(body) = self.admin("GET", &path, None) else {
            return Vec::new();
        };
        let Ok(stats) = serde_json::from_str::<serde_json::Value>(&body) else {
            return Vec::new();
        };
        stats["subscriptions"]["leader-jobs"]["consumers"]
            .as_array()
            .map(|consumers| {
                consumers
                    .iter()
                    .map(|c| {
                        let field = |name: &str| c[name].as_str().unwrap_or_default().to_owned();
                        (field("consumerName"), field("connectedSince"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A call of the admin API as the super-user; the body of a 2xx answer, else why not.
    pub fn admin(&self, method: &str, path: &str, body: Option<String>) -> Result<String, String> {
        let token = std::fs::read_to_string(self.dir.join("admin.token"))
            .map_err(|error| format!("reading admin.token: {error}"))?;
        let agent = crate::http_agent(Duration::from_secs(10));
        let url = format!("{}{path}", self.admin_url.trim_end_matches('/'));
        let auth = format!("Bearer {}", token.trim());
        let result = match body {
            Some(body) => agent.run(
                ureq::http::Request::builder()
                    .method(method)
                    .uri(&url)
                    .header("Authorization", &auth)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .map_err(|error| error.to_string())?,
            ),
            None => agent.run(
                ureq::http::Request::builder()
                    .method(method)
                    .uri(&url)
                    .header("Authorization", &auth)
                    .body(())
                    .map_err(|error| error.to_string())?,
            ),
        };
        let mut response = result.map_err(|error| format!("{method} {url}: {error}"))?;
        let status = response.status();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if status.is_success() {
            Ok(text)
        } else {
            Err(format!("{method} {url} answered {status}: {text}"))
        }
    }
}

/// An HS256 JWT as Pulsar's token provider checks it: claim `sub` = `role`, optional `exp`,
/// signed with the raw key bytes.
pub fn mint(key: &[u8], role: &str, expires: Option<u64>) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = match expires {
        Some(exp) => format!(r#"{{"sub":"{role}","exp":{exp}}}"#),
        None => format!(r#"{{"sub":"{role}"}}"#),
    };
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let signature = ring::hmac::sign(&key, signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    )
}

/// A name no earlier run used, for namespaces and locks.
pub fn unique(name: &str) -> String {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros());
    format!("{name}-{}-{micros}", std::process::id())
}
