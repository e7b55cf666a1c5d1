#![allow(clippy::unwrap_used, reason = "test code")]
//! The checker on hand-made evidence: each kind of violation is found, and what the policies
//! allow is not counted.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Evidence, judge};
use crate::chaos::app::JobSpec;
use crate::chaos::campaign::CampaignRun;
use crate::chaos::faults::{FaultKind, FaultRecord};
use crate::cluster::{NodeEvent, ProcessAction, ProcessEvent};
use crate::run_log::RunEvent;

fn at(second: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(1_000_000 + second)
}

fn job(name: &str, cron: &str, misfire: &str) -> JobSpec {
    JobSpec {
        name: name.into(),
        lock: "l".into(),
        cron: cron.into(),
        misfire: misfire.into(),
        overlap: "skip".into(),
        delivery: "at_most_once".into(),
    }
}

/// The start and end of a run of `tick` that began at second `started` and took 20 ms.
fn ran(job: &str, tick: i64, term: u64, node: &str, started: i64) -> [RunEvent; 2] {
    let start = RunEvent {
        event: "start".into(),
        job: job.into(),
        lock: "l".into(),
        tick: at(tick),
        term,
        node: node.into(),
        at: at(started) + TimeDelta::milliseconds(10),
        attempt: 1,
        rerun: false,
        run_id: format!("{job}@{tick}"),
    };
    let mut end = start.clone();
    end.event = "end".into();
    end.at += TimeDelta::milliseconds(20);
    [start, end]
}

fn leads(node: &str, term: u64, second: i64) -> NodeEvent {
    NodeEvent {
        node: node.into(),
        lock: "l".into(),
        term: Some(term),
        at: at(second),
    }
}

fn run_of(faults: Vec<FaultRecord>) -> CampaignRun {
    CampaignRun {
        seed: 1,
        dir: PathBuf::from("/nowhere"),
        prefix: "t".into(),
        election_groups: 0,
        on_cluster: false,
        locks: vec!["l".into()],
        faults,
        isolation_unavailable: None,
        stuck: Vec::new(),
        began: at(0),
        ended: at(40),
    }
}

#[test]
fn finds_duplicates_stale_terms_and_lost_ticks_and_excuses_abandoned_ones() {
    // Tick 1 twice; tick 2 abandoned in the ledger; tick 3 lost; then a stale start of tick 5.
    let runs = [
        ran("sec", 0, 1, "a", 0),
        ran("sec", 1, 1, "a", 1),
        ran("sec", 1, 2, "b", 1),
        ran("sec", 4, 2, "b", 4),
        ran("sec", 5, 1, "a", 6),
    ]
    .concat();
    let evidence = Evidence {
        jobs: vec![job("sec", "* * * * * *", "fire_all")],
        runs,
        reports: vec![leads("a", 1, 0), leads("b", 2, 1)],
        lifecycle: Vec::new(),
        abandoned: BTreeSet::from([("sec".to_owned(), at(2))]),
        open_at_end: BTreeSet::new(),
    };
    let report = judge(&run_of(Vec::new()), &evidence).unwrap();
    assert_eq!(report.duplicates.len(), 1, "{:?}", report.duplicates);
    assert_eq!(report.duplicates[0].1, at(1));
    let stale: Vec<DateTime<Utc>> = report.stale_starts.iter().map(|s| s.run.tick).collect();
    assert!(stale.contains(&at(5)), "{stale:?}");
    let lost: Vec<DateTime<Utc>> = report.lost.iter().map(|l| l.tick).collect();
    assert_eq!(lost, [at(3)]);
    assert_eq!(report.abandoned_unrun, 1);
    assert!(report.violations() >= 3);
}

#[test]
fn a_fire_once_gap_needs_its_catch_up_when_the_next_term_began() {
    let five = || job("five", "*/5 * * * * *", "fire_once");
    // a runs 0 and 5; b takes over at 21 (term 2) and catches up 20: ticks 10 and 15 covered.
    let covered = Evidence {
        jobs: vec![five()],
        runs: [
            ran("five", 0, 1, "a", 0),
            ran("five", 5, 1, "a", 5),
            ran("five", 20, 2, "b", 21),
            ran("five", 25, 2, "b", 25),
        ]
        .concat(),
        reports: vec![leads("a", 1, 0), leads("b", 2, 21)],
        lifecycle: Vec::new(),
        abandoned: BTreeSet::new(),
        open_at_end: BTreeSet::new(),
    };
    let report = judge(&run_of(Vec::new()), &covered).unwrap();
    assert!(report.lost.is_empty(), "{:?}", report.lost);
    assert_eq!(report.policy_gaps, 1);

    // b takes over at 21 but runs only 25: 10, 15 and 20 were lost.
    let mut uncovered = covered;
    uncovered.runs.retain(|run| run.tick != at(20));
    let report = judge(&run_of(Vec::new()), &uncovered).unwrap();
    let lost: Vec<DateTime<Utc>> = report.lost.iter().map(|l| l.tick).collect();
    assert_eq!(lost, [at(10), at(15), at(20)]);
}

#[test]
fn a_gap_inside_one_term_counts_only_while_a_fault_was_on() {
    let evidence = Evidence {
        jobs: vec![job("five", "*/5 * * * * *", "fire_once")],
        runs: [ran("five", 0, 1, "a", 0), ran("five", 15, 1, "a", 16)].concat(),
        reports: vec![leads("a", 1, 0)],
        lifecycle: Vec::new(),
        abandoned: BTreeSet::new(),
        open_at_end: BTreeSet::new(),
    };
    let quiet = judge(&run_of(Vec::new()), &evidence).unwrap();
    assert_eq!(quiet.lost.len(), 2, "{:?}", quiet.lost);
    let freeze = FaultRecord {
        index: 0,
        kind: FaultKind::FreezeShort,
        node: Some("a".into()),
        led: vec![("l".into(), 1)],
        detail: String::new(),
        began: at(4),
        lifted: at(14),
    };
    let disturbed = judge(&run_of(vec![freeze]), &evidence).unwrap();
    assert!(disturbed.lost.is_empty(), "{:?}", disturbed.lost);
    assert_eq!(disturbed.kept.get(&FaultKind::FreezeShort), Some(&1));
}

#[test]
fn a_tick_handled_late_while_an_earlier_run_still_goes_is_an_overlap_skip() {
    // The leader thawed just before tick 2 and ran tick 0 late, from 2.01 to 2.03 s: it handled
    // tick 2 while that run went on and skipped it (overlap `skip`). Tick 4 ran.
    let evidence = Evidence {
        jobs: vec![job("two", "*/2 * * * * *", "fire_all")],
        runs: [ran("two", 0, 1, "a", 2), ran("two", 4, 1, "a", 4)].concat(),
        reports: vec![leads("a", 1, 0)],
        lifecycle: Vec::new(),
        abandoned: BTreeSet::new(),
        open_at_end: BTreeSet::new(),
    };
    let report = judge(&run_of(Vec::new()), &evidence).unwrap();
    assert!(report.lost.is_empty(), "{:?}", report.lost);
    assert_eq!(report.overlap_skips, 1);
}

/// Attempt `attempt` of `tick` on `node`, from second `from` to `until` (`None`: never ended).
fn attempt(tick: i64, attempt: u32, node: &str, from: i64, until: Option<i64>) -> Vec<RunEvent> {
    let [mut start, mut end] = ran("once+", tick, u64::from(attempt), node, from);
    for event in [&mut start, &mut end] {
        event.attempt = attempt;
        event.rerun = attempt > 1;
    }
    end.at = until.map_or(end.at, at);
    match until {
        Some(_) => vec![start, end],
        None => vec![start],
    }
}

#[test]
fn an_at_least_once_tick_must_complete_once_and_its_attempts_must_not_overlap() {
    let spec = JobSpec {
        overlap: "queue".into(),
        delivery: "at_least_once".into(),
        ..job("once+", "*/10 * * * * *", "fire_all")
    };
    let killed = |node: &str, second| ProcessEvent {
        node: node.into(),
        action: ProcessAction::Killed,
        at: at(second),
    };
    let evidence = Evidence {
        jobs: vec![spec],
        runs: [
            // 0: abandoned by a (killed at 2), rerun by b: fine, not a duplicate.
            attempt(0, 1, "a", 0, None),
            attempt(0, 2, "b", 9, Some(11)),
            // 10: started, never completed, not open in the ledger: lost.
            attempt(10, 1, "b", 10, None),
            // 20: completed by b and again by c, no fault on b.
            attempt(20, 1, "b", 20, Some(22)),
            attempt(20, 2, "c", 25, Some(27)),
            // 30: c's rerun starts while b's attempt still runs.
            attempt(30, 1, "b", 30, Some(36)),
            attempt(30, 2, "c", 33, Some(35)),
            // 40: started, still open at the end: its rerun was pending.
            attempt(40, 1, "c", 40, None),
        ]
        .concat(),
        reports: vec![leads("a", 1, 0), leads("b", 2, 3), leads("c", 3, 24)],
        lifecycle: vec![killed("a", 2)],
        abandoned: BTreeSet::from([("once+".to_owned(), at(0))]),
        open_at_end: BTreeSet::from([("once+".to_owned(), at(40))]),
    };
    let report = judge(&run_of(Vec::new()), &evidence).unwrap();
    assert!(report.duplicates.is_empty(), "{:?}", report.duplicates);
    let lost: Vec<DateTime<Utc>> = report.lost.iter().map(|l| l.tick).collect();
    assert_eq!(lost, [at(10)], "{:?}", report.lost);
    assert_eq!(report.reruns, 3);
    assert_eq!(report.reruns_pending_at_end, 1);
    assert_eq!(report.completed_twice, 2);
    assert_eq!(report.unexplained_completions.len(), 2);
    assert_eq!(
        report.overlapping_attempts.len(),
        1,
        "{:?}",
        report.overlapping_attempts
    );
    assert!(report.overlapping_attempts[0].contains("tick"));

    // A kill of b right after its completion of 20 explains the second one.
    let kill = FaultRecord {
        index: 0,
        kind: FaultKind::KillLeader,
        node: Some("b".into()),
        led: vec![("l".into(), 2)],
        detail: String::new(),
        began: at(22) + TimeDelta::milliseconds(100),
        lifted: at(23),
    };
    let explained = judge(&run_of(vec![kill]), &evidence).unwrap();
    assert_eq!(
        explained.unexplained_completions.len(),
        1,
        "{:?}",
        explained.unexplained_completions
    );
}
