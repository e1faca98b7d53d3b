//! Entry points shared by the cargo-fuzz targets (`core/fuzz`) and the test that replays
//! their corpus (`core/tests/fuzz_corpus.rs`), so that both check exactly the same thing.
//!
//! Each one must never panic on any input, and asserts the properties that hold for every
//! input it accepts.

use time::OffsetDateTime;

use crate::net::stun;
use crate::proto::{FrameDecoder, MAX_FRAME_LEN, ProtoError, encode};
use crate::ticket::Invitation;

/// Parses `data` as an invitation document; an accepted one must survive a round trip
/// through both of its forms unchanged. Returns whether it was accepted.
pub fn invitation_xml(data: &[u8]) -> bool {
    check_invitation(data)
}

/// Parses `data` as the payload of a `lifeline:` link, with the same round-trip check.
/// Returns whether it was accepted.
pub fn invitation_link(data: &[u8]) -> bool {
    let mut link = crate::ticket::LINK_SCHEME.as_bytes().to_vec();
    link.extend_from_slice(data);
    check_invitation(&link)
}

/// Returns whether the input was accepted.
fn check_invitation(data: &[u8]) -> bool {
    let now = OffsetDateTime::UNIX_EPOCH;
    let Ok(invitation) = Invitation::parse_ignoring_time(data) else {
        return false;
    };
    let _ = invitation.check_time(now);
    for form in [invitation.to_xml(), invitation.to_link()] {
        let again = Invitation::parse_ignoring_time(form.as_bytes());
        assert_eq!(again.as_ref(), Ok(&invitation), "round trip of {form}");
    }
    true
}

/// Feeds `data` to the control-stream decoder as a socket would: the first byte chooses
/// the size of each push, the rest is the stream. Every message accepted must encode
/// again, and the decoder never buffers more than one frame. Returns whether any message
/// was accepted.
pub fn proto_decode(data: &[u8]) -> bool {
    let Some((&split, bytes)) = data.split_first() else {
        return false;
    };
    let chunk = usize::from(split).max(1);
    let mut decoder = FrameDecoder::new();
    let mut accepted = false;
    for piece in bytes.chunks(chunk) {
        decoder.push(piece);
        assert!(decoder.buffered() <= MAX_FRAME_LEN + 4 + chunk);
        loop {
            match decoder.next() {
                Ok(Some(message)) => {
                    assert!(
                        encode(&message).is_ok(),
                        "accepted {message:?} does not encode"
                    );
                    accepted = true;
                }
                Ok(None) => break,
                // The stream is unreadable after an oversized frame header.
                Err(ProtoError::FrameTooLarge { .. }) => return accepted,
                // Any other error consumed its frame; the next one may be fine.
                Err(_) => {}
            }
        }
    }
    accepted
}

/// Parses `data` as a STUN packet; an accepted binding answer must encode back to an
/// answer with the same transaction and address. Returns whether it was accepted.
pub fn stun_parse(data: &[u8]) -> bool {
    let looks_like_stun = stun::is_stun(data);
    match stun::parse(data) {
        Ok(stun::StunMessage::BindingSuccess {
            transaction,
            mapped,
        }) => {
            let again = stun::parse(&stun::binding_success(transaction, mapped));
            assert_eq!(
                again,
                Ok(stun::StunMessage::BindingSuccess {
                    transaction,
                    mapped
                })
            );
            true
        }
        Ok(_) => {
            assert!(looks_like_stun, "parsed a packet is_stun refuses");
            true
        }
        Err(_) => false,
    }
}
