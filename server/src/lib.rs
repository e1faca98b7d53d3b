//! lifeline-server: what a Lifeline session may need from outside the two computers, and
//! nothing secret. It never sees a session's content (QUIC is end to end).
//!
//! - [`discovery`]: answers STUN binding requests (RFC 5389) so clients learn the address
//!   their NAT gives them.
//! - [`mailbox`]: rendezvous mailboxes keyed by invitation id, through which the helper's
//!   candidates reach the novice: short-lived, bounded in memory, rate-limited per address.

#![warn(clippy::unwrap_used)]

pub mod discovery;
pub mod mailbox;
