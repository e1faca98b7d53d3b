//! An emulated internet with sites behind NATs of every common kind.
//!
//! The internet is one namespace that routes between sites; site `i` hangs off it on
//! `198.18.i.0/24` (the benchmarking range, used only inside these namespaces). A site is
//! either a host with a public address, or a host on `10.0.i.0/24` behind a router
//! namespace whose nftables rules make the NAT behave as its [`NatKind`] says.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::netns::{LabError, Netns, run};

/// How a site's router treats UDP, in the terms of RFC 4787.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatKind {
    /// No NAT: the host has a public address.
    Public,
    /// Endpoint-independent mapping and filtering ("full cone").
    FullCone,
    /// Endpoint-independent mapping, address-dependent filtering.
    AddressRestricted,
    /// Endpoint-independent mapping, address- and port-dependent filtering.
    PortRestricted,
    /// Endpoint-dependent mapping with random ports ("symmetric").
    Symmetric,
    /// UDP blocked except DNS; TCP only to ports 80 and 443.
    UdpBlocked,
}

impl NatKind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::Public,
        Self::FullCone,
        Self::AddressRestricted,
        Self::PortRestricted,
        Self::Symmetric,
        Self::UdpBlocked,
    ];

    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::FullCone => "full-cone",
            Self::AddressRestricted => "address-restricted",
            Self::PortRestricted => "port-restricted",
            Self::Symmetric => "symmetric",
            Self::UdpBlocked => "udp-blocked",
        }
    }

    /// The router's nftables rules; `host` is the private address of the one host.
    fn ruleset(self, host: Ipv4Addr) -> String {
        let (snat, dnat, forward) = match self {
            Self::Public => return String::new(),
            Self::FullCone => (
                "masquerade",
                format!("iifname \"wan\" meta l4proto udp dnat to {host}"),
                String::new(),
            ),
            Self::AddressRestricted => (
                "masquerade",
                format!("iifname \"wan\" meta l4proto udp ip saddr @contacted dnat to {host}"),
                "iifname \"lan\" oifname \"wan\" update @contacted { ip daddr }".to_owned(),
            ),
            Self::PortRestricted => ("masquerade", String::new(), String::new()),
            Self::Symmetric => ("masquerade random", String::new(), String::new()),
            Self::UdpBlocked => (
                "masquerade",
                String::new(),
                "iifname \"lan\" udp dport != 53 drop\n\
                 iifname \"lan\" tcp dport != { 80, 443 } drop"
                    .to_owned(),
            ),
        };
        format!(
            "table ip lab {{
  set contacted {{ type ipv4_addr; flags dynamic; }}
  chain nat_out {{ type nat hook postrouting priority srcnat; oifname \"wan\" {snat}; }}
  chain nat_in {{ type nat hook prerouting priority dstnat;
    {dnat}
  }}
  chain filter_forward {{ type filter hook forward priority filter;
    {forward}
  }}
  # Unsolicited packets for the router itself are dropped, as a router's firewall does;
  # their connection-tracking entry is then never confirmed and cannot take the port of a
  # later outgoing mapping.
  chain filter_input {{ type filter hook input priority filter;
    iifname \"wan\" ct state new drop
  }}
}}
"
        )
    }
}

/// The emulated internet: a namespace routing between sites.
pub struct Internet {
    core: Netns,
    next_site: AtomicU8,
}

/// A host on the internet, behind a NAT or not.
pub struct Site {
    /// The namespace of the host (novice, helper or server).
    pub host: Netns,
    /// The host's own address (private behind a NAT).
    pub host_addr: Ipv4Addr,
    /// The address the rest of the internet sees: the router's, or the host's own.
    pub public_addr: Ipv4Addr,
    /// The kind of NAT in front of the host.
    pub kind: NatKind,
    /// The router, kept alive as long as the site.
    _router: Option<Netns>,
    /// miniupnpd in the router, if the site has one.
    _upnp: Option<Daemon>,
}

impl Internet {
    /// Creates the core namespace.
    pub fn new() -> Result<Self, LabError> {
        let core = Netns::new("net")?;
        core.run(&["sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
        Ok(Self {
            core,
            next_site: AtomicU8::new(1),
        })
    }

    /// Adds a site of `kind`.
    pub fn site(&self, kind: NatKind) -> Result<Site, LabError> {
        let i = self.next_site.fetch_add(1, Ordering::Relaxed);
        let host = Netns::new(&format!("h{i}"))?;
        let (router, host_addr, public_addr) = self.uplink(i, kind, &host, "eth0")?;
        Ok(Site {
            host,
            host_addr,
            public_addr,
            kind,
            _router: router,
            _upnp: None,
        })
    }

    /// Adds a site behind a port-restricted NAT whose router also runs miniupnpd (UPnP-IGD,
    /// NAT-PMP and PCP on its LAN side). miniupnpd refuses the lab's public addresses
    /// (198.18.0.0/15 is reserved) unless it learns them through STUN, so it asks the STUN
    /// server at `stun` (`ext_perform_stun`); it is stopped with the site.
    pub fn upnp_site(&self, stun: SocketAddrV4) -> Result<Site, LabError> {
        let mut site = self.site(NatKind::PortRestricted)?;
        let router = site
            ._router
            .as_ref()
            .ok_or(LabError::Usage("a UPnP site needs a router"))?;
        router.nft(UPNP_TABLES)?;
        let dir = std::env::temp_dir().join(format!("{}-upnp", router.name()));
        std::fs::create_dir_all(&dir).map_err(|source| LabError::Spawn {
            program: "miniupnpd (its folder)".to_owned(),
            source,
        })?;
        let config = dir.join("miniupnpd.conf");
        std::fs::write(&config, upnp_config(stun)).map_err(|source| LabError::Spawn {
            program: "miniupnpd (its config)".to_owned(),
            source,
        })?;
        let child = router
            .command("miniupnpd")
            .arg("-d")
            .arg("-f")
            .arg(&config)
            .arg("-P")
            .arg(dir.join("miniupnpd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| LabError::Spawn {
                program: "miniupnpd".to_owned(),
                source,
            })?;
        site._upnp = Some(Daemon { child, dir });
        Ok(site)
    }

    /// Moves `site`'s host to another network, as a laptop moves from Wi-Fi to a mobile
    /// link: a new router of `kind` (not [`NatKind::Public`]) with a new public address
    /// becomes its way out, and the old one is removed. Sockets in the host keep their
    /// ports; what the rest of the internet sees changes.
    pub fn move_site(&self, site: &mut Site, kind: NatKind) -> Result<(), LabError> {
        if kind == NatKind::Public {
            return Err(LabError::Usage(
                "a site can only move behind a NAT; pick another kind",
            ));
        }
        let i = self.next_site.fetch_add(1, Ordering::Relaxed);
        let device = format!("eth{i}");
        let (router, host_addr, public_addr) = self.uplink(i, kind, &site.host, &device)?;
        site.host.run(&["ip", "route", "del", "default"])?;
        site.host.run(&[
            "ip",
            "route",
            "add",
            "default",
            "via",
            &format!("10.0.{i}.1"),
            "dev",
            &device,
        ])?;
        // Dropping the old router deletes the old link.
        site._router = router;
        site._upnp = None;
        site.host_addr = host_addr;
        site.public_addr = public_addr;
        site.kind = kind;
        Ok(())
    }

    /// Joins `host` to the internet as site number `i`: directly for a public site, else
    /// through a new router whose LAN reaches the host's `host_dev`. Returns the router
    /// and the host's private and public addresses.
    fn uplink(
        &self,
        i: u8,
        kind: NatKind,
        host: &Netns,
        host_dev: &str,
    ) -> Result<(Option<Netns>, Ipv4Addr, Ipv4Addr), LabError> {
        let public_addr = Ipv4Addr::new(198, 18, i, 2);
        let gateway = format!("198.18.{i}.1");
        // The side of the site that faces the internet: the router, or the host itself.
        let router = (kind != NatKind::Public)
            .then(|| Netns::new(&format!("r{i}")))
            .transpose()?;
        let edge = router.as_ref().unwrap_or(host);
        veth(&self.core, &format!("site{i}"), edge, "wan")?;
        self.core.run(&[
            "ip",
            "addr",
            "add",
            &format!("{gateway}/24"),
            "dev",
            &format!("site{i}"),
        ])?;
        self.core
            .run(&["ip", "link", "set", &format!("site{i}"), "up"])?;
        edge.run(&[
            "ip",
            "addr",
            "add",
            &format!("{public_addr}/24"),
            "dev",
            "wan",
        ])?;
        edge.run(&["ip", "link", "set", "wan", "up"])?;
        edge.run(&["ip", "route", "add", "default", "via", &gateway])?;
        let host_addr = match &router {
            None => public_addr,
            Some(router) => {
                let host_addr = Ipv4Addr::new(10, 0, i, 2);
                let lan_gateway = format!("10.0.{i}.1");
                veth(router, "lan", host, host_dev)?;
                router.run(&[
                    "ip",
                    "addr",
                    "add",
                    &format!("{lan_gateway}/24"),
                    "dev",
                    "lan",
                ])?;
                router.run(&["ip", "link", "set", "lan", "up"])?;
                router.run(&["sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
                host.run(&[
                    "ip",
                    "addr",
                    "add",
                    &format!("{host_addr}/24"),
                    "dev",
                    host_dev,
                ])?;
                host.run(&["ip", "link", "set", host_dev, "up"])?;
                if host_dev == "eth0" {
                    host.run(&["ip", "route", "add", "default", "via", &lan_gateway])?;
                }
                router.nft(&kind.ruleset(host_addr))?;
                host_addr
            }
        };
        Ok((router, host_addr, public_addr))
    }
}

/// The tables and chains miniupnpd's nftables backend fills (named in [`upnp_config`]).
const UPNP_TABLES: &str = "table inet lab_upnp {
  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
";

/// miniupnpd's configuration: WAN `wan`, LAN `lan`, the public address learned by STUN.
fn upnp_config(stun: SocketAddrV4) -> String {
    format!(
        "ext_ifname=wan
listening_ip=lan
http_port=0
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=yes
ext_perform_stun=yes
ext_stun_host={}
ext_stun_port={}
uuid=3f1e2d6c-6c69-6665-6c69-6e656c616231
upnp_table_name=lab_upnp
upnp_nat_table_name=lab_upnp
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 10.0.0.0/8 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
",
        stun.ip(),
        stun.port()
    )
}

/// A daemon running in a router, stopped with its site.
struct Daemon {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Site {
    /// The router in front of the host, if the site has a NAT.
    pub fn router(&self) -> Option<&Netns> {
        self._router.as_ref()
    }
}

/// A veth pair with end `a_name` in `a` and `b_name` in `b`.
fn veth(a: &Netns, a_name: &str, b: &Netns, b_name: &str) -> Result<(), LabError> {
    run(Command::new("ip").args([
        "link",
        "add",
        a_name,
        "netns",
        a.name(),
        "type",
        "veth",
        "peer",
        "name",
        b_name,
        "netns",
        b.name(),
    ]))
    .map(|_| ())
}
