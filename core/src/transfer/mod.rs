//! File transfer between the novice and the helper, without the network.
//!
//! The sender opens a file with [`Outgoing::open`], which hashes it and makes an [`Offer`]
//! (id, name, size, BLAKE3 hash). The network driver sends the offer; if the receiver accepts, it
//! creates an [`Incoming`] in the folder the user chose and the driver moves the chunks from
//! [`Outgoing::next_chunk`] to [`Incoming::write_chunk`], then calls [`Incoming::finish`].
//!
//! Received files are never written outside the chosen folder, never overwrite, and are
//! verified by hash (`DESIGN.md` §4):
//! - the offered name is hostile and is cleaned by [`sanitize_file_name`] to one plain name;
//! - bytes go to a hidden temporary file in the chosen folder, which is removed on any
//!   failure and when an unfinished [`Incoming`] is dropped;
//! - the finished file is verified (size and BLAKE3 hash), flushed to disk, and moved into place
//!   without replacing anything: if the name exists it becomes `name (1).ext`,
//!   `name (2).ext`, … as on Windows.

mod error;
mod incoming;
mod name;
mod offer;
mod outgoing;
mod place;

pub use error::TransferError;
pub use incoming::Incoming;
pub use name::{MAX_NAME_BYTES, numbered_name, sanitize_file_name, unique_destination};
pub use offer::Offer;
pub use outgoing::Outgoing;

/// Size of the chunks read, hashed and sent: 64 KiB.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// The largest file accepted when nothing else is configured: 4 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 4 * 1024 * 1024 * 1024;

/// What the receiver is willing to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferLimits {
    /// Offers larger than this many bytes are refused before anything is written.
    pub max_size: u64,
}

impl Default for TransferLimits {
    fn default() -> Self {
        Self {
            max_size: DEFAULT_MAX_SIZE,
        }
    }
}

/// How far a transfer has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes sent or received so far.
    pub bytes: u64,
    /// The offered size in bytes.
    pub total: u64,
}

impl Progress {
    /// Whether all offered bytes have been sent or received.
    pub fn is_complete(&self) -> bool {
        self.bytes == self.total
    }
}
