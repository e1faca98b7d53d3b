//! Gathering candidates through the session's own socket: server-reflexive addresses from
//! lifeline-server's STUN responder and from coturn, and port mappings from a real router
//! (miniupnpd, by PCP and by UPnP-IGD) that let a helper in, released when the session
//! ends or the mapping is dropped.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{StunServer, socket_in, stun_only};
use lifeline_core::connect::{add_novice, connect_peer};
use lifeline_core::identity::Identity;
use lifeline_core::net::{GatherConfig, MapProtocol, PathKind, PortMapping, gather};
use lifeline_core::ticket::{Candidate, CandidateKind, Invitation};
use lifeline_lab::{Internet, NatKind, Site};

/// coturn as a plain STUN server on a public site; stopped when dropped.
struct Coturn {
    child: Child,
    addr: SocketAddr,
    _site: Site,
}

impl Coturn {
    fn start(internet: &Internet) -> Self {
        let site = internet.site(NatKind::Public).unwrap();
        let addr = SocketAddr::from((site.host_addr, 3478));
        let child = site
            .host
            .command("turnserver")
            .args([
                "-n",
                "--stun-only",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--listening-port=3478",
                &format!("--listening-ip={}", site.host_addr),
                "--log-file=stdout",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("coturn (turnserver) is installed");
        Self {
            child,
            addr,
            _site: site,
        }
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn of_kind(candidates: &[Candidate], kind: CandidateKind) -> Vec<SocketAddr> {
    candidates
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| c.addr)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflexive_candidates_come_from_lifeline_server_and_from_coturn() {
    let internet = Internet::new().unwrap();
    let stun = StunServer::start(&internet);
    let coturn = Coturn::start(&internet);
    let site = internet.site(NatKind::PortRestricted).unwrap();
    let socket = socket_in(&site);
    let _endpoint = socket.endpoint(None).unwrap();
    let port = socket.local_addr().port();

    let ours = gather(&socket, &stun_only(stun.addr)).await;
    assert_eq!(
        of_kind(&ours.candidates, CandidateKind::Reflexive),
        // masquerade keeps the port when it is free.
        vec![SocketAddr::from((site.public_addr, port))]
    );

    // coturn needs a moment to listen: gathering retries within its timeout.
    let config = GatherConfig {
        stun: vec![coturn.addr],
        portmap: false,
        timeout: Duration::from_secs(5),
    };
    let theirs = gather(&socket, &config).await;
    assert_eq!(
        of_kind(&theirs.candidates, CandidateKind::Reflexive),
        of_kind(&ours.candidates, CandidateKind::Reflexive),
        "coturn and lifeline-server disagree"
    );

    // Without a UPnP router there is no mapping, and gathering still ends in time.
    let started = std::time::Instant::now();
    let config = GatherConfig {
        portmap: true,
        ..stun_only(stun.addr)
    };
    let none = gather(&socket, &config).await;
    assert!(none.mapping.is_none());
    assert!(of_kind(&none.candidates, CandidateKind::Mapped).is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// Whether miniupnpd's rules in `site`'s router mention `port`.
fn router_forwards(site: &Site, port: u16) -> bool {
    let rules = site
        .router()
        .unwrap()
        .run(&[
            "nft",
            "list",
            "chain",
            "inet",
            "lab_upnp",
            "prerouting_miniupnpd",
        ])
        .unwrap();
    rules.contains(&format!("dport {port} "))
}

/// What the novice's side (in its own namespace) tells the test.
#[derive(Debug)]
enum NoviceNews {
    Mapped(Vec<Candidate>, SocketAddr, Box<Invitation>),
    Released(u16),
    MappedAgain(u16),
    Dropped,
}

/// The novice's side, run on a thread inside its namespace: UPnP discovery (SSDP) and
/// control (HTTP) open their own sockets, which must be in the novice's network.
fn novice_side(
    news: std::sync::mpsc::Sender<NoviceNews>,
    checked: tokio::sync::oneshot::Receiver<()>,
) {
    let identity = Identity::generate().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let novice = lifeline_core::connect::NoviceEndpoint::bind(
            &identity,
            SocketAddr::from(([0, 0, 0, 0], 0)),
        )
        .unwrap();
        let config = GatherConfig {
            stun: Vec::new(),
            portmap: true,
            timeout: Duration::from_secs(3),
        };
        let gathered = gather(novice.socket(), &config).await;
        let mapping = gathered.mapping.expect("miniupnpd mapped a port");
        assert_eq!(mapping.protocol(), MapProtocol::Pcp);
        // Only the mapped candidate, and the novice does not punch (it does not know the
        // helper): its router's port-restricted NAT would drop the helper without it.
        let invitation = common::invitation(
            &identity,
            vec![Candidate {
                kind: CandidateKind::Mapped,
                addr: mapping.external(),
            }],
        );
        novice.answer_checks(&invitation);
        news.send(NoviceNews::Mapped(
            gathered.candidates,
            mapping.external(),
            Box::new(invitation),
        ))
        .unwrap();
        // One helper comes in through the mapping; the session ends when it leaves.
        let connection = novice.endpoint().accept().await.unwrap().await.unwrap();
        connection.closed().await;
        let port = mapping.external().port();
        mapping.release().await.unwrap();
        news.send(NoviceNews::Released(port)).unwrap();
        // A mapping dropped without release goes too, in the background.
        // This time by UPnP-IGD (the first went by NAT-PMP, which miniupnpd speaks too).
        let local_port = novice.local_addr().unwrap().port();
        let again = PortMapping::map_with(&[MapProtocol::Upnp], local_port, config.timeout)
            .await
            .expect("mapped again by UPnP");
        let port = again.external().port();
        news.send(NoviceNews::MappedAgain(port)).unwrap();
        let _ = checked.await;
        drop(again);
        tokio::time::sleep(Duration::from_secs(2)).await;
        news.send(NoviceNews::Dropped).unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_upnp_router_maps_a_port_that_lets_the_helper_in_until_the_session_ends() {
    let internet = Internet::new().unwrap();
    let stun = StunServer::start(&internet);
    let novice_site = internet.upnp_site(stun.addr).unwrap();
    let helper_site = internet.site(NatKind::Public).unwrap();
    // miniupnpd learns its public address by STUN first.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (news_tx, news) = std::sync::mpsc::channel();
    let (checked, checked_rx) = tokio::sync::oneshot::channel();
    let novice = novice_site
        .host
        .thread(move || novice_side(news_tx, checked_rx));
    let next = || news.recv_timeout(Duration::from_secs(15)).unwrap();
    let NoviceNews::Mapped(candidates, external, invitation) = next() else {
        panic!("no mapping")
    };
    assert_eq!(of_kind(&candidates, CandidateKind::Mapped), vec![external]);
    assert_eq!(external.ip(), novice_site.public_addr);
    assert!(router_forwards(&novice_site, external.port()));

    let helper_socket = socket_in(&helper_site);
    let helper = helper_socket.endpoint(None).unwrap();
    let mut events = helper_socket.path_events();
    let peer = add_novice(&helper_socket, &invitation, &[]);
    let connection = connect_peer(&helper_socket, &helper, peer, invitation.body().fingerprint)
        .await
        .expect("the helper connects through the port mapping");
    let event = tokio::time::timeout(Duration::from_secs(3), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((event.kind, event.remote), (PathKind::Mapped, external));
    connection.close(0u32.into(), b"done");

    // The session ends: the mapping goes.
    let NoviceNews::Released(port) = next() else {
        panic!("not released")
    };
    assert!(!router_forwards(&novice_site, port));
    let NoviceNews::MappedAgain(port) = next() else {
        panic!("not mapped again")
    };
    assert!(router_forwards(&novice_site, port));
    checked.send(()).unwrap();
    let NoviceNews::Dropped = next() else {
        panic!("not dropped")
    };
    assert!(
        !router_forwards(&novice_site, port),
        "the dropped mapping is still on the router"
    );
    novice.join().unwrap().unwrap();
}
