//! The Pulsar backend on the secured broker of `cargo xtask test`: token authentication, TLS,
//! and the errors a user gets when either is wrong.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code: a failed expectation is a failed test, timings are reported"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use leader_jobs::backend::{Backend, Claim, ClaimVerdict, Election, Leadership};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::secure::{SecureBroker, mint, unique};

/// A wrong credential or certificate must be reported within this, not retried.
const FAIL_FAST: Duration = Duration::from_secs(10);

/// The role the tests' application runs as.
const APP_ROLE: &str = "app";

/// Shows the backend's logs of failing tests (`RUST_LOG` chooses; default `leader_jobs=info`).
fn logs() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "leader_jobs=info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A namespace of its own where `role` may produce and consume.
fn namespace(broker: &SecureBroker, role: &str) -> String {
    let name = unique("secure");
    broker.namespace_for(&name, role, &["produce", "consume"]);
    name
}

fn config(url: &str, admin_url: &str, namespace: &str) -> PulsarConfig {
    PulsarConfig::new(url)
        .and_then(|c| c.with_admin_url(admin_url))
        .and_then(|c| c.namespace("public", namespace))
        .unwrap()
}

async fn wait_for_leadership(election: &Arc<dyn Election>, limit: Duration) -> bool {
    let mut rx = election.leadership();
    tokio::time::timeout(limit, rx.wait_for(|l| *l == Leadership::Leading))
        .await
        .is_ok_and(|r| r.is_ok())
}

/// Elects this node and makes one claim: what a job run needs from the backend.
async fn elect_and_claim(backend: &PulsarBackend, lock: &str) {
    let started = Instant::now();
    let election = backend.election(lock, "node-a").await.unwrap();
    assert!(
        wait_for_leadership(&election, Duration::from_secs(20)).await,
        "no leadership within 20 s"
    );
    let ledger = backend.ledger(lock, "node-a").await.unwrap();
    let term = ledger
        .begin_term("node-a", chrono::Utc::now())
        .await
        .unwrap();
    let claim = Claim {
        job: "job".into(),
        tick: Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap(),
        term: term.term,
        node: "node-a".into(),
    };
    assert_eq!(ledger.claim(&claim).await.unwrap(), ClaimVerdict::Won);
    println!("elected and claimed in {:?}", started.elapsed());
    election.resign().await;
    backend.close().await;
}

/// The error of joining an election, which must come within [`FAIL_FAST`].
async fn connect_failure(config: PulsarConfig) -> String {
    let backend = PulsarBackend::new(config).unwrap();
    let started = Instant::now();
    let result = tokio::time::timeout(FAIL_FAST, backend.election("never", "node-a")).await;
    let error = match result {
        Ok(Err(error)) => error.to_string(),
        Ok(Ok(_)) => panic!("the connection succeeded"),
        Err(_) => panic!("no error within {FAIL_FAST:?}: the failure is retried, not reported"),
    };
    println!("failed in {:?}: {error}", started.elapsed());
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_authenticates_the_election_and_the_ledger() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        let ns = namespace(&broker, APP_ROLE);
        let config =
            config(&broker.url, &broker.admin_url, &ns).token(broker.token(APP_ROLE, None));
        elect_and_claim(&PulsarBackend::new(config).unwrap(), &unique("token")).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_ca_file_works_without_a_token() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        // The broker gives clients without a token its anonymous role; grant that one.
        let ns = namespace(&broker, "anonymous");
        // With the operating system's roots as well: the bundle handed to the client holds both.
        let config = config(&broker.tls_url, &broker.admin_tls_url, &ns)
            .tls_ca_file(broker.ca_file())
            .tls_platform_roots();
        elect_and_claim(&PulsarBackend::new(config).unwrap(), &unique("tls")).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_tls_works() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        let ns = namespace(&broker, APP_ROLE);
        let config = config(&broker.tls_url, &broker.admin_tls_url, &ns)
            .tls_ca_file(broker.ca_file())
            .token(broker.token(APP_ROLE, None));
        elect_and_claim(&PulsarBackend::new(config).unwrap(), &unique("token-tls")).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_with_another_key_is_reported_as_rejected() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        let forged = mint(
            b"not the broker's key, not the broker's key",
            APP_ROLE,
            None,
        );
        let config = config(&broker.url, &broker.admin_url, "default").token(forged.clone());
        let error = connect_failure(config).await;
        assert!(error.contains("rejected the token"), "{error}");
        assert!(error.contains("role app"), "{error}");
        assert!(!error.contains(&forged), "the token leaked into: {error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_reported_with_its_expiry() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        let expired_at = SecureBroker::epoch_in(Duration::ZERO) - 60;
        let token = broker.token(APP_ROLE, Some(expired_at));
        let config = config(&broker.url, &broker.admin_url, "default").token(token);
        let error = connect_failure(config).await;
        assert!(error.contains("expired at"), "{error}");
        let when = chrono::DateTime::from_timestamp(i64::try_from(expired_at).unwrap(), 0).unwrap();
        assert!(error.contains(&when.to_string()), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_an_untrusted_ca_is_reported() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        // The operating system's store (Debian's ca-certificates) does not hold the test CA either.
        let config = config(&broker.tls_url, &broker.admin_tls_url, "default")
            .tls_ca_file(broker.untrusted_ca_file())
            .tls_platform_roots()
            .token(broker.token(APP_ROLE, None));
        let error = connect_failure(config).await;
        assert!(error.contains("not signed by a trusted CA"), "{error}");
        assert!(error.contains("untrusted-ca.pem"), "{error}");
        assert!(error.contains("operating system's trust store"), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_the_certificate_does_not_list_is_reported() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        // The certificate is valid for 127.0.0.1 only; `localhost` reaches the same broker.
        let url = broker.tls_url.replace("127.0.0.1", "localhost");
        let admin = broker.admin_tls_url.replace("127.0.0.1", "localhost");
        let config = config(&url, &admin, "default")
            .tls_ca_file(broker.ca_file())
            .token(broker.token(APP_ROLE, None));
        let error = connect_failure(config).await;
        assert!(
            error.contains("not valid for the host name `localhost`"),
            "{error}"
        );
        assert!(error.contains("127.0.0.1"), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_without_permission_is_told_which_grant_is_missing() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        let ns = namespace(&broker, APP_ROLE);
        let config =
            config(&broker.url, &broker.admin_url, &ns).token(broker.token("stranger", None));
        let backend = PulsarBackend::new(config).unwrap();
        let started = Instant::now();
        let opened = tokio::time::timeout(FAIL_FAST, backend.ledger(&unique("denied"), "node-a"))
            .await
            .expect("no answer within the bound");
        let Err(error) = opened else {
            panic!("a role without permission opened the ledger")
        };
        let error = error.to_string();
        println!("refused in {:?}: {error}", started.elapsed());
        assert!(
            error.contains("refused to let this application's role"),
            "{error}"
        );
        assert!(
            error.contains(&format!("grant-permission public/{ns}")),
            "{error}"
        );
        backend.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_file_keeps_a_node_connected_past_the_old_tokens_expiry() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        let ns = namespace(&broker, APP_ROLE);
        let lock = unique("rotation");
        let expiring_at = SecureBroker::epoch_in(Duration::from_secs(8));
        let expiring = broker.token(APP_ROLE, Some(expiring_at));
        let token_file = std::env::temp_dir().join(format!("{}.token", unique("rotation")));
        std::fs::write(&token_file, &expiring).unwrap();

        // node-a reads the file; node-b holds the same token as a fixed value, so it shows what
        // the broker does to a client whose token expires.
        let rotating =
            PulsarBackend::new(config(&broker.url, &broker.admin_url, &ns).token_file(&token_file))
                .unwrap();
        let fixed =
            PulsarBackend::new(config(&broker.url, &broker.admin_url, &ns).token(expiring.clone()))
                .unwrap();
        let a = rotating.election(&lock, "node-a").await.unwrap();
        let _b = fixed.election(&lock, "node-b").await.unwrap();
        let ledger = rotating.ledger(&lock, "node-a").await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let before = loop {
            let consumers = broker.election_consumers(&ns, &lock);
            if consumers.len() == 2 || Instant::now() > deadline {
                break consumers;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(before.len(), 2, "both nodes subscribe: {before:?}");

        let fresh = broker.token(
            APP_ROLE,
            Some(SecureBroker::epoch_in(Duration::from_secs(3600))),
        );
        let staged = token_file.with_extension("new");
        std::fs::write(&staged, &fresh).unwrap();
        std::fs::rename(&staged, &token_file).unwrap();

        // The broker checks tokens every 2 s (the secured broker's authenticationRefreshCheckSeconds)
        // and closes connections whose token expired; node-a must come back, node-b cannot.
        let rotated = Instant::now();
        let deadline = rotated + Duration::from_secs(40);
        let after = loop {
            let consumers = broker.election_consumers(&ns, &lock);
            let a_reconnected = consumers.iter().any(|(name, since)| {
                name == "node-a" && !before.contains(&(name.clone(), since.clone()))
            });
            let b_gone = consumers.iter().all(|(name, _)| name != "node-b");
            if (a_reconnected && b_gone) || Instant::now() > deadline {
                break consumers;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        println!(
            "after the expiry: {after:?}, {:?} after the rotation",
            rotated.elapsed()
        );
        assert!(
            after.iter().all(|(name, _)| name != "node-b"),
            "the broker kept the expired token's connection: {after:?}"
        );
        assert!(
            after.iter().any(|(name, since)| name == "node-a"
                && !before.contains(&(name.clone(), since.clone()))),
            "node-a did not reconnect with the rotated token: before {before:?}, after {after:?}"
        );
        assert!(
            wait_for_leadership(&a, Duration::from_secs(15)).await,
            "node-a does not lead after the rotation"
        );
        let term = ledger
            .begin_term("node-a", chrono::Utc::now())
            .await
            .unwrap();
        let claim = Claim {
            job: "job".into(),
            tick: Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap(),
            term: term.term,
            node: "node-a".into(),
        };
        assert_eq!(ledger.claim(&claim).await.unwrap(), ClaimVerdict::Won);
        a.resign().await;
        rotating.close().await;
        fixed.close().await;
        let _ = std::fs::remove_file(&token_file);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_against_the_plain_port_is_reported() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        let url = broker.url.replace("pulsar://", "pulsar+ssl://");
        let config = config(&url, &broker.admin_tls_url, "default")
            .tls_ca_file(broker.ca_file())
            .token(broker.token(APP_ROLE, None));
        let error = connect_failure(config).await;
        assert!(error.contains("check that the port serves TLS"), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_file_is_reported() {
    leader_jobs_tests::bounded(async {
        logs();
        let broker = SecureBroker::require();
        let missing = broker.dir.join("no-such.token");
        let config = config(&broker.url, &broker.admin_url, "default").token_file(&missing);
        let error = connect_failure(config).await;
        assert!(
            error.contains("cannot read the Pulsar token file"),
            "{error}"
        );
        assert!(error.contains("no-such.token"), "{error}");
    })
    .await;
}
