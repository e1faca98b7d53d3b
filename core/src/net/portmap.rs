//! Port mappings on the router through UPnP-IGD, released when the session ends.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use igd_next::aio::Gateway;
use igd_next::aio::tokio::{Tokio, search_gateway};
use igd_next::{PortMappingProtocol, SearchOptions};

use super::NetError;

/// How long a mapping is leased for; a session that outlives it maps again.
const LEASE: Duration = Duration::from_secs(2 * 60 * 60);
const DESCRIPTION: &str = "Lifeline remote assistance";

/// A UDP port mapping on the router, from [`PortMapping::external`] to this computer.
/// It is removed by [`PortMapping::release`], or in the background when dropped.
#[derive(Debug)]
pub struct PortMapping {
    gateway: Option<Gateway<Tokio>>,
    external: SocketAddr,
    local: SocketAddr,
}

impl PortMapping {
    /// Asks the router (found by SSDP within `timeout`) to forward UDP to `local_port` of
    /// this computer, on the same external port if it is free and on any port otherwise.
    pub async fn map(local_port: u16, timeout: Duration) -> Result<Self, NetError> {
        let failed =
            |what: &str, e: &dyn std::fmt::Display| NetError::Portmap(format!("{what}: {e}"));
        let options = SearchOptions {
            timeout: Some(timeout),
            single_search_timeout: Some(timeout),
            ..SearchOptions::default()
        };
        let gateway = search_gateway(options)
            .await
            .map_err(|e| failed("no UPnP router answered", &e))?;
        let local = SocketAddr::new(local_ip_towards(gateway.addr)?, local_port);
        let lease = u32::try_from(LEASE.as_secs()).unwrap_or(u32::MAX);
        let port = match gateway
            .add_port(
                PortMappingProtocol::UDP,
                local_port,
                local,
                lease,
                DESCRIPTION,
            )
            .await
        {
            Ok(()) => local_port,
            Err(error) => {
                tracing::debug!(%error, "the router refused the same port; asking for any");
                gateway
                    .add_any_port(PortMappingProtocol::UDP, local, lease, DESCRIPTION)
                    .await
                    .map_err(|e| failed("the router refused the mapping", &e))?
            }
        };
        let ip = gateway.get_external_ip().await;
        let mapping = Self {
            external: SocketAddr::new(
                ip.as_ref().map_or(IpAddr::from([0, 0, 0, 0]), |ip| *ip),
                port,
            ),
            gateway: Some(gateway),
            local,
        };
        // Dropping `mapping` here releases it.
        let ip = ip.map_err(|e| failed("the router does not tell its external address", &e))?;
        tracing::info!(external = %SocketAddr::new(ip, port), %local, "port mapped");
        Ok(mapping)
    }

    /// The address and port the router forwards to us.
    pub fn external(&self) -> SocketAddr {
        self.external
    }

    /// The address and port on this computer the router forwards to.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Removes the mapping from the router.
    pub async fn release(mut self) -> Result<(), NetError> {
        match self.gateway.take() {
            Some(gateway) => remove(gateway, self.external.port()).await,
            None => Ok(()),
        }
    }
}

impl Drop for PortMapping {
    fn drop(&mut self) {
        let Some(gateway) = self.gateway.take() else {
            return;
        };
        let port = self.external.port();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(error) = remove(gateway, port).await {
                        tracing::warn!(%error, "could not release a port mapping");
                    }
                });
            }
            Err(_) => tracing::warn!(
                port,
                "a port mapping outlives its session (no runtime to release it)"
            ),
        }
    }
}

async fn remove(gateway: Gateway<Tokio>, port: u16) -> Result<(), NetError> {
    gateway
        .remove_port(PortMappingProtocol::UDP, port)
        .await
        .map_err(|e| NetError::Portmap(format!("cannot remove the mapping of port {port}: {e}")))?;
    tracing::info!(port, "port mapping released");
    Ok(())
}

/// The address of this computer on the interface that reaches `gateway`.
fn local_ip_towards(gateway: SocketAddr) -> Result<IpAddr, NetError> {
    let bind: SocketAddr = match gateway {
        SocketAddr::V4(_) => (IpAddr::from([0, 0, 0, 0]), 0).into(),
        SocketAddr::V6(_) => (IpAddr::from([0u16; 8]), 0).into(),
    };
    let probe = std::net::UdpSocket::bind(bind).map_err(NetError::Io)?;
    probe.connect(gateway).map_err(NetError::Io)?;
    Ok(probe.local_addr().map_err(NetError::Io)?.ip())
}
