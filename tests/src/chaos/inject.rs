//! Injecting one planned fault: choosing its target from the current leaders, doing it,
//! holding it, lifting it, and recording what was done.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use nix::sys::signal::Signal;

use super::app;
use super::campaign::{CampaignConfig, CampaignError, ISOLATED_NODE, Nodes, SHUTDOWN_LIMIT, io};
use super::faults::{FaultKind, FaultRecord, PlannedFault};
use super::proxy::{FaultProxy, LinkMode};

/// Injects `planned` as fault number `index` and returns the record of it.
pub(super) fn inject(
    index: usize,
    planned: &PlannedFault,
    nodes: &mut Nodes,
    locks: &[String],
    config: &CampaignConfig,
    proxy: Option<&FaultProxy>,
) -> Result<FaultRecord, CampaignError> {
    let leaders = nodes.leaders()?;
    let lock = &locks[planned.lock_pick % locks.len()];
    let leader_of_lock = leaders
        .get(lock)
        .map(|(node, _)| node.clone())
        .unwrap_or_else(|| nodes.ids[planned.lock_pick % nodes.ids.len()].clone());
    let led_by = |node: &str| -> Vec<(String, u64)> {
        leaders
            .iter()
            .filter(|(_, (leader, _))| leader == node)
            .map(|(lock, (_, term))| (lock.clone(), *term))
            .collect()
    };
    let hold = planned.hold;
    let began = Utc::now();
    let (node, led, detail) = match planned.kind {
        FaultKind::KillLeader | FaultKind::KillFollower => {
            let target = if planned.kind == FaultKind::KillLeader {
                leader_of_lock
            } else {
                follower_of(&leaders, lock, &nodes.ids, planned.lock_pick)
            };
            let led = led_by(&target);
            nodes
                .cluster
                .kill(&target)
                .map_err(io(format!("killing {target}")))?;
            std::thread::sleep(hold);
            nodes.start(&target)?;
            (
                Some(target),
                led,
                format!("lock {lock}; restarted after {hold:?}"),
            )
        }
        FaultKind::FreezeShort | FaultKind::FreezeMid | FaultKind::FreezeLong => {
            let target = leader_of_lock;
            let led = led_by(&target);
            nodes
                .cluster
                .freeze(&target)
                .map_err(io(format!("freezing {target}")))?;
            nodes.frozen = Some(target.clone());
            std::thread::sleep(hold);
            nodes
                .cluster
                .thaw(&target)
                .map_err(io(format!("thawing {target}")))?;
            nodes.frozen = None;
            (Some(target), led, format!("lock {lock}; frozen {hold:?}"))
        }
        FaultKind::RestartNode => {
            let target = leader_of_lock;
            let led = led_by(&target);
            let graceful = nodes
                .cluster
                .terminate(&target, SHUTDOWN_LIMIT)
                .map_err(io(format!("stopping {target}")))?;
            std::thread::sleep(hold);
            nodes.start(&target)?;
            let how = if graceful {
                "graceful"
            } else {
                "NOT graceful (killed after the limit)"
            };
            (
                Some(target),
                led,
                format!("lock {lock}; shutdown {how}, started after {hold:?}"),
            )
        }
        FaultKind::BrokerStop | FaultKind::BrokerKill => {
            let led: Vec<(String, u64)> = leaders
                .iter()
                .map(|(lock, (_, term))| (lock.clone(), *term))
                .collect();
            let detail = config.broker.fault(planned.kind, planned.lock_pick, hold)?;
            (None, led, detail)
        }
        FaultKind::LinkCut | FaultKind::LinkBlackhole | FaultKind::LinkDelay => {
            let target = ISOLATED_NODE.to_owned();
            let led = led_by(&target);
            let mode = match planned.kind {
                FaultKind::LinkCut => LinkMode::Cut,
                FaultKind::LinkBlackhole => LinkMode::Blackhole,
                _ => LinkMode::Delay(planned.delay),
            };
            if let Some(proxy) = proxy {
                proxy.set(mode);
                std::thread::sleep(hold);
                proxy.set(LinkMode::Pass);
            }
            (Some(target), led, format!("{mode:?} for {hold:?}"))
        }
        FaultKind::ClockJump => {
            let target = leader_of_lock;
            let led = led_by(&target);
            set_clock(nodes, &config.dir, &target, planned.clock_step_ms)?;
            std::thread::sleep(hold);
            set_clock(nodes, &config.dir, &target, 0)?;
            (
                Some(target),
                led,
                format!(
                    "lock {lock}; clock {:+} ms for {hold:?}",
                    planned.clock_step_ms
                ),
            )
        }
    };
    Ok(FaultRecord {
        index,
        kind: planned.kind,
        node,
        led,
        detail,
        began,
        lifted: Utc::now(),
    })
}

/// A node that does not lead `lock`: of those, one that leads the fewest locks.
fn follower_of(
    leaders: &BTreeMap<String, (String, u64)>,
    lock: &str,
    ids: &[String],
    pick: usize,
) -> String {
    let leader = leaders.get(lock).map(|(node, _)| node.as_str());
    let led_count = |id: &str| leaders.values().filter(|(node, _)| node == id).count();
    let candidates: Vec<&String> = ids
        .iter()
        .filter(|id| Some(id.as_str()) != leader)
        .collect();
    let fewest = candidates.iter().map(|id| led_count(id)).min().unwrap_or(0);
    let least: Vec<&&String> = candidates
        .iter()
        .filter(|id| led_count(id) == fewest)
        .collect();
    least
        .get(pick % least.len().max(1))
        .map_or_else(|| ids[pick % ids.len()].clone(), |id| (**id).clone())
}

fn set_clock(nodes: &Nodes, dir: &Path, node: &str, offset_ms: i64) -> Result<(), CampaignError> {
    std::fs::write(app::clock_file(dir, node), offset_ms.to_string())
        .map_err(io(format!("writing the clock offset of {node}")))?;
    nodes
        .cluster
        .signal(node, Signal::SIGUSR1)
        .map_err(io(format!("signalling {node}")))
}
