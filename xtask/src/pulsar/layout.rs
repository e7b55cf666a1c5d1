//! Where a broker's files live inside its directory.

use std::path::{Path, PathBuf};

/// The files of one broker, all inside one directory (default `target/pulsar`).
#[derive(Debug, Clone)]
pub(crate) struct BrokerDir {
    root: PathBuf,
}

impl BrokerDir {
    /// Files under `root`, made absolute so the broker (which runs inside `root`) and every
    /// message agree on the paths.
    pub(crate) fn new(root: &Path) -> std::io::Result<Self> {
        Ok(Self {
            root: std::path::absolute(root)?,
        })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The `pom`-packaging Maven project that names the broker's artifacts.
    pub(crate) fn pom(&self) -> PathBuf {
        self.root.join("pom.xml")
    }

    /// The jars the pom resolves to, as Maven's `dependency:collect` lists them: the total of
    /// the live line of a resolution, cached until the pom changes.
    pub(crate) fn dependencies(&self) -> PathBuf {
        self.root.join("dependencies.txt")
    }

    /// Maven's whole output of the latest resolution, named by any error about it.
    pub(crate) fn maven_log(&self) -> PathBuf {
        self.root.join("maven.log")
    }

    /// The resolved classpath, cached until the pom changes or a jar disappears from Maven's
    /// local repository.
    pub(crate) fn classpath(&self) -> PathBuf {
        self.root.join("classpath.txt")
    }

    /// The broker configuration (standalone.conf format).
    pub(crate) fn config(&self) -> PathBuf {
        self.root.join("broker.conf")
    }

    pub(crate) fn log4j_config(&self) -> PathBuf {
        self.root.join("log4j2.xml")
    }

    /// The broker's log: log4j output and anything else the JVM prints.
    pub(crate) fn log(&self) -> PathBuf {
        self.root.join("broker.log")
    }

    /// The log of the previous run, kept for one restart.
    pub(crate) fn previous_log(&self) -> PathBuf {
        self.root.join("broker.previous.log")
    }

    pub(crate) fn pid_file(&self) -> PathBuf {
        self.root.join("broker.pid")
    }

    pub(crate) fn metadata_data(&self) -> PathBuf {
        self.root.join("data").join("metadata")
    }

    pub(crate) fn bookkeeper_data(&self) -> PathBuf {
        self.root.join("data").join("bookkeeper")
    }

    /// A secured broker's super-user token: readiness checks authenticate with it.
    pub(crate) fn admin_token(&self) -> PathBuf {
        self.root.join("admin.token")
    }

    /// A secured broker's token signing key (raw HS256 key bytes).
    pub(crate) fn secret_key(&self) -> PathBuf {
        self.root.join("secret.key")
    }

    /// The certificate of the CA that signed the broker's TLS certificate.
    pub(crate) fn ca_cert(&self) -> PathBuf {
        self.root.join("ca.pem")
    }

    /// The certificate of a CA that signed nothing the broker presents, for tests of an
    /// untrusted server.
    pub(crate) fn untrusted_ca_cert(&self) -> PathBuf {
        self.root.join("untrusted-ca.pem")
    }

    /// The broker's TLS certificate.
    pub(crate) fn server_cert(&self) -> PathBuf {
        self.root.join("server.pem")
    }

    /// The broker's TLS private key (PKCS#8).
    pub(crate) fn server_key(&self) -> PathBuf {
        self.root.join("server.key")
    }
}
