//! A single-member etcd server of the bench's own, on loopback, for the etcd election peers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `etcd-server` package puts the binary.
const ETCD: &str = "/usr/bin/etcd";

/// A running etcd.
#[derive(Debug)]
pub(crate) struct EtcdServer {
    child: Child,
    endpoint: String,
}

impl EtcdServer {
    /// Starts etcd with a fresh data directory under `dir`, client port `port`, peer port
    /// `port + 1`, all on 127.0.0.1; `Err` says why it cannot (not installed, did not answer).
    pub(crate) fn start(dir: &Path, port: u16) -> Result<Self, String> {
        if !Path::new(ETCD).is_file() {
            return Err(format!(
                "{ETCD} not found: install Debian's etcd-server (`apt-get install etcd-server`)"
            ));
        }
        let data: PathBuf = dir.join("etcd");
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(dir).map_err(|error| error.to_string())?;
        let log = std::fs::File::create(dir.join("etcd.log")).map_err(|error| error.to_string())?;
        let client = format!("http://127.0.0.1:{port}");
        let peer = format!("http://127.0.0.1:{}", port + 1);
        let child = Command::new(ETCD)
            .args(["--name", "bench", "--data-dir"])
            .arg(&data)
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .arg("--initial-cluster")
            .arg(format!("bench={peer}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|error| format!("cannot start {ETCD}: {error}"))?;
        let server = Self {
            child,
            endpoint: client,
        };
        server.wait_until_ready(Duration::from_secs(30))?;
        Ok(server)
    }

    fn wait_until_ready(&self, limit: Duration) -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        let deadline = Instant::now() + limit;
        loop {
            let answered = runtime.block_on(async {
                let mut client = etcd_client::Client::connect([&self.endpoint], None).await?;
                client.status().await
            });
            match answered {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() >= deadline => {
                    return Err(format!("etcd did not answer within {limit:?}: {error}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// The client URL.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
