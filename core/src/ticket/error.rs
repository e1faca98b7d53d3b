use thiserror::Error;

/// Why a byte string is not a usable invitation.
///
/// Every message is one line that says what is wrong and, where there is one, what to do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TicketError {
    /// Nothing was given.
    #[error("the invitation is empty")]
    Empty,
    /// The input is larger than any invitation can be; it was refused before parsing.
    #[error("the input is {len} bytes, more than the {max} bytes an invitation may have")]
    TooLarge {
        /// Length of the input in bytes.
        len: usize,
        /// The largest accepted length in bytes.
        max: usize,
    },
    /// The input is not a well-formed invitation (not XML, not a link, broken encoding).
    #[error("not a valid Lifeline invitation: {0}")]
    Malformed(String),
    /// The invitation was made by a newer (or unknown) version of Lifeline.
    #[error(
        "the invitation has format version {0}, which this Lifeline does not understand; update Lifeline"
    )]
    UnknownVersion(String),
    /// A required field is absent.
    #[error("the invitation has no {0}")]
    MissingField(&'static str),
    /// A field is present but its value is not acceptable.
    #[error("the invitation's {field} is invalid: {reason}")]
    InvalidField {
        /// The name of the field, as in the XML format.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature does not match the content: the invitation was changed after it was made.
    #[error(
        "the invitation's signature does not match its content (it was changed after it was made); ask for a new invitation"
    )]
    BadSignature,
    /// The invitation's expiry time has passed.
    #[error("the invitation expired at {expires}; ask for a new invitation")]
    Expired {
        /// The expiry time, RFC 3339.
        expires: String,
    },
    /// The invitation's creation time is in the future.
    #[error("the invitation is not valid before {created}; check this computer's clock")]
    NotYetValid {
        /// The creation time, RFC 3339.
        created: String,
    },
}

impl TicketError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}
