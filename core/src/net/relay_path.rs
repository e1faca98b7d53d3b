//! The relay as the socket sees it: a channel of whole datagrams each way.
//!
//! The relay client (a WebSocket to lifeline-server) lives elsewhere; it plugs into
//! [`super::PathSocket::set_relay`] with a [`RelayPath`] whose ends it keeps: it forwards
//! what arrives on its `to_peer` receiver to the server, and pushes what the server
//! delivers into its `from_peer` sender.

use std::net::SocketAddr;

use tokio::sync::mpsc;

/// One peer's relayed path: datagrams (whole QUIC packets) to and from the peer.
#[derive(Debug)]
pub struct RelayPath {
    /// Datagrams for the peer, to be carried by the relay.
    pub to_peer: mpsc::Sender<Vec<u8>>,
    /// Datagrams from the peer that the relay delivered.
    pub from_peer: mpsc::Receiver<Vec<u8>>,
    /// The relay server's address, reported as the path's remote end.
    pub remote: SocketAddr,
}

/// The relay client's ends of a [`RelayPath`].
#[derive(Debug)]
pub struct RelayEnds {
    /// What the socket wants carried to the peer.
    pub outgoing: mpsc::Receiver<Vec<u8>>,
    /// Where to put what the relay delivered from the peer.
    pub incoming: mpsc::Sender<Vec<u8>>,
}

impl RelayPath {
    /// A relay path and the ends a relay client drives, with room for `capacity`
    /// datagrams each way (more are dropped, as a full network would).
    pub fn new(remote: SocketAddr, capacity: usize) -> (Self, RelayEnds) {
        let (to_peer, outgoing) = mpsc::channel(capacity);
        let (incoming, from_peer) = mpsc::channel(capacity);
        (
            Self {
                to_peer,
                from_peer,
                remote,
            },
            RelayEnds { outgoing, incoming },
        )
    }

    /// Two relay paths joined to each other in this process, as a relay server joins two
    /// peers: what one sends, the other receives. For tests and for peers in one process.
    pub fn pair(remote: SocketAddr, capacity: usize) -> (Self, Self) {
        let (a_to_b, b_from_a) = mpsc::channel(capacity);
        let (b_to_a, a_from_b) = mpsc::channel(capacity);
        (
            Self {
                to_peer: a_to_b,
                from_peer: a_from_b,
                remote,
            },
            Self {
                to_peer: b_to_a,
                from_peer: b_from_a,
                remote,
            },
        )
    }
}
