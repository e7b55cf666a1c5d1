//! The project's broker tooling end to end: on the broker of `cargo xtask`, reached with the
//! `pulsar` crate, a failover subscription delivers to one consumer only, and when that
//! consumer's connection closes the broker hands the role to the other one.
//!
//! Each consumer runs as a separate node: its own client, connection and tokio runtime. Shutting
//! a runtime down drops its tasks without any goodbye to the broker, so the broker sees what it
//! sees when a process dies: the TCP connection closes.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

use std::error::Error;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;
use leader_jobs_tests::broker::require_broker;
use pulsar::{Consumer, Pulsar, SubType, TokioExecutor};
use tokio::runtime::Runtime;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

const SUBSCRIPTION: &str = "tooling-failover";
/// Bound for anything the broker is expected to do promptly.
const PROMPT: Duration = Duration::from_secs(10);
/// Bound for the first subscriptions, which may wait for the broker to load the topic: generous,
/// since the test measures the failover, not this.
const SUBSCRIBE: Duration = Duration::from_secs(60);
/// Longer than the broker's `activeConsumerFailoverDelayTimeMillis` (1 s): a consumer that
/// joins may take the active role over, and that move is done after this.
const SETTLE: Duration = Duration::from_secs(2);
/// How long the standby must stay silent while the active consumer receives.
const SILENCE: Duration = Duration::from_secs(1);
/// Failover must come from the closed connection, far sooner than the broker's keepalive
/// (`keepAliveIntervalSeconds` 30) would notice a silent peer.
const FAILOVER_BOUND: Duration = Duration::from_secs(5);

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Debug)]
enum Event {
    Subscribed,
    Received {
        node: &'static str,
        payload: String,
        at: Instant,
    },
    Failed(&'static str, String),
}

/// One consumer with its own client, connection and runtime, as in a process of its own.
struct Node {
    name: &'static str,
    runtime: Runtime,
}

impl Node {
    fn start(
        name: &'static str,
        service_url: &str,
        topic: &str,
        events: UnboundedSender<Event>,
    ) -> Self {
        let runtime = runtime();
        let (service_url, topic) = (service_url.to_owned(), topic.to_owned());
        runtime.spawn(async move {
            if let Err(error) = consume(name, &service_url, &topic, &events).await {
                let _ = events.send(Event::Failed(name, error.to_string()));
            }
        });
        Self { name, runtime }
    }

    /// Ends the node like a crash: every task, the connection's included, is dropped at once,
    /// so the socket closes without the consumer being closed first.
    fn crash(self) {
        self.runtime.shutdown_background();
    }
}

async fn consume(
    name: &'static str,
    service_url: &str,
    topic: &str,
    events: &UnboundedSender<Event>,
) -> Result<(), BoxError> {
    let client = Pulsar::builder(service_url, TokioExecutor).build().await?;
    let mut consumer: Consumer<String, _> = client
        .consumer()
        .with_topic(topic)
        .with_subscription(SUBSCRIPTION)
        .with_subscription_type(SubType::Failover)
        .with_consumer_name(name)
        .build()
        .await?;
    events.send(Event::Subscribed)?;
    while let Some(message) = consumer.next().await {
        let message = message?;
        let at = Instant::now();
        let payload = message.deserialize()?;
        consumer.ack(&message).await?;
        events.send(Event::Received {
            node: name,
            payload,
            at,
        })?;
    }
    Err(format!("{name}: the consumer stream ended").into())
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A topic no earlier run used, so no subscription or backlog is left over.
fn fresh_topic() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    format!(
        "persistent://public/default/tooling-failover-{nanos}-{}",
        std::process::id()
    )
}

async fn next_event(events: &mut UnboundedReceiver<Event>, within: Duration) -> Option<Event> {
    match tokio::time::timeout(within, events.recv()).await {
        Ok(Some(Event::Failed(node, error))) => panic!("{node} failed: {error}"),
        Ok(event) => event,
        Err(_elapsed) => None,
    }
}

async fn next_receipt(
    events: &mut UnboundedReceiver<Event>,
    within: Duration,
) -> Option<(&'static str, String, Instant)> {
    match next_event(events, within).await? {
        Event::Received { node, payload, at } => Some((node, payload, at)),
        other => panic!("expected a received message, got {other:?}"),
    }
}

#[test]
fn failover_subscription_moves_to_the_other_consumer_when_the_active_connection_closes() {
    let service_url = require_broker();
    let topic = fresh_topic();
    let (sender, mut events) = unbounded_channel();
    let node_a = Node::start("node-a", &service_url, &topic, sender.clone());
    let node_b = Node::start("node-b", &service_url, &topic, sender);
    let main = runtime();

    let (producer, active_name) = main.block_on(async {
        for _ in 0..2 {
            match next_event(&mut events, SUBSCRIBE).await {
                Some(Event::Subscribed) => {}
                other => panic!("expected both consumers to subscribe, got {other:?}"),
            }
        }
        tokio::time::sleep(SETTLE).await;

        let client = Pulsar::builder(&service_url, TokioExecutor)
            .build()
            .await
            .expect("a producer client");
        let mut producer = client
            .producer()
            .with_topic(&topic)
            .build()
            .await
            .expect("a producer");
        for index in 1..=3 {
            producer
                .send_non_blocking(format!("before-{index}"))
                .await
                .expect("a send")
                .await
                .expect("a receipt");
        }

        let mut receivers = Vec::new();
        for _ in 1..=3 {
            let (node, payload, _) = next_receipt(&mut events, PROMPT)
                .await
                .expect("every message delivered to a consumer");
            receivers.push((node, payload));
        }
        let active = receivers[0].0;
        assert!(
            receivers.iter().all(|(node, _)| *node == active),
            "a failover subscription delivers to one consumer only, got {receivers:?}"
        );
        let stray = next_event(&mut events, SILENCE).await;
        assert!(stray.is_none(), "the standby received: {stray:?}");
        (producer, active)
    });

    let (active, standby) = if active_name == node_a.name {
        (node_a, node_b)
    } else {
        (node_b, node_a)
    };
    println!(
        "active consumer: {}, standby: {}",
        active.name, standby.name
    );
    let crashed = active.name;
    let closed_at = Instant::now();
    active.crash();

    main.block_on(async {
        // Owned here so that it is dropped inside the runtime: its drop spawns a close task.
        let mut producer = producer;
        producer
            .send_non_blocking("after-failover".to_owned())
            .await
            .expect("a send")
            .await
            .expect("a receipt");
        let mut first_receipt = None;
        loop {
            let (node, payload, at) = next_receipt(&mut events, PROMPT)
                .await
                .expect("the standby to receive after the active consumer's connection closed");
            assert_eq!(node, standby.name, "only the standby is left");
            first_receipt.get_or_insert(at);
            // A message the crashed node had received but whose ack had not reached the
            // broker comes again, before the new one.
            if payload == "after-failover" {
                break;
            }
        }
        let delay = first_receipt.map(|at| at.duration_since(closed_at));
        let delay = delay.expect("at least one receipt");
        println!(
            "failover: {} received {:.3} s after {}'s connection closed",
            standby.name,
            delay.as_secs_f64(),
            crashed
        );
        assert!(
            delay < FAILOVER_BOUND,
            "failover took {delay:?}, expected about activeConsumerFailoverDelayTimeMillis (1 s)"
        );
    });
    standby.crash();
}
