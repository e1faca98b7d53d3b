use thiserror::Error;

use crate::ticket::InvitationId;

/// Why a standing invitation could not be saved, read or removed.
///
/// Every message is one line that says what went wrong and what to do.
#[derive(Debug, Error)]
pub enum StoreError {
    /// No OS keyring answered (on Linux: no Secret Service on the session bus).
    #[error("no keyring is available: start gnome-keyring or another Secret Service ({0})")]
    Unavailable(String),
    /// The keyring answered but refused or failed the operation.
    #[error("the keyring failed: {0}; unlock it and try again")]
    Keyring(String),
    /// No standing invitation has this id (never saved, revoked, or pruned after expiry).
    #[error("no standing invitation {0} is kept: it was revoked, expired or never saved")]
    NotFound(InvitationId),
    /// The keyring entry exists but cannot be decoded or does not fit together.
    #[error(
        "the standing invitation {id} in the keyring is corrupt ({reason}): revoke it and make a new invitation"
    )]
    Corrupt {
        /// The invitation whose record is corrupt.
        id: InvitationId,
        /// What is wrong with it.
        reason: String,
    },
    /// The keyring entry was written by a newer Lifeline.
    #[error(
        "the standing invitation {id} was saved by a newer Lifeline (record version {version}); update Lifeline"
    )]
    UnknownVersion {
        /// The invitation whose record has an unknown version.
        id: InvitationId,
        /// The version byte found.
        version: u8,
    },
    /// The invitation has expired; it has been removed from the keyring.
    #[error(
        "the standing invitation {id} expired at {expires} and was removed; make a new invitation"
    )]
    Expired {
        /// The invitation that expired.
        id: InvitationId,
        /// When it expired (RFC 3339).
        expires: String,
    },
    /// The identity given to save did not sign the invitation.
    #[error("the identity does not match the invitation {0}: save the identity that signed it")]
    IdentityMismatch(InvitationId),
    /// The invitation index in the keyring cannot be read.
    #[error(
        "the keyring's list of standing invitations is corrupt ({0}); revoke the invitations and make new ones"
    )]
    CorruptIndex(String),
}
