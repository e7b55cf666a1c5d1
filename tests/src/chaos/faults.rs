//! The fault kinds of the campaign and the random schedule of them, drawn from a seed.
//!
//! The seed fixes the sequence of kinds, durations, delays, clock steps and the lock whose
//! leader (or a follower of which) each fault hits. Which node that is depends on how the
//! elections went, so a rerun with the same seed replays the same schedule against whatever
//! leaders the broker elects then.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The election's lease (3 s) and stall grace (5 s) of the node application: freezes are drawn
/// on both sides of each.
pub const LEASE: Duration = Duration::from_secs(3);
/// See [`LEASE`].
pub const STALL_GRACE: Duration = Duration::from_secs(5);

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// SIGKILL of a lock's leader; restarted a moment later.
    KillLeader,
    /// SIGKILL of a node that does not lead the chosen lock; restarted a moment later.
    KillFollower,
    /// SIGSTOP of a leader for less than the lease, then SIGCONT.
    FreezeShort,
    /// SIGSTOP of a leader for longer than the lease but less than the stall grace.
    FreezeMid,
    /// SIGSTOP of a leader for longer than the stall grace.
    FreezeLong,
    /// SIGTERM of a leader (graceful handoff), then a start.
    RestartNode,
    /// Graceful broker stop, then a start.
    BrokerStop,
    /// SIGKILL of the broker, then a start.
    BrokerKill,
    /// Every connection between the isolated node and the broker closed, new ones refused.
    LinkCut,
    /// Nothing passes between the isolated node and the broker; connections stay open.
    LinkBlackhole,
    /// Everything between the isolated node and the broker arrives late.
    LinkDelay,
    /// A leader's clock steps forward or back, and later back to true time.
    ClockJump,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 12] = [
        Self::KillLeader,
        Self::KillFollower,
        Self::FreezeShort,
        Self::FreezeMid,
        Self::FreezeLong,
        Self::RestartNode,
        Self::BrokerStop,
        Self::BrokerKill,
        Self::LinkCut,
        Self::LinkBlackhole,
        Self::LinkDelay,
        Self::ClockJump,
    ];

    /// How often the kind is drawn relative to others: broker restarts cost the most time, so
    /// they come less often.
    fn weight(self) -> u32 {
        match self {
            Self::KillLeader | Self::FreezeLong => 14,
            Self::KillFollower | Self::FreezeShort | Self::FreezeMid | Self::RestartNode => 8,
            Self::LinkCut | Self::LinkBlackhole | Self::LinkDelay | Self::ClockJump => 7,
            Self::BrokerStop | Self::BrokerKill => 4,
        }
    }

    /// Whether the kind needs the isolated node and its proxy.
    pub fn needs_isolation(self) -> bool {
        matches!(self, Self::LinkCut | Self::LinkBlackhole | Self::LinkDelay)
    }

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::KillLeader => "kill-leader",
            Self::KillFollower => "kill-follower",
            Self::FreezeShort => "freeze-short",
            Self::FreezeMid => "freeze-mid",
            Self::FreezeLong => "freeze-long",
            Self::RestartNode => "restart-node",
            Self::BrokerStop => "broker-stop",
            Self::BrokerKill => "broker-kill",
            Self::LinkCut => "link-cut",
            Self::LinkBlackhole => "link-blackhole",
            Self::LinkDelay => "link-delay",
            Self::ClockJump => "clock-jump",
        }
    }
}

/// One fault to inject, fully drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFault {
    /// What.
    pub kind: FaultKind,
    /// Picks the lock whose leader (or follower) is hit: an index modulo the lock count.
    pub lock_pick: usize,
    /// How long the fault lasts: freeze, link trouble, clock offset, or the time a killed node
    /// or a stopped broker stays down.
    pub hold: Duration,
    /// Link delay (each way), for [`FaultKind::LinkDelay`].
    pub delay: Duration,
    /// Clock step in milliseconds, for [`FaultKind::ClockJump`].
    pub clock_step_ms: i64,
    /// Quiet time after the cluster recovered, before the next fault.
    pub pause: Duration,
}

/// `count` faults drawn from `seed` among `kinds`. When `count` allows, every kind appears at
/// least once, so a short run still covers them all.
pub fn plan(seed: u64, count: usize, kinds: &[FaultKind]) -> Vec<PlannedFault> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut drawn: Vec<FaultKind> = if count >= kinds.len() {
        kinds.to_vec()
    } else {
        Vec::new()
    };
    let total: u32 = kinds.iter().map(|kind| kind.weight()).sum();
    while drawn.len() < count && total > 0 {
        let mut point = rng.random_range(0..total);
        for kind in kinds {
            if point < kind.weight() {
                drawn.push(*kind);
                break;
            }
            point -= kind.weight();
        }
    }
    drawn.shuffle(&mut rng);
    drawn.into_iter().map(|kind| draw(&mut rng, kind)).collect()
}

fn millis(rng: &mut StdRng, from: u64, to: u64) -> Duration {
    Duration::from_millis(rng.random_range(from..=to))
}

fn draw(rng: &mut StdRng, kind: FaultKind) -> PlannedFault {
    let lease = u64::try_from(LEASE.as_millis()).unwrap_or(u64::MAX);
    let grace = u64::try_from(STALL_GRACE.as_millis()).unwrap_or(u64::MAX);
    let hold = match kind {
        FaultKind::KillLeader | FaultKind::KillFollower => millis(rng, 200, 4_000),
        FaultKind::FreezeShort => millis(rng, 300, lease - 500),
        FaultKind::FreezeMid => millis(rng, lease + 300, grace - 300),
        FaultKind::FreezeLong => millis(rng, grace + 1_000, 15_000),
        FaultKind::RestartNode => millis(rng, 0, 2_000),
        FaultKind::BrokerStop | FaultKind::BrokerKill => millis(rng, 0, 5_000),
        FaultKind::LinkCut => millis(rng, 1_000, 8_000),
        FaultKind::LinkBlackhole => millis(rng, 2_000, 12_000),
        FaultKind::LinkDelay | FaultKind::ClockJump => millis(rng, 4_000, 12_000),
    };
    let delay = millis(rng, 100, 1_500);
    let magnitude: i64 = rng.random_range(2_000..=40_000);
    let clock_step_ms = if rng.random_bool(0.5) {
        magnitude
    } else {
        -magnitude
    };
    PlannedFault {
        kind,
        lock_pick: rng.random_range(0..1_000),
        hold,
        delay,
        clock_step_ms,
        pause: millis(rng, 500, 2_500),
    }
}

/// A fault as injected, one line of `faults.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Its place in the schedule, from 0.
    pub index: usize,
    /// What.
    pub kind: FaultKind,
    /// The node hit; `None` for broker faults.
    pub node: Option<String>,
    /// The locks the hit node (every node, for broker faults) led when the fault began, with
    /// their terms.
    pub led: Vec<(String, u64)>,
    /// What exactly was done (durations, delay, clock step).
    pub detail: String,
    /// When it began.
    pub began: DateTime<Utc>,
    /// When the fault was lifted (the node restarted or thawed, the link healed, the clock
    /// reset, the broker ready again).
    pub lifted: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_schedule() {
        let first = plan(7, 30, &FaultKind::ALL);
        assert_eq!(first, plan(7, 30, &FaultKind::ALL));
        assert_ne!(first, plan(8, 30, &FaultKind::ALL));
        assert_eq!(first.len(), 30);
    }

    #[test]
    fn every_kind_appears_when_the_count_allows() {
        let faults = plan(1, 12, &FaultKind::ALL);
        for kind in FaultKind::ALL {
            assert!(faults.iter().any(|f| f.kind == kind), "{kind:?} missing");
        }
        let without_links: Vec<FaultKind> = FaultKind::ALL
            .into_iter()
            .filter(|kind| !kind.needs_isolation())
            .collect();
        assert!(
            plan(1, 50, &without_links)
                .iter()
                .all(|f| !f.kind.needs_isolation())
        );
    }

    #[test]
    fn freezes_fall_on_their_side_of_lease_and_grace() {
        for fault in plan(3, 300, &FaultKind::ALL) {
            match fault.kind {
                FaultKind::FreezeShort => assert!(fault.hold < LEASE),
                FaultKind::FreezeMid => assert!(fault.hold > LEASE && fault.hold < STALL_GRACE),
                FaultKind::FreezeLong => assert!(fault.hold > STALL_GRACE),
                _ => {}
            }
        }
    }
}
