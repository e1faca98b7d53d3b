//! Gathering every candidate at once: host addresses, server-reflexive addresses (STUN
//! through the session's own socket) and a port mapping on the router.

use std::net::SocketAddr;
use std::time::Duration;

use super::{PathSocket, PortMapping, host_candidates};
use crate::ticket::{Candidate, CandidateKind};

/// What to gather.
#[derive(Debug, Clone)]
pub struct GatherConfig {
    /// STUN servers to learn the server-reflexive address from (lifeline-server's
    /// `--stun-listen`, or any standard STUN server).
    pub stun: Vec<SocketAddr>,
    /// Whether to ask the router for a port mapping (UPnP-IGD).
    pub portmap: bool,
    /// How long each kind may take.
    pub timeout: Duration,
}

impl Default for GatherConfig {
    fn default() -> Self {
        Self {
            stun: Vec::new(),
            portmap: true,
            timeout: Duration::from_secs(2),
        }
    }
}

/// The candidates found, and the port mapping to keep while the session lasts.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Host, then mapped, then reflexive candidates, without duplicates.
    pub candidates: Vec<Candidate>,
    /// The router's mapping, if one was made: dropping it releases it.
    pub mapping: Option<PortMapping>,
}

/// Gathers host, server-reflexive and port-mapped candidates for `socket` in parallel.
/// Sources that fail are left out (and logged); the host candidates are always there.
pub async fn gather(socket: &PathSocket, config: &GatherConfig) -> Gathered {
    let port = socket.local_addr().port();
    let reflexive = async {
        let asks = config
            .stun
            .iter()
            .map(|server| socket.discover(*server, config.timeout));
        let mut found = Vec::new();
        for result in futures::future::join_all(asks).await {
            match result {
                Ok(addr) => found.push(addr),
                Err(error) => tracing::info!(%error, "no server-reflexive candidate"),
            }
        }
        found
    };
    let mapped = async {
        if !config.portmap {
            return None;
        }
        PortMapping::map(port, config.timeout)
            .await
            .inspect_err(|error| tracing::info!(%error, "no port-mapped candidate"))
            .ok()
    };
    let (reflexive, mapping) = tokio::join!(reflexive, mapped);
    let mut candidates = host_candidates(port)
        .inspect_err(|error| tracing::warn!(%error, "cannot list this computer's addresses"))
        .unwrap_or_default();
    candidates.retain(|c| {
        c.addr.is_ipv4() == socket.local_addr().is_ipv4() || socket.local_addr().is_ipv6()
    });
    let mut push = |kind, addr: SocketAddr| {
        if !addr.ip().is_unspecified() && !candidates.iter().any(|c| c.addr == addr) {
            candidates.push(Candidate { kind, addr });
        }
    };
    if let Some(mapping) = &mapping {
        push(CandidateKind::Mapped, mapping.external());
    }
    for addr in reflexive {
        push(CandidateKind::Reflexive, addr);
    }
    Gathered {
        candidates,
        mapping,
    }
}
