//! The session's deadlines: consent, control request, liveness and ping.

use std::time::Instant;

use crate::proto::{ControlEndReason, Message, Role};

use super::{ControlEnd, Notification, Session, SessionConfig, State};

/// The deadlines that are armed; `None` when not.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Timers {
    /// The novice must answer the connect request by then.
    pub consent: Option<Instant>,
    /// The pending control request lapses then.
    pub control_request: Option<Instant>,
    /// The session ends then unless the peer is heard from.
    pub liveness: Option<Instant>,
    /// The next ping is due then.
    pub ping: Option<Instant>,
}

impl Timers {
    /// Arms liveness and ping for a new connection.
    pub fn connected(&mut self, config: &SessionConfig, now: Instant) {
        self.liveness = Some(now + config.liveness_timeout);
        self.ping = Some(now + config.ping_interval);
    }

    /// Arms and disarms deadlines for a change of state.
    pub fn state_changed(&mut self, config: &SessionConfig, from: State, to: State, now: Instant) {
        if to == State::AwaitingConsent {
            self.consent = Some(now + config.consent_timeout);
        } else {
            self.consent = None;
        }
        if !to.is_connected() {
            *self = Self::default();
        } else if !from.is_connected() {
            self.connected(config, now);
        }
    }

    /// The peer was heard from.
    pub fn heard_from_peer(&mut self, config: &SessionConfig, now: Instant) {
        if self.liveness.is_some() {
            self.liveness = Some(now + config.liveness_timeout);
        }
    }

    /// The earliest armed deadline.
    pub fn earliest(&self) -> Option<Instant> {
        [self.consent, self.control_request, self.liveness, self.ping]
            .into_iter()
            .flatten()
            .min()
    }
}

fn due(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_some_and(|deadline| deadline <= now)
}

impl Session {
    /// The earliest instant at which [`Self::handle_timeout`] has something to do, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.earliest()
    }

    /// Handles every deadline that has passed by `now`: ends the session when the peer
    /// was silent too long or the novice did not answer, lets a control request lapse,
    /// and asks for a ping when one is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        if self.state == State::Ended {
            return;
        }
        if due(self.timers.liveness, now) {
            self.end(
                "connection timed out".into(),
                ControlEnd::remote(ControlEndReason::Timeout),
                None,
            );
            return;
        }
        if due(self.timers.consent, now) {
            let reason = "the novice did not answer";
            self.end(
                reason.into(),
                ControlEnd::remote(ControlEndReason::Timeout),
                Some(Message::Disconnect {
                    reason: reason.into(),
                }),
            );
            return;
        }
        if due(self.timers.control_request, now) {
            self.set_control_requested(false);
            if self.role == Role::Novice {
                // The novice is the authority: tell the helper the request lapsed.
                self.send(Message::ControlDenied);
            }
            self.notify(Notification::ControlDenied);
        }
        if due(self.timers.ping, now) {
            self.send(Message::Ping);
            self.timers.ping = Some(now + self.config.ping_interval);
        }
    }
}
