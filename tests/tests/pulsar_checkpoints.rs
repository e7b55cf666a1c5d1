//! The ledger's checkpoints on a real broker: the leader writes one every 100 records and moves
//! the history subscription to it, so the broker keeps only what lies after the latest one, and
//! a cold reader starts there with the state every record before it left.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use leader_jobs::backend::{Backend, Claim, ClaimVerdict, Leadership, RECENT_RUNS, RunOutcome};
use leader_jobs::{JobContext, PulsarBackend, PulsarConfig, Runtime, singleton_job};
use leader_jobs_tests::broker;
use leader_jobs_tests::long_ledger::{self, LeaseLosses, ok_attempt};

/// Records between checkpoints.
const CHECKPOINT_EVERY: u64 = 100;
/// Ticks claimed: a claim and an outcome each, so about ten checkpoints' worth of records.
const TICKS: i64 = 500;

fn backend(prefix: &str) -> PulsarBackend {
    backend_checkpointing_every(prefix, CHECKPOINT_EVERY)
}

fn backend_checkpointing_every(prefix: &str, records: u64) -> PulsarBackend {
    let config = PulsarConfig::new(&broker::require_broker())
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .and_then(|c| c.topic_prefix(prefix))
        .unwrap()
        .checkpoint_every(records);
    PulsarBackend::new(config).unwrap()
}

fn unique_prefix(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    )
}

fn tick(second: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(second)
}

/// Messages the ledger's history subscription still holds for `lock`: what the broker keeps.
fn history_backlog(prefix: &str, lock: &str) -> u64 {
    long_ledger::kept(prefix, lock)
        .expect("topic stats")
        .messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_ledger_is_kept_from_its_latest_checkpoint_and_read_from_there() {
    leader_jobs_tests::bounded(async {
        let prefix = unique_prefix("checkpoints");
        let lock = "every-second";
        let a = backend(&prefix);
        let ledger = a.ledger(lock, "node-a").await.unwrap();
        let term = ledger
            .begin_term("node-a", chrono::Utc::now())
            .await
            .unwrap()
            .term;
        let claim = |second, term, node: &str| Claim {
            job: "job".into(),
            tick: tick(second),
            term,
            node: node.into(),
        };
        // Two runs never finish: one long before the latest checkpoint, one after it.
        let unfinished = [3, TICKS - 2];
        for second in 0..TICKS {
            let c = claim(second, term, "node-a");
            assert_eq!(ledger.claim(&c).await.unwrap(), ClaimVerdict::Won);
            if !unfinished.contains(&second) {
                ledger.record(&c, &ok_attempt()).await.unwrap();
            }
        }

        let backlog = history_backlog(&prefix, lock);
        assert!(
            backlog <= CHECKPOINT_EVERY + 2,
            "the broker still keeps {backlog} of the ledger's {} records",
            2 * TICKS
        );

        // A node that never read this ledger starts at the checkpoint and knows what a fold of
        // every record knows: the term, the last claimed tick, both unfinished runs.
        let b = backend(&prefix);
        let cold = b.ledger(lock, "node-b").await.unwrap();
        let start = cold.begin_term("node-b", chrono::Utc::now()).await.unwrap();
        assert_eq!(start.term, term + 1);
        assert_eq!(
            start.history.last_claimed.get("job"),
            Some(&tick(TICKS - 1))
        );
        let abandoned: Vec<_> = start.history.abandoned.iter().map(|c| c.tick).collect();
        assert_eq!(abandoned, unfinished.map(tick).to_vec());
        // And the runs: every one counted, the latest ones with their node, term and duration.
        let runs = &start.history.runs["job"];
        assert_eq!(runs.totals.ok, TICKS as u64 - 2);
        assert_eq!(runs.recent.len(), RECENT_RUNS);
        let latest = runs.recent.back().unwrap();
        assert_eq!(
            (latest.tick, latest.term, latest.node.as_str()),
            (tick(TICKS - 1), term, "node-a")
        );
        assert_eq!(latest.outcome, Some(RunOutcome::Ok));
        assert_eq!(latest.duration, Some(Duration::from_millis(10)));
        assert_eq!(runs.last_success.as_ref(), Some(latest));
        // Fencing holds across the checkpoint: the old term's claims lose, the new one's win.
        assert!(matches!(
            ledger.claim(&claim(TICKS, term, "node-a")).await.unwrap(),
            ClaimVerdict::Lost { highest_term, .. } if highest_term == term + 1
        ));
        assert_eq!(
            cold.claim(&claim(TICKS, term + 1, "node-b")).await.unwrap(),
            ClaimVerdict::Won
        );
        a.close().await;
        b.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_without_checkpoints_is_taken_over_and_an_abandoned_run_reported_once() {
    leader_jobs_tests::bounded(async {
        let prefix = unique_prefix("abandoned-once");
        let lock = "every-second";
        let claim = |second, term, node: &str| Claim {
            job: "job".into(),
            tick: tick(second),
            term,
            node: node.into(),
        };
        // A ledger as versions before checkpoints wrote it: records only, one run unfinished.
        let old = backend_checkpointing_every(&prefix, u64::MAX);
        let ledger = old.ledger(lock, "node-a").await.unwrap();
        let mut term = ledger
            .begin_term("node-a", chrono::Utc::now())
            .await
            .unwrap()
            .term;
        for second in 0..TICKS {
            let c = claim(second, term, "node-a");
            assert_eq!(ledger.claim(&c).await.unwrap(), ClaimVerdict::Won);
            if second != 7 {
                ledger.record(&c, &ok_attempt()).await.unwrap();
            }
        }
        old.close().await;
        assert_eq!(history_backlog(&prefix, lock), 2 * TICKS as u64);

        // Three takeovers by nodes that never read the ledger. The first folds it from the
        // first record, reports the unfinished run and notes that, and checkpoints as it goes;
        // the next ones start at a checkpoint and report nothing.
        let mut next_tick = TICKS;
        for (takeover, node) in ["node-b", "node-c", "node-d"].into_iter().enumerate() {
            let backend = backend(&prefix);
            let ledger = backend.ledger(lock, node).await.unwrap();
            let start = ledger.begin_term(node, chrono::Utc::now()).await.unwrap();
            assert_eq!(start.term, term + 1, "takeover {takeover} by {node}");
            assert_eq!(
                start.history.last_claimed.get("job"),
                Some(&tick(next_tick - 1)),
                "takeover {takeover} by {node}"
            );
            let abandoned: Vec<_> = start.history.abandoned.iter().map(|c| c.tick).collect();
            let expected = if takeover == 0 { vec![tick(7)] } else { vec![] };
            assert_eq!(abandoned, expected, "takeover {takeover} by {node}");
            term = start.term;
            for claim in &start.history.abandoned {
                ledger.record_abandoned(claim, term, node).await.unwrap();
            }
            for second in next_tick..next_tick + CHECKPOINT_EVERY as i64 {
                let c = claim(second, term, node);
                assert_eq!(ledger.claim(&c).await.unwrap(), ClaimVerdict::Won);
                ledger.record(&c, &ok_attempt()).await.unwrap();
            }
            next_tick += CHECKPOINT_EVERY as i64;
            let backlog = history_backlog(&prefix, lock);
            assert!(
                backlog <= CHECKPOINT_EVERY + 2,
                "after takeover {takeover} the broker still keeps {backlog} records"
            );
            backend.close().await;
        }
    })
    .await;
}

/// The lock of [`handed_over`], the one job of this test binary.
const HANDOFF_LOCK: &str = "handoff";

#[singleton_job(cron = "* * * * * *", lock = "handoff", name = "handed_over")]
async fn handed_over(_ctx: JobContext) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_shuts_down_leaves_a_checkpoint_for_the_next() {
    leader_jobs_tests::bounded(async {
        let prefix = unique_prefix("handoff");
        // No checkpoint is due in this test: the one the broker keeps comes from the handoff.
        let config = PulsarConfig::new(&broker::require_broker())
            .and_then(|c| c.with_admin_url(&broker::admin_url()))
            .and_then(|c| c.topic_prefix(&prefix))
            .unwrap();
        let handle = Runtime::builder()
            .node_id("node-a")
            .pulsar_config(config)
            .build()
            .unwrap()
            .start()
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while handle
            .status()
            .job("handed_over")
            .is_none_or(|job| job.counts.ok < 3)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "three runs within 30 s: {:?}",
                handle.status()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        handle.shutdown().await.unwrap();

        // A term start, three or more claims and outcomes: all before the checkpoint.
        let backlog = history_backlog(&prefix, HANDOFF_LOCK);
        assert_eq!(backlog, 1, "the broker keeps only the handoff's checkpoint");
        let b = backend(&prefix);
        let start = b
            .ledger(HANDOFF_LOCK, "node-b")
            .await
            .unwrap()
            .begin_term("node-b", chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(start.term, 2);
        assert!(start.history.last_claimed.contains_key("handed_over"));
        assert!(start.history.abandoned.is_empty());
        b.close().await;
    })
    .await;
}

/// Records of the long ledger: a term start and then claims and outcomes of an every-second job,
/// about 14 hours of it, written as a release before checkpoints left them.
const LONG_LEDGER: u64 = 100_001;

/// How much slower than the slowest cold term start on an empty ledger one on a checkpointed long
/// ledger may be, and the slack on top for a busy machine. Folding the long ledger from its first
/// record takes seconds in a debug build, so a checkpoint the reader did not start at fails this.
const CHECKPOINTED_FACTOR: u32 = 2;
const CHECKPOINTED_SLACK: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_ledger_is_folded_once_without_starving_another_lock_then_read_from_its_checkpoint()
{
    leader_jobs_tests::bounded(async {
        let prefix = unique_prefix("long-ledger");
        let lock = "long";
        let mut empty = Duration::ZERO;
        for index in 0..3 {
            let backend = backend(&prefix);
            let took = cold_term_start(&backend, &format!("empty-{index}")).await;
            empty = empty.max(took);
            backend.close().await;
        }
        let writer = backend(&prefix);
        writer.ledger(lock, "writer").await.unwrap();
        long_ledger::write_legacy(&prefix, lock, LONG_LEDGER)
            .await
            .unwrap();
        writer.close().await;

        // The node that folds the whole ledger leads another lock meanwhile, on the same client.
        let reader = backend(&prefix);
        let other = reader.election("other", "reader").await.unwrap();
        let mut leadership = other.leadership();
        tokio::time::timeout(
            Duration::from_secs(30),
            leadership.wait_for(|l| *l == Leadership::Leading),
        )
        .await
        .expect("the other lock is led within 30 s")
        .unwrap();
        let losses = LeaseLosses::count(leadership);
        let ledger = reader.ledger(lock, "reader").await.unwrap();
        let folded = Instant::now();
        // A fold cut by the operation bound resumes where it stopped on the next try.
        let start = loop {
            match ledger.begin_term("reader", chrono::Utc::now()).await {
                Ok(start) => break start,
                Err(error) => eprintln!("term start failed, trying again: {error}"),
            }
        };
        let folded = folded.elapsed();
        assert_eq!(
            losses.stop(),
            0,
            "the other lock lost its leader while the long ledger was folded ({folded:?})"
        );
        assert_eq!(start.term, 2);
        let ticks = (LONG_LEDGER - 1) / 2;
        let last_tick = tick(i64::try_from(ticks).unwrap() - 1);
        assert_eq!(start.history.last_claimed.get("job"), Some(&last_tick));
        let runs = &start.history.runs["job"];
        assert_eq!(runs.totals.ok, ticks);
        assert_eq!(runs.recent.len(), RECENT_RUNS);
        assert_eq!(runs.recent.back().map(|run| run.tick), Some(last_tick));

        // Its first claim writes the first checkpoint; then the broker keeps it and what follows.
        let claim = Claim {
            job: "job".into(),
            tick: last_tick + chrono::Duration::seconds(1),
            term: start.term,
            node: "reader".into(),
        };
        assert_eq!(ledger.claim(&claim).await.unwrap(), ClaimVerdict::Won);
        let kept = history_backlog(&prefix, lock);
        assert!(kept <= 2, "the broker still keeps {kept} records");
        other.resign().await;
        reader.close().await;

        let cold = backend(&prefix);
        let took = cold_term_start(&cold, lock).await;
        let bound = empty * CHECKPOINTED_FACTOR + CHECKPOINTED_SLACK;
        eprintln!(
            "cold term start: empty ledger {empty:?} (slowest of 3), {LONG_LEDGER} records folded in {folded:?}, checkpointed {took:?}"
        );
        assert!(
            took <= bound,
            "a cold term start after the checkpoint took {took:?}, more than {bound:?}"
        );
        let start = cold
            .ledger(lock, "cold")
            .await
            .unwrap()
            .begin_term("cold", chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(start.history.runs["job"].totals.ok, ticks);
        assert_eq!(start.history.abandoned, vec![claim]);
        cold.close().await;
    })
    .await;
}

/// How long a node that never read `lock`'s ledger takes to begin a term there.
async fn cold_term_start(backend: &PulsarBackend, lock: &str) -> Duration {
    let started = Instant::now();
    let ledger = backend.ledger(lock, "cold").await.unwrap();
    ledger.begin_term("cold", chrono::Utc::now()).await.unwrap();
    started.elapsed()
}
