//! The history and the cluster view from any node: a follower reads them from the ledger and
//! answers as the leader does.

use std::sync::LazyLock;
use std::time::Duration;

use leader_jobs::backend::RunOutcome;
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::TestClock;
use leader_jobs::job::JobFuture;
use leader_jobs::{Error, Handle, Job, JobContext, Runtime};

use crate::support::{RunLog, Spec, advance_to, at};

static LOG: RunLog = RunLog::new();
fn logged(ctx: JobContext) -> JobFuture {
    Box::pin(async move {
        LOG.record(&ctx);
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(())
    })
}
static LOGGED: LazyLock<Job> =
    LazyLock::new(|| Spec::new("viewed", "*/10 * * * * *", logged).build());

fn start(id: &str, cluster: &MemoryCluster, clock: &TestClock) -> Handle {
    Runtime::builder()
        .node_id(id)
        .in_memory(cluster)
        .clock(clock.clone())
        .jobs([LOGGED.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_follower_reads_the_history_and_the_leader_from_the_ledger() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let nodes = [start("a", &cluster, &clock), start("b", &cluster, &clock)];
    advance_to(&clock, at(0, 1, 5)).await;
    let leader = cluster.leader("tests").unwrap();
    let follower = nodes.iter().find(|node| node.node_id() != leader).unwrap();

    let history = follower.history("viewed", 3).await.unwrap();
    let ran: Vec<_> = LOG.runs().into_iter().rev().take(3).collect();
    let seen: Vec<_> = history
        .iter()
        .map(|run| (run.tick, run.node.clone(), run.term, run.outcome))
        .collect();
    let logged: Vec<_> = ran
        .iter()
        .map(|run| (run.tick, run.node.clone(), run.term, Some(RunOutcome::Ok)))
        .collect();
    assert_eq!(seen, logged);
    assert!(
        history
            .iter()
            .all(|run| run.duration == Some(Duration::from_millis(300)))
    );

    let view = follower.cluster().await.unwrap();
    let lock = view.lock("tests").unwrap();
    assert_eq!(lock.leader.as_deref(), Some(leader.as_str()));
    assert_eq!(lock.term, ran[0].term);
    assert!(lock.since.is_some());
    let job = view.job("viewed").unwrap();
    assert_eq!(job.schedule, "*/10 * * * * * (UTC)");
    assert_eq!(job.next_tick, Some(at(0, 1, 10)));
    assert_eq!(job.last_claimed, Some(at(0, 1, 0)));
    assert_eq!(
        job.last_success.as_ref().map(|run| run.tick),
        Some(at(0, 1, 0))
    );
    assert_eq!(job.totals.ok, 6, "00:00:10 to 00:01:00");
    assert_eq!(view.locks, nodes[0].cluster().await.unwrap().locks);

    let unknown = follower.history("viewd", 3).await.unwrap_err();
    assert!(matches!(unknown, Error::Registry(_)));
    assert!(
        unknown.to_string().contains("known jobs: viewed"),
        "{unknown}"
    );
    for node in nodes {
        node.shutdown().await.unwrap();
    }
}
