//! Which election topic decides who leads a lock: its own, or one of a fixed number of topics
//! that many locks share ([`PulsarConfig::election_groups`]), so that what a cluster sends to
//! keep its leaders does not grow with its locks.

use super::PulsarConfig;

impl PulsarConfig {
    /// Elects the leaders of all locks on `groups` shared election topics instead of one topic
    /// per lock (default 0: one per lock).
    ///
    /// Every node heartbeats on every election topic it joins, twice a second by default, so
    /// with one topic per lock a cluster's idle traffic grows with its locks (about 12 broker
    /// messages a second per lock on three nodes). With groups it grows with the groups: the
    /// locks are spread over them by a hash of their names, and the node that leads a group leads
    /// all of its locks. Takeover works as for one lock; each lock still has its own ledger, so
    /// terms, claims and fencing stay per lock. The price is placement: locks of one group always
    /// share a leader, so a cluster spreads groups over its nodes, not single locks.
    ///
    /// Every node of a cluster must use the same value. Nodes that differ elect on different
    /// topics, each believes it leads, and the ledger fences them against each other: nothing
    /// runs twice, but the lock's terms alternate and ticks wait. Change it with all nodes
    /// stopped, as when changing the topic prefix.
    ///
    /// ```
    /// use leader_jobs::PulsarConfig;
    ///
    /// let config = PulsarConfig::new("pulsar://127.0.0.1:6650")?.election_groups(8);
    /// assert_eq!(
    ///     config.election_topic("email"),
    ///     "persistent://public/default/leader-jobs.elections.7-of-8"
    /// );
    /// # Ok::<(), leader_jobs::PulsarConfigError>(())
    /// ```
    #[must_use]
    pub fn election_groups(mut self, groups: u16) -> Self {
        self.election_groups = groups;
        self
    }

    /// The election topic that decides who leads `lock`: `<prefix>.<lock>.election`, or with
    /// [election groups](Self::election_groups) `<prefix>.elections.<group>-of-<groups>`, which
    /// no lock's own topics can be named (lock names have no dots, and theirs end in
    /// `.election` or `.ledger`). Where to look when watching or unloading a lock's election.
    pub fn election_topic(&self, lock: &str) -> String {
        match self.election_groups {
            0 => self.topic(lock, "election"),
            groups => format!(
                "persistent://{}/{}/{}.elections.{}-of-{groups}",
                self.tenant,
                self.namespace,
                self.topic_prefix,
                group_of(lock, groups)
            ),
        }
    }

    /// What the election of `lock` is called in logs: the lock, or its group.
    pub(crate) fn election_name(&self, lock: &str) -> String {
        match self.election_groups {
            0 => lock.to_owned(),
            groups => format!("elections.{}-of-{groups}", group_of(lock, groups)),
        }
    }
}

/// The group of `lock` among `groups` (at least 1): the 64-bit FNV-1a hash of its name modulo
/// `groups`. Written out rather than taken from `std`, whose hashers may change between Rust
/// versions: every node, whatever it was built with, must put a lock in the same group.
fn group_of(lock: &str, groups: u16) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let hash = lock.bytes().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    });
    hash % u64::from(groups.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PulsarConfig {
        PulsarConfig::new("pulsar://127.0.0.1:6650").unwrap()
    }

    #[test]
    fn without_groups_each_lock_has_its_own_topic() {
        assert_eq!(
            config().election_topic("email"),
            "persistent://public/default/leader-jobs.email.election"
        );
        assert_eq!(config().election_name("email"), "email");
    }

    /// Pinned: a change here moves locks between topics, which every node must agree on.
    #[test]
    fn a_lock_s_group_never_changes() {
        assert_eq!(group_of("", 8), 0xcbf2_9ce4_8422_2325 % 8);
        assert_eq!(group_of("a", 1000), 0xaf63_dc4c_8601_ec8c % 1000);
        let config = config().election_groups(8);
        assert_eq!(
            config.election_topic("email"),
            "persistent://public/default/leader-jobs.elections.7-of-8"
        );
        assert_eq!(config.election_name("reports"), "elections.0-of-8");
    }

    #[test]
    fn locks_spread_over_the_groups() {
        let mut sizes = [0_u32; 8];
        for lock in 0..1000 {
            let group = group_of(&format!("lock-{lock}"), 8);
            sizes[usize::try_from(group).unwrap()] += 1;
        }
        assert!(
            sizes.iter().all(|size| (95..=155).contains(size)),
            "{sizes:?}"
        );
    }
}
