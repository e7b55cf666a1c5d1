//! Takeover after the leader is killed (SIGKILL) or frozen (SIGSTOP): leader-jobs beside a raw
//! Pulsar failover subscription and etcd elections, each as processes of three candidates.
//!
//! leader-jobs and raw Pulsar trials run one after another (they share the broker, and
//! simultaneous failovers would load it). etcd's takeover is its session TTL, so its trials run
//! side by side, one election group each, or twenty SIGKILL trials at a 60 s TTL would take
//! twenty minutes; each group has its own lease and keepalive phase.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use leader_jobs_tests::cluster::{BrokerUrls, Cluster};
use pulsar::{Pulsar, TokioExecutor};

use crate::roles::{self, ROLE_VAR};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a leader is taken out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// SIGKILL; the node is restarted after the takeover.
    Kill,
    /// SIGSTOP; the node is thawed after the takeover.
    Freeze,
}

/// One kind of candidate process.
#[derive(Clone, Debug)]
pub(crate) struct Candidates {
    /// The series name in rows and the plot (`raw_pulsar`, `etcd_ttl10`, ...).
    pub(crate) label: String,
    /// The bench role the processes run.
    pub(crate) role: &'static str,
    /// Extra environment of the processes.
    pub(crate) env: Vec<(String, String)>,
    /// How long to wait for a takeover before giving up on a trial.
    pub(crate) limit: Duration,
}

/// What the trials of one series found.
#[derive(Clone, Debug, Default)]
pub(crate) struct Trials {
    /// Takeover times.
    pub(crate) samples: Vec<Duration>,
    /// Trials with no takeover within the limit (not in `samples`).
    pub(crate) timeouts: usize,
}

/// Where the processes run.
pub(crate) struct Setup<'a> {
    pub(crate) exe: &'a Path,
    pub(crate) urls: BrokerUrls,
    pub(crate) out: &'a Path,
}

fn cluster(setup: &Setup<'_>, candidates: &Candidates, fault: Fault) -> Result<Cluster, BoxError> {
    let name = leader_jobs_tests::cluster::unique_name(&format!(
        "{}-{}",
        candidates.label,
        if fault == Fault::Kill { "kill" } else { "stop" }
    ));
    let mut cluster = Cluster::on_broker(
        setup.exe,
        &setup.out.join("takeover").join(&name),
        &name,
        setup.urls.clone(),
    )?;
    cluster.set_env(ROLE_VAR, candidates.role);
    for (key, value) in &candidates.env {
        cluster.set_env(key, value);
    }
    Ok(cluster)
}

fn lock_of(candidates: &Candidates, group: &str) -> String {
    if candidates.role == "leader-jobs" {
        crate::TAKEOVER_LOCK.to_owned()
    } else {
        group.to_owned()
    }
}

/// Publishes a message every 20 ms on each raw Pulsar group's topic: a failover consumer only
/// learns it leads from a message.
struct Publisher {
    _runtime: tokio::runtime::Runtime,
}

impl Publisher {
    fn start(urls: &BrokerUrls, topics: Vec<String>) -> Result<Self, BoxError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let client: Pulsar<TokioExecutor> =
            runtime.block_on(Pulsar::builder(&urls.service, TokioExecutor).build())?;
        for topic in topics {
            let client = client.clone();
            runtime.spawn(async move {
                let Ok(mut producer) = client.producer().with_topic(topic).build().await else {
                    return;
                };
                let mut tick = tokio::time::interval(Duration::from_millis(20));
                loop {
                    tick.tick().await;
                    if producer.send_non_blocking(b"beat".to_vec()).await.is_err() {
                        return;
                    }
                }
            });
        }
        Ok(Self { _runtime: runtime })
    }
}

/// Per lock, the node of the latest report of leading it, and when that was.
fn latest_leaders(
    cluster: &Cluster,
) -> Result<BTreeMap<String, (String, DateTime<Utc>)>, BoxError> {
    let mut leaders = BTreeMap::new();
    let mut last_change: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for event in cluster.events()? {
        last_change.insert(event.lock.clone(), event.at);
        if event.term.is_some() {
            leaders.insert(event.lock.clone(), (event.node, event.at));
        } else if leaders
            .get(&event.lock)
            .is_some_and(|(node, _)| *node == event.node)
        {
            leaders.remove(&event.lock);
        }
    }
    Ok(leaders
        .into_iter()
        .map(|(lock, (node, _))| {
            let at = last_change
                .get(&lock)
                .copied()
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            (lock, (node, at))
        })
        .collect())
}

/// Waits until each of `locks` has a leader and has not changed for 3 s; returns the leaders.
fn settled_leaders(
    cluster: &Cluster,
    locks: &[String],
    limit: Duration,
) -> Result<BTreeMap<String, String>, BoxError> {
    let deadline = Instant::now() + limit;
    loop {
        let leaders = latest_leaders(cluster)?;
        let settled = locks.iter().all(|lock| {
            leaders.get(lock).is_some_and(|(_, changed)| {
                (Utc::now() - *changed)
                    .to_std()
                    .is_ok_and(|quiet| quiet >= Duration::from_secs(3))
            })
        });
        if settled {
            return Ok(leaders
                .into_iter()
                .filter(|(lock, _)| locks.contains(lock))
                .map(|(lock, (node, _))| (lock, node))
                .collect());
        }
        if Instant::now() >= deadline {
            return Err(format!("no settled leader for {locks:?} within {limit:?}").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn hit(cluster: &mut Cluster, node: &str, fault: Fault) -> Result<(), BoxError> {
    match fault {
        Fault::Kill => cluster.kill(node)?,
        Fault::Freeze => cluster.freeze(node)?,
    }
    Ok(())
}

fn heal(cluster: &mut Cluster, node: &str, fault: Fault) -> Result<(), BoxError> {
    match fault {
        Fault::Kill => cluster.start(node)?,
        Fault::Freeze => cluster.thaw(node)?,
    }
    Ok(())
}

/// `trials` takeovers one after another in one group of three.
pub(crate) fn sequential(
    setup: &Setup<'_>,
    candidates: &Candidates,
    fault: Fault,
    trials: usize,
) -> Result<Trials, BoxError> {
    let mut cluster = cluster(setup, candidates, fault)?;
    let lock = lock_of(candidates, "g0");
    let _publisher = (candidates.role == "raw-pulsar")
        .then(|| Publisher::start(&setup.urls, vec![roles::raw_topic(cluster.prefix(), "g0")]))
        .transpose()?;
    for id in ["g0-a", "g0-b", "g0-c"] {
        cluster.start(id)?;
    }
    let mut result = Trials::default();
    for trial in 0..trials {
        let leaders = settled_leaders(
            &cluster,
            std::slice::from_ref(&lock),
            Duration::from_secs(90),
        )?;
        let leader = leaders.get(&lock).cloned().ok_or("no leader")?;
        let began = Utc::now();
        hit(&mut cluster, &leader, fault)?;
        let taken = cluster.wait_for_new_leader(&lock, Some(&leader), began, candidates.limit)?;
        heal(&mut cluster, &leader, fault)?;
        match taken {
            Some((_, _, at)) => result
                .samples
                .push((at - began).to_std().unwrap_or_default()),
            None => result.timeouts += 1,
        }
        eprintln!(
            "bench: {} {:?} trial {}/{}: {}",
            candidates.label,
            fault,
            trial + 1,
            trials,
            result
                .samples
                .last()
                .filter(|_| taken.is_some())
                .map_or_else(
                    || "no takeover".to_owned(),
                    |d| format!("{:.3} s", d.as_secs_f64())
                )
        );
    }
    Ok(result)
}

/// `groups` takeovers at once, one per election group of three.
pub(crate) fn parallel(
    setup: &Setup<'_>,
    candidates: &Candidates,
    fault: Fault,
    groups: usize,
) -> Result<Trials, BoxError> {
    let mut cluster = cluster(setup, candidates, fault)?;
    let names: Vec<String> = (0..groups).map(|group| format!("g{group}")).collect();
    let _publisher = (candidates.role == "raw-pulsar")
        .then(|| {
            let topics = names
                .iter()
                .map(|group| roles::raw_topic(cluster.prefix(), group))
                .collect();
            Publisher::start(&setup.urls, topics)
        })
        .transpose()?;
    for group in &names {
        for letter in ["a", "b", "c"] {
            cluster.start(&format!("{group}-{letter}"))?;
        }
    }
    let leaders = settled_leaders(&cluster, &names, Duration::from_secs(120))?;
    let mut hits = Vec::new();
    for group in &names {
        let leader = leaders.get(group).cloned().ok_or("no leader")?;
        let began = Utc::now();
        hit(&mut cluster, &leader, fault)?;
        hits.push((group.clone(), leader, began));
    }
    let mut result = Trials::default();
    for (group, leader, began) in &hits {
        match cluster.wait_for_new_leader(group, Some(leader), *began, candidates.limit)? {
            Some((_, _, at)) => result
                .samples
                .push((at - *began).to_std().unwrap_or_default()),
            None => result.timeouts += 1,
        }
    }
    for (_, leader, _) in &hits {
        heal(&mut cluster, leader, fault)?;
    }
    eprintln!(
        "bench: {} {:?}: {} groups, {} takeovers, {} timeouts",
        candidates.label,
        fault,
        groups,
        result.samples.len(),
        result.timeouts
    );
    Ok(result)
}
