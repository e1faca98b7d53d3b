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

use futures_util::{SinkExt, StreamExt};
use lifeline_core::Role;
use lifeline_core::ticket::InvitationId;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_rustls::server::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use crate::config::Config;
use crate::relay::{ByteRate, Joined, Pairing, RelayToken};
use crate::rendezvous::{ConnId, Delivery, Rendezvous};
use crate::route::Route;
use crate::tls::{ServerTls, TlsError};

/// How long a client has for its TLS and WebSocket handshakes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often idle connections are pinged (keeps NATs and proxies from forgetting them).
const PING_INTERVAL: Duration = Duration::from_secs(20);
/// The largest relayed datagram (the largest UDP payload).
const MAX_DATAGRAM: usize = 65_535;

type Ws = WebSocketStream<TlsStream<TcpStream>>;

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

struct Shared {
    tls: tokio_rustls::TlsAcceptor,
    state: Mutex<State>,
    next_conn: AtomicU64,
    connections: Arc<Semaphore>,
    relay_rate: u64,
    ws_config: WebSocketConfig,
}

/// Everything connections share, behind one lock held only briefly.
struct State {
    rendezvous: Rendezvous,
    pairing: Pairing,
    /// Open rendezvous connections: where to hand messages for them. Dropping the sender
    /// tells the connection it was replaced.
    inboxes: HashMap<ConnId, mpsc::Sender<Vec<u8>>>,
    /// Relay peers waiting for their partner's WebSocket.
    waiting: HashMap<ConnId, oneshot::Sender<Ws>>,
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

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
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
        let shared = shared.clone();
        tokio::spawn(async move {
            connection(stream, from, shared).await;
            drop(permit);
        });
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
        Route::Rendezvous { id, role } => rendezvous(ws, conn, from.ip(), id, role, &shared).await,
        Route::Relay { token, role } => relay(ws, conn, from.ip(), token, role, &shared).await,
    }
}

/// Closes `ws` with `code` and `reason` (best effort).
async fn close(mut ws: impl SinkExt<Message> + Unpin, code: CloseCode, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ =
        tokio::time::timeout(Duration::from_secs(2), ws.send(Message::Close(Some(frame)))).await;
}

/// The close code for a refused request: try later when the server is busy.
fn refusal_code(error: &crate::mailbox::MailboxError) -> CloseCode {
    use crate::mailbox::MailboxError;
    match error {
        MailboxError::RateLimited | MailboxError::Full => CloseCode::Again,
        MailboxError::MailboxFull => CloseCode::Policy,
        MailboxError::TooLarge { .. } => CloseCode::Size,
    }
}

async fn rendezvous(
    ws: Ws,
    conn: ConnId,
    from: IpAddr,
    id: InvitationId,
    role: Role,
    shared: &Shared,
) {
    let capacity = 64;
    let (inbox, mut messages) = mpsc::channel(capacity);
    let opened = {
        let mut state = lock(shared);
        let opened = state.rendezvous.open(conn, from, id, role, Instant::now());
        if let Ok(opened) = &opened {
            if let Some(old) = opened.replaced {
                state.inboxes.remove(&old);
            }
            state.inboxes.insert(conn, inbox);
        }
        opened
    };
    let (mut sink, mut stream) = ws.split();
    let opened = match opened {
        Ok(opened) => opened,
        Err(error) => {
            tracing::info!(%from, %id, %error, "refused a rendezvous connection");
            close(sink, refusal_code(&error), &error.to_string()).await;
            return;
        }
    };
    tracing::debug!(%from, %id, %role, pending = opened.pending.len(), "rendezvous open");
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.reset();
    let mut pending = opened.pending.into_iter();
    let outcome: Result<(), (CloseCode, String)> = async {
        for message in pending.by_ref() {
            send_text(&mut sink, message).await?;
        }
        loop {
            tokio::select! {
                message = messages.recv() => match message {
                    Some(message) => send_text(&mut sink, message).await?,
                    None => {
                        return Err((CloseCode::Normal, "replaced by a newer connection for this invitation".into()));
                    }
                },
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let delivery = lock(shared).rendezvous.send(
                            from, id, role, text.as_bytes().to_vec(), Instant::now());
                        match delivery {
                            Ok(Delivery::Now(to, message)) => {
                                let inbox = lock(shared).inboxes.get(&to).cloned();
                                if let Some(inbox) = inbox {
                                    if inbox.try_send(message).is_err() {
                                        return Err((CloseCode::Policy, "the other side is not collecting its messages".into()));
                                    }
                                }
                            }
                            Ok(Delivery::Stored) => {}
                            Err(error) => return Err((refusal_code(&error), error.to_string())),
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        return Err((CloseCode::Unsupported, "rendezvous messages are text (JSON)".into()));
                    }
                    Some(Ok(Message::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tracing::debug!(%from, %error, "rendezvous connection failed");
                        return Ok(());
                    }
                },
                _ = ping.tick() => {
                    sink.send(Message::Ping(Vec::new().into())).await.map_err(|e| (CloseCode::Error, e.to_string()))?;
                }
            }
        }
    }
    .await;
    {
        let mut state = lock(shared);
        state.rendezvous.close(conn, id, role);
        state.inboxes.remove(&conn);
    }
    if let Err((code, reason)) = outcome {
        tracing::info!(%from, %id, %role, %reason, "closed a rendezvous connection");
        close(sink, code, &reason).await;
    }
}

async fn send_text(
    sink: &mut (impl SinkExt<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin),
    message: Vec<u8>,
) -> Result<(), (CloseCode, String)> {
    let text = String::from_utf8(message).map_err(|_| {
        (
            CloseCode::Invalid,
            "a stored message is not UTF-8".to_owned(),
        )
    })?;
    sink.send(Message::text(text))
        .await
        .map_err(|e| (CloseCode::Error, e.to_string()))
}

async fn relay(
    mut ws: Ws,
    conn: ConnId,
    from: IpAddr,
    token: RelayToken,
    role: Role,
    shared: &Shared,
) {
    let (handoff, partner) = oneshot::channel();
    let joined = {
        let mut state = lock(shared);
        match state.rendezvous.admit(from, Instant::now()) {
            Err(error) => Err((refusal_code(&error), error.to_string())),
            Ok(()) => match state.pairing.join(token, role, conn) {
                Err(error) => Err((CloseCode::Again, error.to_string())),
                Ok(Joined::Wait { replaced }) => {
                    if let Some(old) = replaced {
                        state.waiting.remove(&old);
                    }
                    state.waiting.insert(conn, handoff);
                    Ok(None)
                }
                Ok(Joined::Paired { with }) => Ok(Some(state.waiting.remove(&with))),
            },
        }
    };
    match joined {
        Err((code, reason)) => {
            tracing::info!(%from, %token, %reason, "refused a relay connection");
            close(ws, code, &reason).await;
        }
        Ok(Some(waiting)) => {
            // The partner waits: hand it this connection; its task relays.
            let handed = match waiting {
                Some(waiting) => waiting.send(ws),
                None => Err(ws),
            };
            if let Err(ws) = handed {
                lock(shared).pairing.end();
                close(
                    ws,
                    CloseCode::Again,
                    "the other peer left just now; connect again",
                )
                .await;
            }
        }
        Ok(None) => {
            tracing::debug!(%from, %token, %role, "relay peer waiting");
            let mut ping = tokio::time::interval(PING_INTERVAL);
            ping.reset();
            let mut partner = partner;
            let paired = loop {
                tokio::select! {
                    peer = &mut partner => break peer.ok(),
                    incoming = ws.next() => match incoming {
                        // Datagrams before the partner came are dropped, as on a lossy path.
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
                        Some(Ok(_)) => {}
                    },
                    _ = ping.tick() => {
                        if ws.send(Message::Ping(Vec::new().into())).await.is_err() {
                            break None;
                        }
                    }
                }
            };
            match paired {
                Some(peer) => {
                    forward(ws, peer, shared.relay_rate, token).await;
                    lock(shared).pairing.end();
                }
                None => {
                    {
                        let mut state = lock(shared);
                        state.pairing.leave(token, conn);
                        state.waiting.remove(&conn);
                    }
                    // Paired at the very moment this peer left: end that session too.
                    if let Ok(peer) = partner.try_recv() {
                        lock(shared).pairing.end();
                        close(
                            peer,
                            CloseCode::Again,
                            "the other peer left just now; connect again",
                        )
                        .await;
                    }
                    // Replaced by a newer connection, or the peer went away: the partner
                    // channel is closed only when replaced.
                    close(
                        ws,
                        CloseCode::Normal,
                        "replaced by a newer connection or closed",
                    )
                    .await;
                }
            }
        }
    }
}

/// Relays binary frames between `a` and `b` until either closes; each direction is capped
/// at `rate` bytes per second.
async fn forward(a: Ws, b: Ws, rate: u64, token: RelayToken) {
    let (mut a_sink, mut a_stream) = a.split();
    let (mut b_sink, mut b_stream) = b.split();
    let paired = Message::text("paired");
    if a_sink.send(paired.clone()).await.is_err() || b_sink.send(paired).await.is_err() {
        return;
    }
    tracing::debug!(%token, "relay session started");
    let now = Instant::now();
    let (mut ab_rate, mut ba_rate) = (ByteRate::new(rate, now), ByteRate::new(rate, now));
    let (dropped, reason) = tokio::select! {
        (dropped, reason) = pump(&mut a_stream, &mut b_sink, &mut ab_rate) => (dropped, reason),
        (dropped, reason) = pump(&mut b_stream, &mut a_sink, &mut ba_rate) => (dropped, reason),
    };
    tracing::debug!(%token, dropped, reason, "relay session ended");
    let reason = "the other peer left";
    let _ = tokio::join!(
        close(a_sink, CloseCode::Normal, reason),
        close(b_sink, CloseCode::Normal, reason)
    );
}

/// Passes binary frames from `from` to `to` within `rate`; returns how many it dropped
/// and why it stopped.
async fn pump(
    from: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    to: &mut (impl SinkExt<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin),
    rate: &mut ByteRate,
) -> (u64, &'static str) {
    let mut dropped = 0;
    loop {
        match from.next().await {
            Some(Ok(Message::Binary(datagram))) => {
                if !rate.allow(datagram.len(), Instant::now()) {
                    dropped += 1;
                    continue;
                }
                if to.send(Message::Binary(datagram)).await.is_err() {
                    return (dropped, "cannot write to the other peer");
                }
            }
            Some(Ok(Message::Close(_))) | None => return (dropped, "a peer closed"),
            Some(Ok(Message::Text(_))) => {
                return (dropped, "a peer sent text; relay frames are binary");
            }
            Some(Ok(_)) => {}
            Some(Err(_)) => return (dropped, "a peer's connection failed"),
        }
    }
}
