//! lifeline-server: what a Lifeline session may need from outside the two computers, and
//! nothing secret. It never sees a session's content (QUIC is end to end).
//!
//! - [`discovery`]: answers STUN binding requests (RFC 5389) so clients learn the address
//!   their NAT gives them.
//! - [`mailbox`]: rendezvous mailboxes keyed by invitation id, through which the helper's
//!   candidates reach the novice: short-lived, bounded in memory, rate-limited per address.
//! - [`rendezvous`]: pairs the two sides' rendezvous connections over the mailboxes (sans-IO).
//! - [`relay`]: pairs relay peers by token and caps each session's bandwidth (sans-IO).
//! - [`route`]: which WebSocket request asks for what.
//! - [`config`]: the TOML config file; [`tls`]: the certificate and its pin.
//! - [`serve`]: the TLS/WebSocket and STUN listeners.
//!
//! The wire protocol is described in `docs/self-hosting.md`.

#![warn(clippy::unwrap_used)]

pub mod config;
pub mod discovery;
pub mod mailbox;
pub mod relay;
pub mod rendezvous;
pub mod route;
pub mod serve;
pub mod tls;
