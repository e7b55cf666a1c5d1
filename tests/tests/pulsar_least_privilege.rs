//! A role with only produce and consume on its namespace, over TLS with a token file: it elects
//! a leader, follows, and uses the ledger; each node is warned exactly once that it may not
//! unload stalled leaders; and no token ever reaches the logs.
//!
//! The test owns its binary's global log subscriber (every log line of the process, the
//! `pulsar` crate's included, is captured), so it is the only test in this file.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "test code: a failed expectation is a failed test, timings are reported"
)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use leader_jobs::backend::{Backend, Claim, ClaimVerdict, Leadership};
use leader_jobs::{PulsarBackend, PulsarConfig};
use leader_jobs_tests::long_ledger::ok_attempt;
use leader_jobs_tests::secure::{SecureBroker, unique};
use tracing_subscriber::fmt::MakeWriter;

/// What the missing-permission warning says; the test counts it.
const UNLOAD_WARNING: &str = "lacks the permission to unload topics";
/// What the backend logs when the role may unload.
const UNLOAD_GRANTED: &str = "the role may unload election topics";
/// What the ledger logs once it moved the history subscription to a checkpoint.
const CHECKPOINT_MOVED: &str = "history subscription moved to a new checkpoint";

/// Every log line of the process, kept in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    async fn wait_for(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.text().contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn tls_config(broker: &SecureBroker, ns: &str) -> PulsarConfig {
    PulsarConfig::new(&broker.tls_url)
        .and_then(|c| c.with_admin_url(&broker.admin_tls_url))
        .and_then(|c| c.namespace("public", ns))
        .unwrap()
        .tls_ca_file(broker.ca_file())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_produce_consume_role_runs_warns_once_about_the_unload_and_leaks_no_token() {
    leader_jobs_tests::bounded(async {
        let capture = Capture::default();
        // Debug everywhere, trace for leader-jobs: what an operator chasing a problem turns on.
        tracing_subscriber::fmt()
            .with_env_filter("debug,leader_jobs=trace")
            .with_writer(capture.clone())
            .with_ansi(false)
            .init();
        let broker = SecureBroker::require();
        let ns = unique("least-privilege");
        broker.namespace_for(&ns, "app", &["produce", "consume"]);
        let app_token = broker.token("app", None);
        let token_file = std::env::temp_dir().join(format!("{ns}.token"));
        std::fs::write(&token_file, format!("{app_token}\n")).unwrap();

        let started = Instant::now();
        // A checkpoint every two records, so that the leader moves the history subscription.
        let backend = PulsarBackend::new(
            tls_config(&broker, &ns)
                .token_file(&token_file)
                .checkpoint_every(2),
        )
        .unwrap();
        let (email, report) = (unique("email"), unique("report"));
        let first = backend.election(&email, "node-a").await.unwrap();
        let second = backend.election(&report, "node-a").await.unwrap();
        // A second node follows on `email`: followers read the subscription's stats every second
        // to spot a stalled leader, which the role must be allowed too.
        let follower_backend =
            PulsarBackend::new(tls_config(&broker, &ns).token_file(&token_file)).unwrap();
        for election in [&first, &second] {
            let mut rx = election.leadership();
            tokio::time::timeout(
                Duration::from_secs(20),
                rx.wait_for(|l| *l == Leadership::Leading),
            )
            .await
            .expect("no leadership within 20 s")
            .unwrap();
        }
        println!("leading two locks after {:?}", started.elapsed());
        let follower = follower_backend.election(&email, "node-b").await.unwrap();

        // The ledger: the durable history subscription, a term, a claim and its outcome.
        let ledger = backend.ledger(&email, "node-a").await.unwrap();
        let term = ledger
            .begin_term("node-a", chrono::Utc::now())
            .await
            .unwrap();
        let claim = Claim {
            job: "digest".into(),
            tick: Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap(),
            term: term.term,
            node: "node-a".into(),
        };
        assert_eq!(ledger.claim(&claim).await.unwrap(), ClaimVerdict::Won);
        ledger.record(&claim, &ok_attempt()).await.unwrap();
        let next = Claim {
            tick: claim.tick + chrono::Duration::minutes(1),
            ..claim.clone()
        };
        assert_eq!(ledger.claim(&next).await.unwrap(), ClaimVerdict::Won);
        assert!(
            capture
                .wait_for(CHECKPOINT_MOVED, Duration::from_secs(10))
                .await,
            "the role could not move the history subscription to a checkpoint; logs:\n{}",
            capture.text()
        );
        let subscriptions = broker
            .admin(
                "GET",
                &format!(
                    "/admin/v2/persistent/public/{ns}/leader-jobs.{email}.ledger/subscriptions"
                ),
                None,
            )
            .unwrap();
        assert!(
            subscriptions.contains("leader-jobs-history"),
            "the role could not create the durable history subscription: {subscriptions}"
        );
        println!("ledger used after {:?}", started.elapsed());

        assert!(
            capture
                .wait_for(UNLOAD_WARNING, Duration::from_secs(10))
                .await,
            "no warning about the missing unload permission; logs:\n{}",
            capture.text()
        );
        // Every election has started by now; give extra checks time to show up if they ran, and
        // the follower time to sample the subscription's stats a few times.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let warnings = capture.text().matches(UNLOAD_WARNING).count();
        assert_eq!(
            warnings, 2,
            "warned {warnings} times for two nodes, three elections"
        );
        // node-b may have taken `email` over (a joining node can, see DESIGN); either way one of
        // the two follows and has been sampling.
        let email_views = [
            *first.leadership().borrow(),
            *follower.leadership().borrow(),
        ];
        assert!(
            email_views.contains(&Leadership::Following),
            "nobody follows on email: {email_views:?}"
        );
        assert!(
            !capture.text().contains("reading subscription stats failed"),
            "the follower could not read the election subscription's stats"
        );

        // The super-user may unload: its backend checks too, over the same HTTPS, and stays quiet.
        let admin_token = std::fs::read_to_string(broker.dir.join("admin.token")).unwrap();
        let admin_backend =
            PulsarBackend::new(tls_config(&broker, &ns).token(admin_token.trim())).unwrap();
        let third = admin_backend
            .election(&unique("admin"), "node-z")
            .await
            .unwrap();
        assert!(
            capture
                .wait_for(UNLOAD_GRANTED, Duration::from_secs(10))
                .await,
            "the super-user's permission check did not conclude"
        );
        assert_eq!(capture.text().matches(UNLOAD_WARNING).count(), 2);

        for election in [first, second, third, follower] {
            election.resign().await;
        }
        backend.close().await;
        follower_backend.close().await;
        admin_backend.close().await;

        let logs = capture.text();
        assert!(
            logs.len() > 10_000,
            "too little was logged to judge: {logs}"
        );
        for (what, token) in [("app", app_token.as_str()), ("admin", admin_token.trim())] {
            let signature = token.rsplit('.').next().unwrap();
            assert!(
                !logs.contains(signature),
                "the {what} token's signature is in the logs"
            );
            // The `pulsar` crate prints its CONNECT command, token bytes included, at TRACE.
            let as_bytes = format!("{:?}", &token.as_bytes()[..24]);
            assert!(
                !logs.contains(as_bytes.trim_matches(['[', ']'])),
                "the {what} token's bytes are in the logs"
            );
        }
        println!(
            "{} bytes of logs, no token in them; test took {:?}",
            logs.len(),
            started.elapsed()
        );
        let _ = std::fs::remove_file(&token_file);
    })
    .await;
}
