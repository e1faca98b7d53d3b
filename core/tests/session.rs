//! The session state machine: a novice and a helper driven against each other, the
//! permission table, timeouts, and property tests of the invariants.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use lifeline_core::proto::{BandwidthPreset, ControlEndReason, InputEvent, Message, Role};
use lifeline_core::session::{
    Action, Command, Event, Notification, Session, SessionConfig, State, TransportEvent,
};
use proptest::prelude::*;

/// A novice and a helper session, their clock, and the messages in flight between them.
struct Pair {
    novice: Session,
    helper: Session,
    base: Instant,
    now: Instant,
    /// Everything but `Send` that each side produced, in order.
    novice_log: Vec<Action>,
    helper_log: Vec<Action>,
}

impl Pair {
    fn new() -> Self {
        let base = Instant::now();
        Self {
            novice: Session::new(Role::Novice, SessionConfig::default(), base),
            helper: Session::new(Role::Helper, SessionConfig::default(), base),
            base,
            now: base,
            novice_log: Vec::new(),
            helper_log: Vec::new(),
        }
    }

    fn side(&mut self, role: Role) -> &mut Session {
        match role {
            Role::Novice => &mut self.novice,
            Role::Helper => &mut self.helper,
        }
    }

    /// Handles an event on one side, then delivers every message sent either way until
    /// both are quiet.
    fn on(&mut self, role: Role, event: Event) {
        let now = self.now;
        self.side(role).handle(event, now);
        self.pump();
    }

    fn local(&mut self, role: Role, command: Command) {
        self.on(role, Event::Local(command));
    }

    fn transport(&mut self, role: Role, event: TransportEvent) {
        self.on(role, Event::Transport(event));
    }

    /// Moves the clock, firing each deadline of either side when it comes, as a driver
    /// does, and delivering what that sends.
    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        loop {
            let next = [self.novice.poll_timeout(), self.helper.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(deadline) if deadline <= target => {
                    self.now = self.now.max(deadline);
                    let now = self.now;
                    self.novice.handle_timeout(now);
                    self.helper.handle_timeout(now);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = target;
    }

    /// Delivers `Send` actions of each side as `Remote` events of the other until quiet.
    fn pump(&mut self) {
        loop {
            let mut quiet = true;
            for from in [Role::Novice, Role::Helper] {
                while let Some(action) = self.side(from).poll_action() {
                    match action {
                        Action::Send(message) => {
                            quiet = false;
                            let now = self.now;
                            self.side(from.peer()).handle(Event::Remote(message), now);
                        }
                        other => match from {
                            Role::Novice => self.novice_log.push(other),
                            Role::Helper => self.helper_log.push(other),
                        },
                    }
                }
            }
            if quiet {
                return;
            }
        }
    }

    /// Takes what each side logged since the last call.
    fn take_logs(&mut self) -> (Vec<Action>, Vec<Action>) {
        (
            std::mem::take(&mut self.novice_log),
            std::mem::take(&mut self.helper_log),
        )
    }

    fn authenticate(&mut self) {
        self.transport(Role::Novice, TransportEvent::PeerConnected);
        for (role, name) in [(Role::Novice, "Helga"), (Role::Helper, "Norbert")] {
            self.transport(
                role,
                TransportEvent::Authenticated {
                    peer_name: name.into(),
                    safety_code: "417 902".into(),
                },
            );
        }
    }

    fn screen_sharing() -> Self {
        let mut pair = Self::new();
        pair.authenticate();
        pair.local(Role::Novice, Command::Approve);
        pair.assert_states(State::ScreenSharing);
        pair.take_logs();
        pair
    }

    fn control_sharing() -> Self {
        let mut pair = Self::screen_sharing();
        pair.local(Role::Helper, Command::RequestControl);
        pair.local(Role::Novice, Command::GrantControl);
        pair.assert_states(State::ControlSharing);
        pair.take_logs();
        pair
    }

    fn assert_states(&self, state: State) {
        assert_eq!(
            (self.novice.state(), self.helper.state()),
            (state, state),
            "novice and helper states"
        );
    }
}

fn notes(actions: &[Action]) -> Vec<Notification> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Notify(notification) => Some(notification.clone()),
            _ => None,
        })
        .collect()
}

fn has_control_ended(actions: &[Action], reason: ControlEndReason) -> bool {
    actions.contains(&Action::Notify(Notification::ControlEnded { reason }))
}

fn is_refused(action: &Action) -> bool {
    matches!(action, Action::Notify(Notification::Refused { .. }))
}

fn drain(session: &mut Session) -> Vec<Action> {
    std::iter::from_fn(|| session.poll_action()).collect()
}

#[test]
fn the_whole_flow() {
    let mut pair = Pair::new();
    assert_eq!(pair.novice.state(), State::Waiting);
    assert_eq!(pair.helper.state(), State::Connecting);

    pair.authenticate();
    pair.assert_states(State::AwaitingConsent);
    let (novice, helper) = pair.take_logs();
    assert!(
        notes(&novice).contains(&Notification::ConnectRequest {
            helper: "Helga".into(),
            safety_code: "417 902".into()
        }),
        "{novice:?}"
    );
    assert!(notes(&helper).contains(&Notification::SafetyCode {
        code: "417 902".into()
    }));

    pair.local(Role::Novice, Command::Approve);
    pair.assert_states(State::ScreenSharing);

    // Chat and files both ways.
    pair.local(Role::Helper, Command::Chat("Hello!".into()));
    pair.local(
        Role::Novice,
        Command::OfferFile {
            id: 1,
            name: "log.txt".into(),
            size: 12,
            hash: [1; 32],
        },
    );
    pair.local(Role::Helper, Command::AcceptFile { id: 1 });
    pair.take_logs();

    // Input before control is dropped on both sides.
    pair.local(
        Role::Helper,
        Command::Input(InputEvent::Pointer { x: 0.5, y: 0.5 }),
    );
    assert_eq!(pair.novice.dropped_input(), 0, "not even sent");
    pair.novice.handle(
        Event::Remote(Message::Input(InputEvent::Wheel { dy: 1 })),
        pair.now,
    );
    assert!(drain(&mut pair.novice).is_empty());
    assert_eq!(pair.novice.dropped_input(), 1);

    // Control.
    pair.local(Role::Helper, Command::RequestControl);
    assert!(pair.novice.control_requested() && pair.helper.control_requested());
    let (novice, _) = pair.take_logs();
    assert!(notes(&novice).contains(&Notification::ControlRequested));
    pair.local(Role::Novice, Command::GrantControl);
    pair.assert_states(State::ControlSharing);
    assert!(!pair.novice.control_requested());
    let (_, helper) = pair.take_logs();
    assert!(notes(&helper).contains(&Notification::ControlGranted));

    let key = InputEvent::Key {
        keysym: "Return".into(),
        down: true,
    };
    pair.local(Role::Helper, Command::Input(key.clone()));
    let (novice, _) = pair.take_logs();
    assert_eq!(novice, vec![Action::InjectInput(key)]);

    // Esc on the novice's keyboard takes control back.
    pair.local(Role::Novice, Command::LocalEscape);
    pair.assert_states(State::ScreenSharing);
    let (novice, helper) = pair.take_logs();
    assert!(has_control_ended(&novice, ControlEndReason::NoviceEscape));
    assert!(has_control_ended(&helper, ControlEndReason::NoviceEscape));

    // Pause, bandwidth, resume.
    pair.local(Role::Novice, Command::Pause);
    pair.assert_states(State::Paused);
    pair.local(Role::Novice, Command::SetBandwidth(BandwidthPreset::Low));
    pair.local(Role::Novice, Command::Chat("one moment".into()));
    pair.local(Role::Novice, Command::Resume);
    pair.assert_states(State::ScreenSharing);
    let (_, helper) = pair.take_logs();
    let helper = notes(&helper);
    for expected in [
        Notification::Paused,
        Notification::BandwidthChanged {
            preset: BandwidthPreset::Low,
        },
        Notification::Chat {
            from: Role::Novice,
            text: "one moment".into(),
        },
        Notification::Resumed,
    ] {
        assert!(helper.contains(&expected), "{expected:?} in {helper:?}");
    }

    pair.local(Role::Helper, Command::Disconnect);
    pair.assert_states(State::Ended);
    assert_eq!(pair.helper.end_reason(), Some("the helper disconnected"));
    assert_eq!(pair.novice.end_reason(), Some("the helper disconnected"));
    let (novice, helper) = pair.take_logs();
    assert!(matches!(novice.last(), Some(Action::Close { .. })));
    assert!(matches!(helper.last(), Some(Action::Close { .. })));
    assert_eq!(pair.novice.dropped_messages(), 0);
    assert_eq!(pair.helper.dropped_messages(), 0);
}

#[test]
fn novice_declines() {
    let mut pair = Pair::new();
    pair.authenticate();
    pair.local(Role::Novice, Command::Deny);
    pair.assert_states(State::Ended);
    assert_eq!(pair.novice.end_reason(), Some("the novice declined"));
    assert_eq!(pair.helper.end_reason(), Some("the novice declined"));
}

#[test]
fn control_denied() {
    let mut pair = Pair::screen_sharing();
    pair.local(Role::Helper, Command::RequestControl);
    pair.local(Role::Novice, Command::DenyControl);
    pair.assert_states(State::ScreenSharing);
    assert!(!pair.helper.control_requested());
    let (_, helper) = pair.take_logs();
    assert_eq!(notes(&helper), vec![Notification::ControlDenied]);
    // Granting without a request is refused.
    pair.local(Role::Novice, Command::GrantControl);
    let (novice, _) = pair.take_logs();
    assert!(novice.iter().all(is_refused) && novice.len() == 1);
}

#[test]
fn permission_table_for_local_commands() {
    let helper_forbidden = [
        Command::Approve,
        Command::Deny,
        Command::GrantControl,
        Command::DenyControl,
        Command::Pause,
        Command::Resume,
        Command::SetBandwidth(BandwidthPreset::Best),
        Command::LocalEscape,
    ];
    for command in helper_forbidden {
        let mut pair = Pair::screen_sharing();
        pair.helper.handle(Event::Local(command.clone()), pair.now);
        let actions = drain(&mut pair.helper);
        assert_eq!(actions.len(), 1, "{command:?}: {actions:?}");
        let Action::Notify(Notification::Refused { reason, .. }) = &actions[0] else {
            panic!("{command:?} not refused: {actions:?}");
        };
        assert!(reason.starts_with("only the novice may"), "{reason}");
    }
    for command in [
        Command::RequestControl,
        Command::RequestKeyframe,
        Command::Input(InputEvent::Wheel { dy: 1 }),
    ] {
        let mut pair = Pair::screen_sharing();
        pair.novice.handle(Event::Local(command.clone()), pair.now);
        let actions = drain(&mut pair.novice);
        assert!(
            actions.len() == 1 && is_refused(&actions[0]),
            "{command:?}: {actions:?}"
        );
    }
}

#[test]
fn permission_table_for_remote_messages() {
    // What only the novice may send, forged by a helper.
    for message in [
        Message::Paused,
        Message::Resumed,
        Message::Bandwidth {
            preset: BandwidthPreset::Dialup,
        },
        Message::ConsentGranted,
        Message::ControlGranted,
        Message::ControlDenied,
    ] {
        let mut pair = Pair::screen_sharing();
        pair.novice.handle(Event::Remote(message.clone()), pair.now);
        let actions = drain(&mut pair.novice);
        assert!(
            actions.len() == 1 && is_refused(&actions[0]),
            "{message:?}: {actions:?}"
        );
        assert_eq!(pair.novice.dropped_messages(), 1);
        assert_eq!(pair.novice.state(), State::ScreenSharing);
    }
    // What only the helper may send, forged by a novice.
    for message in [
        Message::ControlRequest,
        Message::Input(InputEvent::Wheel { dy: 1 }),
    ] {
        let mut pair = Pair::control_sharing();
        pair.helper.handle(Event::Remote(message.clone()), pair.now);
        let actions = drain(&mut pair.helper);
        assert!(
            actions.len() == 1 && is_refused(&actions[0]),
            "{message:?}: {actions:?}"
        );
        assert_eq!(pair.helper.dropped_messages(), 1);
    }
    // Out of state: a control request while paused.
    let mut pair = Pair::screen_sharing();
    pair.local(Role::Novice, Command::Pause);
    pair.take_logs();
    pair.novice
        .handle(Event::Remote(Message::ControlRequest), pair.now);
    assert!(drain(&mut pair.novice).iter().all(is_refused));
    assert_eq!(pair.novice.dropped_messages(), 1);
    pair.local(Role::Helper, Command::RequestControl);
    let (_, helper) = pair.take_logs();
    assert!(helper.iter().all(is_refused) && helper.len() == 1);
}

#[test]
fn every_way_out_of_control_sharing_revokes_control() {
    type Way = fn(&mut Pair);
    let ways: [(&str, Way, ControlEndReason, ControlEndReason); 8] = [
        (
            "novice releases",
            |p| p.local(Role::Novice, Command::ReleaseControl),
            ControlEndReason::ReleasedByNovice,
            ControlEndReason::ReleasedByNovice,
        ),
        (
            "helper releases",
            |p| p.local(Role::Helper, Command::ReleaseControl),
            ControlEndReason::ReleasedByHelper,
            ControlEndReason::ReleasedByHelper,
        ),
        (
            "escape",
            |p| p.local(Role::Novice, Command::LocalEscape),
            ControlEndReason::NoviceEscape,
            ControlEndReason::NoviceEscape,
        ),
        (
            "pause",
            |p| p.local(Role::Novice, Command::Pause),
            ControlEndReason::Paused,
            ControlEndReason::Paused,
        ),
        (
            "novice disconnects",
            |p| p.local(Role::Novice, Command::Disconnect),
            ControlEndReason::Disconnected,
            ControlEndReason::Disconnected,
        ),
        (
            "helper disconnects",
            |p| p.local(Role::Helper, Command::Disconnect),
            ControlEndReason::Disconnected,
            ControlEndReason::Disconnected,
        ),
        (
            "connection lost",
            |p| {
                for role in [Role::Novice, Role::Helper] {
                    p.transport(
                        role,
                        TransportEvent::ConnectionLost {
                            reason: "reset".into(),
                        },
                    );
                }
            },
            ControlEndReason::ConnectionLost,
            ControlEndReason::ConnectionLost,
        ),
        (
            "timeout",
            |p| {
                // Nothing is delivered any more: each side times out on its own.
                let now = p.now + Duration::from_secs(31);
                p.novice.handle_timeout(now);
                p.helper.handle_timeout(now);
                p.novice_log.extend(drain(&mut p.novice));
                p.helper_log.extend(drain(&mut p.helper));
            },
            ControlEndReason::Timeout,
            ControlEndReason::Timeout,
        ),
    ];
    for (name, way, novice_reason, helper_reason) in ways {
        let mut pair = Pair::control_sharing();
        way(&mut pair);
        assert_ne!(pair.novice.state(), State::ControlSharing, "{name}");
        assert_ne!(pair.helper.state(), State::ControlSharing, "{name}");
        let (novice, helper) = pair.take_logs();
        assert!(
            has_control_ended(&novice, novice_reason),
            "{name}: {novice:?}"
        );
        assert!(
            has_control_ended(&helper, helper_reason),
            "{name}: {helper:?}"
        );
    }
}

#[test]
fn keyframe_requests_reach_the_novice_only_while_the_screen_is_shared() {
    let mut pair = Pair::screen_sharing();
    pair.local(Role::Helper, Command::RequestKeyframe);
    assert!(notes(&pair.novice_log).contains(&Notification::KeyframeRequested));
    pair.local(Role::Novice, Command::Pause);
    pair.novice_log.clear();
    pair.helper
        .handle(Event::Local(Command::RequestKeyframe), pair.now);
    let actions = drain(&mut pair.helper);
    assert!(actions.len() == 1 && is_refused(&actions[0]), "{actions:?}");
}

#[test]
fn resume_does_not_restore_control() {
    let mut pair = Pair::control_sharing();
    pair.local(Role::Novice, Command::Pause);
    pair.local(Role::Helper, Command::Input(InputEvent::Wheel { dy: 1 }));
    pair.local(Role::Novice, Command::Resume);
    pair.assert_states(State::ScreenSharing);
    let (novice, _) = pair.take_logs();
    assert!(!novice.iter().any(|a| matches!(a, Action::InjectInput(_))));
}

#[test]
fn consent_timeout() {
    let mut pair = Pair::new();
    pair.authenticate();
    // Keep the connection alive with pings; nobody answers the consent request.
    for _ in 0..11 {
        pair.advance(Duration::from_secs(10));
        pair.assert_states(State::AwaitingConsent);
    }
    pair.advance(Duration::from_secs(10));
    pair.assert_states(State::Ended);
    assert_eq!(pair.novice.end_reason(), Some("the novice did not answer"));
}

#[test]
fn control_request_timeout() {
    let mut pair = Pair::screen_sharing();
    pair.local(Role::Helper, Command::RequestControl);
    pair.advance(Duration::from_secs(30));
    assert!(pair.helper.control_requested());
    pair.advance(Duration::from_secs(30));
    assert!(!pair.helper.control_requested() && !pair.novice.control_requested());
    pair.assert_states(State::ScreenSharing);
    let (_, helper) = pair.take_logs();
    assert_eq!(
        notes(&helper)
            .iter()
            .filter(|n| **n == Notification::ControlDenied)
            .count(),
        1,
        "{helper:?}"
    );
    // A grant after the lapse is refused; a new request works.
    pair.local(Role::Novice, Command::GrantControl);
    pair.assert_states(State::ScreenSharing);
    pair.local(Role::Helper, Command::RequestControl);
    pair.local(Role::Novice, Command::GrantControl);
    pair.assert_states(State::ControlSharing);
}

#[test]
fn liveness_pings_and_timeout() {
    let base = Instant::now();
    let at = |secs: u64| base + Duration::from_secs(secs);
    let mut helper = Session::new(Role::Helper, SessionConfig::default(), at(0));
    assert_eq!(helper.poll_timeout(), Some(at(10)), "first ping");
    helper.handle_timeout(at(10));
    assert_eq!(drain(&mut helper), vec![Action::Send(Message::Ping)]);
    assert_eq!(helper.poll_timeout(), Some(at(20)), "next ping");
    // The peer answers: liveness is pushed back.
    helper.handle(Event::Remote(Message::Pong), at(15));
    helper.handle(Event::Remote(Message::Ping), at(16));
    assert_eq!(drain(&mut helper), vec![Action::Send(Message::Pong)]);
    helper.handle_timeout(at(45));
    assert_ne!(helper.state(), State::Ended);
    drain(&mut helper);
    // Silence for 30 s ends the session.
    helper.handle_timeout(at(46));
    assert_eq!(helper.state(), State::Ended);
    assert_eq!(helper.end_reason(), Some("connection timed out"));
    assert_eq!(helper.poll_timeout(), None);
    let actions = drain(&mut helper);
    assert!(
        matches!(actions.last(), Some(Action::Close { .. })),
        "{actions:?}"
    );
    helper.handle_timeout(at(100));
    helper.handle(Event::Remote(Message::Ping), at(101));
    assert!(drain(&mut helper).is_empty());
    assert_eq!(helper.state(), State::Ended);
}

#[test]
fn poll_timeout_is_the_earliest_deadline() {
    let mut pair = Pair::new();
    assert_eq!(pair.novice.poll_timeout(), None, "waiting has no deadline");
    pair.authenticate();
    let config = SessionConfig::default();
    assert_eq!(
        pair.novice.poll_timeout(),
        Some(pair.base + config.ping_interval)
    );
    let custom = SessionConfig {
        consent_timeout: Duration::from_secs(5),
        ..config
    };
    let mut novice = Session::new(Role::Novice, custom, pair.base);
    novice.handle(Event::Transport(TransportEvent::PeerConnected), pair.base);
    novice.handle(
        Event::Transport(TransportEvent::Authenticated {
            peer_name: "h".into(),
            safety_code: "1".into(),
        }),
        pair.base,
    );
    assert_eq!(
        novice.poll_timeout(),
        Some(pair.base + Duration::from_secs(5))
    );
}

#[test]
fn wrong_passwords_are_counted() {
    let base = Instant::now();
    let mut novice = Session::new(Role::Novice, SessionConfig::default(), base);
    for left in (1..5).rev() {
        novice.handle(Event::Transport(TransportEvent::PeerConnected), base);
        novice.handle(
            Event::Transport(TransportEvent::AuthFailed {
                attempts_left: left,
            }),
            base,
        );
        assert_eq!(novice.state(), State::Waiting);
        let actions = drain(&mut novice);
        let reason = format!("wrong password, {left} attempts left");
        assert!(
            actions.contains(&Action::Notify(Notification::StateChanged {
                state: State::Waiting,
                reason: Some(reason.clone()),
            }))
        );
        assert_eq!(actions.last(), Some(&Action::Close { reason }));
    }
    novice.handle(Event::Transport(TransportEvent::PeerConnected), base);
    novice.handle(
        Event::Transport(TransportEvent::AuthFailed { attempts_left: 0 }),
        base,
    );
    assert_eq!(novice.state(), State::Ended);
    assert_eq!(novice.end_reason(), Some("too many wrong passwords"));

    let mut helper = Session::new(Role::Helper, SessionConfig::default(), base);
    helper.handle(
        Event::Transport(TransportEvent::AuthFailed { attempts_left: 3 }),
        base,
    );
    assert_eq!(helper.state(), State::Ended);
    assert_eq!(helper.end_reason(), Some("wrong password, 3 attempts left"));
}

#[test]
fn oversized_chat_is_refused_locally() {
    let mut pair = Pair::screen_sharing();
    pair.local(Role::Novice, Command::Chat("x".repeat(20_000)));
    let (novice, helper) = pair.take_logs();
    assert!(novice.len() == 1 && is_refused(&novice[0]), "{novice:?}");
    assert!(helper.is_empty());
}

#[test]
fn state_names() {
    let names: Vec<_> = [
        State::Waiting,
        State::Connecting,
        State::AwaitingConsent,
        State::ScreenSharing,
        State::ControlSharing,
        State::Paused,
        State::Ended,
    ]
    .iter()
    .map(|s| s.as_str())
    .collect();
    assert_eq!(
        names.join("|"),
        "waiting|connecting|awaiting_consent|screen_sharing|control_sharing|paused|ended"
    );
}

// ---- property tests of the invariants ----

/// One random step of the property tests.
#[derive(Debug, Clone)]
enum Step {
    /// The user of one side gives a command.
    Local(Role, Command),
    /// One side receives a message (forged, as if the peer sent it).
    Forge(Role, Message),
    /// The transport of one side reports an event.
    Transport(Role, TransportEvent),
    /// The oldest message in flight from one side arrives at the other.
    Deliver(Role),
    /// Time passes, in milliseconds; both sides handle their timeouts.
    Advance(u64),
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Novice), Just(Role::Helper)]
}

fn input() -> impl Strategy<Value = InputEvent> {
    prop_oneof![
        (0.0f32..=1.0, 0.0f32..=1.0).prop_map(|(x, y)| InputEvent::Pointer { x, y }),
        (-3i32..3).prop_map(|dy| InputEvent::Wheel { dy }),
        Just(InputEvent::Key {
            keysym: "a".into(),
            down: true
        }),
    ]
}

fn preset() -> impl Strategy<Value = BandwidthPreset> {
    proptest::sample::select(BandwidthPreset::ALL.to_vec())
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Approve),
        Just(Command::Deny),
        Just(Command::RequestControl),
        Just(Command::GrantControl),
        Just(Command::DenyControl),
        Just(Command::ReleaseControl),
        Just(Command::Pause),
        Just(Command::Resume),
        preset().prop_map(Command::SetBandwidth),
        Just(Command::Chat("hi".into())),
        (0u64..3).prop_map(|id| Command::OfferFile {
            id,
            name: "f".into(),
            size: 1,
            hash: [0; 32]
        }),
        (0u64..3).prop_map(|id| Command::AcceptFile { id }),
        (0u64..3).prop_map(|id| Command::CancelFile { id }),
        input().prop_map(Command::Input),
        Just(Command::LocalEscape),
        Just(Command::RequestKeyframe),
        Just(Command::Disconnect),
    ]
}

fn control_end_reason() -> impl Strategy<Value = ControlEndReason> {
    proptest::sample::select(vec![
        ControlEndReason::ReleasedByNovice,
        ControlEndReason::ReleasedByHelper,
        ControlEndReason::NoviceEscape,
        ControlEndReason::Paused,
        ControlEndReason::Timeout,
    ])
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::ConsentGranted),
        Just(Message::ConsentDenied),
        Just(Message::ControlRequest),
        Just(Message::ControlGranted),
        Just(Message::ControlDenied),
        control_end_reason().prop_map(|reason| Message::ControlReleased { reason }),
        Just(Message::Paused),
        Just(Message::Resumed),
        preset().prop_map(|preset| Message::Bandwidth { preset }),
        Just(Message::Chat { text: "x".into() }),
        (0u64..3).prop_map(|id| Message::FileAccept { id }),
        input().prop_map(Message::Input),
        Just(Message::KeyframeRequest),
        Just(Message::Ping),
        Just(Message::Pong),
        Just(Message::Pake { message: vec![1] }),
        Just(Message::Disconnect {
            reason: "bye".into()
        }),
    ]
}

fn transport_event() -> impl Strategy<Value = TransportEvent> {
    prop_oneof![
        4 => Just(TransportEvent::PeerConnected),
        4 => Just(TransportEvent::Authenticated {
            peer_name: "p".into(),
            safety_code: "1".into()
        }),
        1 => (0u32..3).prop_map(|attempts_left| TransportEvent::AuthFailed { attempts_left }),
        1 => Just(TransportEvent::ConnectionLost {
            reason: "reset".into()
        }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (role(), command()).prop_map(|(r, c)| Step::Local(r, c)),
        2 => (role(), message()).prop_map(|(r, m)| Step::Forge(r, m)),
        1 => (role(), transport_event()).prop_map(|(r, t)| Step::Transport(r, t)),
        8 => role().prop_map(Step::Deliver),
        2 => (0u64..40_000).prop_map(Step::Advance),
    ]
}

/// The two sessions of a property test, with the messages in flight each way.
struct World {
    pair: Pair,
    /// Messages sent by the novice (index 0) and the helper (index 1), not yet delivered.
    in_flight: [VecDeque<Message>; 2],
}

fn index(role: Role) -> usize {
    match role {
        Role::Novice => 0,
        Role::Helper => 1,
    }
}

/// Which sides a step comes from, for invariant (3).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// The helper's user or a message from the helper.
    Helper,
    Other,
}

impl World {
    fn new(start: u8) -> Self {
        let pair = match start {
            0 => Pair::new(),
            1 => {
                let mut pair = Pair::new();
                pair.authenticate();
                pair.take_logs();
                pair
            }
            2 => Pair::screen_sharing(),
            _ => Pair::control_sharing(),
        };
        Self {
            pair,
            in_flight: [VecDeque::new(), VecDeque::new()],
        }
    }

    /// Runs one event (or, with `None`, the timeouts) on one side and checks the
    /// invariants on what it produced.
    fn run(&mut self, role: Role, event: Option<Event>, cause: Cause) -> Result<(), TestCaseError> {
        let now = self.pair.now;
        let session = self.pair.side(role);
        let before = session.state();
        let description = format!("{role} in {before}: {event:?}");
        match event {
            Some(event) => session.handle(event, now),
            None => session.handle_timeout(now),
        }
        let after = session.state();
        let actions = drain(session);

        // (5) Ended is absorbing.
        if before == State::Ended {
            prop_assert!(actions.is_empty(), "{description}: {actions:?}");
            prop_assert_eq!(after, State::Ended);
        }
        // (1) Input is injected only on the novice side, only in control sharing.
        if actions.iter().any(|a| matches!(a, Action::InjectInput(_))) {
            prop_assert_eq!(role, Role::Novice, "{}", description);
            prop_assert_eq!(before, State::ControlSharing, "{}", description);
            prop_assert_eq!(after, State::ControlSharing, "{}", description);
        }
        // (2) Leaving control sharing always says so.
        if before == State::ControlSharing && after != State::ControlSharing {
            prop_assert!(
                actions
                    .iter()
                    .any(|a| matches!(a, Action::Notify(Notification::ControlEnded { .. }))),
                "{description}: {actions:?}"
            );
        }
        for action in &actions {
            match (role, action) {
                // (3) Only the novice pauses, resumes or sets the bandwidth ...
                (
                    Role::Helper,
                    Action::Send(Message::Paused | Message::Resumed | Message::Bandwidth { .. }),
                )
                // (4) ... and only the helper asks for control or sends input.
                | (Role::Novice, Action::Send(Message::ControlRequest | Message::Input(_)))
                // Only the novice answers consent and control requests.
                | (
                    Role::Helper,
                    Action::Send(
                        Message::ConsentGranted
                        | Message::ConsentDenied
                        | Message::ControlGranted
                        | Message::ControlDenied,
                    ),
                ) => prop_assert!(false, "{description}: {action:?}"),
                // (3) Nothing the helper does pauses, resumes or changes the bandwidth on
                // the novice's side.
                (
                    Role::Novice,
                    Action::Notify(
                        Notification::Paused
                        | Notification::Resumed
                        | Notification::BandwidthChanged { .. },
                    ),
                ) if cause == Cause::Helper => prop_assert!(false, "{description}: {action:?}"),
                // (4) The novice's control requests never reach the helper as a request.
                (Role::Helper, Action::Notify(Notification::ControlRequested)) => {
                    prop_assert!(false, "{description}: {action:?}")
                }
                _ => {}
            }
        }
        if cause == Cause::Helper && role == Role::Novice {
            prop_assert!(
                after != State::Paused || before == State::Paused,
                "{description}: the helper paused the novice"
            );
            prop_assert!(
                !(before == State::Paused && after == State::ScreenSharing),
                "{description}: the helper resumed the novice"
            );
        }
        // A forbidden local command gets a refusal and nothing else.
        if let Some(first) = actions.iter().find(|a| is_refused(a))
            && description.contains("Local(")
        {
            prop_assert_eq!(actions.len(), 1, "{}: {:?}", description, first);
        }
        for action in actions {
            if let Action::Send(message) = action {
                self.in_flight[index(role)].push_back(message);
            }
        }
        Ok(())
    }

    fn step(&mut self, step: Step) -> Result<(), TestCaseError> {
        match step {
            Step::Local(role, command) => {
                let cause = if role == Role::Helper {
                    Cause::Helper
                } else {
                    Cause::Other
                };
                self.run(role, Some(Event::Local(command)), cause)
            }
            Step::Forge(role, message) => {
                // A forged message claims to come from the peer of `role`.
                let cause = if role == Role::Novice {
                    Cause::Helper
                } else {
                    Cause::Other
                };
                self.run(role, Some(Event::Remote(message)), cause)
            }
            Step::Transport(role, event) => {
                self.run(role, Some(Event::Transport(event)), Cause::Other)
            }
            Step::Deliver(from) => match self.in_flight[index(from)].pop_front() {
                Some(message) => {
                    let cause = if from == Role::Helper {
                        Cause::Helper
                    } else {
                        Cause::Other
                    };
                    self.run(from.peer(), Some(Event::Remote(message)), cause)
                }
                None => Ok(()),
            },
            Step::Advance(millis) => {
                self.pair.now += Duration::from_millis(millis);
                self.run(Role::Novice, None, Cause::Other)?;
                self.run(Role::Helper, None, Cause::Other)
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn invariants_hold_for_any_sequence(
        start in 0u8..4,
        steps in proptest::collection::vec(step(), 1..120),
    ) {
        let mut world = World::new(start);
        for step in steps {
            world.step(step)?;
        }
    }

    #[test]
    fn the_helper_can_never_pause_resume_or_set_bandwidth(
        start in 2u8..4,
        pause_first in any::<bool>(),
        attempts in proptest::collection::vec(
            prop_oneof![
                Just(Command::Pause),
                Just(Command::Resume),
                preset().prop_map(Command::SetBandwidth),
            ],
            1..10,
        ),
    ) {
        let mut world = World::new(start);
        if pause_first {
            world.step(Step::Local(Role::Novice, Command::Pause))?;
            world.step(Step::Deliver(Role::Novice))?;
            world.step(Step::Deliver(Role::Novice))?;
        }
        let states = (world.pair.novice.state(), world.pair.helper.state());
        for command in attempts {
            world.step(Step::Local(Role::Helper, command))?;
            prop_assert!(world.in_flight[1].is_empty(), "the helper sent something");
        }
        prop_assert_eq!((world.pair.novice.state(), world.pair.helper.state()), states);
    }
}
