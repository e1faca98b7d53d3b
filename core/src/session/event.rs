//! What goes into a session (events) and what comes out (actions).

use std::time::Duration;

use crate::proto::{BandwidthPreset, ControlEndReason, InputEvent, Message, Role};

use super::State;

/// Something that happened, handed to [`super::Session::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The local user asks for something.
    Local(Command),
    /// The peer sent a message.
    Remote(Message),
    /// The connection changed.
    Transport(TransportEvent),
}

/// What the local user may ask for. Whether they may is decided by the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Approve the waiting helper (novice).
    Approve,
    /// Decline the waiting helper (novice).
    Deny,
    /// Ask for control (helper).
    RequestControl,
    /// Grant the helper's control request (novice).
    GrantControl,
    /// Deny the helper's control request (novice).
    DenyControl,
    /// Give control up (either side).
    ReleaseControl,
    /// Pause the session (novice).
    Pause,
    /// Resume a paused session (novice).
    Resume,
    /// Choose a bandwidth preset (novice).
    SetBandwidth(BandwidthPreset),
    /// Send a chat line (either side).
    Chat(String),
    /// Offer a file (either side).
    OfferFile {
        /// The transfer's identifier.
        id: u64,
        /// The file's name.
        name: String,
        /// The file's size in bytes.
        size: u64,
        /// BLAKE3 hash of the file's content.
        hash: [u8; 32],
    },
    /// Accept a file the peer offered.
    AcceptFile {
        /// The transfer's identifier.
        id: u64,
    },
    /// Decline a file the peer offered.
    DeclineFile {
        /// The transfer's identifier.
        id: u64,
    },
    /// Cancel a transfer.
    CancelFile {
        /// The transfer's identifier.
        id: u64,
    },
    /// Input on the helper's view of the novice's screen (helper).
    Input(InputEvent),
    /// The novice pressed Esc on their own keyboard.
    LocalEscape,
    /// Ask for a keyframe because the video cannot be decoded (helper).
    RequestKeyframe,
    /// End the session (either side).
    Disconnect,
}

/// What the connection layer reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportEvent {
    /// A helper's connection arrived (novice: waiting → connecting).
    PeerConnected,
    /// The password-authenticated key exchange succeeded.
    Authenticated {
        /// The peer's display name.
        peer_name: String,
        /// The safety code both users compare.
        safety_code: String,
    },
    /// The password was wrong.
    AuthFailed {
        /// How many wrong passwords the invitation still allows.
        attempts_left: u32,
    },
    /// The connection is gone.
    ConnectionLost {
        /// Why, in words.
        reason: String,
    },
}

/// Something the driver must do, taken with [`super::Session::poll_action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a message to the peer.
    Send(Message),
    /// Tell the user interface, script mode and session log.
    Notify(Notification),
    /// Inject an input event on the local desktop (novice, control sharing only).
    InjectInput(InputEvent),
    /// Close the connection.
    Close {
        /// Why, in words.
        reason: String,
    },
}

/// News for the user interface, script mode and session log.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// The session's state changed.
    StateChanged {
        /// The new state.
        state: State,
        /// Why, when there is more to say than the state.
        reason: Option<String>,
    },
    /// A helper with the right password wants to connect; ask the novice.
    ConnectRequest {
        /// The helper's display name.
        helper: String,
        /// The safety code to compare with the helper.
        safety_code: String,
    },
    /// The safety code to compare with the novice (helper).
    SafetyCode {
        /// The code.
        code: String,
    },
    /// The helper asks for control; ask the novice.
    ControlRequested,
    /// Control is shared now.
    ControlGranted,
    /// The control request was denied or lapsed.
    ControlDenied,
    /// Control sharing ended.
    ControlEnded {
        /// Why.
        reason: ControlEndReason,
    },
    /// A chat line.
    Chat {
        /// Who wrote it.
        from: Role,
        /// The text.
        text: String,
    },
    /// A file was offered.
    FileOffered {
        /// Who offers it.
        from: Role,
        /// The transfer's identifier.
        id: u64,
        /// The file's name as the sender gave it.
        name: String,
        /// The file's size in bytes.
        size: u64,
        /// BLAKE3 hash of the file's content.
        hash: [u8; 32],
    },
    /// A file offer was accepted.
    FileAccepted {
        /// The transfer's identifier.
        id: u64,
    },
    /// A file offer was declined.
    FileDeclined {
        /// The transfer's identifier.
        id: u64,
    },
    /// A transfer was cancelled.
    FileCancelled {
        /// The transfer's identifier.
        id: u64,
    },
    /// The bandwidth preset changed.
    BandwidthChanged {
        /// The new preset.
        preset: BandwidthPreset,
    },
    /// The helper needs a keyframe (novice).
    KeyframeRequested,
    /// A request was refused by the permission table or the current state.
    Refused {
        /// What was asked, e.g. `pause or resume` or `pause or resume from the helper`.
        what: String,
        /// Why it was refused.
        reason: String,
    },
    /// The session was paused.
    Paused,
    /// The session was resumed.
    Resumed,
}

/// Timeouts of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// How long the novice may take to approve a connection.
    pub consent_timeout: Duration,
    /// How long a control request waits for the novice's answer.
    pub control_request_timeout: Duration,
    /// How long the peer may stay silent before the session ends.
    pub liveness_timeout: Duration,
    /// How often to ping the peer while connected.
    pub ping_interval: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            consent_timeout: Duration::from_secs(120),
            control_request_timeout: Duration::from_secs(60),
            liveness_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(10),
        }
    }
}
