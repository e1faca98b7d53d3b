//! The relay client: a datagram path through lifeline-server, for when no direct path
//! works (both sides behind symmetric NATs, or UDP blocked).
//!
//! Both peers open `wss://<server>/v1/relay/<token>?role=novice|helper` with the same
//! [`RelayToken`]; the server pairs them, says so with a text frame `paired`, then passes
//! every binary frame (one QUIC datagram each) to the other peer unread. The connection
//! goes over TLS to the server URL's host, pinning the certificate named by the URL's
//! `#pin=sha256:…` fragment (or, without a pin, checking it against the public web's
//! roots), optionally through an HTTP CONNECT proxy.
//!
//! [`connect_server`] is shared with [`super::rendezvous`].

use std::fmt;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::Role;
use crate::ticket::{Fingerprint, InvitationId, ServerUrl};

/// A WebSocket to lifeline-server.
pub type ServerSocket = WebSocketStream<TlsStream<TcpStream>>;

/// How many datagrams may wait in each direction inside the client.
const QUEUE: usize = 256;
/// The largest datagram the relay carries.
pub const MAX_DATAGRAM: usize = 65_535;

/// Why talking to the server failed. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The server URL cannot be used.
    #[error("bad server URL {url}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The proxy URL cannot be used.
    #[error("bad proxy URL {url}: expected http://HOST:PORT")]
    BadProxy {
        /// The URL.
        url: String,
    },
    /// No TCP connection to the server or proxy.
    #[error("cannot reach {target}: {source}")]
    Connect {
        /// `host:port`.
        target: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The proxy refused the CONNECT request.
    #[error("the proxy refused to connect to {target}: {status}")]
    Proxy {
        /// `host:port`.
        target: String,
        /// The proxy's status line.
        status: String,
    },
    /// The server's certificate is not the pinned one.
    #[error(
        "the server's certificate does not match the pin in the server URL; check the URL or ask its operator"
    )]
    WrongPin,
    /// TLS failed otherwise.
    #[error("TLS with the server failed: {0}")]
    Tls(String),
    /// The server refused the request.
    #[error("the server refused: {0}")]
    Refused(String),
    /// The WebSocket failed.
    #[error("the connection to the server failed: {0}")]
    WebSocket(String),
    /// The server or the peer closed the connection.
    #[error("the server closed the connection: {0}")]
    Closed(String),
    /// A datagram is larger than the relay carries.
    #[error("a datagram of {0} bytes is larger than the relay's 65535")]
    TooLarge(usize),
}

/// An HTTP proxy that the connection to the server goes through (HTTP CONNECT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// `host:port` of the proxy.
    authority: String,
}

impl Proxy {
    /// Parses `http://HOST:PORT` (a trailing `/` is allowed).
    pub fn parse(url: &str) -> Result<Self, RelayError> {
        let bad = || RelayError::BadProxy {
            url: url.to_owned(),
        };
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = authority.rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() || authority.contains(['/', '@']) || port.parse::<u16>().is_err() {
            return Err(bad());
        }
        Ok(Self {
            authority: authority.to_owned(),
        })
    }

    /// The proxy named by `HTTPS_PROXY` (or `https_proxy`), if any.
    pub fn from_env() -> Result<Option<Self>, RelayError> {
        match std::env::var("HTTPS_PROXY").or_else(|_| std::env::var("https_proxy")) {
            Ok(url) if !url.is_empty() => Self::parse(&url).map(Some),
            _ => Ok(None),
        }
    }
}

/// Where a server URL points: host, port and certificate pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTarget {
    /// The host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The TCP port (443 when the URL names none).
    pub port: u16,
    /// The certificate pin from `#pin=sha256:…`, if any.
    pub pin: Option<Fingerprint>,
}

impl ServerTarget {
    /// Reads a server URL such as `https://198.18.0.20:443/#pin=sha256:…`.
    pub fn parse(url: &ServerUrl) -> Result<Self, RelayError> {
        let text = url.as_str();
        let bad = |reason| RelayError::BadUrl {
            url: text.to_owned(),
            reason,
        };
        let rest = text
            .strip_prefix("https://")
            .ok_or_else(|| bad("must start with https://"))?;
        let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed [ in host"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(port) => port.parse().map_err(|_| bad("bad port"))?,
            None => 443,
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let pin = match fragment.strip_prefix("pin=") {
            Some(pin) => Some(
                pin.parse()
                    .map_err(|_| bad("the pin must be sha256: and 64 lowercase hex digits"))?,
            ),
            None if fragment.is_empty() => None,
            None => return Err(bad("the only fragment understood is #pin=sha256:…")),
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            pin,
        })
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// What both relay peers name to be paired: SHA-256 of a fixed label and the invitation
/// id. It is not secret (anyone holding the invitation can compute it); the relay only
/// ever sees QUIC packets it cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RelayToken(pub [u8; 32]);

impl RelayToken {
    /// The token of invitation `id`.
    pub fn for_invitation(id: InvitationId) -> Self {
        let mut hash = sha2::Sha256::new();
        hash.update(b"lifeline relay token v1");
        hash.update(id.0);
        Self(hash.finalize().into())
    }
}

impl fmt::Display for RelayToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

/// Opens a WebSocket to `path` (e.g. `/v1/relay/…?role=helper`) on `server`, through
/// `proxy` if given.
pub async fn connect_server(
    server: &ServerUrl,
    path: &str,
    proxy: Option<&Proxy>,
) -> Result<ServerSocket, RelayError> {
    let target = ServerTarget::parse(server)?;
    let authority = target.authority();
    let tcp = match proxy {
        None => TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|source| RelayError::Connect {
                target: authority.clone(),
                source,
            })?,
        Some(proxy) => through_proxy(proxy, &authority).await?,
    };
    let _ = tcp.set_nodelay(true);
    let tls = tls_config(target.pin);
    let name = if target.pin.is_some() {
        ServerName::try_from("lifeline-server".to_owned())
    } else {
        ServerName::try_from(target.host.clone())
    }
    .map_err(|_| RelayError::BadUrl {
        url: server.to_string(),
        reason: "the host is not a valid server name",
    })?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await
        .map_err(|error| {
            let text = error.to_string();
            if text.contains("does not match the pin") {
                RelayError::WrongPin
            } else {
                RelayError::Tls(text)
            }
        })?;
    let url = format!("wss://{authority}{path}");
    let config = tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(Some(MAX_DATAGRAM))
        .max_frame_size(Some(MAX_DATAGRAM));
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, tls, Some(config))
        .await
        .map_err(|error| match error {
            tungstenite::Error::Http(response) => {
                let body = response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                RelayError::Refused(format!("{} {body}", response.status()))
            }
            other => RelayError::WebSocket(other.to_string()),
        })?;
    Ok(ws)
}

/// A TCP connection to `authority` through an HTTP CONNECT proxy.
async fn through_proxy(proxy: &Proxy, authority: &str) -> Result<TcpStream, RelayError> {
    let io = |source| RelayError::Connect {
        target: proxy.authority.clone(),
        source,
    };
    let mut tcp = TcpStream::connect(proxy.authority.as_str())
        .await
        .map_err(io)?;
    let request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.map_err(io)?;
    // Read the response head byte by byte so nothing of the tunnel is consumed.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 {
            return Err(RelayError::Proxy {
                target: authority.to_owned(),
                status: "response head longer than 8 KiB".into(),
            });
        }
        let byte = tcp.read_u8().await.map_err(io)?;
        head.push(byte);
    }
    let text = String::from_utf8_lossy(&head);
    let status = text.lines().next().unwrap_or_default().to_owned();
    let code = status.split_whitespace().nth(1);
    if code != Some("200") {
        return Err(RelayError::Proxy {
            target: authority.to_owned(),
            status,
        });
    }
    Ok(tcp)
}

fn tls_config(pin: Option<Fingerprint>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| {
            rustls::ClientConfig::builder_with_protocol_versions(rustls::DEFAULT_VERSIONS)
        });
    match pin {
        Some(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedServer { pin, provider }))
            .with_no_client_auth(),
        None => {
            let roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    }
}

/// Accepts exactly the certificate whose SHA-256 is the pin.
#[derive(Debug)]
struct PinnedServer {
    pin: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if Fingerprint::of_certificate(end_entity.as_ref()) == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "server certificate does not match the pin".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The reason in a close frame, or a generic one.
pub(crate) fn close_reason(frame: Option<&tungstenite::protocol::CloseFrame>) -> String {
    match frame {
        Some(frame) if !frame.reason.is_empty() => frame.reason.to_string(),
        _ => "no reason given".to_owned(),
    }
}

/// A datagram path through the relay: what one side sends, the other receives.
pub struct Relay {
    outgoing: mpsc::Sender<Vec<u8>>,
    incoming: mpsc::Receiver<Vec<u8>>,
    paired: watch::Receiver<bool>,
    ended: Arc<Mutex<Option<String>>>,
}

impl Relay {
    /// Joins the relay session `token` on `server` as `role`, through `proxy` if given.
    /// Returns once the server accepted; datagrams flow once the other peer joins too
    /// (see [`paired`](Self::paired)); until then they are dropped.
    pub async fn connect(
        server: &ServerUrl,
        token: RelayToken,
        role: Role,
        proxy: Option<&Proxy>,
    ) -> Result<Self, RelayError> {
        let path = format!("/v1/relay/{token}?role={role}");
        let ws = connect_server(server, &path, proxy).await?;
        let (outgoing, to_server) = mpsc::channel(QUEUE);
        let (from_server, incoming) = mpsc::channel(QUEUE);
        let (paired_tx, paired) = watch::channel(false);
        let ended = Arc::new(Mutex::new(None));
        tokio::spawn(drive(ws, to_server, from_server, paired_tx, ended.clone()));
        Ok(Self {
            outgoing,
            incoming,
            paired,
            ended,
        })
    }

    /// Waits until the other peer has joined.
    pub async fn paired(&mut self) -> Result<(), RelayError> {
        if self.paired.wait_for(|paired| *paired).await.is_err() {
            return Err(self.closed());
        }
        Ok(())
    }

    /// Sends one datagram, waiting while the queue to the server is full.
    pub async fn send(&self, datagram: &[u8]) -> Result<(), RelayError> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(RelayError::TooLarge(datagram.len()));
        }
        self.outgoing
            .send(datagram.to_vec())
            .await
            .map_err(|_| self.closed())
    }

    /// Sends one datagram if there is room in the queue; drops it otherwise (as a full
    /// network would) and says whether it was queued.
    pub fn try_send(&self, datagram: &[u8]) -> Result<bool, RelayError> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(RelayError::TooLarge(datagram.len()));
        }
        match self.outgoing.try_send(datagram.to_vec()) {
            Ok(()) => Ok(true),
            Err(mpsc::error::TrySendError::Full(_)) => Ok(false),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(self.closed()),
        }
    }

    /// The next datagram from the other peer. Datagrams that arrive while 256 are waiting
    /// unread are dropped.
    pub async fn recv(&mut self) -> Result<Vec<u8>, RelayError> {
        match self.incoming.recv().await {
            Some(datagram) => Ok(datagram),
            None => Err(self.closed()),
        }
    }

    fn closed(&self) -> RelayError {
        let reason = self
            .ended
            .lock()
            .ok()
            .and_then(|reason| reason.clone())
            .unwrap_or_else(|| "no reason given".to_owned());
        RelayError::Closed(reason)
    }
}

/// Moves datagrams between the WebSocket and the two queues until either side ends.
async fn drive(
    ws: ServerSocket,
    mut to_server: mpsc::Receiver<Vec<u8>>,
    from_server: mpsc::Sender<Vec<u8>>,
    paired: watch::Sender<bool>,
    ended: Arc<Mutex<Option<String>>>,
) {
    let (mut sink, mut stream) = ws.split();
    let reason = loop {
        tokio::select! {
            datagram = to_server.recv() => match datagram {
                Some(datagram) => {
                    if let Err(error) = sink.send(Message::binary(datagram)).await {
                        break error.to_string();
                    }
                }
                None => {
                    let _ = sink.send(Message::Close(None)).await;
                    break "closed by this side".to_owned();
                }
            },
            message = stream.next() => match message {
                Some(Ok(Message::Binary(datagram))) => {
                    // A receiver that falls behind loses datagrams, as on a full UDP
                    // socket, rather than stalling the relay for both peers.
                    match from_server.try_send(datagram.to_vec()) {
                        Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            let _ = sink.send(Message::Close(None)).await;
                            break "closed by this side".to_owned();
                        }
                    }
                }
                Some(Ok(Message::Text(text))) if text.as_str() == "paired" => {
                    paired.send_replace(true);
                }
                Some(Ok(Message::Close(frame))) => break close_reason(frame.as_ref()),
                Some(Ok(_)) => {}
                Some(Err(error)) => break error.to_string(),
                None => break "the connection ended".to_owned(),
            },
        }
    };
    tracing::debug!(%reason, "relay connection ended");
    if let Ok(mut ended) = ended.lock() {
        *ended = Some(reason);
    }
}
