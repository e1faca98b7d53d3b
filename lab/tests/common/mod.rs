//! What the connectivity tests share: a real STUN responder (lifeline-server's) on a
//! public lab address, and the two sides of a session built on [`PathSocket`]s inside
//! lab namespaces.

#![allow(dead_code)]

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeline_core::connect::{NoviceEndpoint, add_novice, connect_peer};
use lifeline_core::identity::Identity;
use lifeline_core::net::{GatherConfig, PathEvent, PathKind, PathSocket, RelayPath, Route, gather};
use lifeline_core::ticket::{Candidate, Invitation, InvitationBody};
use lifeline_lab::{Internet, NatKind, Site};
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// lifeline-server's STUN responder, running in this process on a public lab site.
pub struct StunServer {
    pub site: Site,
    pub addr: SocketAddrV4,
}

impl StunServer {
    pub fn start(internet: &Internet) -> Self {
        // RUST_LOG=lifeline_core=debug shows the sockets' work.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let site = internet.site(NatKind::Public).unwrap();
        let addr = SocketAddrV4::new(site.host_addr, 3478);
        let socket = site.host.udp_socket(addr.into()).unwrap();
        socket.set_nonblocking(true).unwrap();
        let socket = tokio::net::UdpSocket::from_std(socket).unwrap();
        tokio::spawn(lifeline_server::discovery::serve(socket));
        Self { site, addr }
    }
}

/// A socket of ours inside `site`, on any port.
pub fn socket_in(site: &Site) -> Arc<PathSocket> {
    let std = site
        .host
        .udp_socket(SocketAddr::from(([0, 0, 0, 0], 0)))
        .unwrap();
    PathSocket::from_std(std).unwrap()
}

/// Gathering as the tests do it: STUN at `stun`, no port mapping.
pub fn stun_only(stun: SocketAddrV4) -> GatherConfig {
    GatherConfig {
        stun: vec![stun.into()],
        portmap: false,
        timeout: Duration::from_secs(1),
    }
}

/// An invitation listing `candidates`, pinned to `identity`.
pub fn invitation(identity: &Identity, candidates: Vec<Candidate>) -> Invitation {
    let body = InvitationBody::new(
        "Rose".into(),
        candidates,
        None,
        identity.fingerprint(),
        OffsetDateTime::now_utc(),
        time::Duration::hours(1),
    )
    .unwrap();
    Invitation::sign(body, identity.signing_key()).unwrap()
}

/// Both ends of a session under test, built and ready to connect.
pub struct Pair {
    pub novice: NoviceEndpoint,
    pub helper_socket: Arc<PathSocket>,
    pub helper: quinn::Endpoint,
    pub invitation: Invitation,
    /// The helper as the novice's socket knows it (virtual address).
    pub helper_peer: SocketAddr,
    /// The novice as the helper's socket knows it (virtual address).
    pub novice_peer: SocketAddr,
    pub novice_candidates: Vec<Candidate>,
    pub helper_candidates: Vec<Candidate>,
    pub helper_events: mpsc::UnboundedReceiver<PathEvent>,
}

impl Pair {
    /// Gathers both sides' candidates and hands them over (the helper's to the novice out
    /// of band, standing in for the rendezvous). With `helper_knows_novice` false, the
    /// helper starts without the novice's candidates (relay only).
    pub async fn build(
        novice_site: &Site,
        helper_site: &Site,
        stun: SocketAddrV4,
        helper_knows_novice: bool,
    ) -> Self {
        let identity = Identity::generate().unwrap();
        let novice = NoviceEndpoint::with_socket(&identity, socket_in(novice_site)).unwrap();
        let helper_socket = socket_in(helper_site);
        let helper = helper_socket.endpoint(None).unwrap();
        let config = stun_only(stun);
        let (n, h) = tokio::join!(
            gather(novice.socket(), &config),
            gather(&helper_socket, &config)
        );
        let invitation = invitation(&identity, n.candidates.clone());
        let helper_peer = novice.add_helper(&invitation, &h.candidates);
        let helper_events = helper_socket.path_events();
        let novice_peer = if helper_knows_novice {
            add_novice(&helper_socket, &invitation, &[])
        } else {
            add_novice(
                &helper_socket,
                &invitation_without_candidates(&invitation),
                &[],
            )
        };
        Self {
            novice,
            helper_socket,
            helper,
            invitation,
            helper_peer,
            novice_peer,
            novice_candidates: n.candidates,
            helper_candidates: h.candidates,
            helper_events,
        }
    }

    /// Plugs an in-process relay between the two sides; returns the task that carries it
    /// (abort it to cut the relay).
    pub fn plug_relay(&self) -> tokio::task::JoinHandle<()> {
        let relay_addr = SocketAddr::from(([198, 19, 255, 1], 443));
        let (novice_path, mut novice_ends) = RelayPath::new(relay_addr, 1024);
        let (helper_path, mut helper_ends) = RelayPath::new(relay_addr, 1024);
        self.novice
            .socket()
            .set_relay(self.helper_peer, novice_path);
        self.helper_socket.set_relay(self.novice_peer, helper_path);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(d) = novice_ends.outgoing.recv() => { let _ = helper_ends.incoming.try_send(d); }
                    Some(d) = helper_ends.outgoing.recv() => { let _ = novice_ends.incoming.try_send(d); }
                    else => return,
                }
            }
        })
    }

    /// Connects the helper to the novice and checks that a stream echoes; returns the
    /// helper's connection and the novice's, or the helper's error.
    pub async fn connect(&self) -> Result<(quinn::Connection, quinn::Connection), String> {
        let accept = {
            let endpoint = self.novice.endpoint().clone();
            tokio::spawn(async move {
                let incoming = endpoint.accept().await?;
                let connection = incoming.await.ok()?;
                let echo = connection.clone();
                tokio::spawn(async move {
                    while let Ok((mut send, mut recv)) = echo.accept_bi().await {
                        tokio::spawn(async move {
                            let mut buf = vec![0u8; 64 * 1024];
                            while let Ok(Some(n)) = recv.read(&mut buf).await {
                                if send.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                            let _ = send.finish();
                        });
                    }
                });
                Some(connection)
            })
        };
        let fingerprint = self.invitation.body().fingerprint;
        let connection = connect_peer(
            &self.helper_socket,
            &self.helper,
            self.novice_peer,
            fingerprint,
        )
        .await
        .map_err(|e| e.to_string());
        let connection = match connection {
            Ok(c) => c,
            Err(e) => {
                accept.abort();
                return Err(e);
            }
        };
        echo(&connection, b"hello").await?;
        let novice_side = accept
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the novice did not accept")?;
        Ok((connection, novice_side))
    }

    /// The helper's route to the novice now.
    pub fn route(&self) -> Option<Route> {
        self.helper_socket.route(self.novice_peer)
    }

    /// Waits up to `limit` for the helper's path to be of a kind `accept` takes; returns
    /// the last path event seen.
    pub async fn wait_path(
        &mut self,
        limit: Duration,
        accept: impl Fn(PathKind) -> bool,
    ) -> Option<PathEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut last = None;
        loop {
            match tokio::time::timeout_at(deadline, self.helper_events.recv()).await {
                Ok(Some(event)) => {
                    last = Some(event);
                    if accept(event.kind) {
                        return last;
                    }
                }
                _ => return last,
            }
        }
    }
}

/// The same invitation without candidates, signed again by nobody: only its id and
/// fingerprint matter to [`add_novice`].
fn invitation_without_candidates(invitation: &Invitation) -> Invitation {
    let body = invitation.body();
    let mut empty = body.clone();
    empty.candidates.clear();
    Invitation::sign(empty, Identity::generate().unwrap().signing_key()).unwrap()
}

/// Sends `data` on a new stream and checks that it comes back within 10 seconds.
pub async fn echo(connection: &quinn::Connection, data: &[u8]) -> Result<Duration, String> {
    let started = Instant::now();
    let work = async {
        let (mut send, mut recv) = connection.open_bi().await.map_err(|e| e.to_string())?;
        send.write_all(data).await.map_err(|e| e.to_string())?;
        send.finish().map_err(|e| e.to_string())?;
        let back = recv.read_to_end(1 << 20).await.map_err(|e| e.to_string())?;
        if back != data {
            return Err("the echo differs".to_owned());
        }
        Ok(started.elapsed())
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .map_err(|_| "no echo within 10 s".to_owned())?
}
