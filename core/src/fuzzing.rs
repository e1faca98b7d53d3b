//! Entry points shared by the cargo-fuzz targets (`core/fuzz`) and the test that replays
//! their corpus (`core/tests/fuzz_corpus.rs`), so that both check exactly the same thing.
//!
//! Each one must never panic on any input, and asserts the properties that hold for every
//! input it accepts.

use time::OffsetDateTime;

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
