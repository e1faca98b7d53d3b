//! Port mappings on the router through PCP, NAT-PMP or UPnP-IGD, released when the session
//! ends.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use igd_next::aio::Gateway;
use igd_next::aio::tokio::{Tokio, search_gateway};
use igd_next::{PortMappingProtocol, SearchOptions};

use super::NetError;

/// How long a mapping is leased for; it is renewed halfway, as long as it is kept.
const LEASE: Duration = Duration::from_secs(2 * 60 * 60);
const DESCRIPTION: &str = "Lifeline remote assistance";

/// How a port mapping was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapProtocol {
    /// UPnP Internet Gateway Device (SSDP discovery, SOAP over HTTP).
    Upnp,
    /// NAT-PMP (RFC 6886), or PCP (RFC 6887) where the router speaks only that.
    Pcp,
}

/// A UDP port mapping on the router, from [`PortMapping::external`] to this computer.
/// It is removed by [`PortMapping::release`], or in the background when dropped.
#[derive(Debug)]
pub struct PortMapping {
    /// Shared with the renewal task; `None` once released.
    lease: Arc<Mutex<Option<Lease>>>,
    protocol: MapProtocol,
    renewal: Option<tokio::task::AbortHandle>,
    external: SocketAddr,
    local: SocketAddr,
}

#[derive(Debug)]
enum Lease {
    Upnp(Gateway<Tokio>),
    Pcp(crab_nat::PortMapping),
}

impl PortMapping {
    /// Asks the router to forward UDP to `local_port` of this computer: by NAT-PMP or PCP
    /// first (one exchange with the default gateway), else by UPnP-IGD (found by SSDP),
    /// each within `timeout`.
    pub async fn map(local_port: u16, timeout: Duration) -> Result<Self, NetError> {
        Self::map_with(&[MapProtocol::Pcp, MapProtocol::Upnp], local_port, timeout).await
    }

    /// Like [`PortMapping::map`], trying only `protocols`, in order.
    pub async fn map_with(
        protocols: &[MapProtocol],
        local_port: u16,
        timeout: Duration,
    ) -> Result<Self, NetError> {
        let mut failures = Vec::new();
        for protocol in protocols {
            let attempt = match protocol {
                MapProtocol::Upnp => map_upnp(local_port, timeout).await,
                MapProtocol::Pcp => map_pcp(local_port, timeout).await,
            };
            match attempt {
                Ok(mut mapping) => {
                    mapping.renewal = Some(renew_halfway(
                        mapping.lease.clone(),
                        mapping.external,
                        mapping.local,
                    ));
                    tracing::info!(external = %mapping.external, local = %mapping.local, ?protocol, "port mapped");
                    return Ok(mapping);
                }
                Err(error) => failures.push(error.to_string()),
            }
        }
        Err(NetError::Portmap(failures.join("; ")))
    }

    /// The address and port the router forwards to us.
    pub fn external(&self) -> SocketAddr {
        self.external
    }

    /// The address and port on this computer the router forwards to.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// How the mapping was made.
    pub fn protocol(&self) -> MapProtocol {
        self.protocol
    }

    /// Removes the mapping from the router.
    pub async fn release(mut self) -> Result<(), NetError> {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        let lease = self.lease.lock().await.take();
        match lease {
            Some(lease) => remove(lease, self.external.port()).await,
            None => Ok(()),
        }
    }

    fn new(lease: Lease, external: SocketAddr, local: SocketAddr) -> Self {
        let protocol = match lease {
            Lease::Upnp(_) => MapProtocol::Upnp,
            Lease::Pcp(_) => MapProtocol::Pcp,
        };
        Self {
            lease: Arc::new(Mutex::new(Some(lease))),
            protocol,
            renewal: None,
            external,
            local,
        }
    }
}

impl Drop for PortMapping {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        let lease = self.lease.clone();
        let port = self.external.port();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let Some(lease) = lease.lock().await.take() else {
                        return;
                    };
                    if let Err(error) = remove(lease, port).await {
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

/// Renews the mapping every half lease until aborted or released.
fn renew_halfway(
    lease: Arc<Mutex<Option<Lease>>>,
    external: SocketAddr,
    local: SocketAddr,
) -> tokio::task::AbortHandle {
    let seconds = u32::try_from(LEASE.as_secs()).unwrap_or(u32::MAX);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(LEASE / 2).await;
            let mut guard = lease.lock().await;
            let renewed = match guard.as_mut() {
                None => return,
                Some(Lease::Upnp(gateway)) => gateway
                    .add_port(
                        PortMappingProtocol::UDP,
                        external.port(),
                        local,
                        seconds,
                        DESCRIPTION,
                    )
                    .await
                    .map_err(|e| e.to_string()),
                Some(Lease::Pcp(mapping)) => mapping.renew().await.map_err(|e| e.to_string()),
            };
            match renewed {
                Ok(()) => tracing::debug!(%external, "port mapping renewed"),
                Err(error) => tracing::warn!(%external, %error, "could not renew a port mapping"),
            }
        }
    })
    .abort_handle()
}

async fn map_upnp(local_port: u16, timeout: Duration) -> Result<PortMapping, NetError> {
    let failed =
        |what: &str, e: &dyn std::fmt::Display| NetError::Portmap(format!("UPnP: {what}: {e}"));
    let options = SearchOptions {
        timeout: Some(timeout),
        single_search_timeout: Some(timeout),
        ..SearchOptions::default()
    };
    let gateway = search_gateway(options)
        .await
        .map_err(|e| failed("no router answered", &e))?;
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
    let mapping = PortMapping::new(
        Lease::Upnp(gateway),
        SocketAddr::new(
            ip.as_ref().map_or(IpAddr::from([0, 0, 0, 0]), |ip| *ip),
            port,
        ),
        local,
    );
    // Dropping `mapping` on an error releases it.
    ip.map_err(|e| failed("the router does not tell its external address", &e))?;
    Ok(mapping)
}

async fn map_pcp(local_port: u16, timeout: Duration) -> Result<PortMapping, NetError> {
    let failed = |e: &dyn std::fmt::Display| NetError::Portmap(format!("PCP/NAT-PMP: {e}"));
    let gateway = default_gateway().ok_or_else(|| failed(&"no default gateway"))?;
    let client = local_ip_towards(SocketAddr::new(gateway, 5351))?;
    let port = std::num::NonZeroU16::new(local_port).ok_or_else(|| failed(&"port 0"))?;
    let options = crab_nat::PortMappingOptions {
        external_port: Some(port),
        lifetime_seconds: u32::try_from(LEASE.as_secs()).ok(),
        timeout_config: Some(crab_nat::TimeoutConfig {
            initial_timeout: Duration::from_millis(250),
            max_retries: 2,
            max_retry_timeout: Some(timeout),
        }),
    };
    // NAT-PMP first: miniupnpd (2.3) keeps a PCP mapping after PCP asks to delete it, but
    // honours NAT-PMP's deletion. A router that speaks only PCP gets PCP.
    let natpmp = crab_nat::natpmp::port_mapping(
        gateway.into(),
        crab_nat::InternetProtocol::Udp,
        port,
        options,
    );
    let mapping = match tokio::time::timeout(timeout, natpmp).await {
        Ok(Ok(mapping)) => mapping,
        Ok(Err(error)) => {
            tracing::debug!(%error, "no NAT-PMP; trying PCP");
            let pcp = crab_nat::PortMapping::new(
                gateway.into(),
                client,
                crab_nat::InternetProtocol::Udp,
                port,
                options,
            );
            tokio::time::timeout(timeout, pcp)
                .await
                .map_err(|_| failed(&"no answer"))?
                .map_err(|e| failed(&e))?
        }
        Err(_) => return Err(failed(&"no answer")),
    };
    let external_port = mapping.external_port().get();
    let external_ip = match mapping.mapping_type() {
        crab_nat::PortMappingType::Pcp { external_ip, .. } => Ok(external_ip),
        crab_nat::PortMappingType::NatPmp => {
            crab_nat::natpmp::external_address(gateway.into(), Some(mapping.timeout_config))
                .await
                .map(IpAddr::V4)
        }
    };
    let mapping = PortMapping::new(
        Lease::Pcp(mapping),
        SocketAddr::new(
            external_ip
                .as_ref()
                .map_or(IpAddr::from([0, 0, 0, 0]), |ip| *ip),
            external_port,
        ),
        SocketAddr::new(client, local_port),
    );
    external_ip.map_err(|e| failed(&e))?;
    Ok(mapping)
}

async fn remove(lease: Lease, port: u16) -> Result<(), NetError> {
    let failed = |e: &dyn std::fmt::Display| {
        NetError::Portmap(format!("cannot remove the mapping of port {port}: {e}"))
    };
    match lease {
        Lease::Upnp(gateway) => gateway
            .remove_port(PortMappingProtocol::UDP, port)
            .await
            .map_err(|e| failed(&e))?,
        Lease::Pcp(mapping) => mapping.try_drop().await.map_err(|(e, _)| failed(&e))?,
    }
    tracing::info!(port, "port mapping released");
    Ok(())
}

/// The default IPv4 gateway, from the kernel's routing table (Linux); `None` elsewhere.
fn default_gateway() -> Option<IpAddr> {
    // thread-self: the table of this thread's network namespace.
    let table = std::fs::read_to_string("/proc/thread-self/net/route").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) != Some(&"00000000") {
            return None;
        }
        let gateway = u32::from_str_radix(fields.get(2)?, 16).ok()?;
        // The table holds the address in the host's byte order.
        (gateway != 0).then(|| IpAddr::from(gateway.to_ne_bytes()))
    })
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
