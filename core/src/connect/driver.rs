//! Runs one side of a session over a QUIC connection: the handshake (hello, PAKE), then the
//! session state machine, file streams and the session log.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::files;
use super::reach::{self, Reach};
use super::video::{self, Video, VideoControl, VideoNews};
use super::{
    ConnectError, HANDSHAKE_TIMEOUT, InputSink, NoviceEndpoint, Report, SessionIo, Shared,
    UserCommand, connect_candidates, exporter, read_message, write_message,
};
use crate::auth::{self, AttemptLimiter, HardenedPassword};
use crate::log::{LogEvent, SessionLog};
use crate::net::PathSocket;
use crate::proto::{self, BandwidthPreset, FrameDecoder, Message, ProtoError, Role};
use crate::session::{
    Action, Command, Event, Notification, Session, SessionConfig, State, TransportEvent,
};
use crate::ticket::Invitation;
use crate::transfer::{Incoming, Offer, Outgoing, TransferLimits};

/// How a session run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Why the session ended, in words.
    pub reason: String,
    /// The finished session log, if it could be finished.
    pub log_path: Option<PathBuf>,
}

/// The control stream of one connection.
struct Link {
    conn: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    decoder: FrameDecoder,
}

struct Driver {
    role: Role,
    name: String,
    config: SessionConfig,
    session: Session,
    commands: mpsc::UnboundedReceiver<UserCommand>,
    reports: mpsc::UnboundedSender<Report>,
    log: Option<SessionLog>,
    log_failed: bool,
    prev_state: State,
    /// The peer's file offers, by id.
    offers: HashMap<u64, Offer>,
    /// Files we offered and the peer has not answered yet.
    outgoing: HashMap<u64, Outgoing>,
    /// Names of the files we offered.
    sent_names: HashMap<u64, String>,
    /// Accepted files waiting for (or receiving) their stream.
    incoming: Shared<HashMap<u64, Incoming>>,
    next_id: u64,
    file_tx: mpsc::UnboundedSender<Report>,
    file_rx: mpsc::UnboundedReceiver<Report>,
    /// The tasks moving files; each ends with a report on `file_tx`.
    transfers: tokio::task::JoinSet<()>,
    /// The screen: sent by the novice, received by the helper.
    video: Video,
    /// The novice's bandwidth setting.
    preset: BandwidthPreset,
    /// Where the helper's input goes (novice).
    input: Option<Box<dyn InputSink>>,
    /// The novice's own Esc presses.
    escapes: Option<mpsc::UnboundedReceiver<()>>,
    /// Kept for the session.
    _guard: Option<Box<dyn Send>>,
    /// Whether an injection failure was reported (once per session).
    input_failed: bool,
}

/// How long a finished session waits for its transfers to fail and clean up.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a handshake did not lead to a session.
enum HandshakeEnd {
    /// The password was wrong; the attempt is recorded and reported.
    WrongPassword,
    /// Something else went wrong.
    Failed(ConnectError),
}

impl From<ConnectError> for HandshakeEnd {
    fn from(error: ConnectError) -> Self {
        Self::Failed(error)
    }
}

impl From<ProtoError> for HandshakeEnd {
    fn from(error: ProtoError) -> Self {
        Self::Failed(error.into())
    }
}

/// The novice's side: waits for helpers on `endpoint` until one session ends, the invitation
/// expires, the novice disconnects, or too many wrong passwords close the invitation.
///
/// `limiter` counts wrong passwords (restored from storage for a standing invitation);
/// `on_wrong_password` is called after each one is counted, so that the count can be kept.
pub async fn run_novice(
    endpoint: &NoviceEndpoint,
    invitation: &Invitation,
    password: &HardenedPassword,
    mut limiter: AttemptLimiter,
    mut on_wrong_password: impl FnMut(&AttemptLimiter) + Send,
    io: SessionIo,
) -> Result<Outcome, ConnectError> {
    let mut driver = Driver::new(Role::Novice, io);
    driver.log(LogEvent::InvitationOpened {
        id: invitation.body().id.to_string(),
    });
    let expires = invitation.body().expires;
    let mut expired = false;
    loop {
        driver.drain(None, false).await;
        if driver.session.state() == State::Ended {
            break;
        }
        let remaining = expires - OffsetDateTime::now_utc();
        if remaining <= time::Duration::ZERO {
            expired = true;
            break;
        }
        let remaining = std::time::Duration::try_from(remaining).unwrap_or_default();
        tokio::select! {
            incoming = endpoint.endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                let addr = incoming.remote_address();
                driver.log(LogEvent::IncomingAddress { addr: addr.to_string() });
                if invitation.is_expired(OffsetDateTime::now_utc()) {
                    incoming.refuse();
                    continue;
                }
                let conn = match tokio::time::timeout(HANDSHAKE_TIMEOUT, incoming).await {
                    Ok(Ok(conn)) => conn,
                    Ok(Err(e)) => {
                        driver.error(format!("a connection from {addr} failed: {e}"));
                        continue;
                    }
                    Err(_) => {
                        driver.error(format!("a connection from {addr} did not complete"));
                        continue;
                    }
                };
                driver.handle(Event::Transport(TransportEvent::PeerConnected));
                driver.drain(None, false).await;
                let counted = (&mut limiter, &mut on_wrong_password);
                match driver.novice_handshake(&conn, invitation, password, counted).await {
                    Ok(mut link) => {
                        driver.run_session(&mut link).await;
                        break;
                    }
                    Err(HandshakeEnd::WrongPassword) => {
                        if limiter.is_closed() {
                            driver.log(LogEvent::InvitationClosed {
                                reason: "too many wrong passwords".into(),
                            });
                        }
                    }
                    Err(HandshakeEnd::Failed(e)) => {
                        conn.close(1u32.into(), b"handshake failed");
                        driver.error(format!("a connection from {addr} failed: {e}"));
                        driver.session = Session::new(Role::Novice, driver.config, Instant::now());
                        driver.prev_state = State::Waiting;
                    }
                }
            }
            command = driver.commands.recv() => match command {
                Some(UserCommand::Session(command)) => driver.handle(Event::Local(command)),
                Some(_) => driver.error("no helper is connected yet".into()),
                None => driver.handle(Event::Local(Command::Disconnect)),
            },
            () = tokio::time::sleep(remaining) => {}
        }
    }
    if expired {
        let reason = "the invitation expired".to_owned();
        driver.log(LogEvent::InvitationClosed {
            reason: "expired".into(),
        });
        driver.notify(Notification::StateChanged {
            state: State::Ended,
            reason: Some(reason),
        });
    }
    let reason = driver
        .session
        .end_reason()
        .unwrap_or("the invitation expired")
        .to_owned();
    Ok(driver.finish(reason))
}

/// The helper's side: connects to the invitation's candidates, authenticates with the
/// password and runs the session until it ends.
pub async fn run_helper(
    invitation: &Invitation,
    password: &HardenedPassword,
    io: SessionIo,
) -> Result<Outcome, ConnectError> {
    run_helper_via(invitation, password, io, &Reach::default()).await
}

/// Like [`run_helper`], also reaching the novice as `reach` says: with a server, through
/// the rendezvous (fresh candidates both ways, hole punching) and the relay.
pub async fn run_helper_via(
    invitation: &Invitation,
    password: &HardenedPassword,
    io: SessionIo,
    reach: &Reach,
) -> Result<Outcome, ConnectError> {
    let mut driver = Driver::new(Role::Helper, io);
    driver.log(LogEvent::InvitationOpened {
        id: invitation.body().id.to_string(),
    });
    // Tasks that serve the connection (rendezvous, relay, path reports); stopped at the end.
    let mut background = Vec::new();
    let connected = if reach.server.is_some() {
        connect_reaching(invitation, reach, &driver.reports, &mut background).await
    } else {
        connect_candidates(invitation).await
    };
    let (endpoint, conn) = match connected {
        Ok(connected) => connected,
        Err(e) => {
            driver.log(LogEvent::Error {
                message: e.to_string(),
            });
            for task in &background {
                task.abort();
            }
            driver.finish(e.to_string());
            return Err(e);
        }
    };
    driver.log(LogEvent::IncomingAddress {
        addr: conn.remote_address().to_string(),
    });
    let result = match driver.helper_handshake(&conn, invitation, password).await {
        Ok(Some(mut link)) => {
            driver.run_session(&mut link).await;
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            conn.close(1u32.into(), b"handshake failed");
            driver.log(LogEvent::Error {
                message: e.to_string(),
            });
            Err(e)
        }
    };
    endpoint.close(0u32.into(), b"bye");
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), endpoint.wait_idle()).await;
    let reason = driver
        .session
        .end_reason()
        .unwrap_or("the connection failed")
        .to_owned();
    for task in background {
        task.abort();
    }
    let outcome = driver.finish(reason);
    result.map(|()| outcome)
}

/// Connects the helper to the novice through one [`PathSocket`] with the novice's
/// candidates, the rendezvous and the relay; reports path changes.
async fn connect_reaching(
    invitation: &Invitation,
    reach: &Reach,
    reports: &mpsc::UnboundedSender<Report>,
    background: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Result<(quinn::Endpoint, quinn::Connection), ConnectError> {
    let socket = PathSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, 0).into())?;
    let endpoint = socket.endpoint(None)?;
    background.push(forward_path_events(&socket, reports.clone()));
    let gathered = reach.gather(&socket).await;
    let peer = super::add_novice(&socket, invitation, &[]);
    let helper = reach::helper_side(
        reach,
        socket.clone(),
        invitation,
        peer,
        gathered.candidates.clone(),
    );
    let result = super::connect_peer(&socket, &endpoint, peer, invitation.body().fingerprint).await;
    background.extend(helper);
    match &result {
        Err(_) => {}
        Ok(conn) => {
            // The router's mapping is released when the connection ends.
            if let Some(mapping) = gathered.mapping {
                let conn = conn.clone();
                tokio::spawn(async move {
                    conn.closed().await;
                    let _ = mapping.release().await;
                });
            }
        }
    }
    result.map(|conn| (endpoint, conn))
}

/// Sends every path change of `socket` to the user interface as [`Report::Path`], until
/// the returned task is aborted (it holds a sender of `reports`).
pub fn forward_path_events(
    socket: &PathSocket,
    reports: mpsc::UnboundedSender<Report>,
) -> tokio::task::JoinHandle<()> {
    let mut events = socket.path_events();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if reports.send(Report::Path(event)).is_err() {
                return;
            }
        }
    })
}

fn expect_pake(message: Message) -> Result<Vec<u8>, ProtoError> {
    match message {
        Message::Pake { message } => Ok(message),
        other => Err(unexpected("pake", &other)),
    }
}

fn expect_confirm(message: Message) -> Result<[u8; 32], ProtoError> {
    match message {
        Message::PakeConfirm { mac } => Ok(mac),
        other => Err(unexpected("pake_confirm", &other)),
    }
}

/// The next Esc of the novice, or never without a watcher (or once it stopped).
async fn next_escape(escapes: &mut Option<mpsc::UnboundedReceiver<()>>) -> Option<()> {
    match escapes {
        Some(escapes) => match escapes.recv().await {
            Some(()) => Some(()),
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

fn unexpected(wanted: &str, got: &Message) -> ProtoError {
    ProtoError::Malformed(format!("expected {wanted} but got {}", got.kind()))
}

impl Driver {
    fn new(role: Role, io: SessionIo) -> Self {
        let (file_tx, file_rx) = mpsc::unbounded_channel();
        let session = Session::new(role, io.config, Instant::now());
        let prev_state = session.state();
        let (screen, input, escapes, guard) = match io.desktop {
            Some(desktop) => (
                Some(desktop.screen),
                desktop.input,
                desktop.escapes,
                desktop.guard,
            ),
            None => (None, None, None, None),
        };
        Self {
            role,
            name: io.name,
            config: io.config,
            session,
            commands: io.commands,
            reports: io.reports,
            log: Some(io.log),
            log_failed: false,
            prev_state,
            offers: HashMap::new(),
            outgoing: HashMap::new(),
            sent_names: HashMap::new(),
            incoming: Arc::new(Mutex::new(HashMap::new())),
            next_id: match role {
                Role::Novice => 1,
                Role::Helper => 2,
            },
            file_tx,
            file_rx,
            transfers: tokio::task::JoinSet::new(),
            video: Video::new(screen),
            preset: BandwidthPreset::Auto,
            input,
            escapes,
            _guard: guard,
            input_failed: false,
        }
    }

    fn handle(&mut self, event: Event) {
        self.session.handle(event, Instant::now());
    }

    fn log(&mut self, event: LogEvent) {
        let Some(log) = &mut self.log else { return };
        if let Err(e) = log.append(event, OffsetDateTime::now_utc())
            && !self.log_failed
        {
            self.log_failed = true;
            let _ = self
                .reports
                .send(Report::Error(format!("cannot write the session log: {e}")));
        }
    }

    fn error(&mut self, message: String) {
        tracing::warn!(%message);
        self.log(LogEvent::Error {
            message: message.clone(),
        });
        let _ = self.reports.send(Report::Error(message));
    }

    fn finish(&mut self, reason: String) -> Outcome {
        let dropped = self.session.dropped_input();
        if dropped > 0 {
            self.log(LogEvent::InputRefused { count: dropped });
        }
        let log_path = self.log.take().and_then(|log| log.finish().ok());
        Outcome { reason, log_path }
    }

    fn file_name(&self, id: u64) -> String {
        self.offers
            .get(&id)
            .map(|o| o.name.clone())
            .or_else(|| self.sent_names.get(&id).cloned())
            .unwrap_or_else(|| format!("file {id}"))
    }

    /// Logs a notification and passes it to the user interface.
    fn notify(&mut self, notification: Notification) {
        match &notification {
            Notification::StateChanged { state, reason } => {
                if *state == State::ScreenSharing && self.prev_state == State::AwaitingConsent {
                    self.log(LogEvent::ConsentGranted);
                }
                if *state == State::Ended {
                    let reason = reason.clone().unwrap_or_default();
                    if self.prev_state == State::AwaitingConsent && reason.contains("declined") {
                        self.log(LogEvent::ConsentDenied);
                    }
                    self.log(LogEvent::ConnectionEnded { reason });
                }
                self.prev_state = *state;
                let active = matches!(state, State::ScreenSharing | State::ControlSharing);
                self.video.control(|c| c.active = active);
            }
            Notification::ControlRequested => self.log(LogEvent::ControlRequested),
            Notification::ControlGranted => {
                self.log(LogEvent::ControlGranted);
                self.log(LogEvent::ControlStarted);
            }
            Notification::ControlDenied => self.log(LogEvent::ControlDenied),
            Notification::ControlEnded { reason } => self.log(LogEvent::ControlEnded {
                reason: reason.as_str().to_owned(),
            }),
            Notification::Chat { from, text } => self.log(LogEvent::Chat {
                from: from.as_str().to_owned(),
                text: text.clone(),
            }),
            Notification::FileOffered {
                from,
                id,
                name,
                size,
                hash,
            } => {
                if *from != self.role {
                    self.offers.insert(
                        *id,
                        Offer {
                            id: *id,
                            name: name.clone(),
                            size: *size,
                            hash: *hash,
                        },
                    );
                }
                self.log(LogEvent::FileOffered {
                    from: from.as_str().to_owned(),
                    name: name.clone(),
                    size: *size,
                });
            }
            Notification::FileAccepted { id } => {
                let name = self.file_name(*id);
                self.log(LogEvent::FileAccepted { name });
            }
            Notification::FileDeclined { id } => {
                let name = self.file_name(*id);
                self.log(LogEvent::FileDeclined { name });
            }
            Notification::FileCancelled { id } => {
                let name = self.file_name(*id);
                self.log(LogEvent::FileFailed {
                    name,
                    reason: "cancelled".into(),
                });
            }
            Notification::BandwidthChanged { preset } => {
                self.preset = *preset;
                let preset = *preset;
                self.video.control(|c| c.preset = preset);
                self.log(LogEvent::BandwidthChanged {
                    preset: preset.as_str().to_owned(),
                });
            }
            Notification::KeyframeRequested => self.video.control(|c| c.keyframes += 1),
            Notification::Paused => self.log(LogEvent::Paused),
            Notification::Resumed => self.log(LogEvent::Resumed),
            Notification::Refused { what, reason } => self.log(LogEvent::Error {
                message: format!("refused {what}: {reason}"),
            }),
            Notification::ConnectRequest { .. }
            | Notification::SafetyCode { .. }
            | Notification::MonitorRequested { .. } => {}
        }
        let _ = self.reports.send(Report::Notification(notification));
    }

    /// Carries out the session's actions. On `Close`, closes the connection: at once if
    /// nothing was sent, otherwise after the peer closed it or two seconds passed (so that a
    /// farewell message arrives), or at once if `link` is `None`.
    async fn drain(&mut self, mut link: Option<&mut Link>, mut sent: bool) {
        let mut close = None;
        while let Some(action) = self.session.poll_action() {
            match action {
                Action::Send(message) => {
                    if let Some(link) = link.as_deref_mut() {
                        sent = true;
                        if let Err(e) = write_message(&mut link.send, &message).await {
                            tracing::debug!(error = %e, kind = message.kind(), "send failed");
                        }
                    }
                }
                Action::Notify(notification) => self.notify(notification),
                Action::InjectInput(event) => self.inject(&event),
                Action::Close { reason } => close = Some(reason),
            }
        }
        if let (Some(reason), Some(link)) = (close, link) {
            let _ = link.send.finish();
            if sent {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(2), link.conn.closed())
                    .await;
            }
            let reason: Vec<u8> = reason.bytes().take(256).collect();
            link.conn.close(0u32.into(), &reason);
        }
    }

    async fn open_link(
        &mut self,
        conn: &quinn::Connection,
        accept: bool,
    ) -> Result<Link, ConnectError> {
        let streams = if accept {
            tokio::time::timeout(HANDSHAKE_TIMEOUT, conn.accept_bi()).await
        } else {
            tokio::time::timeout(HANDSHAKE_TIMEOUT, conn.open_bi()).await
        };
        let (send, recv) = streams
            .map_err(|_| ConnectError::Timeout)?
            .map_err(|e| ConnectError::Connection(e.to_string()))?;
        Ok(Link {
            conn: conn.clone(),
            send,
            recv,
            decoder: FrameDecoder::new(),
        })
    }

    /// Hello exchange; returns the peer's name.
    async fn hello(&mut self, link: &mut Link) -> Result<String, ConnectError> {
        write_message(&mut link.send, &proto::hello(self.name.clone(), self.role)).await?;
        let message = read_message(&mut link.recv, &mut link.decoder).await?;
        let (peer_name, peer_role) = proto::check_hello(&message)?;
        if peer_role == self.role {
            return Err(ConnectError::SameRole(peer_role));
        }
        Ok(peer_name)
    }

    async fn novice_handshake(
        &mut self,
        conn: &quinn::Connection,
        invitation: &Invitation,
        password: &HardenedPassword,
        (limiter, on_wrong_password): (
            &mut AttemptLimiter,
            &mut (impl FnMut(&AttemptLimiter) + Send),
        ),
    ) -> Result<Link, HandshakeEnd> {
        let mut link = self.open_link(conn, true).await?;
        let peer_name = self.hello(&mut link).await?;
        let exporter = exporter(conn, invitation)?;
        let id = invitation.body().id.0;
        let (handshake, own) = auth::Handshake::start(auth::Role::Novice, password, &id, &exporter);
        write_message(&mut link.send, &Message::Pake { message: own }).await?;
        let peer = expect_pake(read_message(&mut link.recv, &mut link.decoder).await?)?;
        let received = handshake.receive_pake(&peer);
        let peer_mac = expect_confirm(read_message(&mut link.recv, &mut link.decoder).await?)?;
        let verified =
            received.and_then(|(confirmer, mac)| Ok((confirmer.verify(&peer_mac)?, mac)));
        match verified {
            Ok((secrets, mac)) => {
                write_message(&mut link.send, &Message::PakeConfirm { mac }).await?;
                let accepted = Message::AuthResult {
                    accepted: true,
                    attempts_left: limiter.attempts_left(),
                };
                write_message(&mut link.send, &accepted).await?;
                self.log(LogEvent::ConnectionEstablished {
                    peer_name: peer_name.clone(),
                });
                self.handle(Event::Transport(TransportEvent::Authenticated {
                    peer_name,
                    safety_code: secrets.safety_code(),
                }));
                Ok(link)
            }
            Err(error) => {
                tracing::info!(%error, "authentication failed");
                let outcome = limiter.record_failure();
                // Kept before the helper hears of it, so a restart cannot forget it.
                on_wrong_password(limiter);
                let refused = Message::AuthResult {
                    accepted: false,
                    attempts_left: outcome.attempts_left,
                };
                write_message(&mut link.send, &refused).await?;
                self.log(LogEvent::WrongPassword {
                    attempts_left: outcome.attempts_left,
                });
                self.handle(Event::Transport(TransportEvent::AuthFailed {
                    attempts_left: outcome.attempts_left,
                }));
                self.drain(Some(&mut link), true).await;
                Err(HandshakeEnd::WrongPassword)
            }
        }
    }

    /// Returns the link once authenticated, `None` after a wrong password.
    async fn helper_handshake(
        &mut self,
        conn: &quinn::Connection,
        invitation: &Invitation,
        password: &HardenedPassword,
    ) -> Result<Option<Link>, ConnectError> {
        let mut link = self.open_link(conn, false).await?;
        let peer_name = self.hello(&mut link).await?;
        let exporter = exporter(conn, invitation)?;
        let id = invitation.body().id.0;
        let (handshake, own) = auth::Handshake::start(auth::Role::Helper, password, &id, &exporter);
        write_message(&mut link.send, &Message::Pake { message: own }).await?;
        let peer = expect_pake(read_message(&mut link.recv, &mut link.decoder).await?)?;
        let (confirmer, mac) = handshake.receive_pake(&peer)?;
        write_message(&mut link.send, &Message::PakeConfirm { mac }).await?;
        let peer_mac = match read_message(&mut link.recv, &mut link.decoder).await? {
            Message::AuthResult {
                accepted: false,
                attempts_left,
            } => {
                self.log(LogEvent::WrongPassword { attempts_left });
                self.handle(Event::Transport(TransportEvent::AuthFailed {
                    attempts_left,
                }));
                self.drain(Some(&mut link), false).await;
                return Ok(None);
            }
            other => expect_confirm(other)?,
        };
        let secrets = confirmer.verify(&peer_mac)?;
        match read_message(&mut link.recv, &mut link.decoder).await? {
            Message::AuthResult { accepted: true, .. } => {}
            other => return Err(unexpected("auth_result", &other).into()),
        }
        self.log(LogEvent::ConnectionEstablished {
            peer_name: peer_name.clone(),
        });
        self.handle(Event::Transport(TransportEvent::Authenticated {
            peer_name,
            safety_code: secrets.safety_code(),
        }));
        Ok(Some(link))
    }

    /// Runs the authenticated session until it ends.
    async fn run_session(&mut self, link: &mut Link) {
        let mut buf = vec![0u8; 64 * 1024];
        self.video.start(
            &link.conn,
            VideoControl {
                active: matches!(
                    self.session.state(),
                    State::ScreenSharing | State::ControlSharing
                ),
                preset: self.preset,
                keyframes: 0,
                monitor: 0,
            },
            self.role == Role::Helper,
            &self.reports,
        );
        loop {
            self.drain(Some(link), false).await;
            if self.session.state() == State::Ended {
                self.video.stop();
                self.settle_transfers().await;
                return;
            }
            let deadline = self
                .session
                .poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| {
                    tokio::time::Instant::now() + std::time::Duration::from_secs(3600)
                });
            tokio::select! {
                read = link.recv.read(&mut buf) => match read {
                    Ok(Some(n)) => {
                        link.decoder.push(&buf[..n]);
                        self.decode(link);
                    }
                    Ok(None) => self.lost("the other side closed the control stream".into()),
                    Err(e) => self.lost(e.to_string()),
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => self.handle(Event::Local(Command::Disconnect)),
                },
                uni = link.conn.accept_uni() => match uni {
                    Ok(stream) => self.spawn_receive(stream),
                    Err(e) => self.lost(e.to_string()),
                },
                news = self.video.next() => self.on_video(news),
                Some(()) = next_escape(&mut self.escapes) => {
                    self.handle(Event::Local(Command::LocalEscape));
                }
                Some(report) = self.file_rx.recv() => self.on_file_report(report),
                () = tokio::time::sleep_until(deadline) => self.session.handle_timeout(Instant::now()),
            }
        }
    }

    /// Once the connection is closed, waits (at most [`SETTLE_TIMEOUT`]) for the transfers
    /// in flight to fail, so that each is reported and logged and its partial file removed.
    async fn settle_transfers(&mut self) {
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        loop {
            tokio::select! {
                joined = self.transfers.join_next() => if joined.is_none() { break },
                Some(report) = self.file_rx.recv() => self.on_file_report(report),
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!("transfers still running after the session ended");
                    break;
                }
            }
        }
        while let Ok(report) = self.file_rx.try_recv() {
            self.on_file_report(report);
        }
    }

    fn on_video(&mut self, news: VideoNews) {
        match news {
            VideoNews::Frame(frame) => {
                let _ = self.reports.send(Report::Frame(frame));
            }
            VideoNews::Stats(stats) => {
                let _ = self.reports.send(Report::VideoStats(stats));
            }
            VideoNews::NeedKeyframe => self.handle(Event::Local(Command::RequestKeyframe)),
            VideoNews::Invalid(reason) => {
                let message = format!("the other side sent invalid video: {reason}");
                self.error(message.clone());
                self.lost(message);
            }
        }
    }

    fn inject(&mut self, event: &proto::InputEvent) {
        let Some(input) = &mut self.input else { return };
        if let Err(e) = input.inject(event)
            && !self.input_failed
        {
            self.input_failed = true;
            self.error(format!(
                "cannot pass the helper's input to this desktop: {e}"
            ));
        }
    }

    fn lost(&mut self, reason: String) {
        self.handle(Event::Transport(TransportEvent::ConnectionLost { reason }));
    }

    /// Handles every complete message buffered; a decode error ends the session.
    fn decode(&mut self, link: &mut Link) {
        loop {
            match link.decoder.next() {
                Ok(Some(message)) => self.on_remote(message, &link.conn),
                Ok(None) => return,
                Err(e) => {
                    let message = format!("the other side sent an invalid message: {e}");
                    self.error(message.clone());
                    self.lost(message);
                    return;
                }
            }
            if self.session.state() == State::Ended {
                return;
            }
        }
    }

    fn on_remote(&mut self, message: Message, conn: &quinn::Connection) {
        let mut accepted = None;
        match &message {
            Message::FileAccept { id } => accepted = self.outgoing.remove(id),
            Message::FileDecline { id } => {
                self.outgoing.remove(id);
            }
            Message::FileCancel { id } => {
                self.outgoing.remove(id);
                self.offers.remove(id);
                if let Ok(mut incoming) = self.incoming.lock() {
                    incoming.remove(id);
                }
            }
            _ => {}
        }
        self.handle(Event::Remote(message));
        if let Some(outgoing) = accepted
            && self.session.state().is_sharing()
        {
            self.spawn_send(conn.clone(), outgoing);
        }
    }

    fn on_command(&mut self, command: UserCommand) {
        match command {
            UserCommand::Session(command) => {
                if let Command::DeclineFile { id } = &command {
                    self.offers.remove(id);
                }
                self.handle(Event::Local(command));
            }
            UserCommand::SendFile(path) => {
                let id = self.next_id;
                self.next_id += 2;
                match Outgoing::open(id, &path) {
                    Ok(outgoing) => {
                        let offer = outgoing.offer().clone();
                        if self.session.state().is_sharing() {
                            self.outgoing.insert(id, outgoing);
                            self.sent_names.insert(id, offer.name.clone());
                        }
                        self.handle(Event::Local(Command::OfferFile {
                            id,
                            name: offer.name,
                            size: offer.size,
                            hash: offer.hash,
                        }));
                    }
                    Err(e) => self.error(e.to_string()),
                }
            }
            UserCommand::SwitchMonitor(index) => match self.role {
                Role::Novice => self.video.control(|c| c.monitor = index),
                Role::Helper => match u8::try_from(index) {
                    Ok(index) => self.handle(Event::Local(Command::RequestMonitor(index))),
                    Err(_) => self.error(format!("there is no monitor {index}")),
                },
            },
            UserCommand::AcceptFile { id, dir } => {
                let Some(offer) = self.offers.get(&id).cloned() else {
                    self.error(format!("there is no file offer {id} to accept"));
                    return;
                };
                if !self.session.state().is_sharing() {
                    self.handle(Event::Local(Command::AcceptFile { id }));
                    return;
                }
                match Incoming::accept(offer, &dir, TransferLimits::default()) {
                    Ok(incoming) => {
                        if let Ok(mut map) = self.incoming.lock() {
                            map.insert(id, incoming);
                        }
                        self.handle(Event::Local(Command::AcceptFile { id }));
                    }
                    Err(e) => {
                        self.error(e.to_string());
                        self.offers.remove(&id);
                        self.handle(Event::Local(Command::DeclineFile { id }));
                    }
                }
            }
        }
    }

    fn on_file_report(&mut self, report: Report) {
        // Reap the tasks that have ended.
        while self.transfers.try_join_next().is_some() {}
        match &report {
            Report::FileSent { name, .. } => self.log(LogEvent::FileSent { name: name.clone() }),
            Report::FileDone {
                id,
                name,
                path,
                hash,
            } => {
                self.offers.remove(id);
                self.log(LogEvent::FileReceived {
                    name: name.clone(),
                    path: path.display().to_string(),
                    hash: hash.clone(),
                });
            }
            Report::FileFailed { id, name, reason } => {
                self.offers.remove(id);
                self.log(LogEvent::FileFailed {
                    name: name.clone(),
                    reason: reason.clone(),
                });
            }
            _ => {}
        }
        let _ = self.reports.send(report);
    }

    fn spawn_send(&mut self, conn: quinn::Connection, outgoing: Outgoing) {
        self.transfers
            .spawn(files::send(conn, outgoing, self.file_tx.clone()));
    }

    /// Reads a new stream's kind byte, then receives the file or frame it carries.
    fn spawn_receive(&mut self, mut stream: quinn::RecvStream) {
        let accepted = self.incoming.clone();
        let reports = self.file_tx.clone();
        let frames = self.video.sink();
        self.transfers.spawn(async move {
            let mut kind = [0u8];
            if stream.read_exact(&mut kind).await.is_err() {
                return;
            }
            match (kind[0], frames) {
                (video::STREAM_FILE, _) => files::receive(stream, accepted, reports).await,
                (video::STREAM_FRAME, Some(frames)) => video::receive(stream, frames).await,
                (kind, _) => {
                    let _ = stream.stop(1u32.into());
                    let _ = reports.send(Report::Error(format!(
                        "the other side opened a stream of unknown kind {kind}; ignored"
                    )));
                }
            }
        });
    }
}
