//! Lifeline's core: all of the logic of remote assistance, with no user interface and no
//! foreign-function interface.
//!
//! One module per concern, each testable on its own:
//! - [`ticket`]: invitations — the signed XML file, its `lifeline:` link and QR code.
//! - [`identity`]: the novice's long-term key and TLS certificate that an invitation pins.
//! - [`proto`]: versioned wire messages of the control stream and their framing.
//! - [`session`]: the session state machine (sans-IO) that enforces who may do what.

pub mod identity;
pub mod proto;
pub mod session;
pub mod ticket;
