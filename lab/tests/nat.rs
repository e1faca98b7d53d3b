//! Each emulated NAT behaves as its kind says, checked with STUN from two server
//! addresses (RFC 4787 / RFC 5780 style), before any result over it is trusted.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use lifeline_core::net::stun::{
    StunMessage, TransactionId, binding_request, binding_success, parse,
};
use lifeline_lab::{Internet, NatKind, Site};

/// Two STUN servers on two public addresses, each listening on two ports.
struct Servers {
    /// (server, port 3478 socket, port 3479 socket)
    sockets: Vec<(Site, UdpSocket, UdpSocket)>,
}

impl Servers {
    fn start(internet: &Internet) -> Self {
        let sockets = (0..2)
            .map(|_| {
                let site = internet.site(NatKind::Public).unwrap();
                let bind = |port| {
                    let socket = site
                        .host
                        .udp_socket(SocketAddr::from((site.host_addr, port)))
                        .unwrap();
                    socket
                        .set_read_timeout(Some(Duration::from_millis(300)))
                        .unwrap();
                    socket
                };
                let (a, b) = (bind(3478), bind(3479));
                (site, a, b)
            })
            .collect();
        Self { sockets }
    }

    fn addr(&self, server: usize, port: u16) -> SocketAddr {
        SocketAddr::from((self.sockets[server].0.host_addr, port))
    }

    /// Asks `server` which address `client` has; `None` if nothing gets through.
    fn mapped(&self, client: &UdpSocket, server: usize) -> Option<SocketAddr> {
        let socket = &self.sockets[server].1;
        let transaction = TransactionId::random();
        for _ in 0..3 {
            client
                .send_to(&binding_request(transaction), self.addr(server, 3478))
                .ok()?;
            let mut buf = [0u8; 1500];
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            socket
                .send_to(&binding_success(transaction, from), from)
                .ok()?;
            let Ok((n2, _)) = client.recv_from(&mut buf) else {
                continue;
            };
            let _ = n;
            if let Ok(StunMessage::BindingSuccess { mapped, .. }) = parse(&buf[..n2]) {
                return Some(mapped);
            }
        }
        None
    }

    /// Whether a datagram from `server`'s `port` to `target` reaches `client`.
    fn reaches(&self, server: usize, port: u16, target: SocketAddr, client: &UdpSocket) -> bool {
        let (_, a, b) = &self.sockets[server];
        let socket = if port == 3478 { a } else { b };
        socket.send_to(b"unsolicited", target).unwrap();
        let mut buf = [0u8; 64];
        matches!(client.recv_from(&mut buf), Ok((11, _)))
    }
}

/// What the probes found.
#[derive(Debug, PartialEq, Eq)]
struct Behaviour {
    udp: bool,
    mapping_independent: bool,
    /// A new port of the same server reaches the mapping.
    same_address_other_port: bool,
    /// Another server's address reaches the mapping.
    other_address: bool,
    mapped_is_host: bool,
}

fn probe(site: &Site, servers: &Servers) -> Behaviour {
    let client = site
        .host
        .udp_socket(SocketAddr::from((site.host_addr, 0)))
        .unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let Some(first) = servers.mapped(&client, 0) else {
        return Behaviour {
            udp: false,
            mapping_independent: false,
            same_address_other_port: false,
            other_address: false,
            mapped_is_host: false,
        };
    };
    // Filtering, tested before the client has sent anything to server 1.
    let same_address_other_port = servers.reaches(0, 3479, first, &client);
    let other_address = servers.reaches(1, 3478, first, &client);
    let second = servers.mapped(&client, 1);
    Behaviour {
        udp: true,
        mapping_independent: second == Some(first),
        same_address_other_port,
        other_address,
        mapped_is_host: first == client.local_addr().unwrap(),
    }
}

#[test]
fn every_nat_behaves_as_its_kind_says() {
    let internet = Internet::new().unwrap();
    let servers = Servers::start(&internet);
    for kind in NatKind::ALL {
        let site = internet.site(kind).unwrap();
        let found = probe(&site, &servers);
        let expected = match kind {
            NatKind::Public => (true, true, true, true, true),
            NatKind::FullCone => (true, true, true, true, false),
            NatKind::AddressRestricted => (true, true, true, false, false),
            NatKind::PortRestricted => (true, true, false, false, false),
            NatKind::Symmetric => (true, false, false, false, false),
            NatKind::UdpBlocked => (false, false, false, false, false),
        };
        let (udp, mapping_independent, same_address_other_port, other_address, mapped_is_host) =
            expected;
        assert_eq!(
            found,
            Behaviour {
                udp,
                mapping_independent,
                same_address_other_port,
                other_address,
                mapped_is_host,
            },
            "{} behaves wrongly",
            kind.as_str()
        );
    }
}
