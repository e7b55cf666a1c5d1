//! What a campaign runs its nodes on: a standalone broker of its own, or the tooling's Pulsar
//! cluster, where a broker fault hits one broker of several and the topics it owned move.

use std::time::{Duration, Instant};

use super::campaign::CampaignError;
use super::faults::FaultKind;
use crate::cluster::BrokerUrls;
use crate::dedicated_broker::DedicatedBroker;
use crate::pulsar_cluster::PulsarCluster;

/// The namespace of the campaign's topics.
const NAMESPACE: &str = "public/default";

/// The brokers of a campaign.
#[derive(Clone, Debug)]
pub enum CampaignBrokers {
    /// One standalone broker, which the broker faults stop or kill as a whole.
    Standalone(DedicatedBroker),
    /// The cluster of `cargo xtask pulsar cluster`; a broker fault stops or kills one broker,
    /// and the nodes know every broker's URL.
    Cluster(PulsarCluster),
}

impl CampaignBrokers {
    /// Starts them (a standalone broker on empty data) and returns how long that took.
    pub fn start(&self) -> Result<Duration, CampaignError> {
        match self {
            Self::Standalone(broker) => Ok(broker.start_fresh()?),
            Self::Cluster(cluster) => cluster.start().map_err(cluster_error),
        }
    }

    /// Where the nodes reach them: on a cluster every broker, the first one first.
    pub fn urls(&self) -> BrokerUrls {
        match self {
            Self::Standalone(broker) => broker.urls(),
            Self::Cluster(cluster) => cluster.every_broker(0),
        }
    }

    /// The standalone broker, the only one the link faults' proxy can stand in front of: a
    /// cluster's lookups name the brokers' own addresses.
    pub fn standalone(&self) -> Option<&DedicatedBroker> {
        match self {
            Self::Standalone(broker) => Some(broker),
            Self::Cluster(_) => None,
        }
    }

    /// Stops them all.
    pub fn stop(&self) -> Result<(), CampaignError> {
        match self {
            Self::Standalone(broker) => broker.stop().map(|_| ()).map_err(CampaignError::from),
            Self::Cluster(cluster) => cluster.stop_all().map_err(cluster_error),
        }
    }

    /// A broker fault of `kind` ([`FaultKind::BrokerStop`] or [`FaultKind::BrokerKill`]) held
    /// for `hold`. On a cluster it is aimed at broker `pick` modulo the broker count, and `pick`'s
    /// parity chooses between two faults of a kind, so that one seeded plan covers the four a
    /// cluster adds: a stop is a graceful stop and start (one step of a rolling restart) or an
    /// admin unload of every bundle (the load balancer moving topics); a kill is a SIGKILL or a
    /// SIGSTOP for `hold`. Returns what was done, for the fault's record.
    pub(super) fn fault(
        &self,
        kind: FaultKind,
        pick: usize,
        hold: Duration,
    ) -> Result<String, CampaignError> {
        let stopped = Instant::now();
        match self {
            Self::Standalone(broker) => {
                if kind == FaultKind::BrokerKill {
                    broker.kill()?;
                } else {
                    broker.stop()?;
                }
                let down_after = stopped.elapsed();
                std::thread::sleep(hold);
                let took = broker.start()?;
                Ok(format!(
                    "down after {down_after:.1?}, restarted after {hold:?}, ready in {took:.1?}"
                ))
            }
            Self::Cluster(cluster) => {
                let index =
                    u16::try_from(pick % usize::from(cluster.brokers().max(1))).unwrap_or_default();
                let other = pick % 2 == 1;
                match (kind, other) {
                    (FaultKind::BrokerKill, false) => cluster.kill(index),
                    (FaultKind::BrokerKill, true) => cluster.freeze(index),
                    (_, false) => cluster.stop(index),
                    (_, true) => {
                        cluster
                            .unload_namespace(NAMESPACE, index)
                            .map_err(cluster_error)?;
                        return Ok(format!("every bundle of {NAMESPACE} unloaded"));
                    }
                }
                .map_err(cluster_error)?;
                let down_after = stopped.elapsed();
                std::thread::sleep(hold);
                if kind == FaultKind::BrokerKill && other {
                    cluster.thaw(index).map_err(cluster_error)?;
                    return Ok(format!("broker-{index} frozen {hold:?}"));
                }
                let how = if kind == FaultKind::BrokerKill {
                    "killed"
                } else {
                    "stopped"
                };
                let took = cluster.start().map_err(cluster_error)?;
                Ok(format!(
                    "broker-{index} {how}, down after {down_after:.1?}, started after {hold:?}, \
                     ready in {took:.1?}"
                ))
            }
        }
    }
}

fn cluster_error(error: crate::pulsar_cluster::ClusterError) -> CampaignError {
    CampaignError::Setup(format!("the campaign's cluster: {error}"))
}
