//! What an idle cluster of nodes costs with 10, 100 and 1000 locks (one never-firing job each,
//! every node running every lock, so each lock has a leader and followers): each node's CPU share
//! and resident memory, and the messages per second the broker handles for the cluster, counted
//! by the broker (per-topic `msgInCounter` + `msgOutCounter` from the admin API).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use leader_jobs_tests::cluster::{BrokerUrls, Cluster};
use serde::Deserialize;

use crate::roles::{self, GROUPS_VAR, LOCKS_VAR, ROLE_VAR};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An idle cluster's cost.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IdleCost {
    pub(crate) locks: usize,
    /// The CPU share of the busiest node.
    pub(crate) cpu_percent: f64,
    /// The resident memory of the largest node.
    pub(crate) rss_mb: f64,
    /// Messages in and out of the cluster's topics, all nodes together.
    pub(crate) broker_messages_per_second: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicStats {
    #[serde(default)]
    msg_in_counter: u64,
    #[serde(default)]
    msg_out_counter: u64,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .proxy(None)
        .build()
        .into()
}

/// Messages in and out of every topic whose name contains `prefix`, and when they were counted.
fn broker_messages(urls: &BrokerUrls, prefix: &str) -> Result<(u64, Instant), BoxError> {
    let agent = agent();
    let admin = urls.admin.trim_end_matches('/');
    let listing = agent
        .get(&format!("{admin}/admin/v2/persistent/public/default"))
        .call()?
        .body_mut()
        .read_to_string()?;
    let topics: Vec<String> = serde_json::from_str(&listing)?;
    let ours: Vec<String> = topics
        .into_iter()
        .filter_map(|topic| {
            topic
                .rsplit('/')
                .next()
                .filter(|local| local.starts_with(prefix))
                .map(str::to_owned)
        })
        .collect();
    let started = Instant::now();
    let chunks: Vec<&[String]> = ours.chunks(ours.len().div_ceil(8).max(1)).collect();
    let total = std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let agent = agent.clone();
                scope.spawn(move || -> Result<u64, String> {
                    let mut sum = 0;
                    for local in chunk {
                        let url =
                            format!("{admin}/admin/v2/persistent/public/default/{local}/stats");
                        let body = agent
                            .get(&url)
                            .call()
                            .and_then(|mut response| response.body_mut().read_to_string())
                            .map_err(|error| format!("GET {url}: {error}"))?;
                        let stats: TopicStats = serde_json::from_str(&body)
                            .map_err(|error| format!("GET {url}: {error}"))?;
                        sum += stats.msg_in_counter + stats.msg_out_counter;
                    }
                    Ok(sum)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .map_err(|_| "a stats reader panicked".to_owned())?
            })
            .sum::<Result<u64, String>>()
    })?;
    // The counters were read over a span of time: take its middle.
    let middle = started + started.elapsed() / 2;
    Ok((total, middle))
}

/// User + system CPU time of `pid` in clock ticks, and its resident memory in kB.
fn process_usage(pid: u32) -> Result<(u64, u64), BoxError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the command name: state is field 3 of the full line, utime 14 and stime 15.
    let ticks = |index: usize| -> Result<u64, BoxError> {
        Ok(fields.get(index - 3).ok_or("short /proc stat")?.parse()?)
    };
    let cpu = ticks(14)? + ticks(15)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .ok_or("no VmRSS")?
        .parse()?;
    Ok((cpu, rss))
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// How long the nodes may take to elect a leader for every lock.
const READY_LIMIT: Duration = Duration::from_secs(300);

/// What one idle measurement runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IdleSetup {
    pub(crate) nodes: usize,
    pub(crate) locks: usize,
    /// `PulsarConfig::election_groups`: 0 elects each lock on a topic of its own.
    pub(crate) election_groups: u16,
    pub(crate) window: Duration,
}

/// Measures `setup.nodes` nodes sharing `setup.locks` locks over `setup.window`.
pub(crate) fn measure(
    exe: &Path,
    urls: &BrokerUrls,
    out: &Path,
    setup: IdleSetup,
) -> Result<IdleCost, BoxError> {
    let IdleSetup {
        nodes,
        locks,
        election_groups,
        window,
    } = setup;
    let name = leader_jobs_tests::cluster::unique_name(&format!("idle{locks}g{election_groups}"));
    let mut cluster = Cluster::on_broker(exe, &out.join("idle").join(&name), &name, urls.clone())?;
    cluster.set_env(ROLE_VAR, "idle");
    cluster.set_env(LOCKS_VAR, &locks.to_string());
    cluster.set_env(GROUPS_VAR, &election_groups.to_string());
    let ids: Vec<String> = (0..nodes)
        .map(|index| format!("idle-{}", char::from(b'a' + (index % 26) as u8)))
        .collect();
    for id in &ids {
        cluster.start(id)?;
    }
    let deadline = Instant::now() + READY_LIMIT;
    while led(cluster.dir(), &ids) < locks {
        if Instant::now() >= deadline {
            return Err(format!(
                "{nodes} idle nodes did not elect a leader for each of {locks} locks within {READY_LIMIT:?}"
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Past the start-up work (term starts, first ledger reads, leaders moving to their priority
    // level once the cold-start window is over).
    std::thread::sleep(Duration::from_secs(10));
    let pids = ids
        .iter()
        .map(|id| cluster.pid(id).ok_or_else(|| format!("no idle node {id}")))
        .collect::<Result<Vec<_>, _>>()?;
    let before = pids
        .iter()
        .map(|pid| process_usage(*pid))
        .collect::<Result<Vec<_>, _>>()?;
    let cpu_from = Instant::now();
    let (messages_before, counted_before) = broker_messages(urls, cluster.prefix())?;
    std::thread::sleep(window);
    let after = pids
        .iter()
        .map(|pid| process_usage(*pid))
        .collect::<Result<Vec<_>, _>>()?;
    let cpu_span = cpu_from.elapsed().as_secs_f64();
    let (messages_after, counted_after) = broker_messages(urls, cluster.prefix())?;
    for id in &ids {
        cluster.terminate(id, Duration::from_secs(30))?;
    }
    let message_span = counted_after.duration_since(counted_before).as_secs_f64();
    let cpu_percent = before
        .iter()
        .zip(&after)
        .map(|((cpu_before, _), (cpu_after, _))| {
            (cpu_after - cpu_before) as f64 / clock_ticks_per_second() / cpu_span * 100.0
        })
        .fold(0.0, f64::max);
    let rss_kb = after.iter().map(|(_, rss)| *rss).max().unwrap_or(0);
    Ok(IdleCost {
        locks,
        cpu_percent,
        rss_mb: rss_kb as f64 / 1024.0,
        broker_messages_per_second: (messages_after - messages_before) as f64 / message_span,
    })
}

/// How many locks the nodes `ids` lead together, as each last wrote it.
fn led(dir: &Path, ids: &[String]) -> usize {
    ids.iter()
        .filter_map(|id| std::fs::read_to_string(roles::leading_file(dir, id)).ok())
        .filter_map(|count| count.trim().parse::<usize>().ok())
        .sum()
}
