use thiserror::Error;

/// Why authentication did not succeed.
///
/// Every message is one line that says what went wrong and what to do. The count of attempts
/// left belongs to the driver (see [`AttemptLimiter`](super::AttemptLimiter)).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    /// The password was empty after normalization.
    #[error(
        "the password is empty; type the words that the person who sent the invitation read to you"
    )]
    EmptyPassword,
    /// The password is longer than any password Lifeline makes or accepts.
    #[error(
        "the password is longer than {max} characters; check it with the person who sent the invitation"
    )]
    PasswordTooLong {
        /// The largest accepted length, in characters after normalization.
        max: usize,
    },
    /// Argon2id refused the hardening parameters.
    #[error("the password hardening parameters are invalid ({0}); use the default parameters")]
    InvalidHardeningParams(String),
    /// The other side's PAKE message is not a valid message for this exchange.
    #[error(
        "the other side sent a malformed authentication message ({0}); make sure both sides run an up-to-date Lifeline and try again"
    )]
    MalformedMessage(&'static str),
    /// The helper's confirmation does not match: the helper used another password, or the
    /// two sides are not on the same TLS connection (a relay or man in the middle).
    #[error("the password does not match; check it with the person who sent the invitation")]
    WrongPassword,
    /// The novice's confirmation does not match: the novice did not accept our password, or
    /// the two sides are not on the same TLS connection.
    #[error(
        "the other side did not accept the password; check it with the person who sent the invitation and try again"
    )]
    Rejected,
    /// The invitation has had too many wrong passwords and is closed for good.
    #[error("this invitation is closed after too many wrong passwords; ask for a new invitation")]
    TooManyAttempts,
}
