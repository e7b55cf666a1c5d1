//! Wall-clock time for the scheduler.
//!
//! Schedule ticks are wall-clock instants (`DateTime<Utc>`), while Tokio's timers run on a
//! monotonic clock. The scheduler reads the wall clock through [`Clock`], sleeps on Tokio's timer
//! for the remaining distance, and reads the wall clock again on waking, so clock steps (NTP,
//! suspend, a virtual machine migrating) never make it fire early and are noticed late at most by
//! one re-check interval.
//!
//! [`SystemClock`] is what production uses. [`TestClock`] starts at a fixed instant and advances
//! with Tokio's time, so a test under [`tokio::time::pause`](https://docs.rs/tokio/1/tokio/time/fn.pause.html) runs a simulated day in milliseconds
//! and sees exactly the same ticks every time.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current wall-clock time.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's wall clock (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A wall clock for deterministic tests: it reads `start` when created and then advances exactly as
/// Tokio's clock does, so with [`tokio::time::pause`](https://docs.rs/tokio/1/tokio/time/fn.pause.html) simulated hours pass instantly.
///
/// [`TestClock::jump`] steps the wall clock without moving Tokio's clock, like an NTP correction.
/// Clones share one clock.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use leader_jobs::clock::{Clock, TestClock};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
/// let clock = TestClock::starting_at(start);
/// tokio::time::sleep(std::time::Duration::from_secs(90)).await;
/// assert_eq!(clock.now(), start + chrono::TimeDelta::seconds(90));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct TestClock {
    inner: Arc<TestClockInner>,
}

#[derive(Debug)]
struct TestClockInner {
    start: DateTime<Utc>,
    started: tokio::time::Instant,
    jumped_ms: AtomicI64,
}

impl TestClock {
    /// A clock that reads `start` now and advances with Tokio's clock.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            inner: Arc::new(TestClockInner {
                start,
                started: tokio::time::Instant::now(),
                jumped_ms: AtomicI64::new(0),
            }),
        }
    }

    /// Steps the wall clock by `delta` (negative steps go back) without moving Tokio's clock.
    /// Millisecond precision.
    pub fn jump(&self, delta: TimeDelta) {
        self.inner
            .jumped_ms
            .fetch_add(delta.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = TimeDelta::from_std(self.inner.started.elapsed()).unwrap_or(TimeDelta::MAX);
        let jumped = TimeDelta::milliseconds(self.inner.jumped_ms.load(Ordering::SeqCst));
        elapsed
            .checked_add(&jumped)
            .and_then(|offset| self.inner.start.checked_add_signed(offset))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}
