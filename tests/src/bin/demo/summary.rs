//! The verdict of a demo run, from what the jobs themselves logged: every tick the schedule made
//! due is either run once, or accounted for by the misfire policy or an abandoned claim.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use leader_jobs::Schedule;

use crate::console::short_name;
use crate::event::{Kind, RunId};
use crate::record::Record;

/// Ticks this close to the final stop are not counted: the stop may catch them mid-claim.
const STOP_MARGIN: Duration = Duration::from_secs(1);

/// The runs of each (job, tick), with the node that ran each.
type RunsByTick = BTreeMap<(String, DateTime<Utc>), Vec<(usize, RunId)>>;

/// One job's accounting.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct JobSummary {
    pub(crate) job: String,
    pub(crate) lock: String,
    pub(crate) misfire: String,
    /// Ticks due between the lock's first election and the final stop.
    pub(crate) ticks: usize,
    /// Runs of those ticks, per node.
    pub(crate) runs_per_node: Vec<usize>,
    /// Runs started for a missed tick.
    pub(crate) caught_up: usize,
    /// Missed ticks the misfire policy chose not to run (`fire_once` runs only the latest).
    pub(crate) not_run_by_policy: usize,
    /// Ticks claimed by a leader that died mid-run, reported by its successor and not rerun.
    pub(crate) abandoned: usize,
    /// Ticks skipped because an operator paused the job.
    pub(crate) paused: usize,
    /// Runs an operator triggered (off the schedule, not among the ticks).
    pub(crate) manual: usize,
    /// Runs of a tick again after its attempt was abandoned (delivery at least once).
    pub(crate) reruns: usize,
    /// Ticks nothing accounts for.
    pub(crate) lost: Vec<DateTime<Utc>>,
    /// Ticks run more than once.
    pub(crate) duplicates: Vec<DateTime<Utc>>,
}

impl JobSummary {
    pub(crate) fn runs(&self) -> usize {
        self.runs_per_node.iter().sum()
    }
}

#[derive(Debug)]
pub(crate) struct Summary {
    pub(crate) jobs: Vec<JobSummary>,
}

impl Summary {
    /// No tick ran twice and none was lost.
    pub(crate) fn is_clean(&self) -> bool {
        self.jobs
            .iter()
            .all(|job| job.lost.is_empty() && job.duplicates.is_empty())
    }
}

/// Judges the run: the schedules come from the nodes' `job registered` lines, the runs from the
/// lines each job logged while running.
pub(crate) fn summarize(record: &Record) -> anyhow::Result<Summary> {
    let end = record.stopped.unwrap_or_else(Utc::now) - STOP_MARGIN;
    let mut runs = RunsByTick::new();
    let mut catch_ups = BTreeSet::new();
    let mut abandoned = BTreeSet::new();
    let mut paused = BTreeSet::new();
    let mut manual: Vec<RunId> = Vec::new();
    let mut reruns = BTreeSet::new();
    let mut first_leader: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    // In the order the nodes registered them (by lock), not by name.
    let mut jobs: Vec<(String, (String, String, String, String))> = Vec::new();
    for (node, event) in &record.events {
        match &event.kind {
            Kind::Run(run) => runs
                .entry((run.job.clone(), run.tick))
                .or_default()
                .push((*node, run.clone())),
            Kind::CatchUp(run) => {
                catch_ups.insert(run.clone());
            }
            Kind::Abandoned { job, tick } => {
                abandoned.insert((job.clone(), *tick));
            }
            Kind::Paused { job, tick } => {
                paused.insert((job.clone(), *tick));
            }
            Kind::Manual(run) => manual.push(run.clone()),
            Kind::Rerun(run) => {
                reruns.insert(run.clone());
            }
            Kind::LeadershipGained { lock, .. } => {
                first_leader.entry(lock.as_str()).or_insert(event.at);
            }
            Kind::JobRegistered {
                job,
                lock,
                cron,
                tz,
                misfire,
            } if !jobs.iter().any(|(known, _)| known == job) => {
                let schedule = (lock.clone(), cron.clone(), tz.clone(), misfire.clone());
                jobs.push((job.clone(), schedule));
            }
            _ => {}
        }
    }
    let mut summaries = Vec::new();
    for (job, (lock, cron, tz, misfire)) in jobs {
        let schedule = Schedule::parse(&cron)
            .and_then(|schedule| schedule.in_timezone(&tz))
            .with_context(|| format!("job {job} reported a schedule that does not parse"))?;
        let Some(&begin) = first_leader.get(lock.as_str()) else {
            continue;
        };
        let due: Vec<DateTime<Utc>> = schedule
            .upcoming(begin)
            .take_while(|tick| *tick <= end)
            .collect();
        let mut summary = JobSummary {
            job: job.clone(),
            lock,
            misfire,
            ticks: due.len(),
            runs_per_node: vec![0; record.nodes.len()],
            manual: manual.iter().filter(|run| run.job == job).count(),
            ..JobSummary::default()
        };
        let ran = |tick: &DateTime<Utc>| runs.get(&(job.clone(), *tick));
        for (index, tick) in due.iter().enumerate() {
            match ran(tick) {
                Some(of_tick) => {
                    for (node, run) in of_tick {
                        summary.runs_per_node[*node] += 1;
                        summary.caught_up += usize::from(catch_ups.contains(run));
                        summary.reruns += usize::from(reruns.contains(run));
                    }
                    // A rerun after an abandoned attempt is a further attempt, not a duplicate.
                    let first_runs = of_tick.iter().filter(|(_, run)| !reruns.contains(run));
                    if first_runs.count() > 1 {
                        summary.duplicates.push(*tick);
                    }
                }
                None if abandoned.contains(&(job.clone(), *tick)) => summary.abandoned += 1,
                None if paused.contains(&(job.clone(), *tick)) => summary.paused += 1,
                None => {
                    // `fire_once` runs the latest missed tick of a gap: the next tick that ran
                    // must be a catch-up run. `skip` runs none of them.
                    let next_run = due[index + 1..].iter().find_map(&ran);
                    let covered = match summary.misfire.as_str() {
                        "skip" => true,
                        "fire_once" => next_run.is_some_and(|of_tick| {
                            of_tick.iter().any(|(_, run)| catch_ups.contains(run))
                        }),
                        _ => false,
                    };
                    if covered {
                        summary.not_run_by_policy += 1;
                    } else {
                        summary.lost.push(*tick);
                    }
                }
            }
        }
        summaries.push(summary);
    }
    Ok(Summary { jobs: summaries })
}

/// The summary as the demo prints it: the ticks table, then the takeovers.
pub(crate) fn render(summary: &Summary, record: &Record) -> String {
    let mut out = String::new();
    let mut header = format!(
        "{:<13} {:<8} {:<10} {:>5} {:>5}",
        "job", "lock", "misfire", "ticks", "runs"
    );
    for node in &record.nodes {
        let _ = write!(header, " {node:>7}");
    }
    header.push_str(
        "  caught up  not run (policy)  abandoned  rerun  paused  manual  lost  duplicates",
    );
    let _ = writeln!(out, "{header}");
    for job in &summary.jobs {
        let mut line = format!(
            "{:<13} {:<8} {:<10} {:>5} {:>5}",
            short_name(&job.job),
            job.lock,
            job.misfire,
            job.ticks,
            job.runs()
        );
        for runs in &job.runs_per_node {
            let _ = write!(line, " {runs:>7}");
        }
        let _ = writeln!(
            out,
            "{line}  {:>9}  {:>16}  {:>9}  {:>5}  {:>6}  {:>6}  {:>4}  {:>10}",
            job.caught_up,
            job.not_run_by_policy,
            job.abandoned,
            job.reruns,
            job.paused,
            job.manual,
            job.lost.len(),
            job.duplicates.len()
        );
    }
    let _ = writeln!(
        out,
        "(ticks due from each lock's first election to {} s before the final stop)",
        STOP_MARGIN.as_secs()
    );
    if !record.takeovers.is_empty() {
        let _ = writeln!(
            out,
            "\ntakeovers (from the signal to the new leader's \"leadership gained\"):"
        );
    }
    for takeover in &record.takeovers {
        let fault = &takeover.fault;
        let what = format!(
            "{} {} at {:.1} s",
            fault.action.label(),
            record.nodes[fault.node],
            record.seconds(fault.at)
        );
        let outcome = match takeover.by {
            Some((node, after)) => {
                format!("{} after {:.2} s", record.nodes[node], after.as_secs_f64())
            }
            None => "nobody took over".to_owned(),
        };
        let _ = writeln!(out, "  {what:<26} {:<8} -> {outcome}", takeover.lock);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use chrono::TimeZone;

    fn second(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn event(s: i64, kind: Kind) -> Event {
        Event {
            at: second(s),
            kind,
        }
    }

    fn run(tick: i64, term: u64) -> RunId {
        RunId {
            job: "app::digest".into(),
            lock: "email".into(),
            tick: second(tick),
            term,
        }
    }

    fn record_with(misfire: &str, events: Vec<(usize, Event)>) -> Record {
        let mut record = Record::new(&["a", "b"]);
        record.started = second(0);
        record.stopped = Some(second(61));
        record.add_event(
            0,
            event(
                0,
                Kind::JobRegistered {
                    job: "app::digest".into(),
                    lock: "email".into(),
                    cron: "*/10 * * * * *".into(),
                    tz: "UTC".into(),
                    misfire: misfire.into(),
                },
            ),
        );
        let gained = Kind::LeadershipGained {
            lock: "email".into(),
            term: 1,
        };
        record.add_event(0, event(1, gained));
        for (node, event) in events {
            record.add_event(node, event);
        }
        record
    }

    #[test]
    fn a_gap_covered_by_one_catch_up_run_is_the_fire_once_policy_not_a_loss() {
        // Ticks 10..=60; node a ran 10 and 20, died; b caught up 40 only, then ran 50 and 60.
        let mut events = vec![
            (0, event(10, Kind::Run(run(10, 1)))),
            (0, event(20, Kind::Run(run(20, 1)))),
            (1, event(41, Kind::CatchUp(run(40, 2)))),
            (1, event(41, Kind::Run(run(40, 2)))),
            (1, event(50, Kind::Run(run(50, 2)))),
            (1, event(60, Kind::Run(run(60, 2)))),
        ];
        let summary = summarize(&record_with("fire_once", events.clone())).unwrap();
        let job = &summary.jobs[0];
        assert_eq!(job.ticks, 6);
        assert_eq!(job.runs_per_node, vec![2, 3]);
        assert_eq!(job.caught_up, 1);
        assert_eq!(job.not_run_by_policy, 1);
        assert!(summary.is_clean());

        // The same log under fire_all lost tick 30.
        let summary = summarize(&record_with("fire_all", events.clone())).unwrap();
        assert_eq!(summary.jobs[0].lost, vec![second(30)]);
        assert!(!summary.is_clean());

        // A tick run by two nodes is a duplicate.
        events.push((1, event(21, Kind::Run(run(20, 2)))));
        let summary = summarize(&record_with("fire_once", events)).unwrap();
        assert_eq!(summary.jobs[0].duplicates, vec![second(20)]);
        assert!(!summary.is_clean());
    }

    #[test]
    fn an_abandoned_claim_accounts_for_its_tick() {
        let events = vec![
            (0, event(10, Kind::Run(run(10, 1)))),
            (
                1,
                event(
                    22,
                    Kind::Abandoned {
                        job: "app::digest".into(),
                        tick: second(20),
                    },
                ),
            ),
            (1, event(30, Kind::Run(run(30, 2)))),
            (1, event(40, Kind::Run(run(40, 2)))),
            (1, event(50, Kind::Run(run(50, 2)))),
            (1, event(60, Kind::Run(run(60, 2)))),
        ];
        let summary = summarize(&record_with("fire_all", events)).unwrap();
        assert_eq!(summary.jobs[0].abandoned, 1);
        assert!(summary.is_clean());
    }

    #[test]
    fn paused_ticks_are_accounted_for_and_a_manual_run_is_no_duplicate() {
        let paused = |tick| Kind::Paused {
            job: "app::digest".into(),
            tick: second(tick),
        };
        let mut manual = run(0, 1);
        manual.tick = second(33) + chrono::Duration::milliseconds(250);
        let events = vec![
            (0, event(10, Kind::Run(run(10, 1)))),
            (0, event(20, paused(20))),
            (0, event(30, paused(30))),
            (0, event(33, Kind::Manual(manual.clone()))),
            (0, event(33, Kind::Run(manual))),
            (0, event(40, Kind::Run(run(40, 1)))),
            (0, event(50, Kind::Run(run(50, 1)))),
            (0, event(60, Kind::Run(run(60, 1)))),
        ];
        let summary = summarize(&record_with("fire_all", events)).unwrap();
        let job = &summary.jobs[0];
        assert_eq!((job.paused, job.manual, job.runs()), (2, 1, 4));
        assert!(summary.is_clean(), "{summary:?}");
    }
}
