//! Lifeline's core: all of the logic of remote assistance, with no user interface and no
//! foreign-function interface.
//!
//! One module per concern, each testable on its own:
//! - [`ticket`]: invitations — the signed XML file, its `lifeline:` link and QR code.
//! - [`identity`]: the novice's long-term key and TLS certificate that an invitation pins.
//! - [`transfer`]: sending and receiving files — hostile names, no overwrite, hash check.

pub mod identity;
pub mod ticket;
pub mod transfer;
