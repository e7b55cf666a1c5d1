//! The typed events of a node: what a harness or a dashboard reads instead of log lines.

use leader_jobs::backend::RunOutcome;
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::clock::TestClock;
use leader_jobs::{Event, Job, JobContext, NotRun, RunKind};

use crate::support::{advance_to, at, start};

#[tokio::test(start_paused = true)]
async fn a_node_reports_leadership_runs_pauses_and_triggers_as_events() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let job = Job::new("evented", "*/10 * * * * *", |_: JobContext| async {});
    let handle = start("a", &job, &cluster, &clock);
    let mut events = handle.events();
    advance_to(&clock, at(0, 0, 15)).await;
    handle.pause("evented").await.unwrap();
    advance_to(&clock, at(0, 0, 25)).await;
    handle.resume("evented").await.unwrap();
    handle.trigger("evented").await.unwrap();
    advance_to(&clock, at(0, 0, 27)).await;
    handle.shutdown().await.unwrap();

    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    let gained = seen
        .iter()
        .position(|e| matches!(e, Event::LeadershipGained { term: 1, .. }));
    let started = seen.iter().position(|e| {
        matches!(e, Event::RunStarted { tick, kind: RunKind::Scheduled, attempt: 1, .. } if *tick == at(0, 0, 10))
    });
    let finished = seen.iter().position(|e| {
        matches!(e, Event::RunFinished { tick, outcome: RunOutcome::Ok, .. } if *tick == at(0, 0, 10))
    });
    assert!(gained < started && started < finished, "{seen:#?}");
    assert!(seen.iter().any(|e| matches!(
        e,
        Event::TickNotRun { tick, why: NotRun::Paused, .. } if *tick == at(0, 0, 20)
    )));
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::PauseChanged { paused: true, .. }))
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::PauseChanged { paused: false, .. }))
    );
    assert!(seen.iter().any(|e| matches!(e, Event::Triggered { .. })));
    assert!(seen.iter().any(|e| matches!(
        e,
        Event::RunStarted {
            kind: RunKind::Manual,
            ..
        }
    )));
    assert!(matches!(
        seen.last(),
        Some(Event::LeadershipLost { reason, .. }) if reason == "shutdown"
    ));
    let json = serde_json::to_value(&seen[gained.unwrap()]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"event": "leadership_gained", "lock": "evented", "term": 1})
    );
}

/// A harness that asks for the events only after the node has begun leading still sees it
/// begin: the first receiver was subscribed at start. A second one sees what comes after.
#[tokio::test(start_paused = true)]
async fn the_first_receiver_has_every_event_since_start() {
    let (cluster, clock) = (MemoryCluster::new(), TestClock::starting_at(at(0, 0, 0)));
    let job = Job::new("late_listener", "*/10 * * * * *", |_: JobContext| async {});
    let handle = start("a", &job, &cluster, &clock);
    advance_to(&clock, at(0, 0, 5)).await;
    assert!(handle.status().locks[0].leading);
    let mut first = handle.events();
    let mut second = handle.events();
    advance_to(&clock, at(0, 0, 12)).await;
    handle.shutdown().await.unwrap();

    let drain = |events: &mut tokio::sync::broadcast::Receiver<Event>| {
        let mut seen = Vec::new();
        while let Ok(event) = events.try_recv() {
            seen.push(event);
        }
        seen
    };
    let (first, second) = (drain(&mut first), drain(&mut second));
    let gained = |seen: &[Event]| {
        seen.iter()
            .any(|e| matches!(e, Event::LeadershipGained { term: 1, .. }))
    };
    assert!(gained(&first), "{first:#?}");
    assert!(!gained(&second), "{second:#?}");
    let ran = |seen: &[Event]| {
        seen.iter()
            .any(|e| matches!(e, Event::RunFinished { tick, .. } if *tick == at(0, 0, 10)))
    };
    assert!(ran(&first) && ran(&second), "{first:#?}\n{second:#?}");
}
