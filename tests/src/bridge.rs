//! Network faults between one node process and the broker, without touching the broker.
//!
//! A Pulsar client looks a topic up and then connects to the address the broker advertises
//! (127.0.0.1:6650), so a proxy on another port would only carry the first connection. Instead
//! each node runs in a network namespace of its own (`unshare --net`), where 127.0.0.1 is its
//! private loopback: inside, the node's own bridge listens on the broker's ports and carries each
//! connection over a Unix socket (a file, visible across namespaces) to the test's [`Bridge`],
//! which connects to the real broker. The test can then cut that node's connections (the broker
//! sees them close) or blackhole them (held open, nothing passes: a partition).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Environment variable that tells `test-node` to serve the inside half of a bridge from the
/// Unix sockets in the directory it names.
pub const BRIDGE_DIR_VAR: &str = "LEADER_JOBS_BRIDGE_DIR";

/// What passes between the node and the broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Everything passes.
    Up,
    /// Open connections are closed and new ones refused.
    Cut,
    /// Connections stay open but nothing passes in either direction.
    Blackhole,
}

/// The test's half of one node's bridge.
#[derive(Debug)]
pub struct Bridge {
    dir: PathBuf,
    link: watch::Sender<Link>,
    tasks: JoinSet<()>,
}

impl Bridge {
    /// Serves Unix sockets `<name>.sock` in `dir`, one per `(name, upstream)`, each forwarding to
    /// `upstream` (a `host:port` of the real broker).
    pub fn start(dir: &Path, upstreams: &[(&str, String)]) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (link, _) = watch::channel(Link::Up);
        let mut tasks = JoinSet::new();
        for (name, upstream) in upstreams {
            let path = dir.join(format!("{name}.sock"));
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path)?;
            let upstream = upstream.clone();
            let link = link.subscribe();
            tasks.spawn(async move {
                let mut connections = JoinSet::new();
                while let Ok((inside, _)) = listener.accept().await {
                    if *link.borrow() == Link::Cut {
                        continue;
                    }
                    let Ok(outside) = TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    connections.spawn(carry(inside, outside, link.clone()));
                }
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            link,
            tasks,
        })
    }

    /// The directory to give the node in [`BRIDGE_DIR_VAR`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sets what passes from now on.
    pub fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// Carries one connection both ways until either side closes or the link is cut.
async fn carry(inside: UnixStream, outside: TcpStream, link: watch::Receiver<Link>) {
    let (inside_read, inside_write) = inside.into_split();
    let (outside_read, outside_write) = outside.into_split();
    tokio::select! {
        () = pump(inside_read, outside_write, link.clone()) => {}
        () = pump(outside_read, inside_write, link.clone()) => {}
        () = cut(link.clone()) => return,
    }
    // In a partition a close does not get through either: the node may give up on the
    // connection, but the broker must not hear of it until the partition ends.
    let mut link = link;
    let _ = link.wait_for(|l| *l != Link::Blackhole).await;
}

async fn cut(mut link: watch::Receiver<Link>) {
    let _ = link.wait_for(|l| *l == Link::Cut).await;
}

async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut link: watch::Receiver<Link>,
) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        if link.wait_for(|l| *l == Link::Up).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        // Bytes read just before a blackhole began are held back until it ends.
        if link.wait_for(|l| *l == Link::Up).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// The node's half, run inside its network namespace: listens on 127.0.0.1 at each port and
/// carries every connection to the Unix socket `<name>.sock` in `dir`.
pub async fn serve_inside(dir: &Path, ports: &[(u16, &str)]) -> std::io::Result<()> {
    let mut listeners = Vec::new();
    for (port, name) in ports {
        let listener = TcpListener::bind(("127.0.0.1", *port)).await?;
        listeners.push((listener, Arc::new(dir.join(format!("{name}.sock")))));
    }
    for (listener, socket) in listeners {
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let socket = Arc::clone(&socket);
                tokio::spawn(async move {
                    if let Ok(mut unix) = UnixStream::connect(&*socket).await {
                        let _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix).await;
                    }
                });
            }
        });
    }
    Ok(())
}
