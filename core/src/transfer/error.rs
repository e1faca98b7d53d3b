use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why a file could not be offered, sent or received.
///
/// Every message is one line that says what went wrong and what to do. Names that came from
/// the peer are shown with control and bidirectional-override characters escaped, so that a
/// message can never be used to disguise a file name.
#[derive(Debug, Error)]
pub enum TransferError {
    /// The offered file name is unusable even after cleaning (empty, only dots or spaces…).
    #[error(
        "the offered file name {offered} cannot be used: {reason}; ask the sender to rename the file"
    )]
    InvalidName {
        /// The offered name, escaped for display.
        offered: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The offered file is larger than the receiver accepts.
    #[error(
        "the file {name} is {size} bytes, more than the {max} bytes allowed; ask the sender to compress or split it"
    )]
    TooLarge {
        /// The offered name, escaped for display.
        name: String,
        /// The offered size in bytes.
        size: u64,
        /// The largest accepted size in bytes.
        max: u64,
    },
    /// The chosen destination is not an existing folder.
    #[error("the destination {} is not an existing folder; choose another folder", path.display())]
    NotAFolder {
        /// The destination as given.
        path: PathBuf,
    },
    /// The path to send is not a regular file.
    #[error("{} is not a file that can be sent; choose a file", path.display())]
    NotAFile {
        /// The path as given.
        path: PathBuf,
    },
    /// The sender sent more bytes than it offered.
    #[error(
        "the sender sent more than the {size} bytes offered for {name}; the file was discarded — ask the sender to send it again"
    )]
    BeyondOfferedSize {
        /// The offered name, escaped for display.
        name: String,
        /// The offered size in bytes.
        size: u64,
    },
    /// The transfer ended before all offered bytes arrived.
    #[error(
        "the transfer of {name} stopped after {received} of {size} bytes; it was discarded — ask the sender to send it again"
    )]
    Incomplete {
        /// The offered name, escaped for display.
        name: String,
        /// Bytes received.
        received: u64,
        /// The offered size in bytes.
        size: u64,
    },
    /// The received bytes do not have the BLAKE3 hash the sender announced.
    #[error(
        "the received file does not match its hash (sent {name}, {size} bytes); it was discarded — ask the sender to send it again"
    )]
    HashMismatch {
        /// The offered name, escaped for display.
        name: String,
        /// The offered size in bytes.
        size: u64,
    },
    /// An earlier error already ended this transfer and discarded what was received.
    #[error(
        "the transfer of {name} already failed and was discarded; ask the sender to send it again"
    )]
    AlreadyFailed {
        /// The offered name, escaped for display.
        name: String,
    },
    /// Every numbered variant of the name is already taken in the destination folder.
    #[error(
        "the folder {} already holds too many files named like {name}; choose another folder or tidy this one", dir.display()
    )]
    NoFreeName {
        /// The destination folder.
        dir: PathBuf,
        /// The cleaned name.
        name: String,
    },
    /// A destination path turned out not to lie directly inside the chosen folder.
    #[error(
        "refusing to write {}: it is not inside the chosen folder {}; choose another folder", path.display(), dir.display()
    )]
    OutsideFolder {
        /// The refused path.
        path: PathBuf,
        /// The chosen folder.
        dir: PathBuf,
    },
    /// The file being sent changed (size or content) while it was being sent.
    #[error("{} changed while it was being sent; wait until it is no longer being written and send it again", path.display())]
    SourceChanged {
        /// The file being sent.
        path: PathBuf,
    },
    /// A file-system operation failed.
    #[error("could not {action} {}: {source}; check the folder's permissions and free space", path.display())]
    Io {
        /// What was being done, e.g. "write to".
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl TransferError {
    /// Wraps an I/O error with what was being done and to which path.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Quotes a peer-supplied name for messages and logs: control characters and bidirectional
/// controls are escaped, and very long names are shortened.
pub(crate) fn display_name(name: &str) -> String {
    const MAX_CHARS: usize = 80;
    let mut out = String::from("\"");
    for (i, c) in name.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() || super::name::is_bidi_control(c) || c == '"' || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}
