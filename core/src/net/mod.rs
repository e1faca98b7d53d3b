//! The socket layer: connection candidates and address discovery.
//!
//! - [`host_candidates`]: this computer's own addresses.
//! - [`stun`]: STUN binding requests and responses (RFC 5389), sans-IO, to learn the
//!   address a NAT gives us and to answer such requests.

mod host;
pub mod stun;

pub use host::host_candidates;
