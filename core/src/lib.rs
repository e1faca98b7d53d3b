//! Lifeline's core: all of the logic of remote assistance, with no user interface and no
//! foreign-function interface.
//!
//! One module per concern, each testable on its own:
//! - [`ticket`]: invitations — the signed XML file, its `lifeline:` link and QR code.
//! - [`identity`]: the novice's long-term key and TLS certificate that an invitation pins.
//! - [`auth`]: the password, its Argon2id hardening, SPAKE2 bound to the TLS channel, the
//!   safety code and the limit on wrong passwords.
//! - [`proto`]: versioned wire messages and their framing.
//! - [`session`]: the session state machine (sans-IO); the permission table lives here.
//! - [`transfer`]: file transfer without the network: hostile names, verified atomic
//!   placement.
//! - [`log`]: tamper-evident XML session logs.
//! - [`net`]: the socket layer: connection candidates.
//! - [`store`]: standing invitations, their secrets kept in the OS keyring.
//! - [`connect`]: QUIC connections on a LAN and the async driver of a session.
//! - `media` (feature `media`): damage detection, colour conversion, H.264 encode/decode.
//! - `host` (feature `host`): the novice's desktop: screen capture, input injection, the
//!   local-Esc watcher.
//!
//! [`fuzzing`] holds the entry points of the fuzz targets.

#![warn(clippy::unwrap_used)] // Integration tests may unwrap; library code may not.

pub mod auth;
#[cfg(feature = "media")]
pub mod connect;
#[doc(hidden)]
pub mod fuzzing;
mod hex;
#[cfg(feature = "host")]
pub mod host;
pub mod identity;
pub mod log;
#[cfg(feature = "media")]
pub mod media;
pub mod net;
pub mod proto;
mod role;
pub mod session;
pub mod store;
pub mod ticket;
pub mod transfer;

pub use role::{Role, UnknownRole};
