//! Commands of the local user.

use crate::proto::{ControlEndReason, InputEvent, Message, Role};

use super::{Command, ControlEnd, Notification, Operation, Session, State};

impl Session {
    pub(super) fn on_command(&mut self, command: Command) {
        let operation = Operation::of_command(&command);
        if let Err(reason) = operation.check(self.role) {
            self.refuse(operation.as_str(), reason);
            return;
        }
        let state = self.state;
        match command {
            Command::Approve | Command::Deny if state != State::AwaitingConsent => {
                self.refuse(operation.as_str(), "no connection is waiting for approval");
            }
            Command::Approve => {
                self.send(Message::ConsentGranted);
                self.set_state(State::ScreenSharing, None, self.no_control_end());
            }
            Command::Deny => {
                let reason = "the novice declined";
                self.end(
                    reason.into(),
                    self.no_control_end(),
                    Some(Message::ConsentDenied),
                );
            }
            Command::RequestControl => self.request_control(),
            Command::GrantControl | Command::DenyControl if !self.control_requested => {
                self.refuse(operation.as_str(), "the helper has not requested control");
            }
            Command::GrantControl => {
                self.send(Message::ControlGranted);
                self.notify(Notification::ControlGranted);
                self.set_state(State::ControlSharing, None, self.no_control_end());
            }
            Command::DenyControl => {
                self.set_control_requested(false);
                self.send(Message::ControlDenied);
                self.notify(Notification::ControlDenied);
            }
            Command::ReleaseControl if state != State::ControlSharing => {
                self.refuse(operation.as_str(), "control is not shared");
            }
            Command::ReleaseControl => {
                let reason = match self.role {
                    Role::Novice => ControlEndReason::ReleasedByNovice,
                    Role::Helper => ControlEndReason::ReleasedByHelper,
                };
                self.set_state(State::ScreenSharing, None, ControlEnd::local(reason));
            }
            Command::RequestKeyframe
                if !matches!(state, State::ScreenSharing | State::ControlSharing) =>
            {
                self.refuse(operation.as_str(), "the screen is not being shared");
            }
            Command::RequestKeyframe => self.send(Message::KeyframeRequest),
            Command::Pause if !matches!(state, State::ScreenSharing | State::ControlSharing) => {
                self.refuse(operation.as_str(), "only a shared screen can be paused");
            }
            Command::Pause => {
                self.set_state(
                    State::Paused,
                    None,
                    ControlEnd::local(ControlEndReason::Paused),
                );
                self.send(Message::Paused);
                self.notify(Notification::Paused);
            }
            Command::Resume if state != State::Paused => {
                self.refuse(operation.as_str(), "the session is not paused");
            }
            Command::Resume => {
                self.send(Message::Resumed);
                self.set_state(State::ScreenSharing, None, self.no_control_end());
                self.notify(Notification::Resumed);
            }
            Command::LocalEscape => {
                // Outside control sharing, Esc is an ordinary key of the novice's.
                if state == State::ControlSharing {
                    self.set_state(
                        State::ScreenSharing,
                        None,
                        ControlEnd::local(ControlEndReason::NoviceEscape),
                    );
                }
            }
            Command::Input(event) => self.send_input(event),
            Command::Disconnect => {
                let reason = format!("the {} disconnected", self.role);
                let farewell = state.is_connected().then(|| Message::Disconnect {
                    reason: reason.clone(),
                });
                self.end(
                    reason,
                    ControlEnd::local(ControlEndReason::Disconnected),
                    farewell,
                );
            }
            Command::SetBandwidth(_)
            | Command::Chat(_)
            | Command::OfferFile { .. }
            | Command::AcceptFile { .. }
            | Command::DeclineFile { .. }
            | Command::CancelFile { .. } => self.share(command, operation),
        }
    }

    /// Chat, files and bandwidth: they work while the screen is shared, paused or not.
    fn share(&mut self, command: Command, operation: Operation) {
        if !self.state.is_sharing() {
            self.refuse(
                operation.as_str(),
                "only possible once the novice has approved the connection",
            );
            return;
        }
        let (message, notification) = match command {
            Command::SetBandwidth(preset) => (
                Message::Bandwidth { preset },
                Notification::BandwidthChanged { preset },
            ),
            Command::Chat(text) => (
                Message::Chat { text: text.clone() },
                Notification::Chat {
                    from: self.role,
                    text,
                },
            ),
            Command::OfferFile {
                id,
                name,
                size,
                hash,
            } => (
                Message::FileOffer {
                    id,
                    name: name.clone(),
                    size,
                    hash,
                },
                Notification::FileOffered {
                    from: self.role,
                    id,
                    name,
                    size,
                    hash,
                },
            ),
            Command::AcceptFile { id } => (
                Message::FileAccept { id },
                Notification::FileAccepted { id },
            ),
            Command::DeclineFile { id } => (
                Message::FileDecline { id },
                Notification::FileDeclined { id },
            ),
            Command::CancelFile { id } => (
                Message::FileCancel { id },
                Notification::FileCancelled { id },
            ),
            _ => return,
        };
        if let Err(err) = message.validate() {
            self.refuse(operation.as_str(), err.to_string());
            return;
        }
        self.send(message);
        self.notify(notification);
    }

    fn request_control(&mut self) {
        let what = Operation::RequestControl.as_str();
        match self.state {
            State::ScreenSharing if self.control_requested => {
                self.refuse(what, "control was already requested; wait for the novice");
            }
            State::ScreenSharing => {
                self.set_control_requested(true);
                self.send(Message::ControlRequest);
            }
            State::ControlSharing => self.refuse(what, "control is already shared"),
            State::Paused => self.refuse(what, "the novice has paused the session"),
            _ => self.refuse(what, "the screen is not shared yet"),
        }
    }

    /// The helper's input goes to the novice only while control is shared; otherwise it
    /// is dropped here without a word (pointer motion would flood any notice).
    fn send_input(&mut self, event: InputEvent) {
        if self.state != State::ControlSharing {
            return;
        }
        let message = Message::Input(event);
        match message.validate() {
            Ok(()) => self.send(message),
            Err(err) => self.refuse(Operation::SendInput.as_str(), err.to_string()),
        }
    }

    /// For transitions that cannot leave control sharing.
    fn no_control_end(&self) -> ControlEnd {
        ControlEnd::local(ControlEndReason::Disconnected)
    }
}
