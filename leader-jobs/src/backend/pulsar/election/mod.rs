//! One election on a Pulsar failover subscription: a lock's, or with
//! [`PulsarConfig::election_groups`] a group's, whose leader leads every lock of the group.
//!
//! Every node subscribes to the election topic with subscription type Failover and its node
//! id as consumer name, and publishes a heartbeat there every `heartbeat_interval` while it leads
//! (every other interval while it follows: see `session::follower_beat`). The broker
//! delivers to one active consumer only, so a node that *receives its own heartbeat* knows that it
//! was the active consumer at some moment after it sent that heartbeat. Its lease runs from that send
//! time: a leader that stops receiving its heartbeats (the broker moved the role, the connection
//! broke, the process stalled) stops leading when the lease runs out, measured on the monotonic
//! clock, which keeps counting while a process is stopped.
//!
//! **No preemption.** The broker picks the active consumer among those at the best (lowest)
//! priority level only, then by a hash ring of their names. Every node joins at
//! [`FOLLOWER_LEVEL`]; a node that gains leadership moves to [`LEADER_LEVEL`] by subscribing a
//! second consumer there before closing the first, so the role passes between its own consumers
//! and never leaves the node. A node that joins or rejoins later stays a follower while the leader
//! is connected, whatever its place on the hash ring. During the cold-start window a node stays at
//! the follower level, so nodes that start together spread their locks over the ring.
//!
//! The broker keeps a frozen consumer as active until its keepalive gives up (about 56 s measured).
//! Followers notice such a leader because the subscription's backlog stops draining — the leader
//! acknowledges every heartbeat it receives — and after `stall_grace` they unload the topic through
//! the admin API, which makes the broker pick another active consumer at once.

mod cadence;
mod lease;
mod promotion;
mod session;
mod stall;

use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::PulsarConfig;
use super::admin::AdminClient;
use super::client::ServiceClients;
use super::diagnose::explain_failure;
use super::slow_open;
use crate::backend::Leadership;
use crate::backoff::Backoff;
pub(crate) use lease::Lease;
use session::{Session, SessionEnd};

/// The subscription every node of a cluster joins on each election topic.
const SUBSCRIPTION: &str = "leader-jobs";

/// The priority level of a leader's consumer: the broker prefers it to every follower's.
const LEADER_LEVEL: i32 = 0;
/// The priority level every node joins at.
const FOLLOWER_LEVEL: i32 = 1;
/// The priority level a node rejoins at after its heartbeats were too slow to lead: the broker
/// prefers every other follower, and still picks it when it is the only node left.
const SLOW_LEVEL: i32 = 2;

/// Everything one election topic's task needs.
pub(crate) struct ElectionTask {
    pub(crate) clients: Arc<ServiceClients>,
    pub(crate) admin: AdminClient,
    pub(crate) config: Arc<PulsarConfig>,
    /// The lock this election decides, or its election group's name: what the logs call it.
    pub(crate) lock: String,
    /// The election topic.
    pub(crate) topic: String,
    pub(crate) node: String,
    /// When this node's backend was created: until the cold-start window has passed since, a
    /// leader stays at the follower level so that nodes starting together share the locks.
    pub(crate) node_started: Instant,
    pub(crate) leadership: watch::Sender<Leadership>,
    /// This node's lease and latest confirmation, shared with
    /// [`PulsarElection`](super::PulsarElection) so that "do I lead now?" is answered from the
    /// monotonic clock, not from a task that may be late.
    pub(crate) lease: Arc<Lease>,
    pub(crate) resign: CancellationToken,
}

impl ElectionTask {
    /// Runs sessions until resigned, rebuilding the consumer whenever a session ends.
    pub(crate) async fn run(self) {
        let topic = self.topic.clone();
        let mut backoff = Backoff::new(
            self.config.reconnect_backoff.0,
            self.config.reconnect_backoff.1,
        );
        let mut seq = 0_u64;
        let mut level = FOLLOWER_LEVEL;
        while !self.resign.is_cancelled() {
            // Connecting, joining and diagnosing wait on the broker, which may not answer:
            // resigning must not wait for them.
            let connected = tokio::select! {
                () = self.resign.cancelled() => break,
                connected = self.clients.get() => connected,
            };
            let connected = match connected {
                Ok(connected) => connected,
                Err(error) => {
                    let delay = backoff.next_delay();
                    warn!(lock = %self.lock, node = %self.node, retry_in = ?delay, "cannot join the election on {topic}: {error}");
                    tokio::select! {
                        () = self.resign.cancelled() => break,
                        () = tokio::time::sleep(delay) => continue,
                    }
                }
            };
            let opened = tokio::select! {
                () = self.resign.cancelled() => break,
                opened = slow_open::warn_while_waiting(
                    Session::open(&self, &connected.client, &topic, level), &self.lock, &topic, "join the election"
                ) => opened,
            };
            match opened {
                Ok(mut session) => {
                    backoff.reset();
                    // A session waits on the broker in places (stats, heartbeats): resigning
                    // drops it wherever it is, then closes its consumers and producer.
                    let end = {
                        let running = session.run(&self, &topic, &mut seq);
                        tokio::select! {
                            () = self.resign.cancelled() => SessionEnd::Resigned,
                            end = running => end,
                        }
                    };
                    // The lease ends before the consumer closes: the role may pass to another
                    // node as soon as it has, and no run of ours may start after that.
                    self.step_down(end.reason());
                    if end == SessionEnd::Disconnected {
                        // Its connection is gone: dropping it is enough, and waiting for the
                        // broker to confirm closes on a dead connection would delay rejoining.
                        drop(session);
                        // A heartbeat cut off at its bound may have been reconnecting, which can
                        // leave the client unable to connect again: rejoin on a fresh one (see
                        // `ServiceClients::failed`).
                        self.clients.failed(&connected);
                    } else {
                        session.close().await;
                    }
                    if end == SessionEnd::Resigned {
                        break;
                    }
                    level = if end == SessionEnd::TooSlow {
                        SLOW_LEVEL
                    } else {
                        FOLLOWER_LEVEL
                    };
                }
                Err(error) => {
                    self.clients.failed(&connected);
                    let delay = backoff.next_delay();
                    let why = tokio::select! {
                        () = self.resign.cancelled() => break,
                        why = explain_failure(&self.config, &topic, "join the election on", &error) => why,
                    };
                    warn!(
                        lock = %self.lock,
                        node = %self.node,
                        retry_in = ?delay,
                        "{why}"
                    );
                    tokio::select! {
                        () = self.resign.cancelled() => {}
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        self.step_down("resigned");
    }

    fn step_down(&self, why: &str) {
        self.lease.end();
        let was_leading =
            self.leadership.send_replace(Leadership::Following) == Leadership::Leading;
        if was_leading {
            info!(lock = %self.lock, node = %self.node, reason = why, "leadership lost");
        }
    }

    fn report_gained(&self) {
        if self.leadership.send_replace(Leadership::Leading) != Leadership::Leading {
            info!(lock = %self.lock, node = %self.node, "leadership gained");
        }
    }
}
