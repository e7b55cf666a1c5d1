//! Where the Pulsar cluster is and how the election behaves on it.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::auth::{Credentials, Secret, TokenSource};
use super::endpoints::Endpoints;
use super::tls::{TlsError, TlsTrust};

/// Why a Pulsar configuration was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PulsarConfigError {
    /// The service URL does not parse or has the wrong scheme.
    #[error(
        "invalid Pulsar service URL {url:?}: {reason}; expected `pulsar://host:6650` or `pulsar+ssl://host:6651`, \
         or several brokers as `pulsar://host-1:6650,host-2:6650`"
    )]
    ServiceUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The admin URL does not parse or has the wrong scheme.
    #[error(
        "invalid Pulsar admin URL {url:?}: {reason}; expected `http://host:8080` or `https://host:8443`"
    )]
    AdminUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A tenant, namespace or topic prefix that cannot be part of a topic name.
    #[error("invalid {what} {value:?}: use letters, digits, `-`, `_` and `.` only")]
    Name {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// Timing settings that contradict each other.
    #[error("invalid election timing: {0}")]
    Timing(String),
    /// The token would be sent to the admin API without encryption.
    #[error(
        "the service URL {service} uses TLS but the admin URL {admin} does not: the token would cross the network \
         in clear; use an https:// admin URL (PulsarConfig::with_admin_url)"
    )]
    PlainAdminUrl {
        /// The service URL.
        service: String,
        /// The admin URL.
        admin: String,
    },
    /// The configured CA certificates cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// How to reach a Pulsar cluster and how elections on it behave.
///
/// Built from a service URL; every other setting has a default chosen from measurements on a
/// Pulsar 4.0 broker (see the setters).
///
/// ```
/// use std::time::Duration;
/// use leader_jobs::PulsarConfig;
///
/// let config = PulsarConfig::new("pulsar://127.0.0.1:6650")?
///     .namespace("public", "default")?
///     .lease(Duration::from_secs(3));
/// assert_eq!(config.admin_url().as_str(), "http://127.0.0.1:8080/");
/// # Ok::<(), leader_jobs::PulsarConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PulsarConfig {
    pub(crate) service: Endpoints,
    pub(crate) admin: Endpoints,
    pub(crate) tenant: String,
    pub(crate) namespace: String,
    pub(crate) topic_prefix: String,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) lease: Duration,
    pub(crate) stall_grace: Duration,
    pub(crate) confirmation_window: Duration,
    pub(crate) claim_ahead: Duration,
    pub(crate) election_groups: u16,
    pub(crate) cold_start_window: Duration,
    pub(crate) checkpoint_every: u64,
    pub(crate) reconnect_backoff: (Duration, Duration),
    pub(crate) credentials: Option<Credentials>,
    pub(crate) tls: TlsTrust,
}

impl PulsarConfig {
    /// A configuration for the cluster at `service_url` (`pulsar://` or `pulsar+ssl://`), or at
    /// several of its brokers as Pulsar clients take them, `pulsar://host-1:6650,host-2:6650`:
    /// topics are looked up through the first, and through the next whenever one cannot be
    /// reached. A single name in front of every broker (DNS, a load balancer) works as well. The
    /// admin URLs default to the same hosts on port 8080 (`http`) or 8443 (`https` for
    /// `pulsar+ssl`).
    ///
    /// ```
    /// use leader_jobs::PulsarConfig;
    ///
    /// let config = PulsarConfig::new("pulsar://broker-1:6650,broker-2:6650")?;
    /// let admin: Vec<&str> = config.admin_urls().map(|url| url.as_str()).collect();
    /// assert_eq!(admin, ["http://broker-1:8080/", "http://broker-2:8080/"]);
    /// # Ok::<(), leader_jobs::PulsarConfigError>(())
    /// ```
    pub fn new(service_url: &str) -> Result<Self, PulsarConfigError> {
        let invalid = |reason: String| PulsarConfigError::ServiceUrl {
            url: service_url.to_owned(),
            reason,
        };
        let service = Endpoints::parse(service_url, |scheme| match scheme {
            "pulsar" => Ok(6650),
            "pulsar+ssl" => Ok(6651),
            other => Err(format!("unsupported scheme `{other}`")),
        })
        .map_err(invalid)?;
        let admin = match service.first().scheme() {
            "pulsar+ssl" => service.rebased("https", 8443),
            _ => service.rebased("http", 8080),
        }
        .map_err(invalid)?;
        Ok(Self {
            service,
            admin,
            tenant: "public".into(),
            namespace: "default".into(),
            topic_prefix: "leader-jobs".into(),
            heartbeat_interval: Duration::from_millis(500),
            lease: Duration::from_secs(3),
            stall_grace: Duration::from_secs(5),
            confirmation_window: Duration::from_millis(750),
            claim_ahead: Duration::ZERO,
            election_groups: 0,
            cold_start_window: Duration::from_secs(5),
            checkpoint_every: 1000,
            reconnect_backoff: (Duration::from_millis(100), Duration::from_secs(5)),
            credentials: None,
            tls: TlsTrust::default(),
        })
    }

    /// The admin (HTTP) URL used to unload the election topic of a stalled leader; several
    /// brokers' as `http://host-1:8080,host-2:8080`, tried in turn while one cannot be reached.
    pub fn with_admin_url(mut self, admin_url: &str) -> Result<Self, PulsarConfigError> {
        let admin = Endpoints::parse(admin_url, |scheme| match scheme {
            "http" => Ok(80),
            "https" => Ok(443),
            other => Err(format!("unsupported scheme `{other}`")),
        })
        .map_err(|reason| PulsarConfigError::AdminUrl {
            url: admin_url.to_owned(),
            reason,
        })?;
        self.admin = admin;
        Ok(self)
    }

    /// The tenant and namespace the topics live in (default `public/default`). The application's
    /// role needs produce and consume permission there.
    pub fn namespace(mut self, tenant: &str, namespace: &str) -> Result<Self, PulsarConfigError> {
        self.tenant = checked_name("tenant", tenant)?;
        self.namespace = checked_name("namespace", namespace)?;
        Ok(self)
    }

    /// The first part of every topic name (default `leader-jobs`): lock `email` uses
    /// `<prefix>.email.election` and `<prefix>.email.ledger`.
    pub fn topic_prefix(mut self, prefix: &str) -> Result<Self, PulsarConfigError> {
        self.topic_prefix = checked_name("topic prefix", prefix)?;
        Ok(self)
    }

    /// How often a leader publishes a heartbeat on each election topic it leads (default
    /// 500 ms); followers publish at half that rate.
    ///
    /// A new leader knows it leads when a heartbeat reaches it (its own, or another node's, which
    /// it confirms at once with one of its own). The broker moves the role about 1 s after the
    /// old leader's connection closes and holds the new leader's first delivery for about as
    /// long, in which the followers' heartbeats pile up, so takeover rarely waits for a
    /// heartbeat at all. Each leader sends `1 / interval` messages per second per election topic
    /// and each follower half as many: per lock, or per group with
    /// [election groups](Self::election_groups).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// How long a leader keeps leading after the send time of the last heartbeat of its own that
    /// it received (default 3 s, six heartbeats). A leader that stops receiving — the broker moved
    /// the role, the connection is cut, or the process stalled — stops claiming ticks when the
    /// lease runs out. The ledger fences whatever it still tries.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long followers tolerate a leader that holds the role but stopped acknowledging
    /// heartbeats (default 5 s) before they unload the election topic through the admin API, so the
    /// broker hands the role on. Without this a frozen leader keeps the role until the broker's
    /// keepalive drops it, about 56 s.
    pub fn stall_grace(mut self, grace: Duration) -> Self {
        self.stall_grace = grace;
        self
    }

    /// How recent the broker's last confirmation of this node's leadership must be for a claim or
    /// a run to start (default 750 ms): a heartbeat of its own, sent at most this long ago, came
    /// back through the failover subscription. A leader whose confirmation is older asks for one
    /// at once and waits for it.
    ///
    /// The same window bounds the ledger's side: a won claim's run starts within it of the claim
    /// being sent, or not at all, and a new term that finds claims of older terms without an
    /// outcome waits one window before its first run. That keeps terms from going backwards
    /// even when the broker moves the subscription without its failover delay (a topic unload
    /// reloads it with whichever consumer reconnects first). Keep the window above the
    /// heartbeat interval and above the round trip of a claim to the broker, which on a link
    /// slower than that starts no run at all.
    pub fn confirmation_window(mut self, window: Duration) -> Self {
        self.confirmation_window = window;
        self
    }

    /// How long before a tick the leader claims it in the ledger (default zero: at the tick; 50 ms
    /// is several times a claim's round trip measured here, 5 ms, or 15 ms at p99 with both cores
    /// busy), so that the claim's round trip to the broker is over when the tick comes and the run
    /// starts on time, as it does with the in-process backend. Off by default until it has passed
    /// the slow-link test and the fault campaign.
    ///
    /// The price is a window of this length before each tick in which the tick is claimed but
    /// not started. If leadership ends or the node shuts down in it, the leader releases the
    /// claim and the next leader's misfire policy decides the tick; if the release cannot land
    /// before a newer term begins (the node was killed or froze, the broker is unreachable), the
    /// next leader finds the claim open and reports it as abandoned (or reruns it, under
    /// at-least-once delivery), as for a run that never finished. Must stay below half the
    /// [confirmation window](Self::confirmation_window), which still bounds when the run may
    /// start after its claim was sent.
    pub fn claim_ahead(mut self, lead: Duration) -> Self {
        self.claim_ahead = lead;
        self
    }

    /// How long after a node starts it leaves its locks open to being taken over by nodes that
    /// start with it (default 5 s), so that the locks of a cluster started all at once spread
    /// over its nodes. After that window a leader moves its consumer to the leader's priority
    /// level, and a node that joins or rejoins stays a follower while it lives.
    pub fn cold_start_window(mut self, window: Duration) -> Self {
        self.cold_start_window = window;
        self
    }

    /// How many records of a lock's ledger lie between two checkpoints (default 1 000; 0 is
    /// taken as 1). The leader appends one after that many and moves the ledger's history
    /// subscription to it: the broker then keeps the records after the latest checkpoint, not
    /// every record ever written, and a node that takes the lock over reads from there. For one
    /// every-second job, a claim and an outcome a second, 1 000 records are about eight minutes.
    pub fn checkpoint_every(mut self, records: u64) -> Self {
        self.checkpoint_every = records.max(1);
        self
    }

    /// Bounds of the exponential backoff between reconnect attempts (default 100 ms to 5 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect_backoff = (min, max.max(min));
        self
    }

    /// Authenticate with this token (Pulsar's token authentication: a JWT whose `sub` is the
    /// role). The same token authenticates the admin API calls.
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.credentials = Some(Credentials::Token(TokenSource::Value(token.into())));
        self
    }

    /// Authenticate with the token in this file, read again on every connection the client
    /// opens and every admin call: replacing the file's content (an operator rotating it, a
    /// Kubernetes projected volume) takes effect at the next reconnect, and the broker closes
    /// connections whose token expired, so reconnects happen when they matter. Surrounding
    /// whitespace is ignored.
    ///
    /// ```
    /// use leader_jobs::PulsarConfig;
    ///
    /// let config = PulsarConfig::new("pulsar+ssl://pulsar.example.com:6651")?
    ///     .token_file("/var/run/secrets/pulsar/token")
    ///     .tls_ca_file("/etc/pulsar/ca.pem")
    ///     .namespace("billing", "jobs")?;
    /// assert_eq!(config.admin_url().as_str(), "https://pulsar.example.com:8443/");
    /// # Ok::<(), leader_jobs::PulsarConfigError>(())
    /// ```
    pub fn token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.credentials = Some(Credentials::Token(TokenSource::File(path.into())));
        self
    }

    /// Authenticate with the token in the environment variable `name`, read again on every
    /// connection and admin call.
    pub fn token_env(mut self, name: &str) -> Self {
        self.credentials = Some(Credentials::Token(TokenSource::Env(name.to_owned())));
        self
    }

    /// Authenticate with OAuth2 access tokens from `credentials`' issuer (client-credentials
    /// grant), for the binary protocol and the admin API alike. Needs the `oauth2` feature.
    #[cfg(feature = "oauth2")]
    pub fn oauth2(mut self, credentials: super::OAuth2ClientCredentials) -> Self {
        self.credentials = Some(Credentials::OAuth2(super::oauth2::OAuth2Provider::new(
            credentials,
        )));
        self
    }

    /// Trust the CA certificates in this PEM file for `pulsar+ssl://` and `https://`, in addition
    /// to the built-in Mozilla roots. The file is read when the backend is created (admin API)
    /// and when it first connects (binary protocol); replacing it needs a restart. Host names
    /// are always verified.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca_file = Some(path.into());
        self
    }

    /// Trust the operating system's certificate store too (for a company CA installed there),
    /// in addition to the built-in Mozilla roots.
    pub fn tls_platform_roots(mut self) -> Self {
        self.tls.platform_roots = true;
        self
    }

    /// The service URL, the first of several.
    pub fn service_url(&self) -> &Url {
        self.service.first()
    }

    /// Every service URL, in the order they are tried.
    pub fn service_urls(&self) -> impl Iterator<Item = &Url> {
        self.service.iter()
    }

    /// The admin URL, the first of several.
    pub fn admin_url(&self) -> &Url {
        self.admin.first()
    }

    /// Every admin URL, in the order they are tried.
    pub fn admin_urls(&self) -> impl Iterator<Item = &Url> {
        self.admin.iter()
    }

    /// Checks that the settings make sense together.
    pub(crate) fn validate(&self) -> Result<(), PulsarConfigError> {
        if self.credentials.is_some()
            && self.service.first().scheme() == "pulsar+ssl"
            && self.admin.first().scheme() == "http"
        {
            return Err(PulsarConfigError::PlainAdminUrl {
                service: self.service.to_string(),
                admin: self.admin.to_string(),
            });
        }
        if self.heartbeat_interval.is_zero() {
            return Err(PulsarConfigError::Timing(
                "the heartbeat interval must be above zero".into(),
            ));
        }
        if self.lease < self.heartbeat_interval * 2 {
            return Err(PulsarConfigError::Timing(format!(
                "the lease ({:?}) must be at least two heartbeat intervals ({:?}), or a single late heartbeat ends leadership",
                self.lease, self.heartbeat_interval
            )));
        }
        if self.confirmation_window <= self.heartbeat_interval
            || self.confirmation_window >= self.lease
        {
            return Err(PulsarConfigError::Timing(format!(
                "the confirmation window ({:?}) must be longer than the heartbeat interval ({:?}), or every run waits for an extra heartbeat, and shorter than the lease ({:?}); keep it below the broker's activeConsumerFailoverDelayTimeMillis (1 s by default)",
                self.confirmation_window, self.heartbeat_interval, self.lease
            )));
        }
        if self.claim_ahead >= self.confirmation_window / 2 {
            return Err(PulsarConfigError::Timing(format!(
                "claiming {:?} ahead of a tick must stay below half the confirmation window ({:?}), within which the run must start after its claim was sent",
                self.claim_ahead, self.confirmation_window
            )));
        }
        if self.stall_grace < self.lease {
            return Err(PulsarConfigError::Timing(format!(
                "the stall grace ({:?}) must be at least the lease ({:?}), so a stalled leader has stepped down before followers unload it",
                self.stall_grace, self.lease
            )));
        }
        Ok(())
    }

    /// The full name of one of a lock's topics.
    pub(crate) fn topic(&self, lock: &str, kind: &str) -> String {
        format!(
            "persistent://{}/{}/{}.{}.{}",
            self.tenant, self.namespace, self.topic_prefix, lock, kind
        )
    }
}

fn checked_name(what: &'static str, value: &str) -> Result<String, PulsarConfigError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(PulsarConfigError::Name {
            what,
            value: value.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_url_follows_the_service_scheme() {
        let plain = PulsarConfig::new("pulsar://broker.example:6650").unwrap();
        assert_eq!(plain.admin_url().as_str(), "http://broker.example:8080/");
        let tls = PulsarConfig::new("pulsar+ssl://broker.example:6651").unwrap();
        assert_eq!(tls.admin_url().as_str(), "https://broker.example:8443/");
    }

    #[test]
    fn wrong_scheme_names_the_expected_form() {
        let err = PulsarConfig::new("http://127.0.0.1:6650")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported scheme `http`"), "{err}");
        assert!(err.contains("pulsar://host:6650"), "{err}");
    }

    #[test]
    fn topics_are_named_per_lock() {
        let config = PulsarConfig::new("pulsar://127.0.0.1:6650").unwrap();
        assert_eq!(
            config.topic("email", "election"),
            "persistent://public/default/leader-jobs.email.election"
        );
    }

    #[test]
    fn a_token_is_not_sent_in_clear_when_the_service_uses_tls() {
        let config = PulsarConfig::new("pulsar+ssl://broker.example:6651")
            .unwrap()
            .token("t")
            .with_admin_url("http://broker.example:8080")
            .unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("https://"), "{err}");
    }

    #[test]
    fn debug_output_hides_the_token() {
        let config = PulsarConfig::new("pulsar://127.0.0.1:6650")
            .unwrap()
            .token("eyJ.secret.sig");
        let shown = format!("{config:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("Secret(***)"), "{shown}");
    }

    #[test]
    fn a_lease_shorter_than_two_heartbeats_is_rejected() {
        let config = PulsarConfig::new("pulsar://127.0.0.1:6650")
            .unwrap()
            .lease(Duration::from_millis(600));
        assert!(config.validate().is_err());
    }

    #[test]
    fn a_confirmation_window_outside_heartbeat_and_lease_is_rejected() {
        let base = PulsarConfig::new("pulsar://127.0.0.1:6650").unwrap();
        assert!(base.validate().is_ok());
        let short = base.clone().confirmation_window(Duration::from_millis(400));
        let err = short.validate().unwrap_err().to_string();
        assert!(
            err.contains("activeConsumerFailoverDelayTimeMillis"),
            "{err}"
        );
        let long = base.confirmation_window(Duration::from_secs(3));
        assert!(long.validate().is_err());
    }

    #[test]
    fn claiming_ahead_by_half_the_confirmation_window_is_rejected() {
        let base = PulsarConfig::new("pulsar://127.0.0.1:6650").unwrap();
        assert!(base.clone().claim_ahead(Duration::ZERO).validate().is_ok());
        assert!(
            base.clone()
                .claim_ahead(Duration::from_millis(300))
                .validate()
                .is_ok()
        );
        let err = base
            .claim_ahead(Duration::from_millis(375))
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("half the confirmation window"), "{err}");
    }
}
