//! The node's figures through the [`metrics`] facade (feature `metrics`), named in Prometheus
//! style. Labels are the job and lock names and the outcome: as many series as the node has
//! jobs, whatever its uptime. The application installs the recorder (an exporter) it wants.

use chrono::{DateTime, Utc};

use crate::backend::RunOutcome;
use crate::scheduler::Finished;

/// Every series the runtime writes, for an exporter's descriptions and for tests.
pub const SERIES: [&str; 10] = [
    "leader_jobs_runs_total",
    "leader_jobs_retries_total",
    "leader_jobs_reruns_total",
    "leader_jobs_run_duration_seconds",
    "leader_jobs_tick_lateness_seconds",
    "leader_jobs_is_leader",
    "leader_jobs_term",
    "leader_jobs_takeovers_total",
    "leader_jobs_last_success_timestamp_seconds",
    "leader_jobs_next_tick_timestamp_seconds",
];

/// Describes every series to the installed recorder.
pub(super) fn describe() {
    use metrics::Unit;
    metrics::describe_counter!(
        "leader_jobs_runs_total",
        "Attempts run on this node, by job, lock and outcome"
    );
    metrics::describe_counter!(
        "leader_jobs_retries_total",
        "Attempts after a failed one (each also in leader_jobs_runs_total)"
    );
    metrics::describe_counter!(
        "leader_jobs_reruns_total",
        "Attempts after an abandoned one, delivery at least once (each also in leader_jobs_runs_total)"
    );
    metrics::describe_histogram!(
        "leader_jobs_run_duration_seconds",
        Unit::Seconds,
        "How long each attempt ran"
    );
    metrics::describe_histogram!(
        "leader_jobs_tick_lateness_seconds",
        Unit::Seconds,
        "How long after its tick a scheduled run started"
    );
    metrics::describe_gauge!(
        "leader_jobs_is_leader",
        "1 while this node leads the lock, else 0"
    );
    metrics::describe_gauge!(
        "leader_jobs_term",
        "The term this node leads (or last led) the lock in"
    );
    metrics::describe_counter!(
        "leader_jobs_takeovers_total",
        "Terms this node began on the lock"
    );
    metrics::describe_gauge!(
        "leader_jobs_last_success_timestamp_seconds",
        Unit::Seconds,
        "When the job's last successful run on this node ended (Unix time)"
    );
    metrics::describe_gauge!(
        "leader_jobs_next_tick_timestamp_seconds",
        Unit::Seconds,
        "The job's next tick while this node leads its lock (Unix time)"
    );
}

/// This node began `term` on `lock`.
pub(super) fn leading(lock: &str, term: u64) {
    metrics::gauge!("leader_jobs_is_leader", "lock" => lock.to_owned()).set(1.0);
    #[allow(clippy::cast_precision_loss, reason = "terms stay far below 2^53")]
    metrics::gauge!("leader_jobs_term", "lock" => lock.to_owned()).set(term as f64);
    metrics::counter!("leader_jobs_takeovers_total", "lock" => lock.to_owned()).increment(1);
}

/// This node no longer leads `lock`.
pub(super) fn following(lock: &str) {
    metrics::gauge!("leader_jobs_is_leader", "lock" => lock.to_owned()).set(0.0);
}

/// The job's next tick, while this node leads.
pub(super) fn next_tick(job: &str, next: Option<DateTime<Utc>>) {
    let gauge = metrics::gauge!("leader_jobs_next_tick_timestamp_seconds", "job" => job.to_owned());
    gauge.set(next.map_or(0.0, seconds));
}

/// An attempt ended.
pub(super) fn attempt_finished(job: &str, lock: &str, attempt: &Finished) {
    let outcome = match attempt.outcome {
        RunOutcome::Ok => "ok",
        RunOutcome::Failed => "failed",
        RunOutcome::Panicked => "panicked",
        RunOutcome::TimedOut => "timed_out",
        RunOutcome::Cancelled => "cancelled",
    };
    metrics::counter!(
        "leader_jobs_runs_total",
        "job" => job.to_owned(),
        "lock" => lock.to_owned(),
        "outcome" => outcome
    )
    .increment(1);
    // Both are always written, so that a rate over them exists before the first one happens.
    let retry = u64::from(attempt.attempt > 1 && !attempt.rerun);
    metrics::counter!("leader_jobs_retries_total", "job" => job.to_owned(), "lock" => lock.to_owned())
        .increment(retry);
    metrics::counter!("leader_jobs_reruns_total", "job" => job.to_owned(), "lock" => lock.to_owned())
        .increment(u64::from(attempt.rerun));
    let ran = (attempt.finished_at - attempt.started_at)
        .to_std()
        .unwrap_or_default();
    metrics::histogram!("leader_jobs_run_duration_seconds", "job" => job.to_owned())
        .record(ran.as_secs_f64());
    let on_schedule =
        attempt.attempt == 1 && !attempt.catch_up && !attempt.rerun && !attempt.manual;
    if on_schedule {
        let late = (attempt.started_at - attempt.tick)
            .to_std()
            .unwrap_or_default();
        metrics::histogram!("leader_jobs_tick_lateness_seconds", "job" => job.to_owned())
            .record(late.as_secs_f64());
    }
    if attempt.outcome == RunOutcome::Ok {
        metrics::gauge!(
            "leader_jobs_last_success_timestamp_seconds",
            "job" => job.to_owned()
        )
        .set(seconds(attempt.finished_at));
    }
}

#[allow(
    clippy::cast_precision_loss,
    reason = "Unix milliseconds stay far below 2^53 for millennia"
)]
fn seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}
