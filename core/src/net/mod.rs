//! The socket layer: connection candidates, address discovery, hole punching and paths.
//!
//! - [`host_candidates`]: this computer's own addresses.
//! - [`stun`]: STUN binding requests and responses (RFC 5389), sans-IO, to learn the
//!   address a NAT gives us and to answer such requests.
//! - [`relay`]: a datagram path through lifeline-server (WebSocket over TLS).
//! - [`rendezvous`]: exchanging candidates through lifeline-server's mailboxes.
//! - [`PathSocket`]: the one UDP socket that QUIC and STUN share; it gives quinn a fixed
//!   address per peer and sends each packet on the peer's current path.
//! - [`path`]: connectivity checks, hole punching and the choice of path, sans-IO.
//! - [`gather()`]: all candidates at once: host, server-reflexive, port-mapped.
//! - [`PortMapping`]: a port mapping on the router (PCP, NAT-PMP or UPnP-IGD), released
//!   when dropped.
//! - [`RelayPath`]: how a relay client plugs into the socket.

mod error;
pub mod gather;
mod host;
pub mod path;
mod portmap;
pub mod relay;
mod relay_path;
pub mod rendezvous;
mod socket;
pub mod stun;

pub use error::NetError;
pub use gather::{GatherConfig, Gathered, gather};
pub use host::host_candidates;
pub use path::{CheckKey, PathEvent, PathKind, Route};
pub use portmap::{MapProtocol, PortMapping};
pub use relay_path::{RelayEnds, RelayPath};
pub use socket::PathSocket;
