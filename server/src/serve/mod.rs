//! The listeners: TLS over TCP carrying WebSocket requests for rendezvous and relay (see
//! [`crate::route`]), and STUN on UDP ([`crate::discovery`]).
//!
//! Rendezvous messages are WebSocket text frames, passed on verbatim; relay datagrams are
//! binary frames, passed on verbatim. Errors close the one connection with a WebSocket
//! close frame whose reason says what went wrong.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_rustls::server::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

mod relay;
mod rendezvous;

use crate::config::Config;
use crate::relay::Pairing;
use crate::rendezvous::{ConnId, Rendezvous};
use crate::route::Route;
use crate::tls::{ServerTls, TlsError};

/// How long a client has for its TLS and WebSocket handshakes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often idle connections are pinged (keeps NATs and proxies from forgetting them).
pub(super) const PING_INTERVAL: Duration = Duration::from_secs(20);
/// The largest relayed datagram (the largest UDP payload).
const MAX_DATAGRAM: usize = 65_535;

pub(super) type Ws = WebSocketStream<TlsStream<TcpStream>>;

/// Why the server could not start or stopped. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A listening socket could not be opened.
    #[error("cannot listen on {proto} {addr}: {source}; is another server using it?")]
    Bind {
        /// `TCP` or `UDP`.
        proto: &'static str,
        /// The address.
        addr: SocketAddr,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The TLS identity could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The STUN socket failed.
    #[error("the STUN listener failed: {0}")]
    Stun(std::io::Error),
}

/// A bound server, ready to [`run`](Self::run).
pub struct Server {
    listener: TcpListener,
    stun: UdpSocket,
    url: String,
    shared: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) tls: tokio_rustls::TlsAcceptor,
    pub(super) state: Mutex<State>,
    pub(super) next_conn: AtomicU64,
    pub(super) connections: Arc<Semaphore>,
    /// Open connections per client IP, and the most allowed.
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    max_per_ip: usize,
    pub(super) relay_rate: u64,
    pub(super) ws_config: WebSocketConfig,
}

/// Everything connections share, behind one lock held only briefly.
pub(super) struct State {
    pub(super) rendezvous: Rendezvous,
    pub(super) pairing: Pairing,
    /// Open rendezvous connections: where to hand messages for them. Dropping the sender
    /// tells the connection it was replaced.
    pub(super) inboxes: HashMap<ConnId, mpsc::Sender<Vec<u8>>>,
    /// Relay peers waiting for their partner's WebSocket.
    pub(super) waiting: HashMap<ConnId, oneshot::Sender<Ws>>,
}

impl Server {
    /// Opens the listeners and the TLS identity that `config` asks for.
    pub async fn bind(config: &Config) -> Result<Self, ServeError> {
        let tls = ServerTls::load(config)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    proto: "TCP",
                    addr: config.listen,
                    source,
                })?;
        let stun = UdpSocket::bind(config.stun_listen)
            .await
            .map_err(|source| ServeError::Bind {
                proto: "UDP",
                addr: config.stun_listen,
                source,
            })?;
        let local = listener.local_addr().unwrap_or(config.listen);
        let mut url = match &config.public_url {
            Some(url) if url.ends_with('/') => url.clone(),
            Some(url) => format!("{url}/"),
            None => format!("https://{}/", public_addr(local)),
        };
        if let Some(pin) = tls.pin {
            url.push_str(&format!("#pin={pin}"));
        }
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0)
            .max_write_buffer_size(1 << 20)
            .max_message_size(Some(MAX_DATAGRAM))
            .max_frame_size(Some(MAX_DATAGRAM));
        let shared = Arc::new(Shared {
            tls: tls.acceptor,
            state: Mutex::new(State {
                rendezvous: Rendezvous::new(config.mailbox()),
                pairing: Pairing::new(config.limits.max_relay_sessions),
                inboxes: HashMap::new(),
                waiting: HashMap::new(),
            }),
            next_conn: AtomicU64::new(0),
            connections: Arc::new(Semaphore::new(config.limits.max_connections)),
            per_ip: Mutex::new(HashMap::new()),
            max_per_ip: config.limits.max_connections_per_ip,
            relay_rate: config.limits.relay_bytes_per_second,
            ws_config,
        });
        Ok(Self {
            listener,
            stun,
            url,
            shared,
        })
    }

    /// The URL clients are given, with the certificate's pin when it is self-signed.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the TLS listener listens.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where the STUN responder listens.
    pub fn stun_addr(&self) -> std::io::Result<SocketAddr> {
        self.stun.local_addr()
    }

    /// Serves until the STUN socket fails (the TCP listener survives its errors).
    pub async fn run(self) -> Result<(), ServeError> {
        let shared = self.shared.clone();
        let expiry = tokio::spawn(expire_mailboxes(shared.clone()));
        let result = tokio::select! {
            result = crate::discovery::serve(self.stun) => result.map_err(ServeError::Stun),
            () = accept_loop(self.listener, shared) => Ok(()),
        };
        expiry.abort();
        result
    }
}

/// The address to print when the server listens on `local`: itself, or for an unspecified
/// address the one this host would use to reach the internet.
fn public_addr(local: SocketAddr) -> SocketAddr {
    if !local.ip().is_unspecified() {
        return local;
    }
    let probe = if local.is_ipv4() {
        "192.0.2.1:9"
    } else {
        "[2001:db8::1]:9"
    };
    let found = std::net::UdpSocket::bind(SocketAddr::new(local.ip(), 0))
        .and_then(|socket| {
            socket.connect(probe)?;
            socket.local_addr()
        })
        .map(|addr| addr.ip());
    match found {
        Ok(ip) if !ip.is_unspecified() => SocketAddr::new(ip, local.port()),
        _ => {
            tracing::warn!("cannot tell this host's address; set public_url in the config");
            SocketAddr::new(IpAddr::from([127, 0, 0, 1]), local.port())
        }
    }
}

pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn expire_mailboxes(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        lock(&shared).rendezvous.expire(Instant::now());
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(%error, "cannot accept a TCP connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
            tracing::warn!(%from, "too many connections; closing a new one");
            continue;
        };
        let Some(slot) = IpSlot::take(&shared, from.ip()) else {
            tracing::warn!(%from, "too many connections from this address; closing a new one");
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            connection(stream, from, shared).await;
            drop((permit, slot));
        });
    }
}

/// One open connection counted against its client's address; uncounted when dropped.
struct IpSlot {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl IpSlot {
    fn take(shared: &Arc<Shared>, ip: IpAddr) -> Option<Self> {
        let mut counts = shared
            .per_ip
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(ip).or_insert(0);
        if *count >= shared.max_per_ip {
            return None;
        }
        *count += 1;
        Some(Self {
            shared: shared.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self
            .shared
            .per_ip
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

async fn connection(stream: TcpStream, from: SocketAddr, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let handshake = async {
        let tls = shared.tls.accept(stream).await.map_err(|e| e.to_string())?;
        let mut route = None;
        #[allow(clippy::result_large_err)] // The error type is tungstenite's.
        let callback = |request: &Request, response: Response| {
            let target = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            match Route::parse(target) {
                Ok(parsed) => {
                    route = Some(parsed);
                    Ok(response)
                }
                Err(error) => {
                    let mut refusal = ErrorResponse::new(Some(error.to_string()));
                    *refusal.status_mut() = match error {
                        crate::route::RouteError::NotFound => StatusCode::NOT_FOUND,
                        crate::route::RouteError::Bad(_) => StatusCode::BAD_REQUEST,
                    };
                    Err(refusal)
                }
            }
        };
        let ws =
            tokio_tungstenite::accept_hdr_async_with_config(tls, callback, Some(shared.ws_config))
                .await
                .map_err(|e| e.to_string())?;
        route
            .map(|route| (ws, route))
            .ok_or_else(|| "no route".to_owned())
    };
    let (ws, route) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(accepted)) => accepted,
        Ok(Err(error)) => {
            tracing::debug!(%from, %error, "closed a connection that did not complete its handshake");
            return;
        }
        Err(_) => {
            tracing::debug!(%from, "closed a connection whose handshake took too long");
            return;
        }
    };
    let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    match route {
        Route::Rendezvous { id, role } => {
            rendezvous::serve(ws, conn, from.ip(), id, role, &shared).await
        }
        Route::Relay { token, role } => {
            relay::serve(ws, conn, from.ip(), token, role, &shared).await
        }
    }
}

/// Closes `ws` with `code` and `reason` (best effort).
pub(super) async fn close(mut ws: impl SinkExt<Message> + Unpin, code: CloseCode, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ =
        tokio::time::timeout(Duration::from_secs(2), ws.send(Message::Close(Some(frame)))).await;
}

/// The close code for a refused request: try later when the server is busy.
pub(super) fn refusal_code(error: &crate::mailbox::MailboxError) -> CloseCode {
    use crate::mailbox::MailboxError;
    match error {
        MailboxError::RateLimited | MailboxError::Full => CloseCode::Again,
        MailboxError::MailboxFull => CloseCode::Policy,
        MailboxError::TooLarge { .. } => CloseCode::Size,
    }
}
