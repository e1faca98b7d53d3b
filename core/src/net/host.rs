//! Host candidates: the addresses of this computer's own network interfaces.

use std::net::{IpAddr, SocketAddr};

use crate::ticket::{Candidate, CandidateKind};

/// Host candidates: every address of this computer's network interfaces that another
/// computer could reach, each with `port`.
///
/// Loopback, link-local (they need an interface scope that cannot travel) and unspecified
/// addresses are left out, and so are interfaces that are down.
pub fn host_candidates(port: u16) -> std::io::Result<Vec<Candidate>> {
    let mut candidates: Vec<Candidate> = if_addrs::get_if_addrs()?
        .into_iter()
        .filter(|iface| !iface.is_loopback())
        .map(|iface| iface.ip())
        .filter(|ip| is_reachable_unicast(*ip))
        .map(|ip| Candidate {
            kind: CandidateKind::Host,
            addr: SocketAddr::new(ip, port),
        })
        .collect();
    // IPv4 first: shorter in links, and the most likely to work on a LAN.
    candidates.sort_by_key(|c| (c.addr.is_ipv6(), c.addr));
    candidates.dedup();
    Ok(candidates)
}

fn is_reachable_unicast(ip: IpAddr) -> bool {
    if ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    match ip {
        IpAddr::V4(v4) => !v4.is_link_local() && !v4.is_broadcast(),
        // fe80::/10 needs a scope id.
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 != 0xfe80,
    }
}
