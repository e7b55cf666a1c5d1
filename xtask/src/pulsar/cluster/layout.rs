//! Where a cluster's parts keep their files, and the loopback ports they listen on.

use std::path::{Path, PathBuf};

use super::super::layout::BrokerDir;

/// The metadata store's (ZooKeeper's) client port.
pub(crate) const METADATA_PORT: u16 = 2281;
/// The bookie's port.
pub(crate) const BOOKIE_PORT: u16 = 3281;
/// Broker `i` serves the binary protocol on this plus `i` (not 675x: the secured test broker
/// takes 6750 and 6751, and the cluster must be able to run beside `cargo xtask test`).
pub(crate) const FIRST_SERVICE_PORT: u16 = 6850;
/// Broker `i` serves its admin API on this plus `i`.
pub(crate) const FIRST_HTTP_PORT: u16 = 8250;
/// The most brokers the port plan above leaves room for.
pub(crate) const MAX_BROKERS: u16 = 9;

/// The name of the Pulsar cluster the brokers form.
pub(crate) const CLUSTER_NAME: &str = "leader-jobs";

/// One part of the cluster: a JVM with a configuration file, a log and a pid file, all in one
/// directory named after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    /// `metadata`, `bookie` or `broker-<i>`.
    pub(crate) name: String,
    root: PathBuf,
}

impl Part {
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn config(&self) -> PathBuf {
        self.root.join(format!("{}.conf", self.name))
    }

    pub(crate) fn log(&self) -> PathBuf {
        self.root.join(format!("{}.log", self.name))
    }

    pub(crate) fn previous_log(&self) -> PathBuf {
        self.root.join(format!("{}.previous.log", self.name))
    }

    pub(crate) fn pid_file(&self) -> PathBuf {
        self.root.join(format!("{}.pid", self.name))
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.root.join("data")
    }
}

/// The files of one cluster, all inside one directory (default `target/pulsar-cluster`): the
/// Maven project and classpath its parts share, then one directory per part.
#[derive(Debug, Clone)]
pub(crate) struct ClusterDir {
    /// Holds the shared Maven project and classpath, laid out as a standalone broker's.
    shared: BrokerDir,
}

impl ClusterDir {
    pub(crate) fn new(root: &Path) -> std::io::Result<Self> {
        Ok(Self {
            shared: BrokerDir::new(root)?,
        })
    }

    pub(crate) fn root(&self) -> &Path {
        self.shared.root()
    }

    /// The directory the Maven project and the resolved classpath live in.
    pub(crate) fn shared(&self) -> &BrokerDir {
        &self.shared
    }

    pub(crate) fn log4j_config(&self) -> PathBuf {
        self.shared.log4j_config()
    }

    /// Written once the cluster's metadata has been initialised in the metadata store.
    pub(crate) fn initialized_marker(&self) -> PathBuf {
        self.root().join("metadata-initialized")
    }

    /// The log of the one-time metadata initialisation.
    pub(crate) fn initialization_log(&self) -> PathBuf {
        self.root().join("initialize-metadata.log")
    }

    /// How many brokers the cluster was last started with.
    pub(crate) fn broker_count_file(&self) -> PathBuf {
        self.root().join("brokers")
    }

    pub(crate) fn metadata(&self) -> Part {
        self.part("metadata")
    }

    pub(crate) fn bookie(&self) -> Part {
        self.part("bookie")
    }

    pub(crate) fn broker(&self, index: u16) -> Part {
        self.part(&format!("broker-{index}"))
    }

    fn part(&self, name: &str) -> Part {
        Part {
            name: name.to_owned(),
            root: self.root().join(name),
        }
    }
}

/// The binary-protocol port of broker `index`.
pub(crate) fn service_port(index: u16) -> u16 {
    FIRST_SERVICE_PORT + index
}

/// The admin-API port of broker `index`.
pub(crate) fn http_port(index: u16) -> u16 {
    FIRST_HTTP_PORT + index
}
