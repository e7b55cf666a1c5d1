//! What the campaign's node application (`chaos-node`) and the campaign agree on: the file where
//! the node describes its jobs, and how the campaign shifts a node's clock.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One job of the node application, as its `#[singleton_job]` attribute declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The job's name.
    pub name: String,
    /// Its lock.
    pub lock: String,
    /// Its cron expression (UTC).
    pub cron: String,
    /// `fire_all`, `fire_once` or `skip`.
    pub misfire: String,
    /// `skip`, `queue` or `allow`.
    pub overlap: String,
    /// `at_most_once` or `at_least_once`.
    #[serde(default = "at_most_once")]
    pub delivery: String,
}

fn at_most_once() -> String {
    leader_jobs::Delivery::AtMostOnce.to_string()
}

impl JobSpec {
    /// The spec of a registered job.
    pub fn of(job: &leader_jobs::Job) -> Self {
        Self {
            name: job.name().to_owned(),
            lock: job.get_lock().to_owned(),
            cron: job.cron().to_owned(),
            // The policies print as the attribute spells them.
            misfire: job.get_misfire().to_string(),
            overlap: job.get_overlap().to_string(),
            delivery: job.get_delivery().to_string(),
        }
    }
}

/// Where a node writes the specs of its jobs (every node writes the same).
pub fn jobs_file(dir: &Path) -> PathBuf {
    dir.join("jobs.json")
}

/// Reads the job specs a node wrote into `dir`.
pub fn read_jobs(dir: &Path) -> std::io::Result<Vec<JobSpec>> {
    let text = std::fs::read_to_string(jobs_file(dir))?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}

/// The file holding node `node`'s clock offset in milliseconds; the node reads it on SIGUSR1.
pub fn clock_file(dir: &Path, node: &str) -> PathBuf {
    dir.join(format!("{node}.clock-offset-ms"))
}
