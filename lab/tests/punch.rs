//! Hole punching across every NAT type, the relay fallback, the move from relay to a
//! direct path in a live connection, and a novice that changes network mid-session.
//!
//! Real parts: network namespaces with nftables NAT (lifeline-lab), lifeline-server's STUN
//! responder on a public lab address, quinn over our [`PathSocket`]s. The helper's
//! candidates reach the novice out of band, standing in for the rendezvous; the relay is
//! an in-process channel pair until the relay client is plugged in.

mod common;

use std::time::{Duration, Instant};

use common::{Pair, StunServer, echo};
use lifeline_core::net::{PathKind, Route};
use lifeline_lab::{Internet, NatKind, Site};

/// Whether two NATs let a direct path through with simultaneous punching alone.
fn direct_possible(novice: NatKind, helper: NatKind) -> bool {
    use NatKind::*;
    !matches!(
        (novice, helper),
        (UdpBlocked, _)
            | (_, UdpBlocked)
            | (Symmetric, Symmetric)
            | (Symmetric, PortRestricted)
            | (PortRestricted, Symmetric)
    )
}

#[derive(Debug)]
struct Cell {
    novice: NatKind,
    helper: NatKind,
    /// Without a relay: connected, and the path's kind.
    direct: Option<PathKind>,
    direct_error: Option<String>,
    /// With the relay plugged in from the start: time to the first echo, the final kind,
    /// and when the path became direct.
    relayed: Result<(Duration, PathKind, Option<Duration>), String>,
}

async fn without_relay(
    stun: &StunServer,
    novice: &Site,
    helper: &Site,
) -> (Option<PathKind>, Option<String>) {
    let mut pair = Pair::build(novice, helper, stun.addr, true).await;
    match pair.connect().await {
        Ok(_connections) => {
            let event = pair.wait_path(Duration::from_secs(3), |_| true).await;
            (Some(event.map_or(PathKind::Direct, |e| e.kind)), None)
        }
        Err(error) => (None, Some(error)),
    }
}

async fn with_relay(
    stun: &StunServer,
    novice: &Site,
    helper: &Site,
) -> Result<(Duration, PathKind, Option<Duration>), String> {
    let mut pair = Pair::build(novice, helper, stun.addr, true).await;
    let _relay = pair.plug_relay();
    let started = Instant::now();
    let (connection, _novice_side) = pair.connect().await?;
    let first = started.elapsed();
    let event = pair
        .wait_path(Duration::from_secs(8), |kind| kind != PathKind::Relay)
        .await;
    let direct_at = event
        .filter(|e| e.kind != PathKind::Relay)
        .map(|_| started.elapsed());
    // Still carries data on whatever path it ended on.
    echo(&connection, &vec![7u8; 100_000]).await?;
    let kind = match pair.route() {
        Some(Route::Relay) => PathKind::Relay,
        _ => event.map_or(PathKind::Direct, |e| e.kind),
    };
    Ok((first, kind, direct_at))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_nat_pair_connects_directly_where_possible_and_over_the_relay_otherwise() {
    let internet = Internet::new().unwrap();
    let stun = StunServer::start(&internet);
    // All sites first: building them blocks, and would stall the connections.
    let mut sites = Vec::new();
    for n in NatKind::ALL {
        for h in NatKind::ALL {
            let mut four = (0..4).map(|i| internet.site(if i % 2 == 0 { n } else { h }).unwrap());
            let four: [Site; 4] = std::array::from_fn(|_| four.next().unwrap());
            sites.push((n, h, four));
        }
    }
    let mut tasks = Vec::new();
    for (n, h, [n1, h1, n2, h2]) in &sites {
        let (n, h, stun) = (*n, *h, &stun);
        {
            tasks.push(async move {
                let ((direct, direct_error), relayed) =
                    tokio::join!(without_relay(stun, n1, h1), with_relay(stun, n2, h2));
                Cell {
                    novice: n,
                    helper: h,
                    direct,
                    direct_error,
                    relayed,
                }
            });
        }
    }
    let cells = futures::future::join_all(tasks).await;
    println!("novice \\ helper | without relay | with relay: first echo, final path, direct after");
    for cell in &cells {
        println!(
            "{:>18} x {:<18} | {:<8} | {}",
            cell.novice.as_str(),
            cell.helper.as_str(),
            cell.direct.map_or("-", PathKind::as_str),
            match &cell.relayed {
                Ok((first, kind, direct_at)) => format!(
                    "{} ms, {}, {}",
                    first.as_millis(),
                    kind,
                    direct_at.map_or("-".to_owned(), |d| format!("{} ms", d.as_millis()))
                ),
                Err(e) => format!("FAILED: {e}"),
            }
        );
    }
    for cell in &cells {
        let possible = direct_possible(cell.novice, cell.helper);
        let name = format!("{} x {}", cell.novice.as_str(), cell.helper.as_str());
        assert_eq!(
            cell.direct.is_some(),
            possible,
            "{name}: direct connection {} ({:?})",
            if possible {
                "failed"
            } else {
                "succeeded where it cannot"
            },
            cell.direct_error
        );
        let (_, kind, _) = cell
            .relayed
            .as_ref()
            .unwrap_or_else(|e| panic!("{name}: no connection even with the relay: {e}"));
        assert_eq!(
            *kind == PathKind::Relay,
            !possible,
            "{name}: with the relay the final path is {kind}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_connection_moves_to_a_direct_path_without_noticing() {
    let internet = Internet::new().unwrap();
    let stun = StunServer::start(&internet);
    let novice = internet.site(NatKind::PortRestricted).unwrap();
    let helper = internet.site(NatKind::AddressRestricted).unwrap();
    // The helper starts without the novice's candidates: only the relay works.
    let mut pair = Pair::build(&novice, &helper, stun.addr, false).await;
    let relay = pair.plug_relay();
    let (connection, novice_side) = pair.connect().await.unwrap();
    assert_eq!(pair.route(), Some(Route::Relay));
    echo(&connection, b"over the relay").await.unwrap();
    // The novice's candidates arrive late (say, the invitation's were stale): punching
    // starts, and the path moves while the connection carries on.
    pair.helper_socket
        .add_candidates(pair.novice_peer, &pair.novice_candidates);
    let event = pair
        .wait_path(Duration::from_secs(5), |kind| kind == PathKind::Direct)
        .await
        .expect("a path event");
    assert_eq!(
        event.kind,
        PathKind::Direct,
        "no direct path after punching"
    );
    assert_eq!(
        event.remote,
        std::net::SocketAddr::from((novice.public_addr, event.remote.port()))
    );
    // Cut the relay: the connection lives on the direct path alone.
    relay.abort();
    echo(&connection, &vec![1u8; 200_000]).await.unwrap();
    assert_eq!(connection.close_reason(), None);
    assert_eq!(novice_side.close_reason(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_survives_the_novice_moving_to_another_network() {
    let internet = Internet::new().unwrap();
    let stun = StunServer::start(&internet);
    let mut novice = internet.site(NatKind::PortRestricted).unwrap();
    let helper = internet.site(NatKind::FullCone).unwrap();
    let mut pair = Pair::build(&novice, &helper, stun.addr, true).await;
    let (connection, novice_side) = pair.connect().await.unwrap();
    let before = pair
        .wait_path(Duration::from_secs(3), |kind| kind == PathKind::Direct)
        .await
        .expect("a direct path");
    assert_eq!(before.remote.ip(), novice.public_addr);
    internet
        .move_site(&mut novice, NatKind::AddressRestricted)
        .unwrap();
    let moved = Instant::now();
    let after = pair
        .wait_path(Duration::from_secs(25), |_| true)
        .await
        .expect("the helper's path follows the novice");
    assert_eq!(after.remote.ip(), novice.public_addr, "{after:?}");
    let rtt = echo(&connection, &vec![2u8; 100_000]).await.unwrap();
    println!(
        "novice moved: new path {} after {} ms, echo {} ms",
        after.remote,
        moved.elapsed().as_millis(),
        rtt.as_millis()
    );
    assert_eq!(connection.close_reason(), None);
    assert_eq!(novice_side.close_reason(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_of_five_seconds_moves_the_session_to_the_relay_and_back() {
    let internet = Internet::new().unwrap();
    let stun = StunServer::start(&internet);
    let novice = internet.site(NatKind::PortRestricted).unwrap();
    let helper = internet.site(NatKind::FullCone).unwrap();
    let mut pair = Pair::build(&novice, &helper, stun.addr, true).await;
    let _relay = pair.plug_relay();
    let (connection, novice_side) = pair.connect().await.unwrap();
    pair.wait_path(Duration::from_secs(3), |kind| kind == PathKind::Direct)
        .await
        .expect("a direct path");
    // The helper's router drops all UDP for five seconds; the relay (TCP in real life) is
    // not affected.
    let router = helper.router().unwrap();
    router
        .nft(
            "table ip outage {
  chain forward {
    type filter hook forward priority -50;
    meta l4proto udp drop
  }
}
",
        )
        .unwrap();
    let outage = Instant::now();
    // The session carries on during the outage: QUIC keeps sending, the socket sees the
    // peer silent, checks the direct path, finds it lost and moves to the relay.
    let during_echo = {
        let connection = connection.clone();
        tokio::spawn(async move { echo(&connection, b"during the outage").await })
    };
    // The outage lasts at least five seconds, longer if the machine is slow to notice.
    let during = pair
        .wait_path(Duration::from_secs(10), |kind| kind == PathKind::Relay)
        .await;
    let relayed_after = outage.elapsed();
    during_echo.await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(outage.elapsed())).await;
    router
        .run(&["nft", "delete", "table", "ip", "outage"])
        .unwrap();
    let back = pair
        .wait_path(Duration::from_secs(15), |kind| kind == PathKind::Direct)
        .await
        .expect("a path event after the outage");
    println!(
        "outage: {:?} after {} ms, direct again {} ms after the outage began",
        during.map(|e| e.kind),
        relayed_after.as_millis(),
        outage.elapsed().as_millis()
    );
    assert_eq!(during.map(|e| e.kind), Some(PathKind::Relay));
    assert_eq!(back.kind, PathKind::Direct);
    echo(&connection, &vec![3u8; 100_000]).await.unwrap();
    assert_eq!(connection.close_reason(), None);
    assert_eq!(novice_side.close_reason(), None);
}
