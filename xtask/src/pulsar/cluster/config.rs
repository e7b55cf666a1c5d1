//! The configuration files of a cluster's parts: ZooKeeper as the metadata store, one bookie,
//! and brokers that share both.

use std::fmt::Write as _;

use super::layout::{BOOKIE_PORT, CLUSTER_NAME, METADATA_PORT, Part, http_port, service_port};

/// `metadata.conf`: a single ZooKeeper server on loopback.
pub(crate) fn metadata_config(part: &Part) -> String {
    let data = part.data();
    lines(&[
        ("tickTime", "2000".to_owned()),
        ("initLimit", "10".to_owned()),
        ("syncLimit", "5".to_owned()),
        ("dataDir", data.display().to_string()),
        ("clientPort", METADATA_PORT.to_string()),
        ("clientPortAddress", "127.0.0.1".to_owned()),
        // Its admin server would take port 8080, the standalone broker's.
        ("admin.enableServer", "false".to_owned()),
        ("maxClientCnxns", "0".to_owned()),
        // Keeps a long-lived development cluster's snapshots from filling the disk.
        ("autopurge.snapRetainCount", "3".to_owned()),
        ("autopurge.purgeInterval", "1".to_owned()),
    ])
}

/// Where the bookie and the brokers find BookKeeper's metadata.
fn bookkeeper_metadata() -> String {
    format!("zk+null://127.0.0.1:{METADATA_PORT}/ledgers")
}

/// `bookie.conf`: one bookie on loopback.
pub(crate) fn bookie_config(part: &Part) -> String {
    let data = part.data();
    lines(&[
        ("bookiePort", BOOKIE_PORT.to_string()),
        ("advertisedAddress", "127.0.0.1".to_owned()),
        ("listeningInterface", "lo".to_owned()),
        ("allowLoopback", "true".to_owned()),
        ("metadataServiceUri", bookkeeper_metadata()),
        (
            "journalDirectories",
            data.join("journal").display().to_string(),
        ),
        (
            "ledgerDirectories",
            data.join("ledgers").display().to_string(),
        ),
        ("httpServerEnabled", "false".to_owned()),
        // As the standalone's (see its `broker.conf`): a development bookie writes while the
        // shared disk has room.
        ("diskUsageThreshold", "0.9999".to_owned()),
        ("diskUsageWarnThreshold", "0.999".to_owned()),
        ("diskUsageLwmThreshold", "0.999".to_owned()),
        // Small caches: the machine runs the brokers, the tests and the build beside it.
        ("dbStorage_writeCacheMaxSizeMb", "32".to_owned()),
        ("dbStorage_readAheadCacheMaxSizeMb", "32".to_owned()),
        ("dbStorage_rocksDB_blockCacheSize", "16777216".to_owned()),
    ])
}

/// `broker-<i>.conf`: broker `index` of the cluster.
pub(crate) fn broker_config(index: u16) -> String {
    let metadata = format!("zk:127.0.0.1:{METADATA_PORT}");
    lines(&[
        ("clusterName", CLUSTER_NAME.to_owned()),
        ("metadataStoreUrl", metadata.clone()),
        ("configurationMetadataStoreUrl", metadata),
        ("bookkeeperMetadataServiceUri", bookkeeper_metadata()),
        ("bindAddress", "127.0.0.1".to_owned()),
        ("advertisedAddress", "127.0.0.1".to_owned()),
        ("brokerServicePort", service_port(index).to_string()),
        ("webServicePort", http_port(index).to_string()),
        // One bookie can only store single copies.
        ("managedLedgerDefaultEnsembleSize", "1".to_owned()),
        ("managedLedgerDefaultWriteQuorum", "1".to_owned()),
        ("managedLedgerDefaultAckQuorum", "1".to_owned()),
        ("functionsWorkerEnabled", "false".to_owned()),
        // How long a dead broker keeps its topics: they move once its metadata session expires
        // (default 30 s). ZooKeeper's least is two ticks (4 s); 6 s leaves a broker paused by a
        // garbage collection or a loaded machine its session.
        ("metadataStoreSessionTimeoutMillis", "6000".to_owned()),
        // Production defaults, as the standalone's.
        ("brokerDeleteInactiveTopicsEnabled", "true".to_owned()),
        ("defaultRetentionTimeInMinutes", "0".to_owned()),
        ("defaultRetentionSizeInMB", "0".to_owned()),
        ("keepAliveIntervalSeconds", "30".to_owned()),
        ("activeConsumerFailoverDelayTimeMillis", "1000".to_owned()),
    ])
}

fn lines(entries: &[(&str, String)]) -> String {
    let mut text =
        String::from("# Written by `cargo xtask pulsar cluster start` on every start.\n");
    for (key, value) in entries {
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{key}={value}");
    }
    text
}
