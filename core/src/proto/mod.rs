//! Versioned wire messages of the control stream and their framing.
//!
//! Each [`Message`] travels as one frame: a big-endian `u32` length, then the message in
//! postcard. [`encode`] makes a frame; [`FrameDecoder`] takes stream bytes in and gives
//! checked messages out, refusing oversized frames before buffering them and refusing
//! fields outside their bounds. Both sides first exchange [`Message::Hello`]; see
//! [`check_hello`].

mod error;
mod frame;
mod message;

pub use error::ProtoError;
pub use frame::{FrameDecoder, decode_body, encode};
pub use message::{
    BandwidthPreset, ControlEndReason, InputEvent, Message, MouseButton, Role, UnknownPreset,
};

/// The protocol version this code speaks; both sides must speak the same.
pub const PROTOCOL_VERSION: u16 = 1;
/// The largest frame body, in bytes.
pub const MAX_FRAME_LEN: usize = 64 * 1024;
/// The longest chat text (and typed input text), in bytes of UTF-8.
pub const MAX_CHAT_LEN: usize = 16 * 1024;
/// The longest display name or file name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 255;
/// The longest X11 keysym name, in bytes.
pub const MAX_KEYSYM_LEN: usize = 64;
/// The longest disconnect reason, in bytes of UTF-8.
pub const MAX_REASON_LEN: usize = 1024;
/// The longest PAKE message, in bytes.
pub const MAX_PAKE_LEN: usize = 1024;

/// Checks the peer's first message: it must be a [`Message::Hello`] with our
/// [`PROTOCOL_VERSION`]. Returns the peer's display name and role.
pub fn check_hello(message: &Message) -> Result<(String, Role), ProtoError> {
    match message {
        Message::Hello {
            protocol_version,
            name,
            role,
        } => {
            if *protocol_version != PROTOCOL_VERSION {
                return Err(ProtoError::VersionMismatch {
                    theirs: *protocol_version,
                });
            }
            Ok((name.clone(), *role))
        }
        other => Err(ProtoError::NotHello(other.kind())),
    }
}

/// Our [`Message::Hello`] for the given display name and role.
pub fn hello(name: impl Into<String>, role: Role) -> Message {
    Message::Hello {
        protocol_version: PROTOCOL_VERSION,
        name: name.into(),
        role,
    }
}
