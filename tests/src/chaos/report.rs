//! The campaign's verdict and how it is printed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::faults::FaultKind;
use crate::run_log::RunEvent;

/// A run that started under a term lower than one already begun on its lock.
#[derive(Clone, Debug)]
pub struct StaleStart {
    /// The run's start.
    pub run: RunEvent,
    /// The higher term.
    pub higher_term: u64,
    /// The node that held it.
    pub higher_node: String,
    /// When it was seen first.
    pub higher_at: DateTime<Utc>,
}

/// A tick with no run that the job's misfire policy does not account for.
#[derive(Clone, Debug)]
pub struct Lost {
    /// The job.
    pub job: String,
    /// The tick.
    pub tick: DateTime<Utc>,
    /// Why it counts as lost.
    pub reason: String,
}

/// The longest time a lock had no leader.
#[derive(Clone, Debug)]
pub struct LeaderlessGap {
    /// When it began.
    pub from: DateTime<Utc>,
    /// How long.
    pub length: Duration,
    /// The faults on during it or shortly before it (index, kind).
    pub around: Vec<(usize, FaultKind)>,
}

/// Everything the checker found.
#[derive(Debug, Default)]
pub struct Report {
    /// The seed to rerun with.
    pub seed: u64,
    /// The nodes' election groups (0: one election topic per lock).
    pub election_groups: u16,
    /// The campaign ran on the tooling's cluster (`--cluster`).
    pub on_cluster: bool,
    /// Where the logs are.
    pub dir: PathBuf,
    /// Faults injected, per kind.
    pub faults: BTreeMap<FaultKind, usize>,
    /// Why link faults were not injected, if they were not.
    pub isolation_unavailable: Option<String>,
    /// Run starts.
    pub runs: usize,
    /// Run starts per job.
    pub runs_per_job: BTreeMap<String, usize>,
    /// Runs that panicked (on purpose).
    pub panics: usize,
    /// Ticks started more than once: job, tick, who ran them.
    pub duplicates: Vec<(String, DateTime<Utc>, Vec<String>)>,
    /// Runs started under a term lower than one already begun.
    pub stale_starts: Vec<StaleStart>,
    /// Ticks lost beyond the misfire policy.
    pub lost: Vec<Lost>,
    /// Claims the ledger holds without an outcome (reported to every new leader).
    pub abandoned: usize,
    /// Of those, ticks that never started: accounted for by the ledger, not silent.
    pub abandoned_unrun: usize,
    /// Ticks skipped because a run of the job was still going (overlap policy).
    pub overlap_skips: usize,
    /// Gaps the misfire policy accounts for (`fire_once` catch-ups, `skip`).
    pub policy_gaps: usize,
    /// `fire_once` gaps whose term start no node reported, so they could not be judged.
    pub unjudged_gaps: usize,
    /// Per lock, the longest time without a leader.
    pub leaderless: BTreeMap<String, LeaderlessGap>,
    /// Per fault kind, how long until a new term led each lock the hit node led (for broker
    /// faults: from the broker being ready again).
    pub takeovers: BTreeMap<FaultKind, Vec<Duration>>,
    /// Per fault kind, locks whose leader kept its term through the fault.
    pub kept: BTreeMap<FaultKind, usize>,
    /// Locks that had no leader long after a fault.
    pub stuck: Vec<String>,
    /// Reruns after an abandoned attempt (jobs delivered at least once).
    pub reruns: usize,
    /// Ticks of those jobs that started, did not complete, and are still open in the ledger at
    /// the end: their rerun was pending when the nodes stopped.
    pub reruns_pending_at_end: usize,
    /// Ticks of those jobs completed twice (the first completion's outcome never reached the
    /// ledger).
    pub completed_twice: usize,
    /// Of those, ones no fault explains: the first completion's node was healthy.
    pub unexplained_completions: Vec<String>,
    /// Attempts at one tick that ran at the same time.
    pub overlapping_attempts: Vec<String>,
    /// Attempts that overlapped only because the earlier one's node was frozen (its lease had
    /// ended) and ended it after waking up.
    pub overlaps_after_freeze: usize,
}

impl Report {
    /// How many guarantees were broken (0 for a clean campaign).
    pub fn violations(&self) -> usize {
        self.duplicates.len()
            + self.stale_starts.len()
            + self.lost.len()
            + self.stuck.len()
            + self.unexplained_completions.len()
            + self.overlapping_attempts.len()
    }

    /// Total faults injected.
    pub fn fault_count(&self) -> usize {
        self.faults.values().sum()
    }
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[Duration], percent: usize) -> Option<Duration> {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "== chaos campaign, seed {}, election groups {}{} ==",
            self.seed,
            self.election_groups,
            if self.on_cluster {
                ", on the three-broker cluster"
            } else {
                ""
            }
        )?;
        let kinds: Vec<String> = self
            .faults
            .iter()
            .map(|(kind, count)| format!("{} {count}", kind.name()))
            .collect();
        writeln!(
            f,
            "faults injected: {} ({})",
            self.fault_count(),
            kinds.join(", ")
        )?;
        if let Some(why) = &self.isolation_unavailable {
            writeln!(f, "link faults not injected: {why}")?;
        }
        writeln!(
            f,
            "runs started: {} ({}); deliberate panics: {}",
            self.runs,
            self.runs_per_job
                .iter()
                .map(|(job, count)| format!("{job} {count}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.panics
        )?;
        writeln!(
            f,
            "duplicate runs of one tick:        {}",
            self.duplicates.len()
        )?;
        writeln!(
            f,
            "runs under a superseded term:      {}",
            self.stale_starts.len()
        )?;
        writeln!(f, "ticks lost beyond misfire policy:  {}", self.lost.len())?;
        writeln!(f, "locks stuck without a leader:      {}", self.stuck.len())?;
        writeln!(
            f,
            "accounted for: {} claims without outcome in the ledger ({} never started), {} \
             overlap skips, {} gaps covered by the misfire policy, {} fire_once gaps not judged",
            self.abandoned,
            self.abandoned_unrun,
            self.overlap_skips,
            self.policy_gaps,
            self.unjudged_gaps
        )?;
        writeln!(
            f,
            "delivered at least once: {} reruns after abandonment, {} pending at the end, {} \
             ticks completed twice ({} unexplained), {} overlapping attempts, {} overlaps after \
             a freeze",
            self.reruns,
            self.reruns_pending_at_end,
            self.completed_twice,
            self.unexplained_completions.len(),
            self.overlapping_attempts.len(),
            self.overlaps_after_freeze
        )?;
        writeln!(f, "longest time without a leader, per lock:")?;
        for (lock, gap) in &self.leaderless {
            let around: Vec<String> = gap
                .around
                .iter()
                .map(|(index, kind)| format!("{index} {}", kind.name()))
                .collect();
            writeln!(
                f,
                "  {lock:<8} {} from {} (faults around it: {})",
                seconds(gap.length),
                gap.from.format("%H:%M:%S%.3f"),
                around.join(", ")
            )?;
        }
        writeln!(
            f,
            "takeover per fault kind (new term on each lock the node led; broker: from ready):"
        )?;
        writeln!(
            f,
            "  {:<15} {:>5} {:>9} {:>9} {:>9} {:>6}",
            "kind", "n", "p50", "p99", "max", "kept"
        )?;
        for kind in FaultKind::ALL {
            let mut samples = self.takeovers.get(&kind).cloned().unwrap_or_default();
            let kept = self.kept.get(&kind).copied().unwrap_or(0);
            if samples.is_empty() && kept == 0 {
                continue;
            }
            samples.sort();
            let show = |value: Option<Duration>| value.map_or_else(|| "-".to_owned(), seconds);
            writeln!(
                f,
                "  {:<15} {:>5} {:>9} {:>9} {:>9} {:>6}",
                kind.name(),
                samples.len(),
                show(percentile(&samples, 50)),
                show(percentile(&samples, 99)),
                show(samples.last().copied()),
                kept
            )?;
        }
        for (job, tick, runs) in &self.duplicates {
            writeln!(f, "DUPLICATE {job} tick {tick}: {}", runs.join(", "))?;
        }
        for stale in &self.stale_starts {
            writeln!(
                f,
                "STALE TERM {} tick {} started at {} by {} under term {}, but {} began term {} by {}",
                stale.run.job,
                stale.run.tick,
                stale.run.at,
                stale.run.node,
                stale.run.term,
                stale.higher_node,
                stale.higher_term,
                stale.higher_at
            )?;
        }
        for lost in &self.lost {
            writeln!(f, "LOST {} tick {}: {}", lost.job, lost.tick, lost.reason)?;
        }
        for stuck in &self.stuck {
            writeln!(f, "STUCK {stuck}")?;
        }
        for twice in &self.unexplained_completions {
            writeln!(f, "COMPLETED TWICE {twice}")?;
        }
        for overlap in &self.overlapping_attempts {
            writeln!(f, "OVERLAP {overlap}")?;
        }
        let verdict = if self.violations() == 0 {
            "PASS".to_owned()
        } else {
            format!("FAIL: {} violations", self.violations())
        };
        writeln!(
            f,
            "{verdict} (seed {}; rerun: cargo xtask chaos{} --seed {}; logs: {})",
            self.seed,
            if self.on_cluster { " --cluster" } else { "" },
            self.seed,
            self.dir.display()
        )
    }
}
