//! The socket layer: connection candidates and address discovery.
//!
//! - [`host_candidates`]: this computer's own addresses.
//! - [`stun`]: STUN binding requests and responses (RFC 5389), sans-IO, to learn the
//!   address a NAT gives us and to answer such requests.
//! - [`relay`]: a datagram path through lifeline-server (WebSocket over TLS).
//! - [`rendezvous`]: exchanging candidates through lifeline-server's mailboxes.

mod host;
pub mod relay;
pub mod rendezvous;
pub mod stun;

pub use host::host_candidates;
