//! Telling a bookie that refuses writes for want of disk space from other reasons a broker is
//! not ready: the broker answers every read then, and only its log says why nothing is written.

use std::fs::File;
use std::io::{BufRead as _, BufReader};

use super::layout::BrokerDir;

/// What BookKeeper's disk checker logs once the used fraction passes `diskUsageThreshold`.
const OVER_THRESHOLD: &str = "> threshold";
const DISK_CHECKER: &str = "DiskChecker";

/// A sentence for the user when the broker's log shows its bookie turned read-only because the
/// disk is too full.
pub(crate) fn full_disk_hint(dir: &BrokerDir) -> Option<String> {
    let log = File::open(dir.log()).ok()?;
    let line = BufReader::new(log)
        .lines()
        .map_while(Result::ok)
        .filter(|line| line.contains(DISK_CHECKER) && line.contains(OVER_THRESHOLD))
        .last()?;
    let detail = line
        .split_once(" - ")
        .map_or(line.as_str(), |(_, message)| message);
    Some(format!(
        "the broker's bookie refuses writes because the disk holding {} is too full ({detail}): \
         free some space, or raise diskUsageThreshold with --set",
        dir.root().display()
    ))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn dir_with_log(test: &str, log: &str) -> (PathBuf, BrokerDir) {
        let root = std::env::temp_dir().join(format!("xtask-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("a temporary directory");
        let dir = BrokerDir::new(&root).expect("a broker directory");
        std::fs::write(dir.log(), log).expect("writing the log");
        (root, dir)
    }

    #[test]
    fn a_bookie_over_its_disk_threshold_is_named() {
        let (root, dir) = dir_with_log(
            "full-disk",
            "2026-11-30T05:22:49,832 ERROR [LedgerDirsMonitorThread] o.a.b.u.DiskChecker - Space \
             left on device /x/data/bookkeeper/current : 16750022656, Used space fraction: \
             0.9380897 > threshold 0.5.\n",
        );
        let hint = full_disk_hint(&dir).expect("a hint");
        assert!(
            hint.contains("Used space fraction: 0.9380897 > threshold 0.5"),
            "{hint}"
        );
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_warning_below_the_threshold_is_not_a_full_disk() {
        let (root, dir) = dir_with_log(
            "disk-warning",
            "2026-11-30T03:33:30,088 WARN  [main] o.a.b.u.DiskChecker - Space left on device \
             /x/data/bookkeeper/current : 23801987072, Used space fraction: 0.91202474 > \
             WarnThreshold 0.9.\n",
        );
        assert_eq!(full_disk_hint(&dir), None);
        let _ = std::fs::remove_dir_all(root);
    }
}
