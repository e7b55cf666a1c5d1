//! One lock's election on a Pulsar failover subscription.
//!
//! Every node subscribes to the lock's election topic with subscription type Failover and its node
//! id as consumer name, and publishes a heartbeat there every `heartbeat_interval`. The broker
//! delivers to one active consumer only, so a node that *receives its own heartbeat* knows that it
//! was the active consumer at some moment after it sent that heartbeat. Its lease runs from that send
//! time: a leader that stops receiving its heartbeats (the broker moved the role, the connection
//! broke, the process stalled) stops leading when the lease runs out, measured on the monotonic
//! clock, which keeps counting while a process is stopped.
//!
//! The broker keeps a frozen consumer as active until its keepalive gives up (about 56 s measured).
//! Followers notice such a leader because the subscription's backlog stops draining — the leader
//! acknowledges every heartbeat it receives — and after `stall_grace` they unload the topic through
//! the admin API, which makes the broker pick another active consumer at once.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use pulsar::consumer::ConsumerOptions;
use pulsar::{Consumer, Producer, SubType, TokioExecutor};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::admin::AdminClient;
use super::backoff::Backoff;
use super::diagnose::explain_failure;
use super::records::Heartbeat;
use super::slow_open;
use super::{Client, PulsarConfig};
use crate::backend::Leadership;

/// The subscription every node of a cluster joins on each election topic.
const SUBSCRIPTION: &str = "leader-jobs";

/// How often followers sample the subscription's backlog to spot a stalled leader.
const STALL_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// How long resigning waits for the broker to confirm each close.
const CLOSE_BOUND: Duration = Duration::from_secs(2);

/// Everything one lock's election task needs.
pub(crate) struct ElectionTask {
    pub(crate) client: Client,
    pub(crate) admin: AdminClient,
    pub(crate) config: Arc<PulsarConfig>,
    pub(crate) lock: String,
    pub(crate) node: String,
    pub(crate) leadership: watch::Sender<Leadership>,
    /// The current lease's end, shared with [`PulsarElection`](super::PulsarElection) so that
    /// "do I lead now?" is answered from the monotonic clock, not from a task that may be late.
    pub(crate) lease: Arc<Lease>,
    pub(crate) resign: CancellationToken,
}

/// The end of this node's lease on a lock, if it holds one.
#[derive(Debug, Default)]
pub(crate) struct Lease(std::sync::Mutex<Option<Instant>>);

impl Lease {
    fn set(&self, until: Option<Instant>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = until;
    }

    /// True while the lease has not run out.
    pub(crate) fn holds(&self) -> bool {
        let until = *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        until.is_some_and(|until| Instant::now() < until)
    }
}

impl ElectionTask {
    /// Runs sessions until resigned, rebuilding the consumer whenever its stream ends.
    pub(crate) async fn run(self) {
        let topic = self.config.topic(&self.lock, "election");
        let mut backoff = Backoff::new(self.config.reconnect_backoff);
        let mut seq = 0_u64;
        while !self.resign.is_cancelled() {
            // Joining and diagnosing wait on the broker, which may not answer: resigning must
            // not wait for them.
            let opened = tokio::select! {
                () = self.resign.cancelled() => break,
                opened = slow_open::warn_while_waiting(
                    Session::open(&self, &topic), &self.lock, &topic, "join the election"
                ) => opened,
            };
            match opened {
                Ok(mut session) => {
                    backoff.reset();
                    // A session waits on the broker in places (stats, heartbeats): resigning
                    // drops it wherever it is, then closes its consumer and producer.
                    let resigned = {
                        let running = session.run(&self, &topic, &mut seq);
                        tokio::select! {
                            () = self.resign.cancelled() => true,
                            () = running => false,
                        }
                    };
                    if resigned {
                        session.close().await;
                        break;
                    }
                    self.step_down("the election consumer disconnected");
                }
                Err(error) => {
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
        self.lease.set(None);
        let was_leading =
            self.leadership.send_replace(Leadership::Following) == Leadership::Leading;
        if was_leading {
            info!(lock = %self.lock, node = %self.node, reason = why, "leadership lost");
        }
    }
}

/// One connected consumer and producer on the election topic.
struct Session {
    consumer: Consumer<Vec<u8>, TokioExecutor>,
    producer: Producer<TokioExecutor>,
}

impl Session {
    async fn open(task: &ElectionTask, topic: &str) -> Result<Self, pulsar::Error> {
        let consumer = task
            .client
            .consumer()
            .with_topic(topic)
            .with_subscription(SUBSCRIPTION)
            .with_subscription_type(SubType::Failover)
            .with_consumer_name(task.node.clone())
            // A small queue: messages dispatched to a consumer that then stalls count as backlog
            // anyway, and a short queue keeps redelivery after failover cheap.
            .with_options(ConsumerOptions::default().with_receiver_queue_size(64))
            .build::<Vec<u8>>()
            .await?;
        let producer = task.client.producer().with_topic(topic).build().await?;
        Ok(Self { consumer, producer })
    }

    /// Closes the consumer first, which hands the role over at once, then the producer. Both
    /// are bounded: a broker that does not answer drops them with the connection anyway.
    async fn close(mut self) {
        match tokio::time::timeout(CLOSE_BOUND, self.consumer.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                debug!(%error, "closing the election consumer failed; the broker drops it with the connection");
            }
            Err(_) => {
                debug!(
                    "closing the election consumer timed out; the broker drops it with the connection"
                );
            }
        }
        let _ = tokio::time::timeout(CLOSE_BOUND, self.producer.close()).await;
    }

    /// Heartbeats and watches the subscription until the session fails; never returns while
    /// it works, so the caller ends it by dropping it.
    async fn run(&mut self, task: &ElectionTask, topic: &str, seq: &mut u64) {
        let config = &task.config;
        let mut beat = tokio::time::interval(config.heartbeat_interval);
        beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut sample = tokio::time::interval(STALL_SAMPLE_INTERVAL);
        sample.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut sent: VecDeque<(u64, Instant)> = VecDeque::new();
        let mut lease_until: Option<Instant> = None;
        let mut stall = StallDetector::new(config.stall_grace, config.heartbeat_interval);
        let mut last_unload: Option<Instant> = None;

        loop {
            let leading = lease_until.is_some();
            let lease_end = lease_until.unwrap_or_else(Instant::now);
            tokio::select! {
                biased;
                () = tokio::time::sleep_until(lease_end), if leading => {
                    lease_until = None;
                    task.lease.set(None);
                    task.step_down("lease expired: no heartbeat of ours came back in time");
                }
                _ = beat.tick() => {
                    // While leading, a heartbeat stuck in the client must not outlast the lease.
                    let limit = lease_until.map_or(config.lease, |until| {
                        until.saturating_duration_since(Instant::now())
                    });
                    if self.send_heartbeat(task, seq, &mut sent, limit).await.is_err() {
                        return;
                    }
                }
                message = self.consumer.next() => {
                    let Some(message) = message else { return };
                    let message = match message {
                        Ok(message) => message,
                        Err(error) => {
                            warn!(lock = %task.lock, %error, "election consumer failed; rejoining");
                            return;
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
                            return;
                        }
                    }
                    let Some(heartbeat) = Heartbeat::decode(&message.payload.data) else { continue };
                    if heartbeat.node != task.node {
                        // Someone else's heartbeat reached us, so we may have just become the
                        // active consumer: confirm it with a heartbeat of our own now rather
                        // than at the next interval.
                        if !leading
                            && self.send_heartbeat(task, seq, &mut sent, config.lease).await.is_err()
                        {
                            return;
                        }
                        continue;
                    }
                    let Some(sent_at) = take_sent(&mut sent, heartbeat.seq) else { continue };
                    let until = sent_at + config.lease;
                    if until <= Instant::now() {
                        continue;
                    }
                    lease_until = Some(lease_until.map_or(until, |current| current.max(until)));
                    task.lease.set(lease_until);
                    stall.reset();
                    if !leading && task.leadership.send_replace(Leadership::Leading) != Leadership::Leading {
                        info!(lock = %task.lock, node = %task.node, "leadership gained");
                    }
                }
                _ = sample.tick(), if !leading => {
                    self.check_for_stalled_leader(task, topic, &mut stall, &mut last_unload).await;
                }
            }
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

/// Decides from backlog samples whether the active consumer has stopped acknowledging.
///
/// A live leader acknowledges each heartbeat within milliseconds, so the backlog is almost always
/// zero when sampled. A stalled one lets it grow by every heartbeat the others send: the verdict
/// is "stalled" once the backlog has been non-zero for the whole grace period and grew by at
/// least `min_growth`, half of what one other node alone sends in the grace period.
#[derive(Debug)]
struct StallDetector {
    grace: Duration,
    min_growth: u64,
    first_seen: Option<(Instant, u64)>,
}

impl StallDetector {
    fn new(grace: Duration, heartbeat_interval: Duration) -> Self {
        let beats = grace.as_millis() / heartbeat_interval.as_millis().max(1);
        let min_growth = u64::try_from(beats / 2).unwrap_or(u64::MAX).max(2);
        Self {
            grace,
            min_growth,
            first_seen: None,
        }
    }

    fn observe(&mut self, backlog: u64, now: Instant) -> bool {
        if backlog == 0 {
            self.first_seen = None;
            return false;
        }
        let (since, initial) = *self.first_seen.get_or_insert((now, backlog));
        now.duration_since(since) >= self.grace && backlog >= initial + self.min_growth
    }

    fn reset(&mut self) {
        self.first_seen = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draining_backlog_is_not_a_stall() {
        let start = Instant::now();
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_millis(500));
        for second in 0..20 {
            let backlog = if second % 2 == 0 { 1 } else { 0 };
            assert!(!detector.observe(backlog, start + Duration::from_secs(second)));
        }
    }

    #[test]
    fn a_growing_backlog_over_the_grace_is_a_stall() {
        let start = Instant::now();
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_millis(500));
        let verdicts: Vec<bool> = (0..7)
            .map(|s| detector.observe(3 + s * 6, start + Duration::from_secs(s)))
            .collect();
        assert_eq!(verdicts, [false, false, false, false, false, true, true]);
    }

    #[test]
    fn a_backlog_that_lingers_without_growing_is_not_a_stall() {
        let start = Instant::now();
        let mut detector = StallDetector::new(Duration::from_secs(5), Duration::from_millis(500));
        let verdicts: Vec<bool> = (0..10)
            .map(|s| detector.observe(3 + s / 3, start + Duration::from_secs(s)))
            .collect();
        assert!(verdicts.iter().all(|stalled| !stalled), "{verdicts:?}");
    }

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
