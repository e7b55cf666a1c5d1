//! The ledger rule on hand-made record sequences.

use super::*;
use crate::backend::{RunEnd, RunOutcome};
use chrono::TimeZone;

fn tick(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, minute, 0)
        .single()
        .unwrap()
}

fn start(term: u64, node: &str) -> LedgerRecord {
    LedgerRecord::TermStart {
        term,
        node: node.into(),
        at: None,
    }
}

fn claim(job: &str, minute: u32, term: u64, node: &str) -> Claim {
    Claim {
        job: job.into(),
        tick: tick(minute),
        term,
        node: node.into(),
    }
}

fn apply_claim(state: &mut LedgerState, c: &Claim) -> ClaimVerdict {
    match state.apply(&LedgerRecord::Claim(c.clone())) {
        Applied::Claim(verdict) => verdict,
        other => panic!("a claim applied as {other:?}"),
    }
}

fn apply_retry(state: &mut LedgerState, c: &Claim, attempt: u32) -> bool {
    let record = LedgerRecord::Retry {
        claim: c.clone(),
        attempt,
        after: RetryCause::Failure,
    };
    state.apply(&record) == Applied::Claim(ClaimVerdict::Won)
}

/// Attempt `attempt` at `c`, started a second after its tick, ended two seconds later.
fn ended(c: &Claim, outcome: RunOutcome, attempt: u32) -> LedgerRecord {
    let started = c.tick + chrono::TimeDelta::seconds(1);
    let end = RunEnd::new(
        outcome,
        attempt,
        started,
        started + chrono::TimeDelta::seconds(2),
    );
    LedgerRecord::outcome(c, &end)
}

fn outcome(c: &Claim) -> LedgerRecord {
    ended(c, RunOutcome::Failed, 1)
}

#[test]
fn a_paused_job_claims_nothing_and_a_trigger_runs_once_under_the_latest_term() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    let pause = |job: &str| LedgerRecord::Pause {
        job: job.into(),
        by: "b".into(),
    };
    state.apply(&pause("j"));
    assert_eq!(
        apply_claim(&mut state, &claim("j", 0, 1, "a")),
        ClaimVerdict::Paused
    );
    assert_eq!(
        state.history().last_claimed.get("j"),
        Some(&tick(0)),
        "a paused tick is handled: no leader catches it up"
    );
    assert_eq!(
        apply_claim(&mut state, &claim("k", 0, 1, "a")),
        ClaimVerdict::Won
    );
    let trigger = crate::backend::Trigger::new("j", "r1", "b", tick(5));
    state.apply(&LedgerRecord::Trigger(trigger.clone()));
    let manual = |term, node: &str| LedgerRecord::Manual {
        claim: Claim {
            tick: trigger.at,
            ..claim("j", 0, term, node)
        },
        request: "r1".into(),
    };
    assert_eq!(
        state.apply(&manual(1, "a")),
        Applied::Claim(ClaimVerdict::Paused)
    );
    assert_eq!(
        state.history().triggers,
        vec![trigger.clone()],
        "it waits for resume"
    );
    state.apply(&LedgerRecord::Resume {
        job: "j".into(),
        by: "b".into(),
    });
    state.apply(&start(2, "c"));
    assert!(
        matches!(
            state.apply(&manual(1, "a")),
            Applied::Claim(ClaimVerdict::Lost { .. })
        ),
        "a stale leader cannot run it"
    );
    #[cfg(feature = "pulsar")]
    {
        let restored = LedgerState::from_snapshot(state.snapshot());
        assert_eq!(restored.history(), state.history());
    }
    assert_eq!(
        state.apply(&manual(2, "c")),
        Applied::Claim(ClaimVerdict::Won)
    );
    assert!(state.history().triggers.is_empty());
    assert!(matches!(
        state.apply(&manual(2, "c")),
        Applied::Claim(ClaimVerdict::Lost { .. })
    ));
    state.apply(&ended(
        &Claim {
            tick: trigger.at,
            ..claim("j", 0, 2, "c")
        },
        RunOutcome::Ok,
        1,
    ));
    let runs = &state.history().runs["j"];
    assert!(runs.recent.back().is_some_and(|run| run.manual));
    assert_eq!(
        apply_claim(&mut state, &claim("j", 1, 2, "c")),
        ClaimVerdict::Won,
        "resumed"
    );
}

#[test]
fn each_settled_attempt_is_remembered_with_its_node_term_and_end() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    let first = claim("j", 0, 1, "a");
    apply_claim(&mut state, &first);
    state.apply(&ended(&first, RunOutcome::Failed, 1));
    assert!(apply_retry(&mut state, &first, 2));
    state.apply(&ended(&first, RunOutcome::Ok, 2));
    let second = claim("j", 1, 1, "a");
    apply_claim(&mut state, &second);
    state.apply(&start(2, "b"));
    state.apply(&LedgerRecord::Abandoned {
        claim: second.clone(),
        term: 2,
        node: "b".into(),
    });
    // Neither a repeated outcome nor one of a claim that lost is a run.
    state.apply(&ended(&first, RunOutcome::Ok, 2));
    state.apply(&ended(&claim("j", 1, 2, "b"), RunOutcome::Ok, 1));

    let runs = &state.history().runs["j"];
    let seen: Vec<_> = runs
        .recent
        .iter()
        .map(|run| (run.tick, run.attempt, run.outcome, run.node.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (tick(0), 1, Some(RunOutcome::Failed), "a"),
            (tick(0), 2, Some(RunOutcome::Ok), "a"),
            (tick(1), 1, None, "a"),
        ]
    );
    assert_eq!(runs.recent[1].duration, Some(Duration::from_secs(2)));
    assert_eq!(
        runs.recent[1].started,
        Some(tick(0) + chrono::TimeDelta::seconds(1))
    );
    assert_eq!(runs.last_success.as_ref().map(|r| r.attempt), Some(2));
    assert_eq!(runs.last_failure.as_ref().map(|r| r.attempt), Some(1));
    assert_eq!(
        (runs.totals.ok, runs.totals.failed, runs.totals.abandoned),
        (1, 1, 1)
    );
    #[cfg(feature = "pulsar")]
    assert_eq!(
        LedgerState::from_snapshot(state.snapshot()).history(),
        state.history()
    );
}

#[test]
fn only_the_term_holders_announcement_counts_and_a_snapshot_keeps_it() {
    let announce = |term: u64, node: &str, cron: &str| {
        LedgerRecord::Schedules(AnnouncedSchedules {
            term,
            node: node.into(),
            schedules: [("j".to_owned(), cron.to_owned())].into(),
        })
    };
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    state.apply(&announce(1, "a", "@daily (UTC)"));
    state.apply(&start(2, "b"));
    assert_eq!(
        state.history().schedules.unwrap().node,
        "a",
        "b has not announced yet"
    );
    state.apply(&announce(1, "a", "@hourly (UTC)"));
    assert_eq!(
        state.history().schedules.unwrap().schedules["j"],
        "@daily (UTC)",
        "a stale leader's announcement is ignored"
    );
    state.apply(&announce(2, "b", "@weekly (UTC)"));
    assert_eq!(state.history().schedules.unwrap().node, "b");
    #[cfg(feature = "pulsar")]
    {
        let restored = LedgerState::from_snapshot(state.snapshot());
        assert_eq!(restored.history(), state.history());
    }
}

#[test]
fn a_retry_wins_only_after_the_previous_attempt_ended_and_reopens_the_tick() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    let first = claim("j", 0, 1, "a");
    apply_claim(&mut state, &first);
    assert!(
        !apply_retry(&mut state, &first, 2),
        "attempt 1 is still running"
    );
    state.apply(&outcome(&first));
    assert!(apply_retry(&mut state, &first, 2));
    assert_eq!(state.history().abandoned, vec![first.clone()]);
    state.apply(&outcome(&first));
    assert!(state.history().abandoned.is_empty());
}

#[test]
fn a_retry_by_a_stale_leader_or_of_an_older_tick_loses() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    let old = claim("j", 0, 1, "a");
    apply_claim(&mut state, &old);
    state.apply(&outcome(&old));
    let newer = claim("j", 1, 1, "a");
    apply_claim(&mut state, &newer);
    state.apply(&outcome(&newer));
    assert!(
        !apply_retry(&mut state, &old, 2),
        "not the job's latest tick"
    );
    state.apply(&start(2, "b"));
    assert!(!apply_retry(&mut state, &newer, 2), "a higher term began");
    assert!(apply_retry(&mut state, &claim("j", 1, 2, "b"), 2));
}

#[test]
fn first_claim_of_a_tick_wins_and_a_repeat_loses() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    assert_eq!(
        apply_claim(&mut state, &claim("j", 0, 1, "a")),
        ClaimVerdict::Won
    );
    let repeat = apply_claim(&mut state, &claim("j", 0, 1, "a"));
    assert_eq!(
        repeat,
        ClaimVerdict::Lost {
            winner: Some(claim("j", 0, 1, "a")),
            highest_term: 1
        }
    );
    assert_eq!(
        apply_claim(&mut state, &claim("other", 0, 1, "a")),
        ClaimVerdict::Won
    );
}

#[test]
fn a_claim_after_a_higher_term_began_loses() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    state.apply(&start(2, "b"));
    let stale = apply_claim(&mut state, &claim("j", 1, 1, "a"));
    assert_eq!(
        stale,
        ClaimVerdict::Lost {
            winner: None,
            highest_term: 2
        }
    );
    assert_eq!(
        apply_claim(&mut state, &claim("j", 1, 2, "b")),
        ClaimVerdict::Won
    );
}

#[test]
fn a_raced_term_start_is_invalid_and_its_claims_lose() {
    let mut state = LedgerState::default();
    assert_eq!(
        state.apply(&start(3, "a")),
        Applied::TermStart { valid: true }
    );
    assert_eq!(
        state.apply(&start(3, "b")),
        Applied::TermStart { valid: false }
    );
    let by_b = apply_claim(&mut state, &claim("j", 0, 3, "b"));
    assert!(matches!(by_b, ClaimVerdict::Lost { .. }));
    assert_eq!(
        apply_claim(&mut state, &claim("j", 0, 3, "a")),
        ClaimVerdict::Won
    );
}

#[test]
fn a_new_leader_cannot_reclaim_a_tick_already_claimed() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    apply_claim(&mut state, &claim("j", 5, 1, "a"));
    state.apply(&start(2, "b"));
    assert!(matches!(
        apply_claim(&mut state, &claim("j", 5, 2, "b")),
        ClaimVerdict::Lost { .. }
    ));
    assert!(matches!(
        apply_claim(&mut state, &claim("j", 4, 2, "b")),
        ClaimVerdict::Lost { .. }
    ));
    assert_eq!(
        apply_claim(&mut state, &claim("j", 6, 2, "b")),
        ClaimVerdict::Won
    );
}

#[test]
fn history_reports_claims_without_outcome_as_abandoned() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    apply_claim(&mut state, &claim("j", 0, 1, "a"));
    apply_claim(&mut state, &claim("j", 1, 1, "a"));
    state.apply(&ended(&claim("j", 0, 1, "a"), RunOutcome::Ok, 1));
    let history = state.history();
    assert_eq!(history.highest_term, 1);
    assert_eq!(history.last_claimed.get("j"), Some(&tick(1)));
    assert_eq!(history.abandoned, vec![claim("j", 1, 1, "a")]);
}

#[test]
fn an_abandoned_claim_once_reported_is_not_reported_again() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    apply_claim(&mut state, &claim("j", 0, 1, "a"));
    state.apply(&start(2, "b"));
    assert_eq!(state.history().abandoned, vec![claim("j", 0, 1, "a")]);
    state.apply(&LedgerRecord::Abandoned {
        claim: claim("j", 0, 1, "a"),
        term: 2,
        node: "b".into(),
    });
    state.apply(&start(3, "c"));
    assert_eq!(state.history().abandoned, vec![]);
    assert_eq!(state.history().last_claimed.get("j"), Some(&tick(0)));
}

#[test]
#[cfg(feature = "pulsar")]
fn a_state_restored_from_its_snapshot_judges_as_the_full_fold_does() {
    let mut full = LedgerState::default();
    full.apply(&start(1, "a"));
    apply_claim(&mut full, &claim("j", 1, 1, "a"));
    apply_claim(&mut full, &claim("k", 2, 1, "a"));
    full.apply(&ended(&claim("k", 2, 1, "a"), RunOutcome::Ok, 1));
    let mut restored = LedgerState::from_snapshot(full.snapshot());
    assert_eq!(restored.history(), full.history());
    let next = [
        LedgerRecord::Claim(claim("j", 1, 1, "a")),
        LedgerRecord::Claim(claim("j", 3, 1, "a")),
        start(1, "b"),
        start(2, "b"),
        LedgerRecord::Claim(claim("j", 4, 1, "a")),
        LedgerRecord::Claim(claim("j", 4, 2, "b")),
    ];
    for record in &next {
        assert_eq!(restored.apply(record), full.apply(record), "{record:?}");
    }
    assert_eq!(restored.history(), full.history());
}

/// A rerun's retry record abandons the attempt an older term left open and claims the next one
/// in one record; a retry after a failure, or a rerun within the same term, cannot.
#[test]
fn a_rerun_abandons_the_older_terms_open_attempt_in_the_same_record() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    let first = claim("j", 0, 1, "a");
    apply_claim(&mut state, &first);
    let retry = |c: &Claim, attempt, after| LedgerRecord::Retry {
        claim: c.clone(),
        attempt,
        after,
    };
    let won = Applied::Claim(ClaimVerdict::Won);
    // Within its own term the open attempt blocks both kinds.
    assert_ne!(state.apply(&retry(&first, 2, RetryCause::Abandonment)), won);
    state.apply(&start(2, "b"));
    let rerun = claim("j", 0, 2, "b");
    assert_ne!(state.apply(&retry(&rerun, 2, RetryCause::Failure)), won);
    assert_eq!(state.apply(&retry(&rerun, 2, RetryCause::Abandonment)), won);

    let history = state.history();
    assert_eq!(history.abandoned, vec![rerun.clone()]);
    let recent: Vec<_> = history.runs["j"]
        .recent
        .iter()
        .map(|run| (run.term, run.attempt, run.outcome))
        .collect();
    assert_eq!(recent, [(1, 1, None)]);
    assert_eq!(history.runs["j"].totals.abandoned, 1);
    // The old attempt's late outcome settles nothing; the rerun's does.
    state.apply(&ended(&first, RunOutcome::Ok, 1));
    assert_eq!(state.history().abandoned, vec![rerun.clone()]);
    state.apply(&ended(&rerun, RunOutcome::Ok, 2));
    let runs = &state.history().runs["j"];
    assert!(state.history().abandoned.is_empty());
    assert_eq!(
        runs.recent
            .back()
            .map(|run| (run.term, run.attempt, run.rerun)),
        Some((2, 2, true))
    );
}

fn release(state: &mut LedgerState, c: &Claim) -> bool {
    state.apply(&LedgerRecord::Release(c.clone())) == Applied::Release { valid: true }
}

/// A released tick is open again: the next claim of it wins, the job's latest claimed tick is the
/// one before, and no leader reports it as abandoned.
#[test]
fn a_release_gives_the_tick_back_as_if_never_claimed() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    let before = claim("j", 0, 1, "a");
    apply_claim(&mut state, &before);
    state.apply(&ended(&before, RunOutcome::Ok, 1));
    let ahead = claim("j", 1, 1, "a");
    assert_eq!(apply_claim(&mut state, &ahead), ClaimVerdict::Won);
    assert!(release(&mut state, &ahead));
    let history = state.history();
    assert!(history.abandoned.is_empty(), "{history:?}");
    assert_eq!(history.last_claimed.get("j"), Some(&tick(0)));
    assert_eq!(history.runs["j"].recent.len(), 1, "a release is no run");
    assert!(!release(&mut state, &ahead), "released once");

    state.apply(&start(2, "b"));
    assert_eq!(
        apply_claim(&mut state, &claim("j", 1, 2, "b")),
        ClaimVerdict::Won
    );

    // A job's first claim released leaves it with no claimed tick at all.
    let first = claim("k", 1, 2, "b");
    apply_claim(&mut state, &first);
    assert!(release(&mut state, &first));
    assert_eq!(state.history().last_claimed.get("k"), None);
}

/// Once a newer term began, or the attempt is not the open first one of the latest tick, a release
/// changes nothing: the new leader found the claim open, and reports or reruns it.
#[test]
fn a_release_too_late_or_of_anything_but_the_open_first_claim_is_ignored() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    let stale = claim("j", 1, 1, "a");
    apply_claim(&mut state, &stale);
    state.apply(&start(2, "b"));
    assert!(!release(&mut state, &stale), "a newer term began");
    assert_eq!(state.history().abandoned, vec![stale.clone()]);

    // An older tick, a retry, a manual run and a settled attempt are not released.
    let older = claim("k", 1, 2, "b");
    apply_claim(&mut state, &older);
    apply_claim(&mut state, &claim("k", 2, 2, "b"));
    assert!(!release(&mut state, &older), "not the latest claimed tick");
    let failed = claim("m", 1, 2, "b");
    apply_claim(&mut state, &failed);
    state.apply(&ended(&failed, RunOutcome::Failed, 1));
    assert!(!release(&mut state, &failed), "settled");
    assert!(apply_retry(&mut state, &failed, 2));
    assert!(!release(&mut state, &failed), "a retry");
    state.apply(&LedgerRecord::Trigger(crate::backend::Trigger::new(
        "n",
        "r-1",
        "b",
        tick(3),
    )));
    let manual = claim("n", 3, 2, "b");
    let claimed = state.apply(&LedgerRecord::Manual {
        claim: manual.clone(),
        request: "r-1".into(),
    });
    assert_eq!(claimed, Applied::Claim(ClaimVerdict::Won));
    assert!(!release(&mut state, &manual), "a manual run");
    // Someone else's claim of the same tick: only the claim itself is released.
    let mine = claim("p", 1, 2, "b");
    apply_claim(&mut state, &mine);
    assert!(!release(
        &mut state,
        &Claim {
            node: "a".into(),
            ..mine.clone()
        }
    ));
    assert!(release(&mut state, &mine));
}

/// A checkpoint keeps what a release restores.
#[test]
#[cfg(feature = "pulsar")]
fn a_claim_restored_from_a_snapshot_can_be_released() {
    let mut state = LedgerState::default();
    state.apply(&start(1, "a"));
    apply_claim(&mut state, &claim("j", 0, 1, "a"));
    let ahead = claim("j", 1, 1, "a");
    apply_claim(&mut state, &ahead);
    let mut restored = LedgerState::from_snapshot(state.snapshot());
    assert!(release(&mut restored, &ahead));
    assert_eq!(restored.history().last_claimed.get("j"), Some(&tick(0)));
}

#[test]
#[cfg(feature = "pulsar")]
fn an_abandoned_claim_began_no_earlier_than_its_tick_and_its_leaders_term_start() {
    let mut state = LedgerState::default();
    state.apply(&LedgerRecord::TermStart {
        term: 1,
        node: "a".into(),
        at: Some(tick(5)),
    });
    // 09:02 caught up by a term begun at 09:05; 09:07 claimed on time under it.
    assert_eq!(
        apply_claim(&mut state, &claim("late", 2, 1, "a")),
        ClaimVerdict::Won
    );
    assert_eq!(
        apply_claim(&mut state, &claim("on-time", 7, 1, "a")),
        ClaimVerdict::Won
    );
    let key = |job: &str, minute| (job.to_owned(), tick(minute));
    let began = state.history().abandoned_began;
    assert_eq!(
        began,
        [(key("late", 2), tick(5)), (key("on-time", 7), tick(7))].into()
    );
    let restored = LedgerState::from_snapshot(state.snapshot()).history();
    assert_eq!(restored.abandoned_began, began);
    // Rerun under a term whose start did not say when: nothing is known of the new attempt.
    state.apply(&start(2, "b"));
    let rerun = LedgerRecord::Retry {
        claim: claim("late", 2, 2, "b"),
        attempt: 2,
        after: RetryCause::Abandonment,
    };
    assert_eq!(state.apply(&rerun), Applied::Claim(ClaimVerdict::Won));
    assert_eq!(
        state.history().abandoned_began,
        [(key("on-time", 7), tick(7))].into()
    );
}
