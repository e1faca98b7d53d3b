//! Messages from the peer and events of the connection.

use crate::proto::{ControlEndReason, Message, Role};

use super::{Action, ControlEnd, Notification, Operation, Session, State, TransportEvent};

impl Session {
    pub(super) fn on_message(&mut self, message: Message) {
        let peer = self.role.peer();
        self.timers.heard_from_peer(&self.config, self.now);
        if let Some(operation) = Operation::of_message(&message)
            && let Err(reason) = operation.check(peer)
        {
            self.drop_message(&message, reason);
            return;
        }
        let state = self.state;
        match message {
            Message::Hello { .. }
            | Message::Pake { .. }
            | Message::PakeConfirm { .. }
            | Message::AuthResult { .. } => {
                // The handshake belongs to the authentication layer; only its timing is ours.
                if state != State::Connecting {
                    self.drop_message(&message, "the handshake is over");
                }
            }
            Message::Ping | Message::Pong if !state.is_connected() => {
                self.drop_message(&message, "there is no connection");
            }
            Message::Ping => self.send(Message::Pong),
            Message::Pong => {}
            Message::ConsentGranted | Message::ConsentDenied if state != State::AwaitingConsent => {
                self.drop_message(&message, "no connection is waiting for approval");
            }
            Message::ConsentGranted => {
                self.set_state(State::ScreenSharing, None, self.remote_end());
            }
            Message::ConsentDenied => {
                self.end("the novice declined".into(), self.remote_end(), None);
            }
            Message::ControlRequest => match state {
                State::ScreenSharing if !self.control_requested => {
                    self.set_control_requested(true);
                    self.notify(Notification::ControlRequested);
                }
                State::ScreenSharing => {
                    self.drop_message(&message, "control was already requested");
                }
                State::Paused => self.drop_message(&message, "the session is paused"),
                _ => self.drop_message(&message, "the screen is not shared"),
            },
            Message::ControlGranted if state != State::ScreenSharing => {
                self.drop_message(&message, "the screen is not shared");
            }
            Message::ControlGranted => {
                // The novice is the authority on control: follow even a grant that arrives
                // after our own request lapsed.
                self.notify(Notification::ControlGranted);
                self.set_state(State::ControlSharing, None, self.remote_end());
            }
            Message::ControlDenied if state != State::ScreenSharing => {
                self.drop_message(&message, "the screen is not shared");
            }
            Message::ControlDenied => {
                // A denial of a request that already lapsed here needs no second notice.
                if self.control_requested {
                    self.set_control_requested(false);
                    self.notify(Notification::ControlDenied);
                }
            }
            Message::ControlReleased { reason } => match state {
                State::ControlSharing => {
                    // The helper cannot claim what only the novice does.
                    let reason = match (peer, reason) {
                        (
                            Role::Helper,
                            ControlEndReason::ReleasedByNovice
                            | ControlEndReason::NoviceEscape
                            | ControlEndReason::Paused,
                        ) => ControlEndReason::ReleasedByHelper,
                        (_, reason) => reason,
                    };
                    self.set_state(State::ScreenSharing, None, ControlEnd::remote(reason));
                }
                // Both sides gave control up at once: nothing left to do.
                State::ScreenSharing | State::Paused => {}
                _ => self.drop_message(&message, "control is not shared"),
            },
            Message::Paused if !matches!(state, State::ScreenSharing | State::ControlSharing) => {
                self.drop_message(&message, "the screen is not shared");
            }
            Message::Paused => {
                self.set_state(
                    State::Paused,
                    None,
                    ControlEnd::remote(ControlEndReason::Paused),
                );
                self.notify(Notification::Paused);
            }
            Message::Resumed if state != State::Paused => {
                self.drop_message(&message, "the session is not paused");
            }
            Message::Resumed => {
                self.set_state(State::ScreenSharing, None, self.remote_end());
                self.notify(Notification::Resumed);
            }
            Message::Input(event) => {
                if state == State::ControlSharing {
                    self.actions.push_back(Action::InjectInput(event));
                } else {
                    self.dropped_input += 1;
                    tracing::debug!(state = %state, "dropped input: control is not shared");
                }
            }
            Message::Disconnect { reason } => {
                let reason = if reason.trim().is_empty() {
                    format!("the {peer} disconnected")
                } else {
                    reason
                };
                self.end(
                    reason,
                    ControlEnd::remote(ControlEndReason::Disconnected),
                    None,
                );
            }
            Message::Bandwidth { .. }
            | Message::Chat { .. }
            | Message::FileOffer { .. }
            | Message::FileAccept { .. }
            | Message::FileDecline { .. }
            | Message::FileCancel { .. }
            | Message::KeyframeRequest => self.shared_message(message, peer),
        }
    }

    /// Chat, files, bandwidth and keyframe requests: they work while the screen is shared,
    /// paused or not.
    fn shared_message(&mut self, message: Message, peer: Role) {
        if !self.state.is_sharing() {
            self.drop_message(&message, "the novice has not approved the connection");
            return;
        }
        let notification = match message {
            Message::Bandwidth { preset } => Notification::BandwidthChanged { preset },
            Message::Chat { text } => Notification::Chat { from: peer, text },
            Message::FileOffer {
                id,
                name,
                size,
                hash,
            } => Notification::FileOffered {
                from: peer,
                id,
                name,
                size,
                hash,
            },
            Message::FileAccept { id } => Notification::FileAccepted { id },
            Message::FileDecline { id } => Notification::FileDeclined { id },
            Message::FileCancel { id } => Notification::FileCancelled { id },
            Message::KeyframeRequest => Notification::KeyframeRequested,
            _ => return,
        };
        self.notify(notification);
    }

    pub(super) fn on_transport(&mut self, event: TransportEvent) {
        let state = self.state;
        match event {
            TransportEvent::PeerConnected if state == State::Waiting => {
                self.set_state(State::Connecting, None, self.remote_end());
            }
            TransportEvent::Authenticated {
                peer_name,
                safety_code,
            } if state == State::Connecting => {
                self.set_state(State::AwaitingConsent, None, self.remote_end());
                self.notify(match self.role {
                    Role::Novice => Notification::ConnectRequest {
                        helper: peer_name,
                        safety_code,
                    },
                    Role::Helper => Notification::SafetyCode { code: safety_code },
                });
            }
            TransportEvent::AuthFailed { attempts_left } if state == State::Connecting => {
                match (self.role, attempts_left) {
                    (Role::Novice, 0) => {
                        self.end("too many wrong passwords".into(), self.remote_end(), None);
                    }
                    (Role::Novice, _) => {
                        let reason = format!("wrong password, {attempts_left} attempts left");
                        self.set_state(State::Waiting, Some(reason.clone()), self.remote_end());
                        self.actions.push_back(Action::Close { reason });
                    }
                    (Role::Helper, _) => {
                        let reason = format!("wrong password, {attempts_left} attempts left");
                        self.end(reason, self.remote_end(), None);
                    }
                }
            }
            TransportEvent::ConnectionLost { reason } => {
                let reason = if reason.trim().is_empty() {
                    "the connection was lost".to_owned()
                } else {
                    format!("the connection was lost: {reason}")
                };
                self.end(
                    reason,
                    ControlEnd::remote(ControlEndReason::ConnectionLost),
                    None,
                );
            }
            other => {
                tracing::debug!(state = %state, event = ?other, "transport event ignored in this state");
            }
        }
    }

    /// Drops a forbidden or out-of-state message from the peer, says so and counts it.
    fn drop_message(&mut self, message: &Message, reason: impl Into<String>) {
        self.dropped_messages += 1;
        let what = format!("{} from the {}", message.kind(), self.role.peer());
        self.refuse(what, reason);
    }

    /// For transitions that cannot leave control sharing.
    fn remote_end(&self) -> ControlEnd {
        ControlEnd::remote(ControlEndReason::Disconnected)
    }
}
