//! Invitations: what the novice sends to the helper.
//!
//! An invitation names the novice's computer (its connection candidates and rendezvous
//! server), pins its TLS certificate, carries the salt for the password-authenticated key
//! exchange, and is signed with the novice's Ed25519 key. It holds no secret: nothing in it
//! lets anyone test a password offline.
//!
//! It has three forms, all carrying the same signed content:
//! - an XML document (file extension [`FILE_EXTENSION`], MIME type [`MIME_TYPE`]), see
//!   [`Invitation::to_xml`] and `docs/invitation.md`;
//! - a `lifeline:` link with a compact binary encoding, see [`Invitation::to_link`];
//! - a QR code of that link, see [`qr`].
//!
//! Parsing is total: [`Invitation::parse`] turns any byte string into either a verified
//! invitation or a [`TicketError`], never a panic.

mod binary;
mod error;
mod link;
mod model;
pub mod qr;
mod xml;

pub use error::TicketError;
pub use model::{
    Candidate, CandidateKind, Fingerprint, InvitationBody, InvitationId, MAX_CANDIDATES,
    MAX_NAME_LEN, MAX_SERVER_URL_LEN, PakeSalt, ServerUrl,
};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use time::{Duration, OffsetDateTime};

/// The invitation format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// File extension of an invitation file, without the dot.
pub const FILE_EXTENSION: &str = "lifeline";
/// MIME type of an invitation file.
pub const MIME_TYPE: &str = "application/vnd.lifeline.invitation+xml";
/// Scheme of an invitation link, with its colon.
pub const LINK_SCHEME: &str = "lifeline:";
/// Input longer than this is refused before any parsing.
pub const MAX_INPUT_LEN: usize = 64 * 1024;
/// How long an invitation is valid when nothing else is asked for.
pub const DEFAULT_LIFETIME: Duration = Duration::hours(6);
/// The longest an invitation may be valid.
pub const MAX_LIFETIME: Duration = Duration::days(99);
/// How far in the future an invitation's creation time may lie (clocks differ).
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Domain separation for the signature, so that it can never be taken for another message.
const SIGNATURE_CONTEXT: &[u8] = b"lifeline invitation v1\0";

/// A signed invitation whose signature has been verified.
///
/// The only ways to get one are [`Invitation::sign`] and the parsers, so every value of this
/// type has a valid body and a signature that matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    body: InvitationBody,
    public_key: VerifyingKey,
    signature: Signature,
}

impl Invitation {
    /// Checks `body` and signs it with the novice's key.
    pub fn sign(body: InvitationBody, key: &SigningKey) -> Result<Self, TicketError> {
        body.validate()?;
        let signature = key.sign(&signed_message(&body));
        Ok(Self {
            body,
            public_key: key.verifying_key(),
            signature,
        })
    }

    /// Verifies `signature` by `public_key` over `body`, after checking the body.
    fn verify(
        body: InvitationBody,
        public_key: VerifyingKey,
        signature: Signature,
    ) -> Result<Self, TicketError> {
        body.validate()?;
        public_key
            .verify_strict(&signed_message(&body), &signature)
            .map_err(|_| TicketError::BadSignature)?;
        Ok(Self {
            body,
            public_key,
            signature,
        })
    }

    /// Parses an invitation in any of its textual forms (XML document or `lifeline:` link),
    /// verifies its signature and checks that it is valid at `now`.
    pub fn parse(input: &[u8], now: OffsetDateTime) -> Result<Self, TicketError> {
        let invitation = Self::parse_ignoring_time(input)?;
        invitation.check_time(now)?;
        Ok(invitation)
    }

    /// Like [`Invitation::parse`], but accepts an invitation that has expired or is not yet
    /// valid. For showing what an invitation says, never for connecting.
    pub fn parse_ignoring_time(input: &[u8]) -> Result<Self, TicketError> {
        if input.len() > MAX_INPUT_LEN {
            return Err(TicketError::TooLarge {
                len: input.len(),
                max: MAX_INPUT_LEN,
            });
        }
        let text = std::str::from_utf8(input)
            .map_err(|_| TicketError::Malformed("the input is binary data, not text".to_owned()))?;
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            return Err(TicketError::Empty);
        }
        if text.starts_with('<') {
            xml::decode(text)
        } else if link::has_scheme(text) {
            link::decode(text)
        } else {
            Err(TicketError::Malformed(
                "expected an XML invitation document or a lifeline: link".to_owned(),
            ))
        }
    }

    /// Refuses the invitation if it has expired or is not valid yet at `now`.
    pub fn check_time(&self, now: OffsetDateTime) -> Result<(), TicketError> {
        if self.is_expired(now) {
            return Err(TicketError::Expired {
                expires: model::format_time(self.body.expires),
            });
        }
        if self.body.created > now + CLOCK_SKEW {
            return Err(TicketError::NotYetValid {
                created: model::format_time(self.body.created),
            });
        }
        Ok(())
    }

    /// Whether the invitation's expiry time has passed at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.body.expires
    }

    /// The signed content.
    pub fn body(&self) -> &InvitationBody {
        &self.body
    }

    /// The novice's public key, which made the signature.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }

    /// The XML document form (the content of a `.lifeline` file).
    pub fn to_xml(&self) -> String {
        xml::encode(self)
    }

    /// The `lifeline:` link form, short enough for a QR code.
    pub fn to_link(&self) -> String {
        link::encode(self)
    }
}

/// What the signature covers: a context string and the canonical binary encoding of the body.
fn signed_message(body: &InvitationBody) -> Vec<u8> {
    let mut message = SIGNATURE_CONTEXT.to_vec();
    binary::encode_body(body, &mut message);
    message
}
