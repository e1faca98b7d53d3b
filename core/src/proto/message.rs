//! The messages of the control stream and the small types they carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ProtoError;

pub use crate::Role;

/// A quality preset for the screen stream, chosen by the novice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum BandwidthPreset {
    /// Follow the connection's measured capacity.
    #[default]
    Auto,
    /// Best quality, for fast links.
    Best,
    /// A balance of quality and bandwidth.
    Balanced,
    /// Low bandwidth.
    Low,
    /// Down to a 56 kbit/s link.
    Dialup,
}

impl BandwidthPreset {
    /// Every preset, from `auto` to `dialup`.
    pub const ALL: [Self; 5] = [
        Self::Auto,
        Self::Best,
        Self::Balanced,
        Self::Low,
        Self::Dialup,
    ];

    /// The preset's name: `auto`, `best`, `balanced`, `low` or `dialup`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Best => "best",
            Self::Balanced => "balanced",
            Self::Low => "low",
            Self::Dialup => "dialup",
        }
    }
}

impl fmt::Display for BandwidthPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no bandwidth preset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bandwidth preset {0:?}; use one of auto, best, balanced, low, dialup")]
pub struct UnknownPreset(pub String);

impl FromStr for BandwidthPreset {
    type Err = UnknownPreset;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPreset(s.to_owned()))
    }
}

/// Why control sharing ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ControlEndReason {
    /// The novice gave control up (the Stop button).
    ReleasedByNovice,
    /// The helper gave control up.
    ReleasedByHelper,
    /// The novice pressed Esc on their own keyboard.
    NoviceEscape,
    /// The novice paused the session.
    Paused,
    /// One side disconnected.
    Disconnected,
    /// The connection was lost.
    ConnectionLost,
    /// Nothing was heard from the peer for too long.
    Timeout,
}

impl ControlEndReason {
    /// The reason in snake case, e.g. `novice_escape`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReleasedByNovice => "released_by_novice",
            Self::ReleasedByHelper => "released_by_helper",
            Self::NoviceEscape => "novice_escape",
            Self::Paused => "paused",
            Self::Disconnected => "disconnected",
            Self::ConnectionLost => "connection_lost",
            Self::Timeout => "timeout",
        }
    }
}

impl fmt::Display for ControlEndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mouse button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MouseButton {
    /// The primary button.
    Left,
    /// The middle button (wheel click).
    Middle,
    /// The secondary button.
    Right,
}

/// One input event from the helper, injected on the novice's desktop during control sharing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InputEvent {
    /// Move the pointer to a position normalized to the shared screen: `0..=1` on each axis.
    Pointer {
        /// Horizontal position, 0 at the left edge, 1 at the right edge.
        x: f32,
        /// Vertical position, 0 at the top edge, 1 at the bottom edge.
        y: f32,
    },
    /// Press or release a mouse button.
    Button {
        /// Which button.
        button: MouseButton,
        /// `true` for press, `false` for release.
        down: bool,
    },
    /// Turn the wheel; positive is away from the user (scroll up).
    Wheel {
        /// Wheel steps.
        dy: i32,
    },
    /// Press or release a key.
    Key {
        /// The X11 keysym name, e.g. `a`, `Return`, `Escape`.
        keysym: String,
        /// `true` for press, `false` for release.
        down: bool,
    },
    /// Type text (for input methods and pasting).
    Text {
        /// The text to type.
        text: String,
    },
}

/// Everything the control stream carries between novice and helper.
///
/// Encoded with postcard inside length-prefixed frames, see [`super::encode`] and
/// [`super::FrameDecoder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// The first message each side sends: its protocol version, display name and role.
    Hello {
        /// The sender's [`super::PROTOCOL_VERSION`].
        protocol_version: u16,
        /// The sender's display name.
        name: String,
        /// The sender's role.
        role: Role,
    },
    /// A password-authenticated key exchange message.
    Pake {
        /// The PAKE message bytes.
        message: Vec<u8>,
    },
    /// Key confirmation of the PAKE.
    PakeConfirm {
        /// The confirmation MAC.
        mac: [u8; 32],
    },
    /// The novice's verdict on the password.
    AuthResult {
        /// Whether the password was right.
        accepted: bool,
        /// How many wrong passwords the invitation still allows.
        attempts_left: u32,
    },
    /// The novice allows the helper to see the screen.
    ConsentGranted,
    /// The novice declined the connection.
    ConsentDenied,
    /// The helper asks for control of mouse and keyboard.
    ControlRequest,
    /// The novice grants control.
    ControlGranted,
    /// The novice denies control (or the request lapsed).
    ControlDenied,
    /// Control sharing ended.
    ControlReleased {
        /// Why it ended.
        reason: ControlEndReason,
    },
    /// The novice paused the session.
    Paused,
    /// The novice resumed the session.
    Resumed,
    /// The novice chose a bandwidth preset.
    Bandwidth {
        /// The chosen preset.
        preset: BandwidthPreset,
    },
    /// A chat line.
    Chat {
        /// The text, at most [`super::MAX_CHAT_LEN`] bytes.
        text: String,
    },
    /// An offer to send a file.
    FileOffer {
        /// The transfer's identifier, chosen by the sender.
        id: u64,
        /// The file's name, at most [`super::MAX_NAME_LEN`] bytes.
        name: String,
        /// The file's size in bytes.
        size: u64,
        /// BLAKE3 hash of the file's content.
        hash: [u8; 32],
    },
    /// The receiver accepts an offered file.
    FileAccept {
        /// The transfer's identifier.
        id: u64,
    },
    /// The receiver declines an offered file.
    FileDecline {
        /// The transfer's identifier.
        id: u64,
    },
    /// Either side cancels a transfer.
    FileCancel {
        /// The transfer's identifier.
        id: u64,
    },
    /// An input event from the helper.
    Input(InputEvent),
    /// The helper's decoder needs a keyframe.
    KeyframeRequest,
    /// The sender ends the session.
    Disconnect {
        /// Why, in words for the other user.
        reason: String,
    },
    /// Liveness probe; answered with [`Message::Pong`].
    Ping,
    /// Answer to [`Message::Ping`].
    Pong,
}

impl Message {
    /// The message's kind in snake case, e.g. `control_request`, for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello { .. } => "hello",
            Self::Pake { .. } => "pake",
            Self::PakeConfirm { .. } => "pake_confirm",
            Self::AuthResult { .. } => "auth_result",
            Self::ConsentGranted => "consent_granted",
            Self::ConsentDenied => "consent_denied",
            Self::ControlRequest => "control_request",
            Self::ControlGranted => "control_granted",
            Self::ControlDenied => "control_denied",
            Self::ControlReleased { .. } => "control_released",
            Self::Paused => "paused",
            Self::Resumed => "resumed",
            Self::Bandwidth { .. } => "bandwidth",
            Self::Chat { .. } => "chat",
            Self::FileOffer { .. } => "file_offer",
            Self::FileAccept { .. } => "file_accept",
            Self::FileDecline { .. } => "file_decline",
            Self::FileCancel { .. } => "file_cancel",
            Self::Input(_) => "input",
            Self::KeyframeRequest => "keyframe_request",
            Self::Disconnect { .. } => "disconnect",
            Self::Ping => "ping",
            Self::Pong => "pong",
        }
    }

    /// Checks the semantic bounds of the message's fields: text lengths, pointer range.
    ///
    /// [`super::FrameDecoder`] applies this to every decoded message and [`super::encode`]
    /// to every message it encodes.
    pub fn validate(&self) -> Result<(), ProtoError> {
        use super::{MAX_CHAT_LEN, MAX_KEYSYM_LEN, MAX_NAME_LEN, MAX_PAKE_LEN, MAX_REASON_LEN};
        let kind = self.kind();
        match self {
            Self::Hello { name, .. } => check_len(kind, "name", name.len(), MAX_NAME_LEN),
            Self::Pake { message } => check_len(kind, "message", message.len(), MAX_PAKE_LEN),
            Self::Chat { text } => check_len(kind, "text", text.len(), MAX_CHAT_LEN),
            Self::FileOffer { name, .. } => {
                check_len(kind, "name", name.len(), MAX_NAME_LEN)?;
                if name.is_empty() {
                    return Err(invalid(kind, "name", "it is empty".into()));
                }
                Ok(())
            }
            Self::Disconnect { reason } => check_len(kind, "reason", reason.len(), MAX_REASON_LEN),
            Self::Input(InputEvent::Pointer { x, y }) => {
                check_coordinate(kind, "x", *x)?;
                check_coordinate(kind, "y", *y)
            }
            Self::Input(InputEvent::Key { keysym, .. }) => {
                check_len(kind, "keysym", keysym.len(), MAX_KEYSYM_LEN)?;
                if keysym.is_empty() {
                    return Err(invalid(kind, "keysym", "it is empty".into()));
                }
                Ok(())
            }
            Self::Input(InputEvent::Text { text }) => {
                check_len(kind, "text", text.len(), MAX_CHAT_LEN)
            }
            _ => Ok(()),
        }
    }
}

fn invalid(kind: &'static str, field: &'static str, reason: String) -> ProtoError {
    ProtoError::InvalidField {
        kind,
        field,
        reason,
    }
}

fn check_len(
    kind: &'static str,
    field: &'static str,
    len: usize,
    max: usize,
) -> Result<(), ProtoError> {
    if len > max {
        return Err(invalid(
            kind,
            field,
            format!("it is {len} bytes, more than the {max} allowed"),
        ));
    }
    Ok(())
}

fn check_coordinate(kind: &'static str, field: &'static str, value: f32) -> Result<(), ProtoError> {
    if !value.is_finite() || !(0.0..=1.0).contains(&value) {
        return Err(invalid(
            kind,
            field,
            format!("{value} is not a position between 0 and 1"),
        ));
    }
    Ok(())
}
