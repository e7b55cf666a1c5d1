//! OAuth2 client credentials (feature `oauth2`) on the secured broker: access tokens from an
//! issuer authenticate the election and the ledger, a new one is fetched when the broker drops
//! the connection of an expired one, and a wrong client secret fails fast.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code: a failed expectation is a failed test, timings are reported"
)]

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use leader_jobs::backend::pulsar::OAuth2ClientCredentials;
use leader_jobs::backend::{Backend, Claim, ClaimVerdict, Leadership};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::oauth2_issuer::{Client, TestIssuer};
use leader_jobs_tests::secure::{SecureBroker, unique};

const ROLE: &str = "oauth-app";

fn issuer(broker: &SecureBroker, lifetime: Duration) -> TestIssuer {
    let key = std::fs::read(broker.dir.join("secret.key")).unwrap();
    TestIssuer::start(
        key,
        Client {
            id: "leader-jobs".into(),
            secret: "s3cretclient".into(),
            role: ROLE.into(),
            lifetime,
        },
    )
    .unwrap()
}

fn credentials_file(secret: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}.json", unique("oauth2-client")));
    std::fs::write(
        &path,
        format!(r#"{{"client_id":"leader-jobs","client_secret":"{secret}"}}"#),
    )
    .unwrap();
    path
}

fn config(
    broker: &SecureBroker,
    ns: &str,
    issuer: &TestIssuer,
    file: &std::path::Path,
) -> PulsarConfig {
    PulsarConfig::new(&broker.url)
        .and_then(|c| c.with_admin_url(&broker.admin_url))
        .and_then(|c| c.namespace("public", ns))
        .unwrap()
        .oauth2(OAuth2ClientCredentials::new(&issuer.url, file).audience("leader-jobs-tests"))
}

async fn claim_once(backend: &PulsarBackend, lock: &str, minute: u32) {
    let ledger = backend.ledger(lock, "node-a").await.unwrap();
    let term = ledger
        .begin_term("node-a", chrono::Utc::now())
        .await
        .unwrap();
    let claim = Claim {
        job: "job".into(),
        tick: Utc.with_ymd_and_hms(2026, 1, 1, 9, minute, 0).unwrap(),
        term: term.term,
        node: "node-a".into(),
    };
    assert_eq!(ledger.claim(&claim).await.unwrap(), ClaimVerdict::Won);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_authenticate_and_a_new_one_follows_the_expiry() {
    leader_jobs_tests::bounded(async {
        let broker = SecureBroker::require();
        let ns = unique("oauth2");
        broker.namespace_for(&ns, ROLE, &["produce", "consume"]);
        let issuer = issuer(&broker, Duration::from_secs(4));
        let file = credentials_file("s3cretclient");
        let backend = PulsarBackend::new(config(&broker, &ns, &issuer, &file)).unwrap();
        let lock = unique("oauth2");
        let started = Instant::now();
        let election = backend.election(&lock, "node-a").await.unwrap();
        let mut leadership = election.leadership();
        tokio::time::timeout(
            Duration::from_secs(20),
            leadership.wait_for(|l| *l == Leadership::Leading),
        )
        .await
        .expect("no leadership within 20 s")
        .unwrap();
        claim_once(&backend, &lock, 0).await;
        println!("elected and claimed with OAuth2 in {:?}", started.elapsed());
        let first = issuer.tokens_issued();
        assert!(first >= 1, "no token was fetched");
        let before = broker.election_consumers(&ns, &lock);
        assert_eq!(before.len(), 1, "{before:?}");

        // The token lives 4 s; the broker checks every 2 s and drops the connection; the client
        // reconnects and the provider fetches a new token.
        let deadline = Instant::now() + Duration::from_secs(30);
        while issuer.tokens_issued() == first && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(
            issuer.tokens_issued() > first,
            "no new token within 30 s of the first one's expiry"
        );
        println!(
            "new token after {:?} ({} issued)",
            started.elapsed(),
            issuer.tokens_issued()
        );
        // It was the broker dropping the connection that made the client ask again.
        let deadline = Instant::now() + Duration::from_secs(15);
        let after = loop {
            let consumers = broker.election_consumers(&ns, &lock);
            if (consumers.len() == 1 && consumers != before) || Instant::now() > deadline {
                break consumers;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert!(
            after.len() == 1 && after != before,
            "the election consumer did not reconnect: before {before:?}, after {after:?}"
        );
        tokio::time::timeout(
            Duration::from_secs(15),
            leadership.wait_for(|l| *l == Leadership::Leading),
        )
        .await
        .expect("not leading after the token was renewed")
        .unwrap();
        claim_once(&backend, &lock, 1).await;
        election.resign().await;
        backend.close().await;
        let _ = std::fs::remove_file(&file);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_fails_fast_naming_the_issuer() {
    leader_jobs_tests::bounded(async {
        let broker = SecureBroker::require();
        let issuer = issuer(&broker, Duration::from_secs(60));
        let file = credentials_file("wrongsecret");
        let backend = PulsarBackend::new(config(&broker, "default", &issuer, &file)).unwrap();
        let started = Instant::now();
        let result = tokio::time::timeout(
            Duration::from_secs(10),
            backend.election(&unique("oauth2"), "node-a"),
        )
        .await
        .expect("no answer within 10 s: the failure is retried, not reported");
        let Err(error) = result else {
            panic!("connected with a wrong client secret")
        };
        let error = error.to_string();
        println!("failed in {:?}: {error}", started.elapsed());
        assert!(
            error.contains("cannot get an OAuth2 access token from"),
            "{error}"
        );
        assert!(error.contains(&issuer.url), "{error}");
        assert!(
            !error.contains("wrongsecret"),
            "the client secret leaked: {error}"
        );
        assert_eq!(issuer.tokens_issued(), 0);
        let _ = std::fs::remove_file(&file);
    })
    .await;
}
