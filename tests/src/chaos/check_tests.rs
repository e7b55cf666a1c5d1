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
use crate::cluster::NodeEvent;
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
    };
    let report = judge(&run_of(Vec::new()), &evidence).unwrap();
    assert!(report.lost.is_empty(), "{:?}", report.lost);
    assert_eq!(report.overlap_skips, 1);
}
