//! A slow ledger must not make ticks meet the overlap policy: a run overlaps the next tick only
//! if it is still going when that tick comes due, not because a trip to the ledger took longer
//! than the job's period. The fault campaign, with 250 ms added to every trip to the broker, saw
//! an every-second job lose every other tick while outcomes were on their way; the slow-leader
//! test, with 300 ms each way, saw it lose a tick while the claim before it was.

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leader_jobs::backend::memory::MemoryCluster;
use leader_jobs::backend::{
    AnnouncedSchedules, Backend, BackendError, Claim, ClaimVerdict, Command, Election, Ledger,
    LedgerHistory, LedgerRecord, RetryCause, RunEnd, TermStart,
};
use leader_jobs::clock::TestClock;
use leader_jobs::job::JobFuture;
use leader_jobs::{Handle, Job, JobContext, MisfirePolicy, Runtime};

use crate::support::{RunLog, Spec, advance_to, at, every};

/// The in-process backend whose ledger sleeps before each claim, release and outcome record, and
/// reports `claim_window` and `claim_ahead` as its [`Ledger::claim_window`] and
/// [`Ledger::claim_ahead`].
#[derive(Clone)]
pub(crate) struct SlowLedger {
    pub(crate) cluster: MemoryCluster,
    pub(crate) claim_delay: Duration,
    /// How many first claims and retries (of any lock) take `claim_delay`; `None`: every one.
    pub(crate) slow_claims: Option<Arc<AtomicUsize>>,
    pub(crate) record_delay: Duration,
    pub(crate) claim_window: Option<Duration>,
    pub(crate) claim_ahead: Option<Duration>,
}

struct SlowLedgerHandle {
    inner: Arc<dyn Ledger>,
    delays: SlowLedger,
}

#[async_trait]
impl Ledger for SlowLedgerHandle {
    async fn begin_term(&self, node: &str, at: DateTime<Utc>) -> Result<TermStart, BackendError> {
        self.inner.begin_term(node, at).await
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimVerdict, BackendError> {
        self.delays.claim_trip().await;
        self.inner.claim(claim).await
    }

    async fn announce_schedules(&self, announced: &AnnouncedSchedules) -> Result<(), BackendError> {
        self.inner.announce_schedules(announced).await
    }

    async fn history(&self) -> Result<LedgerHistory, BackendError> {
        self.inner.history().await
    }

    async fn retry(
        &self,
        claim: &Claim,
        attempt: u32,
        after: RetryCause,
    ) -> Result<ClaimVerdict, BackendError> {
        self.delays.claim_trip().await;
        self.inner.retry(claim, attempt, after).await
    }

    async fn command(&self, command: &Command) -> Result<(), BackendError> {
        self.inner.command(command).await
    }

    async fn claim_manual(
        &self,
        claim: &Claim,
        request: &str,
    ) -> Result<ClaimVerdict, BackendError> {
        tokio::time::sleep(self.delays.claim_delay).await;
        self.inner.claim_manual(claim, request).await
    }

    async fn record(&self, claim: &Claim, end: &RunEnd) -> Result<(), BackendError> {
        tokio::time::sleep(self.delays.record_delay).await;
        self.inner.record(claim, end).await
    }

    async fn record_abandoned(
        &self,
        claim: &Claim,
        term: u64,
        node: &str,
    ) -> Result<(), BackendError> {
        self.inner.record_abandoned(claim, term, node).await
    }

    async fn release(&self, claim: &Claim) -> Result<bool, BackendError> {
        tokio::time::sleep(self.delays.claim_delay).await;
        self.inner.release(claim).await
    }

    async fn hand_over(&self, term: u64) {
        self.inner.hand_over(term).await;
    }

    async fn rest(&self) {
        self.inner.rest().await;
    }

    fn claim_window(&self) -> Option<Duration> {
        self.delays.claim_window
    }

    fn claim_ahead(&self) -> Option<Duration> {
        self.delays.claim_ahead
    }
}

impl SlowLedger {
    /// The trip of a claim or a retry: `claim_delay` while `slow_claims` says so.
    async fn claim_trip(&self) {
        let slow = self.slow_claims.as_ref().is_none_or(|left| {
            left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        });
        if slow {
            tokio::time::sleep(self.claim_delay).await;
        }
    }

    /// Node `node` running `jobs` on this backend and `clock`.
    pub(crate) fn start(&self, node: &str, clock: &TestClock, jobs: &[&Job]) -> Handle {
        Runtime::builder()
            .node_id(node)
            .backend(self.clone())
            .clock(clock.clone())
            .jobs(jobs.iter().map(|job| (*job).clone()))
            .build()
            .unwrap()
            .start()
            .unwrap()
    }
}

#[async_trait]
impl Backend for SlowLedger {
    async fn election(&self, lock: &str, node: &str) -> Result<Arc<dyn Election>, BackendError> {
        self.cluster.election(lock, node).await
    }

    async fn ledger(&self, lock: &str, node: &str) -> Result<Arc<dyn Ledger>, BackendError> {
        Ok(Arc::new(SlowLedgerHandle {
            inner: self.cluster.ledger(lock, node).await?,
            delays: self.clone(),
        }))
    }
}

/// Runs `job` (every second, overlap policy `skip`) on `backend` for ten seconds and then
/// `settle`, and returns how many ticks it skipped.
async fn skipped_in_ten_seconds(backend: SlowLedger, job: &Job, settle: Duration) -> u64 {
    let clock = TestClock::starting_at(at(0, 0, 0));
    let handle = Runtime::builder()
        .node_id("slow-ledger")
        .backend(backend)
        .clock(clock.clone())
        .jobs([job.clone()])
        .build()
        .unwrap()
        .start()
        .unwrap();
    advance_to(&clock, at(0, 0, 10)).await;
    tokio::time::sleep(settle).await;
    let status = handle.status();
    handle.shutdown().await.unwrap();
    status.job(job.name()).unwrap().counts.skipped
}

static SLOW_RECORD_RUNS: RunLog = RunLog::new();
fn slow_record_job(ctx: JobContext) -> JobFuture {
    SLOW_RECORD_RUNS.record(&ctx);
    Box::pin(async { Ok(()) })
}
static SLOW_RECORD_JOB: LazyLock<Job> =
    LazyLock::new(|| Spec::new("slow-record", "* * * * * *", slow_record_job).build());

#[tokio::test(start_paused = true)]
async fn a_slow_outcome_record_does_not_make_the_next_tick_an_overlap() {
    let backend = SlowLedger {
        cluster: MemoryCluster::new(),
        claim_delay: Duration::ZERO,
        slow_claims: None,
        record_delay: Duration::from_millis(1500),
        claim_window: None,
        claim_ahead: None,
    };
    let skipped = skipped_in_ten_seconds(
        backend.clone(),
        &SLOW_RECORD_JOB,
        Duration::from_millis(500),
    )
    .await;

    assert_eq!(skipped, 0);
    assert_eq!(
        SLOW_RECORD_RUNS.ticks(),
        every(1, at(0, 0, 0), at(0, 0, 10))
    );
    let outcomes = backend
        .cluster
        .records("tests")
        .into_iter()
        .filter(|record| matches!(record, LedgerRecord::Outcome { .. }))
        .count();
    assert_eq!(outcomes, 10, "every outcome still reaches the ledger");
}

/// Claims every tick of `job` (every second, catching up every missed tick, as the slow-leader
/// test's does) through a ledger whose claims take `claim_delay`, and checks that every tick ran,
/// one run at a time, and none was skipped.
async fn assert_slow_claims_skip_nothing(
    claim_delay: Duration,
    job: &Job,
    work: Duration,
    runs: &RunLog,
) {
    let backend = SlowLedger {
        cluster: MemoryCluster::new(),
        claim_delay,
        slow_claims: None,
        record_delay: Duration::ZERO,
        claim_window: None,
        claim_ahead: None,
    };
    let skipped = skipped_in_ten_seconds(backend, job, Duration::from_secs(3)).await;

    assert_eq!(skipped, 0);
    let runs = runs.runs();
    let ticks: Vec<_> = runs.iter().map(|run| run.tick).collect();
    // The runs fall behind their ticks; none is lost.
    assert_eq!(ticks, every(1, at(0, 0, 0), at(0, 0, runs.len() as u32)));
    assert!(runs.len() >= 9, "only {} runs in 13 s", runs.len());
    for pair in runs.windows(2) {
        assert!(
            pair[1].started_at >= pair[0].started_at + work,
            "runs overlapped: {pair:?}"
        );
    }
}

static LONG_CLAIM_RUNS: RunLog = RunLog::new();
fn long_claim_job(ctx: JobContext) -> JobFuture {
    LONG_CLAIM_RUNS.record(&ctx);
    Box::pin(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(())
    })
}
static LONG_CLAIM_JOB: LazyLock<Job> = LazyLock::new(|| {
    Spec {
        misfire: MisfirePolicy::FireAll,
        ..Spec::new("long-claim", "* * * * * *", long_claim_job)
    }
    .build()
});

#[tokio::test(start_paused = true)]
async fn a_claim_slower_than_the_period_delays_ticks_instead_of_skipping_them() {
    let (claim, work) = (Duration::from_millis(1100), Duration::from_millis(50));
    assert_slow_claims_skip_nothing(claim, &LONG_CLAIM_JOB, work, &LONG_CLAIM_RUNS).await;
}

static LATE_START_RUNS: RunLog = RunLog::new();
fn late_start_job(ctx: JobContext) -> JobFuture {
    LATE_START_RUNS.record(&ctx);
    Box::pin(async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    })
}
static LATE_START_JOB: LazyLock<Job> = LazyLock::new(|| {
    Spec {
        misfire: MisfirePolicy::FireAll,
        ..Spec::new("late-start", "* * * * * *", late_start_job)
    }
    .build()
});

/// A claim a little shorter than the period: each run starts just before the next tick and is
/// still going when it comes due, though it lasts a tenth of a period. CI met this shape in the
/// slow-leader test.
#[tokio::test(start_paused = true)]
async fn a_run_that_started_late_does_not_overlap_the_next_tick() {
    let (claim, work) = (Duration::from_millis(950), Duration::from_millis(100));
    assert_slow_claims_skip_nothing(claim, &LATE_START_JOB, work, &LATE_START_RUNS).await;
}

static STALLED_CLAIM_RUNS: RunLog = RunLog::new();
fn stalled_claim_job(ctx: JobContext) -> JobFuture {
    STALLED_CLAIM_RUNS.record(&ctx);
    Box::pin(async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    })
}
static STALLED_CLAIM_JOB: LazyLock<Job> =
    LazyLock::new(|| Spec::new("stalled-claim", "* * * * * *", stalled_claim_job).build());

/// One claim stalls for almost two periods (the broker owning the ledger restarts): the two
/// ticks that came due meanwhile both wait for the late run instead of the second being
/// skipped because the first was already waiting. The cluster suite's rolling restart lost a
/// tick that way.
#[tokio::test(start_paused = true)]
async fn ticks_piled_up_behind_a_stalled_claim_all_run() {
    let backend = SlowLedger {
        cluster: MemoryCluster::new(),
        claim_delay: Duration::from_millis(1960),
        slow_claims: Some(Arc::new(AtomicUsize::new(1))),
        record_delay: Duration::ZERO,
        claim_window: None,
        claim_ahead: None,
    };
    let skipped = skipped_in_ten_seconds(backend, &STALLED_CLAIM_JOB, Duration::from_secs(1)).await;

    assert_eq!(skipped, 0);
    let runs = STALLED_CLAIM_RUNS.runs();
    let ticks: Vec<_> = runs.iter().map(|run| run.tick).collect();
    assert_eq!(ticks, every(1, at(0, 0, 0), at(0, 0, 10)));
    for pair in runs.windows(2) {
        assert!(
            pair[1].started_at >= pair[0].started_at + Duration::from_millis(100),
            "runs overlapped: {pair:?}"
        );
    }
}
