//! Length-prefixed framing: a big-endian `u32` length, then that many bytes of postcard.

use super::{MAX_FRAME_LEN, Message, ProtoError};

/// Bytes in a frame header.
const HEADER_LEN: usize = 4;

/// Encodes a message as one frame: its length as a big-endian `u32`, then its postcard bytes.
///
/// Refuses a message whose fields are out of bounds (see [`Message::validate`]) or whose
/// encoding exceeds [`MAX_FRAME_LEN`], so that the peer never has to refuse it.
pub fn encode(message: &Message) -> Result<Vec<u8>, ProtoError> {
    let kind = message.kind();
    let body = postcard::to_allocvec(message).map_err(|err| ProtoError::Encode {
        kind,
        reason: err.to_string(),
    })?;
    if body.len() > MAX_FRAME_LEN {
        return Err(ProtoError::MessageTooLarge {
            kind,
            len: body.len(),
            max: MAX_FRAME_LEN,
        });
    }
    message.validate()?;
    let len = u32::try_from(body.len()).map_err(|_| ProtoError::MessageTooLarge {
        kind,
        len: body.len(),
        max: MAX_FRAME_LEN,
    })?;
    let mut frame = Vec::with_capacity(HEADER_LEN + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Decodes the body of one frame (without its length header) into a checked message.
pub fn decode_body(body: &[u8]) -> Result<Message, ProtoError> {
    if body.is_empty() {
        return Err(ProtoError::EmptyFrame);
    }
    let (message, rest) =
        postcard::take_from_bytes::<Message>(body).map_err(ProtoError::from_postcard)?;
    if !rest.is_empty() {
        return Err(ProtoError::TrailingBytes { count: rest.len() });
    }
    message.validate()?;
    Ok(message)
}

/// A sans-IO frame decoder: [`push`](Self::push) the bytes read from the stream, then take
/// messages with [`next`](Self::next) until it returns `Ok(None)`.
///
/// A frame whose content is invalid is consumed and reported as an error; the following
/// frames can still be read. A frame header announcing more than [`MAX_FRAME_LEN`] bytes is
/// refused as soon as the header is seen, before its body is buffered: the stream is then
/// unreadable, the decoder drops every further byte and `next` repeats the error.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    failed: Option<ProtoError>,
}

impl FrameDecoder {
    /// A decoder with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        let mut rest = bytes;
        // Take only as much as completes the header, so that an oversized frame is refused
        // before any of its body is buffered.
        if self.buf.len() < HEADER_LEN {
            let take = (HEADER_LEN - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.check_header().is_err() {
                return;
            }
        }
        self.buf.extend_from_slice(rest);
    }

    /// How many bytes are buffered and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message, `Ok(None)` if more bytes are needed, or why the next
    /// frame is invalid.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Message>, ProtoError> {
        let Some(len) = self.check_header()? else {
            return Ok(None);
        };
        let end = HEADER_LEN + len;
        if self.buf.len() < end {
            return Ok(None);
        }
        let result = decode_body(&self.buf[HEADER_LEN..end]);
        self.buf.drain(..end);
        // The next frame's header may be complete now; refuse it early if it is oversized.
        let _ = self.check_header();
        result.map(Some)
    }

    /// The length announced by the buffered header, `None` if the header is incomplete.
    fn check_header(&mut self) -> Result<Option<usize>, ProtoError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let Some(header) = self.buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > MAX_FRAME_LEN {
            let err = ProtoError::FrameTooLarge {
                len,
                max: MAX_FRAME_LEN,
            };
            self.buf = Vec::new();
            self.failed = Some(err.clone());
            return Err(err);
        }
        Ok(Some(len))
    }
}
