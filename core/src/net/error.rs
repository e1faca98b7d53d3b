//! What can go wrong in the socket layer.

use std::net::SocketAddr;

/// Why a socket, an address discovery or a port mapping failed. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A socket could not be opened.
    #[error(
        "cannot open a UDP socket on {addr}: {source}; choose another port or stop the program using it"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The network failed.
    #[error("network error: {0}; check the network connection")]
    Io(#[source] std::io::Error),
    /// A STUN server did not answer.
    #[error(
        "the STUN server {server} did not answer; check its address (--stun) or that UDP to it is allowed"
    )]
    NoStunAnswer {
        /// The server asked.
        server: SocketAddr,
    },
    /// No router answered UPnP, or it refused the mapping.
    #[error("the router did not map a port: {0}; turn UPnP on in the router, or pass --no-portmap")]
    Portmap(String),
}
