//! The command-line options that say how the two sides reach each other: STUN servers,
//! the relay and port mapping (the server itself is `--server` or the invitation's).

use std::net::{SocketAddr, ToSocketAddrs};

use lifeline_core::connect::{NoviceEndpoint, Reach};
use lifeline_core::net::PortMapping;
use lifeline_core::net::relay::Proxy;
use lifeline_core::ticket::{Candidate, CandidateKind, ServerUrl};

use crate::error::CliError;

/// `--stun`, `--no-relay`, `--no-portmap`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReachArgs {
    /// A STUN server (HOST:PORT) to learn this computer's public address from; may be
    /// repeated [default: the server's host on port 3478, when there is a server].
    #[arg(long, value_name = "HOST:PORT")]
    stun: Vec<String>,
    /// Never use the server's relay, only direct paths.
    #[arg(long)]
    no_relay: bool,
    /// Do not ask the router for a port mapping (UPnP-IGD, NAT-PMP, PCP).
    #[arg(long)]
    no_portmap: bool,
}

impl ReachArgs {
    /// The [`Reach`] these options and `server` describe; the proxy comes from
    /// `HTTPS_PROXY`.
    pub fn reach(&self, server: Option<ServerUrl>) -> Result<Reach, CliError> {
        let mut stun = Vec::new();
        for text in &self.stun {
            let addr = text
                .to_socket_addrs()
                .ok()
                .and_then(|mut found| found.find(SocketAddr::is_ipv4))
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "--stun {text:?} is not a reachable HOST:PORT, e.g. stun.example.org:3478"
                    ))
                })?;
            stun.push(addr);
        }
        let proxy = Proxy::from_env().map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(Reach {
            server,
            stun,
            relay: !self.no_relay,
            portmap: !self.no_portmap,
            proxy,
        })
    }
}

/// The novice's candidates for the invitation, and the router's mapping to keep: every
/// kind when listening on all interfaces; with a specific `--listen` address, that address
/// plus the reflexive one when a STUN server is known.
pub async fn novice_candidates(
    endpoint: &NoviceEndpoint,
    local: SocketAddr,
    reach: &Reach,
) -> Result<(Vec<Candidate>, Option<PortMapping>), CliError> {
    if local.ip().is_unspecified() {
        let gathered = reach.gather(endpoint.socket()).await;
        if gathered.candidates.is_empty() {
            return Err(CliError::System(
                "this computer has no network address to offer; connect it to a network".into(),
            ));
        }
        return Ok((gathered.candidates, gathered.mapping));
    }
    let mut candidates = vec![Candidate {
        kind: CandidateKind::Host,
        addr: local,
    }];
    if reach.server.is_some() || !reach.stun.is_empty() {
        let specific = Reach {
            portmap: false,
            ..reach.clone()
        };
        let gathered = specific.gather(endpoint.socket()).await;
        candidates.extend(
            gathered
                .candidates
                .into_iter()
                .filter(|c| c.kind != CandidateKind::Host && c.addr != local),
        );
    }
    Ok((candidates, None))
}
