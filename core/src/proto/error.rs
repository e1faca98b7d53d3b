//! What can go wrong while encoding, decoding or checking wire messages.

use thiserror::Error;

use super::PROTOCOL_VERSION;

/// Why bytes are not a valid Lifeline message, or a message cannot be sent.
///
/// Every message is one line that says what went wrong and, where there is one, what to do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtoError {
    /// A frame header announces more bytes than any frame may have; it was refused before
    /// its body was buffered, and the stream cannot be read further.
    #[error("frame of {len} bytes exceeds the {max}-byte limit; the peer is misbehaving")]
    FrameTooLarge {
        /// The announced length in bytes.
        len: usize,
        /// The largest accepted length in bytes.
        max: usize,
    },
    /// A message to send encodes to more bytes than a frame may hold.
    #[error(
        "the {kind} message encodes to {len} bytes, more than the {max}-byte frame limit; send less at once"
    )]
    MessageTooLarge {
        /// The kind of message, see [`super::Message::kind`].
        kind: &'static str,
        /// The encoded length in bytes.
        len: usize,
        /// The largest accepted length in bytes.
        max: usize,
    },
    /// A frame holds no message at all.
    #[error("empty frame; the peer is misbehaving")]
    EmptyFrame,
    /// The frame names a kind of message (or of a field) that this version does not know.
    #[error(
        "unknown message kind in frame; the peer is misbehaving or runs another protocol version"
    )]
    UnknownTag,
    /// The frame ends before the message it holds does.
    #[error("frame ends in the middle of a message; the peer is misbehaving")]
    Truncated,
    /// The frame holds more bytes than its message.
    #[error("frame has {count} bytes after the end of its message; the peer is misbehaving")]
    TrailingBytes {
        /// How many bytes follow the message.
        count: usize,
    },
    /// A text field is not valid UTF-8.
    #[error("message text is not valid UTF-8; the peer is misbehaving")]
    InvalidUtf8,
    /// The frame is not a well-formed message for another reason.
    #[error("malformed message ({0}); the peer is misbehaving")]
    Malformed(String),
    /// A field of a well-formed message is outside its allowed range.
    #[error("the {kind} message's {field} is invalid: {reason}")]
    InvalidField {
        /// The kind of message, see [`super::Message::kind`].
        kind: &'static str,
        /// The field that is out of range.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The message could not be encoded.
    #[error("could not encode the {kind} message: {reason}")]
    Encode {
        /// The kind of message, see [`super::Message::kind`].
        kind: &'static str,
        /// What the encoder said.
        reason: String,
    },
    /// The first message of a connection was not a `Hello`.
    #[error("expected a hello message first but got {0}; the peer is misbehaving")]
    NotHello(&'static str),
    /// The peer speaks another protocol version.
    #[error(
        "the other side runs protocol version {theirs}, this Lifeline speaks {PROTOCOL_VERSION}; update both to the same version"
    )]
    VersionMismatch {
        /// The peer's protocol version.
        theirs: u16,
    },
}

impl ProtoError {
    /// Maps a postcard decoding error to the error that says what went wrong.
    pub(crate) fn from_postcard(err: postcard::Error) -> Self {
        use postcard::Error as E;
        match err {
            // serde's derived enums report an out-of-range variant index as a custom error.
            E::DeserializeBadEnum | E::SerdeDeCustom => Self::UnknownTag,
            E::DeserializeUnexpectedEnd => Self::Truncated,
            E::DeserializeBadUtf8 => Self::InvalidUtf8,
            other => Self::Malformed(other.to_string()),
        }
    }
}
