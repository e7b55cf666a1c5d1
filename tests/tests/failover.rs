//! Failover of leader-jobs on a real Pulsar broker, with nodes as separate OS processes: the
//! leader is killed, frozen and stopped gracefully while an external run log, written by the job
//! itself, proves that no tick ran twice and none was lost.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{
    LOCK, NODE, NODES, assert_keeps_leading, first_leader, start_all, summary, trials, verdict,
    wait_for_run,
};
use leader_jobs_tests::cluster::Cluster;

/// A fault injected into the leader of [`LOCK`].
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// SIGKILL, then a restart under the same node id.
    Kill,
    /// SIGSTOP past the stall grace, then SIGCONT: the resumed node must be fenced.
    Freeze,
    /// SIGTERM (graceful shutdown), then a restart.
    Terminate,
}

/// Starts three nodes, injects `fault` into the leader `trials` times, prints the takeover
/// times, and checks the external run log; fails once it has taken longer than the slowest
/// trials could (each waits at most about 55 s).
async fn fault_trials(name: &str, fault: Fault, trials: usize) {
    let bound = Duration::from_secs(60) * u32::try_from(trials + 1).unwrap_or(u32::MAX);
    leader_jobs_tests::bounded_by(bound, fault_trials_unbounded(name, fault, trials)).await;
}

/// How long a restarted or resumed node is watched for taking the lock back: well past its
/// start, the broker's failover delay and a confirmation window.
const REJOIN_WATCH: Duration = Duration::from_secs(6);

async fn fault_trials_unbounded(name: &str, fault: Fault, trials: usize) {
    let mut cluster = Cluster::new(NODE.as_ref(), name).expect("cluster");
    cluster.set_env("TEST_NODE_COLD_START_MS", "0");
    start_all(&mut cluster);
    let (mut leader, mut term) = first_leader(&cluster);
    let mut takeovers = Vec::new();
    for _ in 0..trials {
        // The fault strikes a leader that is running its ticks.
        wait_for_run(&cluster, &leader, term, Duration::from_secs(30)).await;
        let injected_at = Utc::now();
        match fault {
            Fault::Kill => cluster.kill(&leader).expect("SIGKILL"),
            Fault::Freeze => cluster.freeze(&leader).expect("SIGSTOP"),
            Fault::Terminate => assert!(
                cluster
                    .terminate(&leader, Duration::from_secs(15))
                    .expect("SIGTERM"),
                "graceful shutdown failed"
            ),
        }
        let taken = cluster
            .wait_for_new_leader(LOCK, Some(&leader), injected_at, Duration::from_secs(30))
            .expect("events");
        let Some((next, next_term, at)) = taken else {
            panic!("nobody took over within 30 s of {fault:?}")
        };
        takeovers.push((at - injected_at).to_std().unwrap_or_default());
        if let Fault::Freeze = fault {
            // Thaw it once the new leader runs under its newer term, so that the resumed
            // node's stale view meets it.
            wait_for_run(&cluster, &next, next_term, Duration::from_secs(30)).await;
        }
        let back_at = Utc::now();
        match fault {
            Fault::Freeze => cluster.thaw(&leader).expect("SIGCONT"),
            Fault::Kill | Fault::Terminate => cluster.start(&leader).expect("restart"),
        }
        // The node that came back has the old leader's place on the hash ring; it must wait
        // as a follower all the same.
        assert_keeps_leading(&cluster, &next, back_at, REJOIN_WATCH).await;
        (leader, term) = (next, next_term);
    }
    for node in NODES {
        cluster
            .terminate(node, Duration::from_secs(15))
            .expect("terminate");
    }
    summary(&format!("takeover after {fault:?}"), takeovers);
    let verdict = verdict(&cluster).await;
    println!("runs per node: {:?}", verdict.runs_per_node);
    verdict.assert_clean(cluster.dir());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_and_no_tick_runs_twice() {
    fault_trials("sigkill", Fault::Kill, trials(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_is_replaced_within_the_grace_and_fenced_when_it_resumes() {
    fault_trials("sigstop", Fault::Freeze, trials(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_shuts_down_hands_over_at_once() {
    fault_trials("graceful", Fault::Terminate, trials(3)).await;
}
