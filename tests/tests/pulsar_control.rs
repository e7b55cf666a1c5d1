//! Operators' commands on a real broker: a trigger from a follower runs once on the leader; a
//! pause from a follower stops the leader's runs within a tick, holds across a takeover, and
//! resume restarts them; and no claim of a paused job wins, whoever makes it.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leader_jobs::backend::{Backend, Claim, ClaimVerdict, Command};
use leader_jobs::{Handle, Job, JobContext, PulsarBackend, PulsarConfig, Runtime};
use leader_jobs_tests::broker;
use leader_jobs_tests::wait::{until, until_some};

/// Every run: tick, node, manual.
static RUNS: Mutex<Vec<(DateTime<Utc>, String, bool)>> = Mutex::new(Vec::new());

fn config(prefix: &str) -> PulsarConfig {
    PulsarConfig::new(&broker::service_url())
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .and_then(|c| c.topic_prefix(prefix))
        .unwrap()
        .cold_start_window(Duration::ZERO)
}

fn node(id: &str, prefix: &str) -> Handle {
    let job = Job::new("pulse", "* * * * * *", |ctx: JobContext| async move {
        let run = (ctx.tick(), ctx.node().to_owned(), ctx.is_manual());
        RUNS.lock().unwrap().push(run);
    });
    Runtime::builder()
        .node_id(id)
        .pulsar_config(config(prefix))
        .jobs([job])
        .build()
        .unwrap()
        .start()
        .unwrap()
}

fn runs_since(since: DateTime<Utc>, manual: bool) -> Vec<(DateTime<Utc>, String, bool)> {
    RUNS.lock()
        .unwrap()
        .iter()
        .filter(|(tick, _, m)| *tick > since && *m == manual)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_from_a_follower_act_on_the_leader_and_hold_across_a_takeover() {
    broker::require_broker();
    leader_jobs_tests::bounded(async {
        let prefix = format!(
            "control-{}-{}",
            std::process::id(),
            Utc::now().timestamp_micros()
        );
        let a = node("node-a", &prefix);
        until("node-a leads", Duration::from_secs(30), || {
            a.status().locks[0].leading
        })
        .await;
        let b = node("node-b", &prefix);
        let c = node("node-c", &prefix);
        until("a run", Duration::from_secs(10), || {
            a.status().job("pulse").unwrap().counts.ok > 0
        })
        .await;
        until_some(
            "the followers' ledgers open",
            Duration::from_secs(30),
            || async {
                (b.history("pulse", 1).await.is_ok() && c.history("pulse", 1).await.is_ok())
                    .then_some(())
            },
        )
        .await;

        // A trigger from a follower runs once on the leader, within about a second.
        let asked = Utc::now();
        b.trigger("pulse").await.unwrap();
        until("the manual run", Duration::from_secs(5), || {
            !runs_since(asked - chrono::TimeDelta::seconds(1), true).is_empty()
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let manual = runs_since(asked - chrono::TimeDelta::seconds(1), true);
        assert_eq!(manual.len(), 1, "{manual:?}");
        assert_eq!(manual[0].1, "node-a");

        // A pause from a follower: the leader runs no tick after the next.
        b.pause("pulse").await.unwrap();
        let paused_at = Utc::now() + chrono::TimeDelta::seconds(1);
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            runs_since(paused_at, false).is_empty(),
            "{:?}",
            runs_since(paused_at, false)
        );
        assert!(a.status().job("pulse").unwrap().counts.paused >= 2);

        // Across a takeover: the leader hands over, the next one keeps the pause.
        a.shutdown().await.unwrap();
        until("a new leader", Duration::from_secs(30), || {
            b.status().locks[0].leading || c.status().locks[0].leading
        })
        .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            runs_since(paused_at, false).is_empty(),
            "{:?}",
            runs_since(paused_at, false)
        );
        let view = c.cluster().await.unwrap();
        assert!(view.job("pulse").unwrap().paused);

        // Resumed from a follower: runs again.
        let leader = if b.status().locks[0].leading { &b } else { &c };
        let follower = if b.status().locks[0].leading { &c } else { &b };
        follower.resume("pulse").await.unwrap();
        let resumed = Utc::now();
        until("a run after resume", Duration::from_secs(5), || {
            !runs_since(resumed, false).is_empty()
        })
        .await;
        assert!(
            runs_since(resumed, false)
                .iter()
                .all(|(_, n, _)| n == leader.node_id())
        );

        // No claim of a paused job wins, not even the leader's own.
        follower.pause("pulse").await.unwrap();
        let backend = PulsarBackend::new(config(&prefix)).unwrap();
        let ledger = backend.ledger("pulse", "node-x").await.unwrap();
        let term = ledger
            .begin_term("node-x", chrono::Utc::now())
            .await
            .unwrap()
            .term;
        let claim = Claim {
            job: "pulse".into(),
            tick: Utc::now() + chrono::TimeDelta::hours(1),
            term,
            node: "node-x".into(),
        };
        assert_eq!(ledger.claim(&claim).await.unwrap(), ClaimVerdict::Paused);
        ledger
            .command(&Command::Resume {
                job: "pulse".into(),
                by: "node-x".into(),
            })
            .await
            .unwrap();
        let later = Claim {
            tick: claim.tick + chrono::TimeDelta::seconds(1),
            ..claim
        };
        assert_eq!(ledger.claim(&later).await.unwrap(), ClaimVerdict::Won);
        backend.close().await;
        b.shutdown().await.unwrap();
        c.shutdown().await.unwrap();
    })
    .await;
}
