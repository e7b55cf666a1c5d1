//! A fault of Pulsar 4.0's standalone mode that this tool works around.
//!
//! Restarted after being killed, the standalone finds its embedded bookie's registration from the
//! previous process still in the RocksDB metadata store. The store deletes such stale ephemeral
//! entries lazily, and that deletion races with the new bookie's registration lock: in about half
//! the restarts here (9 of 18) the lock sees itself invalidated, registers again, and so on for
//! good. The broker still answers, but it burns both cores, writes about 70 MB of log a minute, and
//! its ledgers fail now and then, since the bookie keeps dropping out of the list of available
//! ones. A broker stopped cleanly (SIGTERM) removes its registration, so the start after that does
//! not loop: measured 6 out of 6 times after a looping start.

use std::fs::File;
use std::io::{BufRead as _, BufReader};

use super::layout::BrokerDir;

/// How often a start is tried before giving up on a broker whose bookie keeps re-registering.
pub(crate) const START_ATTEMPTS: usize = 3;

/// The log line the loop writes about a thousand times a second. A healthy start after a kill
/// may write it once.
const SIGNATURE: &str = "Lock on resource /ledgers/available/";
const INVALIDATED: &str = "was invalidated";
/// How many such lines tell a loop from the healthy case.
const LOOPING_AT: usize = 20;

/// Whether the log of the broker of `dir` shows the bookie's registration loop.
pub(crate) fn is_looping(dir: &BrokerDir) -> bool {
    let Ok(log) = File::open(dir.log()) else {
        return false;
    };
    BufReader::new(log)
        .lines()
        .map_while(Result::ok)
        .filter(|line| line.contains(SIGNATURE) && line.contains(INVALIDATED))
        .nth(LOOPING_AT - 1)
        .is_some()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A broker directory of its own per test, with `lines` loop lines in its log if any.
    fn dir_with_log(test: &str, lines: Option<usize>) -> (PathBuf, BrokerDir) {
        let root = std::env::temp_dir().join(format!("xtask-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("a temporary directory");
        let dir = BrokerDir::new(&root).expect("a broker directory");
        let line = "2026-11-30T01:06:18,463 INFO  [metadata-store-1-1] o.a.p.m.c.i.ResourceLockImpl \
                    - Lock on resource /ledgers/available/127.0.0.1:33931 was invalidated. state Valid\n";
        match lines {
            Some(lines) => std::fs::write(dir.log(), line.repeat(lines)).expect("writing the log"),
            None => {
                let _ = std::fs::remove_file(dir.log());
            }
        }
        (root, dir)
    }

    #[test]
    fn a_single_invalidation_is_not_a_loop() {
        let (root, dir) = dir_with_log("single-invalidation", Some(1));
        assert!(!is_looping(&dir));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn thousands_of_invalidations_are_a_loop() {
        let (root, dir) = dir_with_log("looping-bookie", Some(4000));
        assert!(is_looping(&dir));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_missing_log_is_not_a_loop() {
        let (root, dir) = dir_with_log("no-log", None);
        assert!(!is_looping(&dir));
        let _ = std::fs::remove_dir_all(root);
    }
}
