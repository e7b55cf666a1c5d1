//! Jobs inside an application: state handed to jobs, jobs built in code beside attribute jobs,
//! schedules replaced or switched off by configuration.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::TestClock;
use leader_jobs::{Job, JobContext, Runtime, RuntimeBuilder, ScheduleOverrides, State};

use crate::support::{RunLog, advance_to, at};

fn on_test_clock(clock: &TestClock) -> RuntimeBuilder {
    Runtime::builder()
        .node_id("app")
        .in_memory(&MemoryCluster::new())
        .clock(clock.clone())
}

/// A mail client as an application would share it between jobs.
struct Mailer {
    sent: Mutex<Vec<String>>,
}

/// Settings the digest reads.
struct Settings {
    subject: &'static str,
}

#[tokio::test(start_paused = true)]
async fn state_given_to_the_builder_reaches_the_job() {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let digest = Job::new(
        "digest",
        "*/10 * * * * *",
        |settings: State<Settings>, ctx: JobContext, mailer: State<Mailer>| async move {
            let line = format!("{} at {}", settings.subject, ctx.tick().format("%H:%M:%S"));
            mailer.sent.lock().unwrap().push(line);
        },
    )
    .lock("email");
    let handle = on_test_clock(&clock)
        .state(Mailer {
            sent: Mutex::new(Vec::new()),
        })
        .state(Settings { subject: "digest" })
        .jobs([digest])
        .build()
        .unwrap()
        .start()
        .unwrap();
    advance_to(&clock, at(0, 0, 25)).await;
    handle.shutdown().await.unwrap();
    assert_eq!(handle.status().job("digest").unwrap().counts.ok, 2);
}

static SHARED_LOG: RunLog = RunLog::new();

#[leader_jobs::singleton_job(cron = "*/10 * * * * *", lock = "shared", name = "attribute-job")]
async fn attribute_job(ctx: JobContext) {
    SHARED_LOG.record(&ctx);
}

#[tokio::test(start_paused = true)]
async fn a_job_built_in_code_shares_a_lock_with_an_attribute_job() {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let code_job = Job::new("code-job", "*/15 * * * * *", |ctx: JobContext| async move {
        SHARED_LOG.record(&ctx);
    })
    .lock("shared");
    let attribute_jobs = leader_jobs::registered_jobs()
        .into_iter()
        .filter(|job| job.get_lock() == "shared");
    let handle = on_test_clock(&clock)
        .jobs(attribute_jobs)
        .job(code_job)
        .build()
        .unwrap()
        .start()
        .unwrap();
    advance_to(&clock, at(0, 0, 31)).await;
    handle.shutdown().await.unwrap();
    let status = handle.status();
    assert_eq!(status.locks.len(), 1, "{status:?}");
    let mut runs: Vec<(String, u32)> = SHARED_LOG
        .runs()
        .into_iter()
        .map(|run| (run.job, run.tick.format("%S").to_string().parse().unwrap()))
        .collect();
    runs.sort();
    assert_eq!(
        runs,
        [
            ("attribute-job".to_owned(), 10),
            ("attribute-job".to_owned(), 20),
            ("attribute-job".to_owned(), 30),
            ("code-job".to_owned(), 15),
            ("code-job".to_owned(), 30),
        ]
    );
    // Both ran under the one term of the one lock.
    assert!(
        SHARED_LOG
            .runs()
            .iter()
            .all(|run| run.term == SHARED_LOG.runs()[0].term)
    );
}

#[tokio::test(start_paused = true)]
async fn an_override_replaces_a_schedule_and_off_switches_a_job_off() {
    static OVERRIDDEN: AtomicU32 = AtomicU32::new(0);
    static SWITCHED_OFF: AtomicU32 = AtomicU32::new(0);
    let clock = TestClock::starting_at(at(0, 0, 0));
    let overridden = Job::new("report", "0 0 * * *", |_: JobContext| async {
        OVERRIDDEN.fetch_add(1, Ordering::SeqCst);
    });
    let switched_off = Job::new("cleanup", "* * * * * *", |_: JobContext| async {
        SWITCHED_OFF.fetch_add(1, Ordering::SeqCst);
    });
    let overrides: ScheduleOverrides = "report = */5 * * * * *; cleanup = off".parse().unwrap();
    let handle = on_test_clock(&clock)
        .jobs([overridden, switched_off])
        .schedules(overrides)
        .build()
        .unwrap()
        .start()
        .unwrap();
    advance_to(&clock, at(0, 0, 21)).await;
    handle.shutdown().await.unwrap();
    assert_eq!(OVERRIDDEN.load(Ordering::SeqCst), 4);
    assert_eq!(SWITCHED_OFF.load(Ordering::SeqCst), 0);
    let status = handle.status();
    assert!(status.job("cleanup").is_none(), "{status:?}");
    tokio::time::sleep(Duration::ZERO).await;
}

/// An error with a cause, as `thiserror` derives them.
#[derive(Debug)]
struct DigestError {
    source: std::io::Error,
}

impl std::fmt::Display for DigestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the digest was not sent")
    }
}

impl std::error::Error for DigestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[leader_jobs::singleton_job(cron = "*/10 * * * * *", lock = "chained", name = "chained-error")]
async fn chained_error() -> Result<(), DigestError> {
    Err(DigestError {
        source: std::io::Error::other("mail server refused the connection"),
    })
}

#[tokio::test(start_paused = true)]
async fn a_job_error_keeps_its_source_chain() {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let jobs = leader_jobs::registered_jobs()
        .into_iter()
        .filter(|job| job.get_lock() == "chained");
    let handle = on_test_clock(&clock)
        .jobs(jobs)
        .build()
        .unwrap()
        .start()
        .unwrap();
    advance_to(&clock, at(0, 0, 11)).await;
    handle.shutdown().await.unwrap();
    let status = handle.status();
    let last = status
        .job("chained-error")
        .unwrap()
        .last_run
        .clone()
        .unwrap();
    assert_eq!(
        last.error.as_deref(),
        Some("the digest was not sent: mail server refused the connection")
    );
}

#[tokio::test(start_paused = true)]
async fn nodes_configured_differently_see_the_leaders_schedule() {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let cluster = MemoryCluster::new();
    let report = || Job::new("report", "*/20 * * * * *", |_: JobContext| async {});
    let node = |id: &str, overrides: ScheduleOverrides| {
        Runtime::builder()
            .node_id(id)
            .in_memory(&cluster)
            .clock(clock.clone())
            .jobs([report()])
            .schedules(overrides)
            .build()
            .unwrap()
            .start()
            .unwrap()
    };
    let fast: ScheduleOverrides = "report = */10 * * * * *".parse().unwrap();
    let a = node("a", fast.clone());
    advance_to(&clock, at(0, 0, 1)).await;
    let b = node("b", ScheduleOverrides::new());
    let c = node("c", fast);
    advance_to(&clock, at(0, 0, 15)).await;
    let leader_schedule = |handle: &leader_jobs::Handle| {
        handle
            .status()
            .job("report")
            .unwrap()
            .leader_schedule
            .clone()
    };
    // b follows with another schedule: it sees a's; c agrees with a; a leads.
    assert_eq!(leader_schedule(&b).as_deref(), Some("*/10 * * * * * (UTC)"));
    assert_eq!(leader_schedule(&c), None);
    assert_eq!(leader_schedule(&a), None);
    // a goes; whoever takes over runs its own schedule and shows none.
    cluster.kill("a").unwrap();
    advance_to(&clock, at(0, 0, 40)).await;
    let new_leader = if cluster.leader("report").unwrap() == "b" {
        &b
    } else {
        &c
    };
    assert_eq!(leader_schedule(new_leader), None);
    b.shutdown().await.unwrap();
    c.shutdown().await.unwrap();
    drop(a);
}
