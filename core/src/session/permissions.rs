//! Who may do what: the permission table of the design, in one place.
//!
//! | operation | novice | helper |
//! |---|---|---|
//! | chat, send files, give up control, disconnect | yes | yes |
//! | configure bandwidth, pause/resume, disconnect with Esc | yes | no |
//! | request control (and then send input, ask for keyframes) | no | yes |
//! | approve/deny the connection, grant/deny control | yes | no |

use std::fmt;

use crate::proto::{Message, Role};

use super::Command;

/// Something a user, or the peer on their behalf, may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Send a chat line.
    Chat,
    /// Offer, accept, decline or cancel a file transfer.
    SendFiles,
    /// Give control up.
    GiveUpControl,
    /// End the session.
    Disconnect,
    /// Choose a bandwidth preset.
    ConfigureBandwidth,
    /// Pause or resume the session.
    PauseResume,
    /// Take control back with Esc on the novice's own keyboard.
    Escape,
    /// Ask for control of mouse and keyboard.
    RequestControl,
    /// Send mouse and keyboard input.
    SendInput,
    /// Ask the screen encoder for a keyframe.
    RequestKeyframe,
    /// Approve or deny the connection.
    AnswerConsent,
    /// Grant or deny control.
    AnswerControl,
}

impl Operation {
    /// The operation in words, e.g. `pause or resume`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::SendFiles => "send files",
            Self::GiveUpControl => "give up control",
            Self::Disconnect => "disconnect",
            Self::ConfigureBandwidth => "configure bandwidth",
            Self::PauseResume => "pause or resume",
            Self::Escape => "take control back with Esc",
            Self::RequestControl => "request control",
            Self::SendInput => "send input",
            Self::RequestKeyframe => "request a keyframe",
            Self::AnswerConsent => "approve or deny the connection",
            Self::AnswerControl => "grant or deny control",
        }
    }

    /// The roles allowed to perform the operation.
    pub fn allowed_roles(self) -> &'static [Role] {
        match self {
            Self::Chat | Self::SendFiles | Self::GiveUpControl | Self::Disconnect => {
                &[Role::Novice, Role::Helper]
            }
            Self::ConfigureBandwidth
            | Self::PauseResume
            | Self::Escape
            | Self::AnswerConsent
            | Self::AnswerControl => &[Role::Novice],
            Self::RequestControl | Self::SendInput | Self::RequestKeyframe => &[Role::Helper],
        }
    }

    /// Whether `role` may perform the operation.
    pub fn allowed(self, role: Role) -> bool {
        self.allowed_roles().contains(&role)
    }

    /// `Ok` if `role` may perform the operation, otherwise why not.
    pub fn check(self, role: Role) -> Result<(), String> {
        if self.allowed(role) {
            return Ok(());
        }
        let only = match self.allowed_roles() {
            [only] => only.as_str(),
            _ => "other side",
        };
        Err(format!(
            "only the {only} may {}, not the {role}",
            self.as_str()
        ))
    }

    /// The operation a local command performs.
    pub fn of_command(command: &Command) -> Self {
        match command {
            Command::Approve | Command::Deny => Self::AnswerConsent,
            Command::RequestControl => Self::RequestControl,
            Command::GrantControl | Command::DenyControl => Self::AnswerControl,
            Command::ReleaseControl => Self::GiveUpControl,
            Command::Pause | Command::Resume => Self::PauseResume,
            Command::SetBandwidth(_) => Self::ConfigureBandwidth,
            Command::Chat(_) => Self::Chat,
            Command::OfferFile { .. }
            | Command::AcceptFile { .. }
            | Command::DeclineFile { .. }
            | Command::CancelFile { .. } => Self::SendFiles,
            Command::Input(_) => Self::SendInput,
            Command::LocalEscape => Self::Escape,
            Command::RequestKeyframe => Self::RequestKeyframe,
            Command::Disconnect => Self::Disconnect,
        }
    }

    /// The operation a message from the peer performs; `None` for the handshake and
    /// liveness messages, which both sides send.
    pub fn of_message(message: &Message) -> Option<Self> {
        Some(match message {
            Message::Hello { .. }
            | Message::Pake { .. }
            | Message::PakeConfirm { .. }
            | Message::AuthResult { .. }
            | Message::Ping
            | Message::Pong => return None,
            Message::ConsentGranted | Message::ConsentDenied => Self::AnswerConsent,
            Message::ControlRequest => Self::RequestControl,
            Message::ControlGranted | Message::ControlDenied => Self::AnswerControl,
            Message::ControlReleased { .. } => Self::GiveUpControl,
            Message::Paused | Message::Resumed => Self::PauseResume,
            Message::Bandwidth { .. } => Self::ConfigureBandwidth,
            Message::Chat { .. } => Self::Chat,
            Message::FileOffer { .. }
            | Message::FileAccept { .. }
            | Message::FileDecline { .. }
            | Message::FileCancel { .. } => Self::SendFiles,
            Message::Input(_) => Self::SendInput,
            Message::KeyframeRequest => Self::RequestKeyframe,
            Message::Disconnect { .. } => Self::Disconnect,
        })
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
