//! The session state machine, sans-IO in the manner of `quinn-proto`.
//!
//! A [`Session`] owns no socket, clock or task. The driver hands it [`Event`]s with
//! [`Session::handle`], takes the resulting [`Action`]s with [`Session::poll_action`], and
//! calls [`Session::handle_timeout`] once the instant of [`Session::poll_timeout`] has
//! passed.
//!
//! Every permission of the design's table is enforced here and nowhere else (see
//! [`Operation`]): a forbidden local command yields only [`Notification::Refused`]; a
//! forbidden or out-of-state message from the peer is dropped, refused and counted in
//! [`Session::dropped_messages`], except input outside control sharing, which is dropped and
//! counted in [`Session::dropped_input`].

mod event;
mod local;
mod permissions;
mod remote;
mod state;
mod timers;

pub use event::{Action, Command, Event, Notification, SessionConfig, TransportEvent};
pub use permissions::Operation;
pub use state::State;

use std::collections::VecDeque;
use std::time::Instant;

use crate::proto::{ControlEndReason, Message, Role};

/// One side of a remote-assistance session.
#[derive(Debug)]
pub struct Session {
    role: Role,
    config: SessionConfig,
    state: State,
    now: Instant,
    control_requested: bool,
    end_reason: Option<String>,
    timers: timers::Timers,
    actions: VecDeque<Action>,
    dropped_messages: u64,
    dropped_input: u64,
}

/// How control sharing ends if a transition leaves it: why, and whether the local side
/// caused it (and so tells the peer).
#[derive(Debug, Clone, Copy)]
struct ControlEnd {
    reason: ControlEndReason,
    tell_peer: bool,
}

impl ControlEnd {
    fn local(reason: ControlEndReason) -> Self {
        Self {
            reason,
            tell_peer: true,
        }
    }

    fn remote(reason: ControlEndReason) -> Self {
        Self {
            reason,
            tell_peer: false,
        }
    }
}

impl Session {
    /// A new session: the novice starts [`State::Waiting`] for a helper, the helper starts
    /// [`State::Connecting`] (its connection exists).
    pub fn new(role: Role, config: SessionConfig, now: Instant) -> Self {
        let mut session = Self {
            role,
            config,
            state: State::Waiting,
            now,
            control_requested: false,
            end_reason: None,
            timers: timers::Timers::default(),
            actions: VecDeque::new(),
            dropped_messages: 0,
            dropped_input: 0,
        };
        if role == Role::Helper {
            session.state = State::Connecting;
            session.timers.connected(&config, now);
        }
        session
    }

    /// Handles one event; its actions are queued for [`Self::poll_action`].
    ///
    /// Once the session has [`State::Ended`], every event is ignored.
    pub fn handle(&mut self, event: Event, now: Instant) {
        self.now = self.now.max(now);
        if self.state == State::Ended {
            return;
        }
        match event {
            Event::Local(command) => self.on_command(command),
            Event::Remote(message) => self.on_message(message),
            Event::Transport(transport) => self.on_transport(transport),
        }
    }

    /// The next action for the driver, in the order they arose.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// This side's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether a control request of the helper awaits the novice's answer.
    pub fn control_requested(&self) -> bool {
        self.control_requested
    }

    /// Why the session ended, once it has.
    pub fn end_reason(&self) -> Option<&str> {
        self.end_reason.as_deref()
    }

    /// How many messages from the peer were dropped as forbidden or out of state.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages
    }

    /// How many input events from the peer were dropped because control was not shared.
    pub fn dropped_input(&self) -> u64 {
        self.dropped_input
    }

    /// The session's timeouts.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    fn send(&mut self, message: Message) {
        self.actions.push_back(Action::Send(message));
    }

    fn notify(&mut self, notification: Notification) {
        self.actions.push_back(Action::Notify(notification));
    }

    fn refuse(&mut self, what: impl Into<String>, reason: impl Into<String>) {
        let (what, reason) = (what.into(), reason.into());
        tracing::debug!(role = %self.role, %what, %reason, "refused");
        self.notify(Notification::Refused { what, reason });
    }

    /// Moves to `to`; if that leaves control sharing, revokes control first as `end` says.
    fn set_state(&mut self, to: State, reason: Option<String>, end: ControlEnd) {
        let from = self.state;
        if from == to {
            return;
        }
        if from == State::ControlSharing {
            if end.tell_peer {
                self.send(Message::ControlReleased { reason: end.reason });
            }
            self.notify(Notification::ControlEnded { reason: end.reason });
        }
        if to != State::ScreenSharing {
            self.set_control_requested(false);
        }
        self.state = to;
        self.timers.state_changed(&self.config, from, to, self.now);
        tracing::debug!(role = %self.role, from = %from, to = %to, ?reason, "session state");
        self.notify(Notification::StateChanged { state: to, reason });
    }

    /// Ends the session: revokes control as `end` says, sends `farewell` if given, then
    /// asks the driver to close the connection.
    fn end(&mut self, reason: String, end: ControlEnd, farewell: Option<Message>) {
        if self.state == State::ControlSharing {
            if end.tell_peer {
                self.send(Message::ControlReleased { reason: end.reason });
            }
            self.notify(Notification::ControlEnded { reason: end.reason });
            // Control has been revoked; do not revoke it again on the way to Ended.
            self.state = State::ScreenSharing;
        }
        if let Some(message) = farewell {
            self.send(message);
        }
        self.end_reason = Some(reason.clone());
        self.set_state(
            State::Ended,
            Some(reason.clone()),
            ControlEnd::remote(end.reason),
        );
        self.actions.push_back(Action::Close { reason });
    }

    fn set_control_requested(&mut self, requested: bool) {
        self.control_requested = requested;
        let deadline = requested.then(|| self.now + self.config.control_request_timeout);
        self.timers.control_request = deadline;
    }
}
