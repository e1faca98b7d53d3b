//! The states a session goes through.

use std::fmt;

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// The novice waits for a helper to connect (novice only).
    Waiting,
    /// A connection exists; the password is being checked.
    Connecting,
    /// The password was right; the novice is asked to approve the helper.
    AwaitingConsent,
    /// The helper sees the novice's screen, read-only.
    ScreenSharing,
    /// Both share mouse and keyboard.
    ControlSharing,
    /// The novice paused: the helper's view is frozen and no input passes.
    Paused,
    /// The session is over; nothing changes it any more.
    Ended,
}

impl State {
    /// The state's name in snake case: `waiting`, `connecting`, `awaiting_consent`,
    /// `screen_sharing`, `control_sharing`, `paused` or `ended`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Connecting => "connecting",
            Self::AwaitingConsent => "awaiting_consent",
            Self::ScreenSharing => "screen_sharing",
            Self::ControlSharing => "control_sharing",
            Self::Paused => "paused",
            Self::Ended => "ended",
        }
    }

    /// Whether a connection to the peer exists in this state.
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            Self::Connecting
                | Self::AwaitingConsent
                | Self::ScreenSharing
                | Self::ControlSharing
                | Self::Paused
        )
    }

    /// Whether the novice has approved and the session is not over: chat and files work.
    pub fn is_sharing(self) -> bool {
        matches!(
            self,
            Self::ScreenSharing | Self::ControlSharing | Self::Paused
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
