//! One connected session on a lock's election topic: a consumer (two for a moment while it moves
//! to the leader's priority level), a producer, and the loop that heartbeats and watches.

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use pulsar::consumer::ConsumerOptions;
use pulsar::{Consumer, Producer, SubType, TokioExecutor};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::cadence;
use super::promotion::{Promotion, promote, slot_at_or_after};
use super::stall::StallDetector;
use super::{ElectionTask, LEADER_LEVEL, SUBSCRIPTION};
#[cfg(doc)]
use super::{FOLLOWER_LEVEL, SLOW_LEVEL};
use crate::backend::pulsar::Client;
use crate::backend::pulsar::records::Heartbeat;

/// How often followers sample the subscription's backlog to spot a stalled leader.
const STALL_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// How often a node that holds no lease heartbeats: at half a leader's rate.
///
/// A follower's heartbeats only tell it, once the broker makes it the active consumer, that it
/// is: its own come back, or anyone's reach it and it confirms at once with one of its own. The
/// broker holds dispatch to a new active consumer for its failover delay (1 s), in which the
/// remaining nodes' heartbeats pile up even at this rate, so takeover waits no longer; and every
/// heartbeat a follower sends is one more message the leader receives and acknowledges: an idle
/// leader of 76 locks on 4 election topics wrote to the broker 32 times a second, about 18 of
/// them acknowledgements of other nodes' heartbeats.
fn follower_beat(heartbeat_interval: Duration) -> Duration {
    heartbeat_interval * 2
}

/// How long resigning waits for the broker to confirm each close.
const CLOSE_BOUND: Duration = Duration::from_secs(2);
/// The least time between two heartbeats sent because a confirmation was wanted.
const NUDGE_SPACING: Duration = Duration::from_millis(50);
/// How long a leader waits before trying again to move to the leader's level.
const PROMOTION_RETRY: Duration = Duration::from_secs(2);

pub(super) type ElectionConsumer = Consumer<Vec<u8>, TokioExecutor>;

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SessionEnd {
    /// The node resigned (graceful shutdown).
    Resigned,
    /// The consumer's stream ended or failed, or a heartbeat could not be handed over.
    Disconnected,
    /// No heartbeat of ours came back within the lease. The session ends so that the node
    /// rejoins at the follower level: a consumer left at the leader's level would take the role
    /// back from whoever leads now.
    LeaseLapsed,
    /// For a whole lease, every heartbeat of ours took longer than the confirmation window to
    /// come back, so no run could start. The node rejoins below the followers, so that one of
    /// them takes the lock over.
    TooSlow,
}

impl SessionEnd {
    pub(super) fn reason(self) -> &'static str {
        match self {
            Self::Resigned => "resigned",
            Self::Disconnected => "the election consumer disconnected",
            Self::LeaseLapsed => "lease expired: no heartbeat of ours came back in time",
            Self::TooSlow => {
                "heartbeats take longer than the confirmation window to come back: handing over"
            }
        }
    }
}

pub(super) struct Session {
    /// The client the session opened with, which its move to the leader's level uses too.
    client: Client,
    consumer: ElectionConsumer,
    producer: Producer<TokioExecutor>,
    level: i32,
    opened_at: Instant,
}

pub(super) async fn subscribe(
    client: &Client,
    topic: &str,
    node: &str,
    level: i32,
) -> Result<ElectionConsumer, pulsar::Error> {
    client
        .consumer()
        .with_topic(topic)
        .with_subscription(SUBSCRIPTION)
        .with_subscription_type(SubType::Failover)
        .with_consumer_name(node.to_owned())
        // A small queue: messages dispatched to a consumer that then stalls count as backlog
        // anyway, and a short queue keeps redelivery after failover cheap.
        .with_options(
            ConsumerOptions::default()
                .with_receiver_queue_size(64)
                .with_priority_level(level),
        )
        .build::<Vec<u8>>()
        .await
}

/// Closes a consumer within [`CLOSE_BOUND`]; a broker that does not answer drops it with the
/// connection anyway.
pub(super) async fn close_consumer(mut consumer: ElectionConsumer) {
    match tokio::time::timeout(CLOSE_BOUND, consumer.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            debug!(%error, "closing an election consumer failed; the broker drops it with the connection");
        }
        Err(_) => {
            debug!(
                "closing an election consumer timed out; the broker drops it with the connection"
            );
        }
    }
}

/// What the session loop knows of its own leadership between events.
struct Standing {
    /// The lease's end, while one holds.
    lease_until: Option<Instant>,
    /// Leadership was reported to the scheduler in this session.
    reported: bool,
    /// A gain waiting to be reported (see [`Session::on_own_heartbeat`]).
    report_at: Option<Instant>,
    /// When to send the heartbeat whose return starts the move to the leader's level.
    promote_at: Option<Instant>,
    /// The heartbeat whose return starts the move to the leader's level.
    promote_on: Option<u64>,
    /// A move to the leader's level is under way: its heartbeat is out or it is subscribing.
    promoting: bool,
    /// Since when every heartbeat of ours took longer than the confirmation window to return.
    slow_since: Option<Instant>,
}

impl Session {
    /// Joins at `level`: [`FOLLOWER_LEVEL`], or [`SLOW_LEVEL`] after a session that was too
    /// slow to lead.
    pub(super) async fn open(
        task: &ElectionTask,
        client: &Client,
        topic: &str,
        level: i32,
    ) -> Result<Self, pulsar::Error> {
        let consumer = subscribe(client, topic, &task.node, level).await?;
        let producer = client.producer().with_topic(topic).build().await?;
        Ok(Self {
            client: client.clone(),
            consumer,
            producer,
            level,
            opened_at: Instant::now(),
        })
    }

    /// Closes the consumer first, which hands the role over at once, then the producer. Both
    /// are bounded: a broker that does not answer drops them with the connection anyway.
    pub(super) async fn close(self) {
        close_consumer(self.consumer).await;
        let mut producer = self.producer;
        let _ = tokio::time::timeout(CLOSE_BOUND, producer.close()).await;
    }

    /// Heartbeats and watches the subscription until the session ends. Resigning drops this
    /// future wherever it waits.
    pub(super) async fn run(
        &mut self,
        task: &ElectionTask,
        topic: &str,
        seq: &mut u64,
    ) -> SessionEnd {
        let config = &task.config;
        let follower_every = follower_beat(config.heartbeat_interval);
        let mut beat_every = follower_every;
        // The first heartbeat goes at once, for a quick election; the rest on the node's grid.
        let mut beat = tokio::time::interval(beat_every);
        let mut beat_on_grid = false;
        // Half-way between a follower's heartbeats: a sample taken as our own heartbeat leaves
        // would count it in the backlog.
        let mut sample = cadence::on_grid(STALL_SAMPLE_INTERVAL, STALL_SAMPLE_INTERVAL / 2);
        let mut sent: VecDeque<(u64, Instant)> = VecDeque::new();
        let mut stall = StallDetector::new(config.stall_grace, follower_every);
        let mut last_unload: Option<Instant> = None;
        let mut standing = Standing {
            lease_until: None,
            reported: false,
            report_at: None,
            promote_at: None,
            promote_on: None,
            promoting: false,
            slow_since: None,
        };
        let mut promotion: Option<Promotion> = None;
        let far = || Instant::now() + Duration::from_secs(3600);

        loop {
            let holding = standing.lease_until.is_some();
            // Within a session the lease is only ever gained: a lapse ends the session.
            if holding && beat_every != config.heartbeat_interval {
                beat_every = config.heartbeat_interval;
                beat = cadence::on_grid(beat_every, Duration::ZERO);
                beat_on_grid = true;
            }
            tokio::select! {
                biased;
                () = tokio::time::sleep_until(standing.lease_until.unwrap_or_else(far)), if holding => {
                    return SessionEnd::LeaseLapsed;
                }
                () = tokio::time::sleep_until(standing.report_at.unwrap_or_else(far)), if standing.report_at.is_some() => {
                    standing.report_at = None;
                    self.report_gained(task, &mut standing);
                }
                promoted = async {
                    match promotion.as_mut() {
                        Some(pending) => pending.await,
                        None => std::future::pending().await,
                    }
                }, if promotion.is_some() => {
                    promotion = None;
                    standing.promoting = false;
                    self.on_promoted(task, &mut standing, promoted);
                }
                () = tokio::time::sleep_until(standing.promote_at.unwrap_or_else(far)), if standing.promote_at.is_some() => {
                    // The move starts only when this heartbeat comes back. A node that joined
                    // since our heartbeats last came back may have the role and a newer term:
                    // moving up then would take the role back under our older term. The bench's
                    // rapid kills met this: a node restarted within the leader's cold-start
                    // window took the role, and the leader took it back a second later.
                    standing.promote_at = None;
                    standing.promoting = true;
                    let limit = standing.lease_until.map_or(config.lease, |until| {
                        until.saturating_duration_since(Instant::now())
                    });
                    if self.send_heartbeat(task, seq, &mut sent, limit).await.is_err() {
                        return SessionEnd::Disconnected;
                    }
                    standing.promote_on = Some(*seq);
                }
                _ = beat.tick() => {
                    // While leading, a heartbeat stuck in the client must not outlast the lease.
                    let limit = standing.lease_until.map_or(config.lease, |until| {
                        until.saturating_duration_since(Instant::now())
                    });
                    if self.send_heartbeat(task, seq, &mut sent, limit).await.is_err() {
                        return SessionEnd::Disconnected;
                    }
                    if !beat_on_grid {
                        beat = cadence::on_grid(beat_every, Duration::ZERO);
                        beat_on_grid = true;
                    }
                }
                () = task.lease.nudged(), if holding => {
                    let spaced = sent.back().is_none_or(|(_, at)| at.elapsed() >= NUDGE_SPACING);
                    let limit = standing.lease_until.map_or(config.lease, |until| {
                        until.saturating_duration_since(Instant::now())
                    });
                    if spaced && self.send_heartbeat(task, seq, &mut sent, limit).await.is_err() {
                        return SessionEnd::Disconnected;
                    }
                }
                message = self.consumer.next() => {
                    let Some(message) = message else { return SessionEnd::Disconnected };
                    let message = match message {
                        Ok(message) => message,
                        Err(error) => {
                            warn!(lock = %task.lock, %error, "election consumer failed; rejoining");
                            return SessionEnd::Disconnected;
                        }
                    };
                    // Bounded like a heartbeat's send: while this waits, the lease's expiry is not
                    // polled, and the scheduler then holds its ticks (it claims nothing on a
                    // lapsed lease) without the election ever reporting the loss. The fault
                    // campaign saw a restarted node's locks sit still for up to 12 s, leading in
                    // the election's last report, and this was the one unbounded wait there.
                    match tokio::time::timeout(config.heartbeat_interval, self.consumer.ack(&message)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => debug!(%error, "acknowledging a heartbeat failed"),
                        Err(_) => {
                            warn!(lock = %task.lock, "acknowledging a heartbeat took too long; rejoining");
                            return SessionEnd::Disconnected;
                        }
                    }
                    let Some(heartbeat) = Heartbeat::decode(&message.payload.data) else { continue };
                    if heartbeat.node != task.node {
                        // Someone else's heartbeat reached us, so we may have just become the
                        // active consumer: confirm it with a heartbeat of our own now rather
                        // than at the next interval.
                        if !holding
                            && self.send_heartbeat(task, seq, &mut sent, config.lease).await.is_err()
                        {
                            return SessionEnd::Disconnected;
                        }
                        continue;
                    }
                    let Some(sent_at) = take_sent(&mut sent, heartbeat.seq) else { continue };
                    let until = sent_at + config.lease;
                    if until <= Instant::now() {
                        continue;
                    }
                    standing.lease_until = Some(standing.lease_until.map_or(until, |current| current.max(until)));
                    task.lease.renew(sent_at, until);
                    stall.reset();
                    if sent_at.elapsed() < config.confirmation_window {
                        standing.slow_since = None;
                    } else if standing.slow_since.get_or_insert_with(Instant::now).elapsed() >= config.lease {
                        warn!(lock = %task.lock, node = %task.node, round_trip = ?sent_at.elapsed(), "{}", SessionEnd::TooSlow.reason());
                        return SessionEnd::TooSlow;
                    }
                    if let Some(awaited) = standing.promote_on.filter(|awaited| heartbeat.seq >= *awaited) {
                        standing.promote_on = None;
                        if heartbeat.seq == awaited {
                            promotion = Some(promote(&self.client, task, topic));
                        } else {
                            // That heartbeat was lost: the next that comes back sets a new slot.
                            standing.promoting = false;
                        }
                    }
                    self.on_own_heartbeat(task, &mut standing);
                    if standing.promote_at.is_some_and(|at| at <= Instant::now()) {
                        // After a takeover the move starts on this very heartbeat: a further
                        // round trip first let a node that joined right after the gain take the
                        // role (`pulsar_backend.rs` met it in CI).
                        standing.promote_at = None;
                        standing.promoting = true;
                        promotion = Some(promote(&self.client, task, topic));
                    }
                }
                _ = sample.tick(), if !holding => {
                    self.check_for_stalled_leader(task, topic, &mut stall, &mut last_unload).await;
                }
            }
        }
    }

    /// One of our heartbeats came back, so the broker made us the active consumer. A session
    /// younger than a lease may have taken the role from a leader that is still alive (the
    /// broker can move it on a join); that leader starts no run once its last confirmation is a
    /// confirmation window old, so the gain is reported only after that window. A session that
    /// has been in place longer gained the role because the leader's consumer went away.
    fn on_own_heartbeat(&self, task: &ElectionTask, standing: &mut Standing) {
        if self.level != LEADER_LEVEL && standing.promote_at.is_none() && !standing.promoting {
            // Moving up at once keeps the time in which a joining node could take the role
            // short: after a takeover, the node that was killed often restarts within the
            // second, and waiting for a slot between ticks let it take the role back (the
            // bench's kill trials flapped every time). Only the end of the cold-start window,
            // a moment known in advance, waits for the slot: its move holds back no tick.
            let spread_until = task.node_started + task.config.cold_start_window;
            let now = Instant::now();
            standing.promote_at = Some(if now >= spread_until {
                now
            } else {
                slot_at_or_after(spread_until, task.config.confirmation_window)
            });
        }
        if standing.reported || standing.report_at.is_some() {
            return;
        }
        if self.opened_at.elapsed() < task.config.lease {
            standing.report_at = Some(Instant::now() + task.config.confirmation_window);
        } else {
            self.report_gained(task, standing);
        }
    }

    fn report_gained(&self, task: &ElectionTask, standing: &mut Standing) {
        if standing
            .lease_until
            .is_none_or(|until| until <= Instant::now())
        {
            return;
        }
        standing.reported = true;
        task.report_gained();
    }

    fn on_promoted(
        &mut self,
        task: &ElectionTask,
        standing: &mut Standing,
        promoted: Result<Result<ElectionConsumer, pulsar::Error>, oneshot::error::RecvError>,
    ) {
        match promoted {
            Ok(Ok(consumer)) => {
                // The broker moved the role to the new consumer when it subscribed; our
                // heartbeats come back through it after the broker's failover delay, well
                // within the lease.
                let follower = std::mem::replace(&mut self.consumer, consumer);
                self.level = LEADER_LEVEL;
                tokio::spawn(close_consumer(follower));
                info!(lock = %task.lock, node = %task.node, "moved to the leader's priority level: a node that joins now stays a follower");
            }
            Ok(Err(error)) => {
                warn!(lock = %task.lock, %error, retry_in = ?PROMOTION_RETRY, "could not move to the leader's priority level; a node that joins may take the lock over");
                standing.promote_at = Some(Instant::now() + PROMOTION_RETRY);
            }
            Err(_) => standing.promote_at = Some(Instant::now() + PROMOTION_RETRY),
        }
    }

    /// Sends one heartbeat, giving up after `limit`: the client's send waits while it re-creates
    /// a producer whose connection died, up to its operation timeout (30 s), and meanwhile this
    /// session's loop, and with it the lease's expiry, is not polled. Measured in the fault
    /// campaign: leaders of a killed broker kept reporting leadership for 30 s.
    async fn send_heartbeat(
        &mut self,
        task: &ElectionTask,
        seq: &mut u64,
        sent: &mut VecDeque<(u64, Instant)>,
        limit: Duration,
    ) -> Result<(), HeartbeatFailed> {
        *seq += 1;
        let now = Instant::now();
        while sent
            .front()
            .is_some_and(|(_, at)| now.duration_since(*at) > task.config.lease)
        {
            sent.pop_front();
        }
        sent.push_back((*seq, now));
        let payload = Heartbeat::new(&task.node, *seq).encode();
        // The receipt is not awaited: what matters is whether the heartbeat comes back to us.
        match tokio::time::timeout(limit, self.producer.send_non_blocking(payload)).await {
            Ok(Ok(_receipt)) => Ok(()),
            Ok(Err(error)) => {
                warn!(lock = %task.lock, %error, "sending a heartbeat failed; rejoining");
                Err(HeartbeatFailed)
            }
            Err(_) => {
                warn!(lock = %task.lock, ?limit, "a heartbeat could not be sent in time; rejoining");
                Err(HeartbeatFailed)
            }
        }
    }

    async fn check_for_stalled_leader(
        &mut self,
        task: &ElectionTask,
        topic: &str,
        stall: &mut StallDetector,
        last_unload: &mut Option<Instant>,
    ) {
        let backlog = match self.consumer.get_stats().await {
            Ok(stats) => stats
                .iter()
                .filter_map(|s| s.msg_backlog)
                .max()
                .unwrap_or(0),
            Err(error) => {
                debug!(%error, "reading subscription stats failed");
                return;
            }
        };
        let now = Instant::now();
        if !stall.observe(backlog, now) {
            return;
        }
        if last_unload.is_some_and(|at| now.duration_since(at) < task.config.stall_grace) {
            return;
        }
        *last_unload = Some(now);
        warn!(
            lock = %task.lock,
            node = %task.node,
            backlog,
            "the leader stopped acknowledging heartbeats for {:?}; unloading {topic} so the broker picks another leader",
            task.config.stall_grace
        );
        match task.admin.unload(topic).await {
            Ok(()) => stall.reset(),
            Err(error) if error.is_permanent() => warn!(lock = %task.lock, %error),
            Err(error) => warn!(lock = %task.lock, %error, "unloading failed; will retry"),
        }
    }
}

/// A heartbeat could not be handed to the broker: the session is over.
struct HeartbeatFailed;

/// Removes and returns the send time of our heartbeat `seq`, dropping older entries: heartbeats
/// come back in order, so anything before `seq` was lost.
fn take_sent(sent: &mut VecDeque<(u64, Instant)>, seq: u64) -> Option<Instant> {
    while let Some(&(front, at)) = sent.front() {
        if front > seq {
            return None;
        }
        sent.pop_front();
        if front == seq {
            return Some(at);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_are_matched_in_order() {
        let now = Instant::now();
        let mut sent: VecDeque<(u64, Instant)> = (1..=4)
            .map(|seq| (seq, now + Duration::from_millis(seq)))
            .collect();
        assert_eq!(
            take_sent(&mut sent, 2),
            Some(now + Duration::from_millis(2))
        );
        assert_eq!(take_sent(&mut sent, 1), None);
        assert_eq!(sent.len(), 2);
    }
}
