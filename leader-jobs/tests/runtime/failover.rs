//! Three simulated nodes; the leader is killed or paused 20 times. The jobs write an external log
//! of their runs, which proves that no tick ran twice and none was lost beyond the misfire policy.

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::TimeDelta;
use leader_jobs::backend::LedgerRecord;
use leader_jobs::backend::memory::{MemoryCluster, Timing};
use leader_jobs::clock::{Clock, TestClock};
use leader_jobs::job::JobFuture;
use leader_jobs::{Event, Handle, Job, JobContext, MisfirePolicy, OverlapPolicy, Runtime};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::support::{RunLog, RunRecord, Spec, at, every};

const FAULTS: usize = 20;
/// Off the whole second, so that a takeover never coincides with a tick and a catch-up run is
/// recognisably late.
const TIMING: Timing = Timing {
    lease: Duration::from_millis(4_500),
    failover_delay: Duration::from_millis(2_500),
};

static ALL_LOG: RunLog = RunLog::new();
fn all_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        ALL_LOG.record(&ctx);
        Ok(())
    })
}
static ALL: LazyLock<Job> = LazyLock::new(|| {
    Spec {
        misfire: MisfirePolicy::FireAll,
        overlap: OverlapPolicy::Queue,
        ..Spec::new("chaos-fire-all", "* * * * * *", all_job)
    }
    .build()
});

static ONCE_LOG: RunLog = RunLog::new();
fn once_job(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        ONCE_LOG.record(&ctx);
        Ok(())
    })
}
static ONCE: LazyLock<Job> =
    LazyLock::new(|| Spec::new("chaos-fire-once", "* * * * * *", once_job).build());

/// A fixed pseudo-random sequence (xorshift), so every run of the test injects the same faults.
struct Faults(u64);

impl Faults {
    fn between(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low + 1)
    }
}

/// A node, and a task counting the `claim_lost` events it reports (each checked to name a newer
/// term than the refused claim's), ending at its shutdown.
fn start_node(id: String, cluster: &MemoryCluster, clock: &TestClock) -> (Handle, JoinHandle<u64>) {
    let handle = Runtime::builder()
        .node_id(id)
        .in_memory(cluster)
        .clock(clock.clone())
        .jobs([ALL.clone(), ONCE.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap();
    let mut events = handle.events();
    let claims_lost = tokio::spawn(async move {
        let mut lost = 0;
        loop {
            match events.recv().await {
                Ok(Event::ClaimLost {
                    term, highest_term, ..
                }) => {
                    assert!(
                        highest_term >= term,
                        "claim of term {term} lost to {highest_term}"
                    );
                    lost += 1;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => panic!("{missed} events missed"),
                Err(RecvError::Closed) => return lost,
            }
        }
    });
    (handle, claims_lost)
}

fn sorted_without_duplicates(runs: Vec<RunRecord>) -> Vec<RunRecord> {
    let mut seen = BTreeSet::new();
    for run in &runs {
        assert!(
            seen.insert(run.tick),
            "tick {} ran twice: {runs:#?}",
            run.tick
        );
    }
    let mut runs = runs;
    runs.sort_by_key(|run| run.tick);
    runs
}

#[tokio::test(start_paused = true)]
async fn repeated_kills_and_pauses_run_no_tick_twice_and_lose_none_beyond_the_policy() {
    crate::support::init_tracing();
    let cluster = MemoryCluster::with_timing(TIMING);
    let clock = TestClock::starting_at(at(0, 0, 0));
    let (mut nodes, mut claims_lost): (Vec<Handle>, Vec<JoinHandle<u64>>) = (0..3)
        .map(|n| start_node(format!("node-{n}"), &cluster, &clock))
        .unzip();
    let mut faults = Faults(0x9E37_79B9_7F4A_7C15);
    let (mut kills, mut pauses) = (0, 0);
    for _ in 0..FAULTS {
        tokio::time::sleep(Duration::from_secs(faults.between(3, 20))).await;
        let leader = cluster
            .leader("tests")
            .expect("some node leads between faults");
        if faults.between(0, 1) == 0 {
            cluster.kill(&leader).unwrap();
            kills += 1;
            tokio::time::sleep(Duration::from_secs(faults.between(0, 5))).await;
            let (node, lost) = start_node(format!("node-{}", nodes.len()), &cluster, &clock);
            nodes.push(node);
            claims_lost.push(lost);
        } else {
            cluster.pause(&leader).unwrap();
            pauses += 1;
            tokio::time::sleep(Duration::from_secs(faults.between(2, 15))).await;
            cluster.resume(&leader).unwrap();
        }
    }
    // Off the whole second, so the last tick is not racing the end.
    tokio::time::sleep(Duration::from_millis(30_500)).await;
    let end = clock.now();
    let lost_claims: u64 = nodes
        .iter()
        .filter_map(|node| {
            node.status()
                .job("chaos-fire-all")
                .map(|job| job.counts.lost_claims)
        })
        .sum();
    for node in &nodes {
        node.shutdown().await.unwrap();
    }
    drop(nodes);
    let mut reported = 0;
    for counted in claims_lost {
        reported += counted.await.unwrap();
    }
    assert_eq!(
        reported, lost_claims,
        "claim_lost events against the counts"
    );
    assert!(kills > 0 && pauses > 0, "kills {kills}, pauses {pauses}");

    let expected = every(1, at(0, 0, 0), end);

    // fire_all: every tick ran exactly once; catch-up runs started late, others on time.
    let all = sorted_without_duplicates(ALL_LOG.runs());
    let ticks: Vec<_> = all.iter().map(|run| run.tick).collect();
    let first_difference = ticks
        .iter()
        .zip(&expected)
        .position(|(run, tick)| run != tick);
    assert_eq!(
        (ticks.len(), first_difference),
        (expected.len(), None),
        "fire_all lost ticks"
    );
    assert!(
        all.iter().any(|run| run.started_at > run.tick),
        "no catch-up happened"
    );

    // fire_once: where ticks are missing, the next run is the one catch-up run for the gap: it
    // started after its tick and before the tick after it.
    let once = sorted_without_duplicates(ONCE_LOG.runs());
    assert_eq!(once.first().map(|run| run.tick), expected.first().copied());
    assert_eq!(once.last().map(|run| run.tick), expected.last().copied());
    let mut gaps = 0;
    for pair in once.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        if after.tick - before.tick > TimeDelta::seconds(1) {
            gaps += 1;
            assert!(
                after.started_at > after.tick
                    && after.started_at < after.tick + TimeDelta::seconds(1),
                "ticks between {} and {} were lost: {after:?}",
                before.tick,
                after.tick
            );
        } else {
            assert!(after.started_at >= after.tick, "{after:?}");
        }
    }
    assert!(gaps > 0 && gaps <= kills, "gaps {gaps}, kills {kills}");

    // Terms: strictly increasing in the ledger, and never going back along the ticks.
    let term_starts: Vec<u64> = cluster
        .records("tests")
        .into_iter()
        .filter_map(|record| match record {
            LedgerRecord::TermStart { term, .. } => Some(term),
            _ => None,
        })
        .collect();
    assert!(
        term_starts.windows(2).all(|w| w[0] < w[1]),
        "{term_starts:?}"
    );
    assert!(term_starts.len() > FAULTS / 2, "{term_starts:?}");
    for runs in [&all, &once] {
        assert!(runs.windows(2).all(|w| w[0].term <= w[1].term));
    }
    assert!(
        lost_claims > 0,
        "no paused leader was ever fenced: the faults lost their teeth"
    );
    println!(
        "{kills} kills, {pauses} pauses, {} terms, {gaps} fire_once gaps, {lost_claims} fenced \
         claims, {} ticks over {}",
        term_starts.len(),
        expected.len(),
        end - at(0, 0, 0)
    );
}
