//! The campaign's verdict, from what actually ran (the external run log), what the nodes
//! reported (leadership events), what the cluster did (process and fault logs) and what the
//! ledger holds (claims that never got an outcome).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use leader_jobs::Schedule;
use leader_jobs::backend::Backend;
use leader_jobs::{PulsarBackend, PulsarConfig};

use super::app::{self, JobSpec};
use super::campaign::CampaignRun;
use super::delivery;
use super::faults::{FaultKind, FaultRecord};
use super::leadership;
use super::report::{LeaderlessGap, Lost, Report, StaleStart};
use crate::abandoned_log;
use crate::cluster::{BrokerUrls, NodeEvent, ProcessAction, ProcessEvent};
use crate::run_log::{self, RunEvent};

/// A catch-up run's tick is due by the time its term began; the node's report of the term can
/// trail the scheduler's own reading of the clock by its 10 ms polling and a little more.
const REPORT_SLACK: TimeDelta = TimeDelta::milliseconds(50);

/// The longest a run with no logged end is taken to have gone on: the slowest job runs 7 s,
/// the grace period drops a run 5 s after its leadership ended, and a freeze lasts up to 15 s.
const UNENDED_RUN_LIMIT: TimeDelta = TimeDelta::seconds(30);

/// Why the verdict could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A log could not be read.
    #[error("reading the campaign's logs in {dir}: {source}")]
    Logs {
        /// Where.
        dir: String,
        /// Why.
        source: std::io::Error,
    },
    /// The ledger could not be read.
    #[error("reading the ledger of lock {lock}: {message}")]
    Ledger {
        /// Which lock.
        lock: String,
        /// Why.
        message: String,
    },
    /// A job's schedule does not parse.
    #[error("the schedule of job {job}: {message}")]
    Schedule {
        /// Which job.
        job: String,
        /// Why.
        message: String,
    },
}

/// Claims without an outcome, per lock, as the ledger reports them to a new leader: a run was
/// claimed and then never reported how it ended (its node died, or was fenced mid-run), and no
/// later leader has reported it yet (those reports are in the nodes' `abandoned_log`).
pub fn abandoned_claims(
    urls: &BrokerUrls,
    prefix: &str,
    locks: &[String],
) -> Result<BTreeSet<(String, DateTime<Utc>)>, CheckError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| CheckError::Ledger {
            lock: String::new(),
            message: error.to_string(),
        })?;
    runtime.block_on(async {
        let failed = |lock: &str, message: String| CheckError::Ledger {
            lock: lock.to_owned(),
            message,
        };
        let config = PulsarConfig::new(&urls.service)
            .and_then(|config| config.with_admin_url(&urls.admin))
            .and_then(|config| config.topic_prefix(prefix))
            .map_err(|error| failed("", error.to_string()))?;
        let backend = PulsarBackend::new(config).map_err(|error| failed("", error.to_string()))?;
        let mut abandoned = BTreeSet::new();
        for lock in locks {
            let ledger = backend
                .ledger(lock, "checker")
                .await
                .map_err(|error| failed(lock, error.to_string()))?;
            // Beginning a term is the ledger's one way to report its history; the campaign is
            // over, so the extra term disturbs nothing.
            let start = tokio::time::timeout(
                Duration::from_secs(60),
                ledger.begin_term("checker", chrono::Utc::now()),
            )
            .await
            .map_err(|_| failed(lock, "no answer within 60 s".into()))?
            .map_err(|error| failed(lock, error.to_string()))?;
            abandoned.extend(
                start
                    .history
                    .abandoned
                    .into_iter()
                    .map(|claim| (claim.job, claim.tick)),
            );
        }
        backend.close().await;
        Ok(abandoned)
    })
}

/// Everything the checker reads.
#[derive(Debug)]
pub struct Evidence {
    /// The node application's jobs.
    pub jobs: Vec<JobSpec>,
    /// Every run start, end and panic.
    pub runs: Vec<RunEvent>,
    /// Every leadership change the nodes reported.
    pub reports: Vec<NodeEvent>,
    /// What the cluster did to the processes.
    pub lifecycle: Vec<ProcessEvent>,
    /// Claims without an outcome: reported by a node, or still open in the ledger.
    pub abandoned: BTreeSet<(String, DateTime<Utc>)>,
    /// Of those, the ones still open in the ledger at the end: a rerun of a job delivered at
    /// least once may be pending on them.
    pub open_at_end: BTreeSet<(String, DateTime<Utc>)>,
}

impl Evidence {
    /// Reads the logs of `run` and the ledger on the broker at `urls`.
    pub fn gather(run: &CampaignRun, urls: &BrokerUrls) -> Result<Self, CheckError> {
        let logs = |source| CheckError::Logs {
            dir: run.dir.display().to_string(),
            source,
        };
        let jobs = app::read_jobs(&run.dir).map_err(logs)?;
        let runs = run_log::read_dir(&run.dir).map_err(logs)?;
        let cluster_file = run.dir.join("cluster.jsonl");
        let lifecycle = read_json_lines(&cluster_file).map_err(logs)?;
        let mut reports = Vec::new();
        for entry in std::fs::read_dir(&run.dir).map_err(logs)? {
            let path = entry.map_err(logs)?.path();
            if path.extension().is_some_and(|ext| ext == "events") {
                reports.extend(read_json_lines::<NodeEvent>(&path).map_err(logs)?);
            }
        }
        reports.sort_by_key(|report| report.at);
        let open_at_end = abandoned_claims(urls, &run.prefix, &run.locks)?;
        let mut abandoned = open_at_end.clone();
        abandoned.extend(abandoned_log::read_dir(&run.dir).map_err(logs)?);
        Ok(Self {
            jobs,
            runs,
            reports,
            lifecycle,
            abandoned,
            open_at_end,
        })
    }
}

fn read_json_lines<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
) -> std::io::Result<Vec<T>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

/// Judges a campaign.
pub fn judge(run: &CampaignRun, evidence: &Evidence) -> Result<Report, CheckError> {
    let mut report = Report {
        seed: run.seed,
        election_groups: run.election_groups,
        on_cluster: run.on_cluster,
        dir: run.dir.clone(),
        isolation_unavailable: run.isolation_unavailable.clone(),
        stuck: run.stuck.clone(),
        abandoned: evidence.abandoned.len(),
        ..Report::default()
    };
    for fault in &run.faults {
        *report.faults.entry(fault.kind).or_default() += 1;
    }
    let starts: Vec<&RunEvent> = evidence
        .runs
        .iter()
        .filter(|run| run.event == "start")
        .collect();
    report.runs = starts.len();
    report.panics = evidence.runs.iter().filter(|r| r.event == "panic").count();
    for start in &starts {
        *report.runs_per_job.entry(start.job.clone()).or_default() += 1;
    }
    report.duplicates = duplicates(&starts, &evidence.jobs);
    report.stale_starts = stale_starts(&starts, &evidence.reports);
    for job in &evidence.jobs {
        lost_ticks(job, evidence, &run.faults, &mut report)?;
    }
    let spans = leadership::spans(&evidence.reports, &evidence.lifecycle, run.ended);
    for lock in &run.locks {
        let (from, length) = leadership::longest_gap(
            spans.get(lock).map_or(&[][..], Vec::as_slice),
            run.began,
            run.ended,
        );
        // The faults that can explain the gap: on while it lasted, or lifted shortly before
        // (a broker takes seconds to serve again after it answers, a lease seconds to lapse).
        let until = from + length;
        let around = run
            .faults
            .iter()
            .filter(|fault| fault.began <= until && fault.lifted + TimeDelta::seconds(30) >= from)
            .map(|fault| (fault.index, fault.kind))
            .collect();
        report.leaderless.insert(
            lock.clone(),
            LeaderlessGap {
                from,
                length: length.to_std().unwrap_or_default(),
                around,
            },
        );
    }
    delivery::judge(evidence, &run.faults, &mut report);
    takeovers(run, &evidence.reports, &mut report);
    Ok(report)
}

/// Ticks started more than once; for a job delivered at least once, attempts at a tick started
/// more than once (its reruns are further attempts, judged by [`delivery`]).
fn duplicates(starts: &[&RunEvent], jobs: &[JobSpec]) -> Vec<(String, DateTime<Utc>, Vec<String>)> {
    let reruns: BTreeSet<&str> = jobs
        .iter()
        .filter(|job| delivery::at_least_once(job))
        .map(|job| job.name.as_str())
        .collect();
    let mut by_tick: BTreeMap<(&str, DateTime<Utc>, u32), Vec<String>> = BTreeMap::new();
    for start in starts {
        let attempt = if reruns.contains(start.job.as_str()) {
            start.attempt
        } else {
            0
        };
        by_tick
            .entry((start.job.as_str(), start.tick, attempt))
            .or_default()
            .push(format!("{} (term {})", start.node, start.term));
    }
    by_tick
        .into_iter()
        .filter(|(_, runs)| runs.len() > 1)
        .map(|((job, tick, _), runs)| (job.to_owned(), tick, runs))
        .collect()
}

/// Runs that started under a term lower than one already begun on their lock: begun as seen by
/// an earlier run start, or by a node's report that it leads in that term.
fn stale_starts(starts: &[&RunEvent], reports: &[NodeEvent]) -> Vec<StaleStart> {
    /// When a term was seen begun, which, and by whom.
    type Begun<'a> = (DateTime<Utc>, u64, &'a str);
    let mut begun: HashMap<&str, Vec<Begun<'_>>> = HashMap::new();
    for report in reports {
        if let Some(term) = report.term {
            begun.entry(report.lock.as_str()).or_default().push((
                report.at,
                term,
                report.node.as_str(),
            ));
        }
    }
    for start in starts {
        begun.entry(start.lock.as_str()).or_default().push((
            start.at,
            start.term,
            start.node.as_str(),
        ));
    }
    for list in begun.values_mut() {
        list.sort();
    }
    let mut stale = Vec::new();
    for start in starts {
        let Some(list) = begun.get(start.lock.as_str()) else {
            continue;
        };
        let higher = list
            .iter()
            .take_while(|(at, _, _)| *at < start.at)
            .filter(|(_, term, _)| *term > start.term)
            .min_by_key(|(at, _, _)| *at);
        if let Some((at, term, node)) = higher {
            stale.push(StaleStart {
                run: (*start).clone(),
                higher_term: *term,
                higher_node: (*node).to_owned(),
                higher_at: *at,
            });
        }
    }
    stale
}

/// Ticks of `job` with no run that its misfire policy does not account for.
fn lost_ticks(
    job: &JobSpec,
    evidence: &Evidence,
    faults: &[FaultRecord],
    report: &mut Report,
) -> Result<(), CheckError> {
    let schedule = Schedule::parse(&job.cron).map_err(|error| CheckError::Schedule {
        job: job.name.clone(),
        message: error.to_string(),
    })?;
    let runs: Vec<&RunEvent> = evidence
        .runs
        .iter()
        .filter(|run| run.job == job.name)
        .collect();
    let mut first_start: BTreeMap<DateTime<Utc>, &RunEvent> = BTreeMap::new();
    for run in runs.iter().filter(|run| run.event == "start") {
        first_start.entry(run.tick).or_insert(run);
    }
    let (Some(&first), Some(&last)) = (first_start.keys().next(), first_start.keys().next_back())
    else {
        return Ok(());
    };
    let going = run_intervals(&runs, &evidence.lifecycle);
    // Whether a run of an earlier tick was going while the scheduler handled `tick`: an overlap
    // policy other than `allow` may then skip it. A late scheduler (one that was frozen, or
    // waited for the ledger) handles a tick after its time, but before the next tick's.
    let skippable = |tick: DateTime<Utc>| {
        let handled_by = schedule.next_after(tick).unwrap_or(tick);
        going
            .iter()
            .any(|(earlier, from, until)| *earlier < tick && *from <= handled_by && tick <= *until)
    };
    let mut missed_since_last_run: Vec<DateTime<Utc>> = Vec::new();
    let mut previous = first;
    let mut tick = first;
    while let Some(next) = schedule.next_after(tick).filter(|next| *next <= last) {
        tick = next;
        if let Some(run) = first_start.get(&tick) {
            if !missed_since_last_run.is_empty() {
                judge_gap(
                    job,
                    previous,
                    run,
                    &missed_since_last_run,
                    evidence,
                    faults,
                    report,
                );
                missed_since_last_run.clear();
            }
            previous = tick;
            continue;
        }
        // A job delivered at least once reruns an abandoned tick: only one whose rerun may
        // still be pending is accounted for without a run.
        let accounted = if delivery::at_least_once(job) {
            &evidence.open_at_end
        } else {
            &evidence.abandoned
        };
        if accounted.contains(&(job.name.clone(), tick)) {
            report.abandoned_unrun += 1;
            continue;
        }
        if job.overlap != "allow" && skippable(tick) {
            report.overlap_skips += 1;
            continue;
        }
        missed_since_last_run.push(tick);
    }
    Ok(())
}

/// Each run of a job: its tick, and from its start to its end, or until its process died.
pub(super) fn run_intervals(
    runs: &[&RunEvent],
    lifecycle: &[ProcessEvent],
) -> Vec<(DateTime<Utc>, DateTime<Utc>, DateTime<Utc>)> {
    runs.iter()
        .filter(|run| run.event == "start")
        .map(|start| {
            let end = runs
                .iter()
                .filter(|end| {
                    end.event != "start"
                        && end.tick == start.tick
                        && end.node == start.node
                        && end.at >= start.at
                })
                .map(|end| end.at)
                .min();
            let died = lifecycle
                .iter()
                .filter(|event| {
                    event.node == start.node
                        && event.at >= start.at
                        && matches!(
                            event.action,
                            ProcessAction::Killed | ProcessAction::Exited | ProcessAction::Started
                        )
                })
                .map(|event| event.at)
                .min();
            // A run that logged no end died with its node, or was dropped by the grace period
            // after its leadership ended: no job of the campaign runs long enough to still be
            // going after UNENDED_RUN_LIMIT.
            let limit = start.at + UNENDED_RUN_LIMIT;
            let until = [end, died, Some(limit)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(limit);
            (start.tick, start.at, until)
        })
        .collect()
}

/// Missed ticks between a run of tick `previous` and `run`.
fn judge_gap(
    job: &JobSpec,
    previous: DateTime<Utc>,
    run: &RunEvent,
    missed: &[DateTime<Utc>],
    evidence: &Evidence,
    faults: &[FaultRecord],
    report: &mut Report,
) {
    let lost = |reason: &str, report: &mut Report| {
        report.lost.extend(missed.iter().map(|tick| Lost {
            job: job.name.clone(),
            tick: *tick,
            reason: reason.to_owned(),
        }));
    };
    match job.misfire.as_str() {
        "skip" => report.policy_gaps += 1,
        "fire_once" => {
            let previous_run = evidence
                .runs
                .iter()
                .find(|r| r.event == "start" && r.job == job.name && r.tick == previous);
            let same_term = previous_run
                .is_some_and(|before| before.term == run.term && before.node == run.node);
            if same_term {
                // The leader itself woke up late (frozen, starved, its clock stepped): its
                // misfire policy ran one catch-up. Only plausible while a fault was on.
                let disturbed = faults.iter().any(|fault| {
                    fault.began <= run.tick && fault.lifted + TimeDelta::seconds(5) >= previous
                });
                if disturbed {
                    report.policy_gaps += 1;
                } else {
                    lost("missed inside one term while no fault was on", report);
                }
                return;
            }
            let term_began = evidence
                .reports
                .iter()
                .find(|r| r.node == run.node && r.lock == run.lock && r.term == Some(run.term))
                .map(|r| r.at);
            match term_began {
                None => report.unjudged_gaps += 1,
                Some(began) if run.tick <= began + REPORT_SLACK => report.policy_gaps += 1,
                Some(_) => lost(
                    "the term after the gap ran no catch-up for it (fire_once)",
                    report,
                ),
            }
        }
        _ => lost("no run (fire_all)", report),
    }
}

fn takeovers(run: &CampaignRun, reports: &[NodeEvent], report: &mut Report) {
    for (position, fault) in run.faults.iter().enumerate() {
        let next_fault = run
            .faults
            .get(position + 1)
            .map_or(run.ended, |next| next.began);
        let from = if matches!(fault.kind, FaultKind::BrokerStop | FaultKind::BrokerKill) {
            fault.lifted
        } else {
            fault.began
        };
        for (lock, term) in &fault.led {
            let taken = reports.iter().find(|r| {
                r.lock == *lock
                    && r.at > fault.began
                    && r.at < next_fault
                    && r.term.is_some_and(|t| t > *term)
            });
            match taken {
                Some(taken) => report
                    .takeovers
                    .entry(fault.kind)
                    .or_default()
                    .push((taken.at - from).to_std().unwrap_or_default()),
                None => *report.kept.entry(fault.kind).or_default() += 1,
            }
        }
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
