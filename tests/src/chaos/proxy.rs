//! The outside half of a node's private network: Unix sockets the node's
//! [bridge](super::bridge) connects to, forwarded to the broker's TCP ports, with a switch that
//! cuts, stalls or delays every connection of that node.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixListener};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// What the link between the node and the broker does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkMode {
    /// Bytes pass at once.
    Pass,
    /// Every byte arrives this much later, in order.
    Delay(Duration),
    /// Bytes are held back (a network partition): connections stay open, nothing arrives until
    /// the mode changes, then everything held arrives, as TCP retransmission would deliver it.
    Blackhole,
    /// Every connection is closed, and new ones are closed as soon as they are accepted.
    Cut,
}

/// Forwards Unix-socket connections to TCP addresses on a runtime of its own.
#[derive(Debug)]
pub struct FaultProxy {
    /// Owns the forwarding tasks: they stop when the proxy is dropped.
    _runtime: tokio::runtime::Runtime,
    mode: watch::Sender<LinkMode>,
    sockets: Vec<PathBuf>,
}

impl FaultProxy {
    /// Listens on each `(socket, target)` route, in [`LinkMode::Pass`].
    pub fn start(routes: &[(PathBuf, SocketAddr)]) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fault-proxy")
            .enable_all()
            .build()?;
        let (mode, _) = watch::channel(LinkMode::Pass);
        let mut sockets = Vec::new();
        for (socket, target) in routes {
            // A socket file left by an earlier run would make the bind fail.
            let _ = std::fs::remove_file(socket);
            let listener = {
                let _entered = runtime.enter();
                UnixListener::bind(socket)?
            };
            runtime.spawn(accept_loop(listener, *target, mode.subscribe()));
            sockets.push(socket.clone());
        }
        Ok(Self {
            _runtime: runtime,
            mode,
            sockets,
        })
    }

    /// Switches every connection, present and future, to `mode`.
    pub fn set(&self, mode: LinkMode) {
        self.mode.send_replace(mode);
    }

    /// The current mode.
    pub fn mode(&self) -> LinkMode {
        *self.mode.borrow()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        for socket in &self.sockets {
            let _ = std::fs::remove_file(socket);
        }
    }
}

async fn accept_loop(listener: UnixListener, target: SocketAddr, mode: watch::Receiver<LinkMode>) {
    loop {
        let Ok((node_side, _)) = listener.accept().await else {
            continue;
        };
        if *mode.borrow() == LinkMode::Cut {
            drop(node_side);
            continue;
        }
        let mode = mode.clone();
        tokio::spawn(async move {
            let Ok(broker_side) = TcpStream::connect(target).await else {
                return;
            };
            let _ = broker_side.set_nodelay(true);
            let (node_read, node_write) = node_side.into_split();
            let (broker_read, broker_write) = broker_side.into_split();
            // When either direction ends (a close, or a cut), both sockets are dropped.
            tokio::select! {
                () = forward(node_read, broker_write, mode.clone()) => {}
                () = forward(broker_read, node_write, mode) => {}
            }
        });
    }
}

/// Carries bytes one way under the current mode until either side closes or the link is cut.
async fn forward(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin + Send + 'static,
    mut mode: watch::Receiver<LinkMode>,
) {
    let (chunks, mut queued) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let mut writer_mode = mode.clone();
    let writer = async move {
        while let Some((due, chunk)) = queued.recv().await {
            tokio::time::sleep_until(due).await;
            // Held back while the link is a black hole; gone when it is cut.
            loop {
                match *writer_mode.borrow_and_update() {
                    LinkMode::Cut => return,
                    LinkMode::Blackhole => {}
                    LinkMode::Pass | LinkMode::Delay(_) => break,
                }
                if writer_mode.changed().await.is_err() {
                    return;
                }
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
    };
    let reader = async move {
        let mut buffer = vec![0_u8; 16 * 1024];
        loop {
            let read = tokio::select! {
                read = from.read(&mut buffer) => read,
                changed = mode.changed() => {
                    if changed.is_err() || *mode.borrow() == LinkMode::Cut {
                        return;
                    }
                    continue;
                }
            };
            let Ok(count) = read else { return };
            if count == 0 {
                return;
            }
            let delay = match *mode.borrow() {
                LinkMode::Cut => return,
                LinkMode::Delay(delay) => delay,
                LinkMode::Pass | LinkMode::Blackhole => Duration::ZERO,
            };
            if chunks
                .send((Instant::now() + delay, buffer[..count].to_vec()))
                .is_err()
            {
                return;
            }
        }
    };
    // The writer drains what the reader queued; a closed or cut reader ends the pair.
    tokio::select! {
        () = reader => {}
        () = writer => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, UnixStream};

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let (mut r, mut w) = stream.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(socket: &PathBuf) -> std::io::Result<Duration> {
        let mut stream = UnixStream::connect(socket).await?;
        let started = std::time::Instant::now();
        stream.write_all(b"ping").await?;
        let mut answer = [0_u8; 4];
        stream.read_exact(&mut answer).await?;
        assert_eq!(&answer, b"ping");
        Ok(started.elapsed())
    }

    #[test]
    fn passes_delays_holds_and_cuts() {
        let client = tokio::runtime::Runtime::new().unwrap();
        let target = client.block_on(echo_server());
        let socket = std::env::temp_dir().join(format!("fault-proxy-{}.sock", std::process::id()));
        let proxy = FaultProxy::start(&[(socket.clone(), target)]).unwrap();
        client.block_on(async {
            assert!(round_trip(&socket).await.unwrap() < Duration::from_millis(200));
            proxy.set(LinkMode::Delay(Duration::from_millis(300)));
            // Both directions are delayed.
            assert!(round_trip(&socket).await.unwrap() >= Duration::from_millis(600));
            proxy.set(LinkMode::Blackhole);
            let held = tokio::spawn({
                let socket = socket.clone();
                async move {
                    round_trip(&socket).await?;
                    Ok::<_, std::io::Error>(std::time::Instant::now())
                }
            });
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert!(!held.is_finished(), "a black hole let bytes through");
            // Compared with the moment the link opens, not with a duration measured inside the
            // task: under load the task may start its round trip well after it was spawned.
            let opened = std::time::Instant::now();
            proxy.set(LinkMode::Pass);
            assert!(
                held.await.unwrap().unwrap() >= opened,
                "the held bytes arrived before the link opened"
            );
            proxy.set(LinkMode::Cut);
            assert!(
                round_trip(&socket).await.is_err(),
                "a cut link carried bytes"
            );
            proxy.set(LinkMode::Pass);
            assert!(round_trip(&socket).await.is_ok());
        });
    }
}
