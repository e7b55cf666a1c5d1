//! The inside half of a node's private network: in the node's own network namespace it listens
//! on the broker's loopback addresses and carries every connection to a Unix socket outside,
//! where the campaign's [`FaultProxy`](super::proxy::FaultProxy) forwards it to the real broker.
//!
//! Why not a TCP proxy on another port: a Pulsar client looks a topic up through its service URL
//! and then connects to the address the broker *advertises*, which would bypass such a proxy.
//! Inside the namespace the advertised address itself leads into the bridge.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::{TcpListener, UnixStream};

/// The environment variable that tells a node to open bridge routes:
/// `127.0.0.1:PORT=/path/to/socket`, comma-separated.
pub const BRIDGE_VAR: &str = "LEADER_JOBS_BRIDGE";

/// One route: connections to `listen` inside the namespace go to the Unix socket `socket`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The loopback address listened on inside the namespace.
    pub listen: SocketAddr,
    /// The Unix socket outside that leads on to the broker.
    pub socket: PathBuf,
}

/// Why a bridge specification cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// A route is not `ADDRESS=SOCKET`.
    #[error(
        "invalid bridge route {0:?} in {BRIDGE_VAR}: expected `127.0.0.1:PORT=/path/to/socket`"
    )]
    Route(String),
    /// The address cannot be listened on.
    #[error(
        "cannot listen on {listen} for the bridge: {source}; the node must run in a network \
         namespace of its own (unshare --net) with loopback up"
    )]
    Listen {
        /// The address.
        listen: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Parses the value of [`BRIDGE_VAR`].
pub fn parse_routes(spec: &str) -> Result<Vec<Route>, BridgeError> {
    spec.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (listen, socket) = part
                .split_once('=')
                .ok_or_else(|| BridgeError::Route(part.to_owned()))?;
            let listen = listen
                .trim()
                .parse()
                .map_err(|_| BridgeError::Route(part.to_owned()))?;
            Ok(Route {
                listen,
                socket: PathBuf::from(socket.trim()),
            })
        })
        .collect()
}

/// The value of [`BRIDGE_VAR`] for `routes`.
pub fn format_routes(routes: &[Route]) -> String {
    routes
        .iter()
        .map(|route| format!("{}={}", route.listen, route.socket.display()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Binds every route and serves them on the current Tokio runtime until the process ends.
pub async fn serve(routes: Vec<Route>) -> Result<(), BridgeError> {
    for route in routes {
        let listener =
            TcpListener::bind(route.listen)
                .await
                .map_err(|source| BridgeError::Listen {
                    listen: route.listen,
                    source,
                })?;
        tokio::spawn(accept_loop(listener, route.socket));
    }
    Ok(())
}

async fn accept_loop(listener: TcpListener, socket: PathBuf) {
    loop {
        let Ok((mut inside, _)) = listener.accept().await else {
            continue;
        };
        let socket = socket.clone();
        tokio::spawn(async move {
            // An unreachable proxy looks to the client like a refused connection: it closes.
            if let Ok(mut outside) = UnixStream::connect(&socket).await {
                let _ = tokio::io::copy_bidirectional(&mut inside, &mut outside).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_round_trip() {
        let spec = "127.0.0.1:6690=/tmp/a.sock,127.0.0.1:8190=/tmp/b.sock";
        let routes = parse_routes(spec).unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[1].socket, PathBuf::from("/tmp/b.sock"));
        assert_eq!(format_routes(&routes), spec);
        assert!(parse_routes("127.0.0.1:1").is_err());
        assert!(parse_routes("nohost=/x").is_err());
    }
}
