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
mod video;

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
use crate::proto::{self, Message, ProtoError};
use crate::session::{Command, Notification, SessionConfig};
use crate::ticket::{Candidate, Invitation};

pub use driver::{Outcome, run_helper, run_novice};

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

/// The novice's QUIC endpoint, which helpers connect to.
#[derive(Debug)]
pub struct NoviceEndpoint {
    endpoint: quinn::Endpoint,
}

impl NoviceEndpoint {
    /// Binds a QUIC server on `addr` whose TLS certificate is the identity's.
    ///
    /// Must be called inside a tokio runtime.
    pub fn bind(identity: &Identity, addr: SocketAddr) -> Result<Self, ConnectError> {
        let config = tls::server_config(identity)?;
        let bind_error = |source| ConnectError::Bind { addr, source };
        let socket = udp_socket(addr).map_err(bind_error)?;
        let endpoint = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            Some(config),
            socket,
            Arc::new(quinn::TokioRuntime),
        )
        .map_err(bind_error)?;
        Ok(Self { endpoint })
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

/// Socket buffers asked of the kernel (it caps them at `net.core.rmem_max`/`wmem_max`).
///
/// The default receive buffer (about 200 KiB on Linux) overflows at fast rates on a LAN or
/// loopback; every overflow drops a whole batch of QUIC packets, which the congestion
/// controller takes for congestion.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// A UDP socket bound to `addr`, with large buffers, for a QUIC endpoint.
fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if addr.is_ipv6() {
        // Only what was asked for: the helper binds one socket per address family.
        socket.set_only_v6(true)?;
    }
    for (what, result) in [
        ("receive", socket.set_recv_buffer_size(SOCKET_BUFFER)),
        ("send", socket.set_send_buffer_size(SOCKET_BUFFER)),
    ] {
        if let Err(error) = result {
            tracing::debug!(%error, "cannot enlarge the UDP {what} buffer");
        }
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Connects to the invitation's candidates at once; the first connection whose TLS
/// handshake completes with the pinned certificate wins. Returns the client endpoint (keep
/// it while the connection lives) and the connection; [`run_helper`] does this first.
pub async fn connect_candidates(
    invitation: &Invitation,
) -> Result<(quinn::Endpoint, quinn::Connection), ConnectError> {
    let candidates = &invitation.body().candidates;
    if candidates.is_empty() {
        return Err(ConnectError::NoCandidates);
    }
    let mut attempts = tokio::task::JoinSet::new();
    for candidate in candidates {
        let addr = candidate.addr;
        let (config, mismatch) = tls::client_config(invitation.body().fingerprint)?;
        let bind: SocketAddr = if addr.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        attempts.spawn(async move {
            let result = async {
                let bind_error = |source| ConnectError::Bind { addr: bind, source };
                let socket = udp_socket(bind).map_err(bind_error)?;
                let mut endpoint = quinn::Endpoint::new(
                    quinn::EndpointConfig::default(),
                    None,
                    socket,
                    Arc::new(quinn::TokioRuntime),
                )
                .map_err(bind_error)?;
                endpoint.set_default_client_config(config);
                let connecting = endpoint
                    .connect(addr, tls::SERVER_NAME)
                    .map_err(|e| ConnectError::Unreachable(format!("{addr}: {e}")))?;
                match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
                    Ok(Ok(connection)) => Ok((endpoint, connection)),
                    Ok(Err(_)) if mismatch.load(Ordering::SeqCst) => {
                        Err(ConnectError::WrongComputer { addr })
                    }
                    Ok(Err(e)) => Err(ConnectError::Unreachable(format!("{addr}: {e}"))),
                    Err(_) => Err(ConnectError::Unreachable(format!("{addr}: no answer"))),
                }
            }
            .await;
            (addr, result)
        });
    }
    let mut failures = Vec::new();
    let mut wrong = None;
    while let Some(joined) = attempts.join_next().await {
        let Ok((addr, result)) = joined else { continue };
        match result {
            Ok(won) => {
                attempts.abort_all();
                return Ok(won);
            }
            Err(error @ ConnectError::WrongComputer { .. }) => {
                tracing::warn!(%addr, "wrong certificate");
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
