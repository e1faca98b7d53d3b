//! Authentication: the password the novice reads to the helper, proven without revealing it.
//!
//! - [`generate_password`] makes a password of four words that is easy to read aloud;
//!   [`Password::parse`] normalizes what a person types.
//! - [`harden`] runs Argon2id over the password and the invitation's salt; the novice stores
//!   the [`HardenedPassword`], never the password, for a standing invitation.
//! - [`Handshake`] runs SPAKE2 with the hardened password, bound to the TLS channel by its
//!   exporter value, and confirms the key in both directions; success gives
//!   [`SessionSecrets`] with the safety code both people compare.
//! - [`AttemptLimiter`] closes an invitation after a few wrong passwords.
//!
//! Everything here is sans-IO: the driver moves the bytes and keeps the limiter.

mod error;
mod harden;
mod limits;
mod pake;
mod password;

pub use error::AuthError;
pub use harden::{HardenedPassword, HardeningParams, harden};
pub use limits::{AttemptLimiter, AttemptOutcome, DEFAULT_MAX_ATTEMPTS};
pub use pake::{
    CONFIRMATION_LEN, Confirmer, EXPORTER_LABEL, EXPORTER_LEN, Handshake, PAKE_MESSAGE_LEN, Role,
    SessionSecrets,
};
pub use password::{MAX_PASSWORD_LEN, PASSWORD_WORDS, Password, generate_password, word_list};
