//! Reaching the other side beyond the invitation's direct candidates: the server-reflexive
//! and port-mapped candidates, the rendezvous through which the two sides swap fresh
//! candidates, and the relay, plugged into the [`PathSocket`] as one more path.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::net::relay::{Proxy, Relay, RelayError, RelayToken, ServerTarget};
use crate::net::rendezvous::Rendezvous;
use crate::net::{GatherConfig, Gathered, PathSocket, RelayPath, gather};
use crate::proto::Role;
use crate::ticket::{Candidate, Invitation, ServerUrl};

/// Datagrams that may wait each way between the socket and the relay.
const RELAY_QUEUE: usize = 256;

/// The port lifeline-server answers STUN on unless configured otherwise.
pub const DEFAULT_STUN_PORT: u16 = 3478;

/// How this side reaches the other, besides direct candidates.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// The rendezvous and relay server (the invitation's, unless overridden).
    pub server: Option<ServerUrl>,
    /// STUN servers for the server-reflexive address; empty: the server's host on
    /// [`DEFAULT_STUN_PORT`], if there is a server.
    pub stun: Vec<SocketAddr>,
    /// Whether to fall back to the relay.
    pub relay: bool,
    /// Whether to ask the router for a port mapping.
    pub portmap: bool,
    /// An HTTP CONNECT proxy to reach the server through.
    pub proxy: Option<Proxy>,
}

impl Reach {
    /// Gathers this side's candidates on `socket`: host, server-reflexive, port-mapped.
    /// Keep the returned mapping as long as the session lives.
    pub async fn gather(&self, socket: &PathSocket) -> Gathered {
        let mut stun = self.stun.clone();
        if stun.is_empty()
            && let Some(server) = &self.server
            && let Ok(target) = ServerTarget::parse(server)
            && let Ok(mut found) =
                tokio::net::lookup_host((target.host.as_str(), DEFAULT_STUN_PORT)).await
            && let Some(addr) = found.find(|a| a.is_ipv4())
        {
            stun.push(addr);
        }
        let config = GatherConfig {
            stun,
            portmap: self.portmap,
            ..GatherConfig::default()
        };
        gather(socket, &config).await
    }
}

/// The helper's side of the rendezvous and relay for `invitation`: sends `own` candidates,
/// adds the novice's fresh ones to `peer` (the novice's virtual address on `socket`), and
/// plugs in the relay. Runs until the rendezvous closes; the relay keeps running inside.
pub fn helper_side(
    reach: &Reach,
    socket: Arc<PathSocket>,
    invitation: &Invitation,
    peer: SocketAddr,
    own: Vec<Candidate>,
) -> Option<JoinHandle<()>> {
    let server = reach.server.clone()?;
    let (relay, proxy) = (reach.relay, reach.proxy.clone());
    let id = invitation.body().id;
    Some(tokio::spawn(async move {
        let relayed = if relay {
            match plug_relay(
                &socket,
                peer,
                &server,
                RelayToken::for_invitation(id),
                Role::Helper,
                proxy.as_ref(),
            )
            .await
            {
                Ok(pump) => Some(pump),
                Err(e) => {
                    tracing::warn!(error = %e, "no relay");
                    None
                }
            }
        } else {
            None
        };
        match Rendezvous::open(&server, id, Role::Helper, proxy.as_ref()).await {
            Ok(mut rendezvous) => {
                if let Err(e) = rendezvous.send(&own).await {
                    tracing::warn!(error = %e, "cannot send candidates");
                }
                while let Ok(candidates) = rendezvous.recv().await {
                    socket.add_candidates(peer, &candidates);
                }
            }
            Err(e) => tracing::warn!(error = %e, "no rendezvous"),
        }
        if let Some(pump) = relayed {
            let _ = pump.await;
        }
    }))
}

/// The novice's side of the rendezvous and relay for `invitation`: for each helper whose
/// candidates arrive, adds it to the endpoint's socket (`add_helper` gives its virtual
/// address), answers with `own` candidates and plugs in the relay for it.
pub fn novice_side(
    reach: &Reach,
    socket: Arc<PathSocket>,
    invitation: Invitation,
    own: Vec<Candidate>,
    add_helper: impl Fn(&[Candidate]) -> SocketAddr + Send + 'static,
) -> Option<JoinHandle<()>> {
    let server = reach.server.clone()?;
    let (relay, proxy) = (reach.relay, reach.proxy.clone());
    let id = invitation.body().id;
    Some(tokio::spawn(async move {
        let mut rendezvous = match Rendezvous::open(&server, id, Role::Novice, proxy.as_ref()).await
        {
            Ok(rendezvous) => rendezvous,
            Err(e) => {
                tracing::warn!(error = %e, "no rendezvous");
                return;
            }
        };
        let mut pumps = Vec::new();
        while let Ok(candidates) = rendezvous.recv().await {
            let peer = add_helper(&candidates);
            if let Err(e) = rendezvous.send(&own).await {
                tracing::warn!(error = %e, "cannot answer with candidates");
            }
            if relay {
                let token = RelayToken::for_invitation(id);
                match plug_relay(&socket, peer, &server, token, Role::Novice, proxy.as_ref()).await
                {
                    Ok(pump) => pumps.push(pump),
                    Err(e) => tracing::warn!(error = %e, "no relay"),
                }
            }
        }
        for pump in pumps {
            let _ = pump.await;
        }
    }))
}

/// Joins the relay session `token` as `role` and plugs it into `socket` as `peer`'s relay
/// path; the returned task moves datagrams until the relay or the socket lets go.
pub async fn plug_relay(
    socket: &PathSocket,
    peer: SocketAddr,
    server: &ServerUrl,
    token: RelayToken,
    role: Role,
    proxy: Option<&Proxy>,
) -> Result<JoinHandle<()>, RelayError> {
    let mut relay = Relay::connect(server, token, role, proxy).await?;
    let target = ServerTarget::parse(server)?;
    let remote = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .ok()
        .and_then(|mut found| found.next())
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], target.port)));
    let (path, mut ends) = RelayPath::new(remote, RELAY_QUEUE);
    socket.set_relay(peer, path);
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                out = ends.outgoing.recv() => match out {
                    Some(datagram) => {
                        if relay.try_send(&datagram).is_err() {
                            return;
                        }
                    }
                    None => return,
                },
                delivered = relay.recv() => match delivered {
                    Ok(datagram) => {
                        if ends.incoming.try_send(datagram).is_err() && ends.incoming.is_closed() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "the relay closed");
                        return;
                    }
                },
            }
        }
    }))
}
