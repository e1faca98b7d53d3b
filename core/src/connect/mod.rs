//! Connecting over QUIC on a LAN and running a session: a thin async layer over quinn and
//! tokio around the sans-IO [`crate::session::Session`].
//!
//! - The novice binds a [`NoviceEndpoint`] (its certificate is the identity's, ALPN
//!   [`ALPN`]) and calls [`run_novice`], which waits for helpers until one session ends,
//!   the invitation expires, or too many wrong passwords close it.
//! - The helper calls [`run_helper`], which tries every candidate of the invitation at once,
//!   accepts only the certificate the invitation pins, and runs the session.
//!
//! On the one bidirectional control stream (opened by the helper) both sides exchange
//! [`proto::hello`], then the PAKE of [`auth`] bound to the connection's TLS exporter: both
//! send [`Message::Pake`], the helper sends its [`Message::PakeConfirm`], the novice checks
//! it and answers [`Message::AuthResult`] (after its own `PakeConfirm` when accepted).
//! Files travel on one unidirectional stream each: the transfer id as a big-endian `u64`,
//! then the file's bytes.
//!
//! The user interface sends [`UserCommand`]s and receives [`Report`]s over channels; every
//! notification also goes into the [`SessionLog`].

mod driver;
mod files;
mod reach;
mod video;

pub use reach::{DEFAULT_STUN_PORT, Reach, novice_side};

pub use video::{ReceivedFrame, VideoStats};
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::mpsc;

use crate::auth::{self, AuthError};
use crate::identity::Identity;
use crate::log::{LogError, SessionLog};
use crate::media::FrameSource;
use crate::net::{CheckKey, NetError, PathSocket, Route};
use crate::proto::{self, Message, ProtoError};
use crate::session::{Command, Notification, SessionConfig};
use crate::ticket::{Candidate, Fingerprint, Invitation};

pub use driver::{Outcome, forward_path_events, run_helper, run_helper_via, run_novice};

/// The ALPN protocol name of Lifeline's QUIC connections.
pub const ALPN: &[u8] = b"lifeline/1";

/// How long the helper waits for a candidate's QUIC handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one step of the connection handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why connecting or running a session failed. Each message is one line.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// TLS could not be set up.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// A socket could not be opened.
    #[error("cannot open a UDP socket on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server presented a certificate other than the one the invitation pins.
    #[error("the computer at {addr} is not the one that made this invitation")]
    WrongComputer {
        /// The candidate address.
        addr: SocketAddr,
    },
    /// No candidate of the invitation could be reached.
    #[error(
        "could not reach the computer that made this invitation ({0}); check that it is still waiting and on the same network"
    )]
    Unreachable(String),
    /// The invitation lists no address to connect to.
    #[error("the invitation lists no address to connect to")]
    NoCandidates,
    /// The connection broke.
    #[error("the connection was lost: {0}")]
    Connection(String),
    /// The peer sent something that is not a valid message.
    #[error("the other side sent an invalid message: {0}")]
    Protocol(#[from] ProtoError),
    /// The peer did not answer in time.
    #[error("the other side did not answer within {} seconds", HANDSHAKE_TIMEOUT.as_secs())]
    Timeout,
    /// Authentication failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The peer has the same role as we do.
    #[error("the other side is also a {0}; one side must invite and the other join")]
    SameRole(proto::Role),
    /// The session log could not be written.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The invitation has expired.
    #[error("the invitation has expired; make a new one")]
    Expired,
}

/// What the user interface asks the driver for.
#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    /// A command for the session state machine.
    Session(Command),
    /// Offer the file at this path to the peer.
    SendFile(PathBuf),
    /// Share monitor `index` instead (novice), or ask the novice to (helper).
    SwitchMonitor(usize),
    /// Accept the peer's file offer `id`, saving into the folder `dir`.
    AcceptFile {
        /// The transfer's identifier, as offered.
        id: u64,
        /// The folder to save into.
        dir: PathBuf,
    },
}

/// What the driver tells the user interface.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// News from the session state machine.
    Notification(Notification),
    /// A transfer moved on (sending or receiving).
    FileProgress {
        /// The transfer's identifier.
        id: u64,
        /// Bytes so far.
        bytes: u64,
        /// The offered size.
        total: u64,
    },
    /// A file we offered was sent completely.
    FileSent {
        /// The transfer's identifier.
        id: u64,
        /// The file's name.
        name: String,
    },
    /// A file was received, verified and saved.
    FileDone {
        /// The transfer's identifier.
        id: u64,
        /// The file's name as offered.
        name: String,
        /// Where it was saved.
        path: PathBuf,
        /// Its BLAKE3 hash in lowercase hex.
        hash: String,
    },
    /// A transfer failed.
    FileFailed {
        /// The transfer's identifier.
        id: u64,
        /// The file's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The helper decoded a frame of the novice's screen.
    Frame(ReceivedFrame),
    /// Video statistics of the last second (helper).
    VideoStats(VideoStats),
    /// The connection moved to another path (direct, mapped or relayed).
    Path(crate::net::PathEvent),
    /// Something went wrong; the session may go on.
    Error(String),
}

/// The channels and settings a session runs with.
pub struct SessionIo {
    /// This side's display name, sent in the hello.
    pub name: String,
    /// Commands from the user interface.
    pub commands: mpsc::UnboundedReceiver<UserCommand>,
    /// Reports to the user interface.
    pub reports: mpsc::UnboundedSender<Report>,
    /// The open session log.
    pub log: SessionLog,
    /// The session's timeouts.
    pub config: SessionConfig,
    /// The novice's desktop, shared once approved; `None` shares nothing (the helper, or a
    /// session of chat and files only).
    pub desktop: Option<Desktop>,
}

/// The novice's desktop in a session: the screen to share, where the helper's input goes,
/// and the novice's own Esc key.
pub struct Desktop {
    /// The pictures to share.
    pub screen: Box<dyn FrameSource>,
    /// Where the helper's input goes during control sharing; `None` for view only.
    pub input: Option<Box<dyn InputSink>>,
    /// One message per Esc the novice presses on their own keyboard; each ends control.
    pub escapes: Option<mpsc::UnboundedReceiver<()>>,
    /// Whatever must live as long as the session (e.g. the Esc watcher).
    pub guard: Option<Box<dyn Send>>,
}

/// Injects the helper's input on the novice's desktop (see `host::Injector`).
pub trait InputSink: Send {
    /// Injects one event; the session has checked that control is shared. Pointer
    /// positions refer to the monitor being shared.
    fn inject(&mut self, event: &proto::InputEvent) -> Result<(), String>;
}

impl std::fmt::Debug for SessionIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionIo")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("desktop", &self.desktop.is_some())
            .finish_non_exhaustive()
    }
}

/// The novice's QUIC endpoint, which helpers connect to. Its one UDP socket also carries
/// STUN: address discovery and the connectivity checks that punch holes to helpers.
#[derive(Debug)]
pub struct NoviceEndpoint {
    endpoint: quinn::Endpoint,
    socket: Arc<PathSocket>,
}

impl NoviceEndpoint {
    /// Binds a QUIC server on `addr` whose TLS certificate is the identity's.
    ///
    /// Must be called inside a tokio runtime.
    pub fn bind(identity: &Identity, addr: SocketAddr) -> Result<Self, ConnectError> {
        Self::with_socket(identity, PathSocket::bind(addr)?)
    }

    /// A QUIC server on a socket made by the caller (for example inside a network
    /// namespace). Must be called inside a tokio runtime.
    pub fn with_socket(identity: &Identity, socket: Arc<PathSocket>) -> Result<Self, ConnectError> {
        let config = tls::server_config(identity)?;
        let endpoint = socket.endpoint(Some(config))?;
        Ok(Self { endpoint, socket })
    }

    /// The socket under the endpoint: gather candidates with it ([`crate::net::gather()`]),
    /// plug a relay in for a helper added with [`NoviceEndpoint::add_helper`].
    pub fn socket(&self) -> &Arc<PathSocket> {
        &self.socket
    }

    /// Answers the connectivity checks of helpers holding `invitation`, so that a helper
    /// that reached a candidate before the rendezvous sees its path confirmed.
    pub fn answer_checks(&self, invitation: &Invitation) {
        let body = invitation.body();
        self.socket
            .answer_checks(CheckKey::derive(&body.id, &body.fingerprint));
    }

    /// Adds the helper of `invitation` whose `candidates` came through the rendezvous:
    /// the novice's socket punches towards them and keeps the paths open. quinn sees the
    /// helper's direct packets from their real address (a change of path is client
    /// migration) and relayed ones from the returned virtual address (for
    /// [`PathSocket::set_relay`]).
    pub fn add_helper(&self, invitation: &Invitation, candidates: &[Candidate]) -> SocketAddr {
        let body = invitation.body();
        self.socket
            .add_client_peer(CheckKey::derive(&body.id, &body.fingerprint), candidates)
    }

    /// The QUIC endpoint.
    pub fn endpoint(&self) -> &quinn::Endpoint {
        &self.endpoint
    }

    /// The address the endpoint listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Host candidates for the invitation: this computer's addresses with the endpoint's
    /// port (see [`crate::net::host_candidates`]).
    pub fn host_candidates(&self) -> std::io::Result<Vec<Candidate>> {
        crate::net::host_candidates(self.local_addr()?.port())
    }

    /// Closes the endpoint and waits (at most two seconds) until the peer was told.
    pub async fn shutdown(&self) {
        self.endpoint.close(0u32.into(), b"bye");
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle()).await;
    }
}

/// Connects to the invitation's candidates at once; the first connection whose TLS
/// handshake completes with the pinned certificate wins. Returns the client endpoint (keep
/// it while the connection lives) and the connection; [`run_helper`] does this first.
///
/// One [`PathSocket`] per address family carries the attempt: it punches holes with
/// connectivity checks to every candidate and sends QUIC on the first path that answers
/// (see [`add_novice`] and [`connect_peer`]).
pub async fn connect_candidates(
    invitation: &Invitation,
) -> Result<(quinn::Endpoint, quinn::Connection), ConnectError> {
    let candidates = &invitation.body().candidates;
    if candidates.is_empty() {
        return Err(ConnectError::NoCandidates);
    }
    let mut attempts = tokio::task::JoinSet::new();
    for v6 in [false, true] {
        if !candidates.iter().any(|c| c.addr.is_ipv6() == v6) {
            continue;
        }
        let bind: SocketAddr = if v6 {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let socket = PathSocket::bind(bind)?;
        let endpoint = socket.endpoint(None)?;
        let invitation = invitation.clone();
        attempts.spawn(async move {
            let peer = add_novice(&socket, &invitation, &[]);
            let fingerprint = invitation.body().fingerprint;
            let connection = connect_peer(&socket, &endpoint, peer, fingerprint).await?;
            Ok::<_, ConnectError>((endpoint, connection))
        });
    }
    let mut failures = Vec::new();
    let mut wrong = None;
    while let Some(joined) = attempts.join_next().await {
        let Ok(result) = joined else { continue };
        match result {
            Ok(won) => {
                attempts.abort_all();
                return Ok(won);
            }
            Err(error @ ConnectError::WrongComputer { .. }) => {
                tracing::warn!("wrong certificate");
                wrong.get_or_insert(error);
            }
            Err(ConnectError::Unreachable(detail)) => failures.push(detail),
            Err(error) => failures.push(error.to_string()),
        }
    }
    if let Some(error) = wrong {
        return Err(error);
    }
    Err(ConnectError::Unreachable(failures.join("; ")))
}

/// Adds the novice of `invitation` as a peer of `socket`, with the invitation's
/// candidates and `extra` ones (say, from the rendezvous): connectivity checks to all of
/// them start at once. Returns the peer's virtual address, for [`connect_peer`],
/// [`PathSocket::set_relay`] and [`PathSocket::route`].
pub fn add_novice(socket: &PathSocket, invitation: &Invitation, extra: &[Candidate]) -> SocketAddr {
    let body = invitation.body();
    let mut candidates = body.candidates.clone();
    candidates.extend_from_slice(extra);
    socket.add_peer(CheckKey::derive(&body.id, &body.fingerprint), &candidates)
}

/// Connects QUIC on `endpoint` (over `socket`) to the peer at `peer` (its virtual address,
/// from [`add_novice`]), accepting only the certificate `fingerprint`; the socket sends
/// each packet on the peer's best path.
pub async fn connect_peer(
    socket: &PathSocket,
    endpoint: &quinn::Endpoint,
    peer: SocketAddr,
    fingerprint: Fingerprint,
) -> Result<quinn::Connection, ConnectError> {
    let (config, mismatch) = tls::client_config(fingerprint)?;
    let connecting = endpoint
        .connect_with(config, peer, tls::SERVER_NAME)
        .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
    let tried = || match socket.route(peer) {
        Some(Route::Spray(all)) => all
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        Some(Route::Direct(addr)) => addr.to_string(),
        Some(Route::Relay) => "the relay".to_owned(),
        None => peer.to_string(),
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(_)) if mismatch.load(Ordering::SeqCst) => Err(ConnectError::WrongComputer {
            addr: socket.remote_addr(peer).unwrap_or(peer),
        }),
        Ok(Err(e)) => Err(ConnectError::Unreachable(format!("{}: {e}", tried()))),
        Err(_) => Err(ConnectError::Unreachable(format!("{}: no answer", tried()))),
    }
}

impl From<NetError> for ConnectError {
    fn from(error: NetError) -> Self {
        match error {
            NetError::Bind { addr, source } => Self::Bind { addr, source },
            other => Self::Unreachable(other.to_string()),
        }
    }
}

/// Writes one message as a frame on the control stream.
pub(crate) async fn write_message(
    send: &mut quinn::SendStream,
    message: &Message,
) -> Result<(), ConnectError> {
    let frame = proto::encode(message)?;
    send.write_all(&frame)
        .await
        .map_err(|e| ConnectError::Connection(e.to_string()))
}

/// Reads the next message from the control stream, within [`HANDSHAKE_TIMEOUT`].
pub(crate) async fn read_message(
    recv: &mut quinn::RecvStream,
    decoder: &mut proto::FrameDecoder,
) -> Result<Message, ConnectError> {
    let read = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if let Some(message) = decoder.next()? {
                return Ok(message);
            }
            match recv.read(&mut buf).await {
                Ok(Some(n)) => decoder.push(&buf[..n]),
                Ok(None) => {
                    return Err(ConnectError::Connection(
                        "the other side closed the connection".into(),
                    ));
                }
                Err(e) => return Err(ConnectError::Connection(e.to_string())),
            }
        }
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, read)
        .await
        .map_err(|_| ConnectError::Timeout)?
}

/// The TLS exporter value the PAKE is bound to.
pub(crate) fn exporter(
    connection: &quinn::Connection,
    invitation: &Invitation,
) -> Result<[u8; auth::EXPORTER_LEN], ConnectError> {
    let mut out = [0u8; auth::EXPORTER_LEN];
    connection
        .export_keying_material(&mut out, auth::EXPORTER_LABEL, &invitation.body().id.0)
        .map_err(|_| ConnectError::Tls("cannot export keying material".into()))?;
    Ok(out)
}

/// Keeps `Arc` in use for the endpoint shared by tasks.
pub(crate) type Shared<T> = Arc<std::sync::Mutex<T>>;
