//! Lifeline's core: all of the logic of remote assistance, with no user interface and no
//! foreign-function interface.
//!
//! One module per concern, each testable on its own:
//! - [`ticket`]: invitations — the signed XML file, its `lifeline:` link and QR code.
//! - [`auth`]: the password, the PAKE bound to the TLS channel, the safety code, attempt limits.
//! - [`identity`]: the novice's long-term key and TLS certificate that an invitation pins.

pub mod auth;
pub mod identity;
pub mod ticket;
