//! Lifeline's core: all of the logic of remote assistance, with no user interface and no
//! foreign-function interface.
//!
//! One module per concern, each testable on its own:
//! - [`ticket`]: invitations — the signed XML file, its `lifeline:` link and QR code.
//! - [`identity`]: the novice's long-term key and TLS certificate that an invitation pins.
//! - [`log`]: session logs — tamper-evident XML records of each session, kept by both sides.

pub mod identity;
pub mod log;
pub mod ticket;
