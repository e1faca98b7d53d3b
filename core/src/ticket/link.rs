//! The `lifeline:` link: the scheme followed by base64url (no padding) of the canonical
//! body, the novice's Ed25519 public key (32 bytes) and the signature (64 bytes).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};

use super::binary::{self, Reader};
use super::{Invitation, LINK_SCHEME, TicketError};

/// Whether `text` starts with the link scheme (schemes are case-insensitive).
pub(super) fn has_scheme(text: &str) -> bool {
    text.get(..LINK_SCHEME.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(LINK_SCHEME))
}

pub(super) fn encode(invitation: &Invitation) -> String {
    let mut payload = Vec::with_capacity(300);
    binary::encode_body(&invitation.body, &mut payload);
    payload.extend_from_slice(invitation.public_key.as_bytes());
    payload.extend_from_slice(&invitation.signature.to_bytes());
    format!("{LINK_SCHEME}{}", URL_SAFE_NO_PAD.encode(payload))
}

pub(super) fn decode(text: &str) -> Result<Invitation, TicketError> {
    let encoded = text.get(LINK_SCHEME.len()..).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| {
        TicketError::Malformed("the link is damaged (not base64url); copy it again".to_owned())
    })?;
    let mut reader = Reader::new(&payload);
    let body = binary::decode_body(&mut reader)?;
    let public_key = VerifyingKey::from_bytes(&reader.array()?)
        .map_err(|_| TicketError::invalid("signature key", "not an Ed25519 public key"))?;
    let signature = Signature::from_bytes(&reader.array()?);
    if reader.remaining() != 0 {
        return Err(TicketError::Malformed(
            "the link has extra data at its end".to_owned(),
        ));
    }
    Invitation::verify(body, public_key, signature)
}
