//! The socket QUIC and STUN share, on loopback: a connection over it carries bulk data
//! (GSO/GRO batches included) on the path the checks confirmed, and garbage, forged
//! checks and stray STUN sent to either side are dropped without disturbing it.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use lifeline_core::connect::{NoviceEndpoint, connect_candidates};
use lifeline_core::identity::Identity;
use lifeline_core::net::stun::{self, TransactionId};
use lifeline_core::net::{CheckKey, PathKind, PathSocket, Route};
use lifeline_core::ticket::{Candidate, CandidateKind, Invitation, InvitationBody};
use time::OffsetDateTime;

fn invitation(identity: &Identity, addr: SocketAddr) -> Invitation {
    let body = InvitationBody::new(
        "Rose".into(),
        vec![Candidate {
            kind: CandidateKind::Host,
            addr,
        }],
        None,
        identity.fingerprint(),
        OffsetDateTime::now_utc(),
        time::Duration::hours(1),
    )
    .unwrap();
    Invitation::sign(body, identity.signing_key()).unwrap()
}

/// Sends `size` bytes on a new stream and reads them back from the echoing peer.
async fn echo(connection: &quinn::Connection, size: usize) {
    let (mut send, mut recv) = connection.open_bi().await.unwrap();
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let writer = async {
        send.write_all(&data).await.unwrap();
        send.finish().unwrap();
    };
    let (_, back) = tokio::join!(writer, recv.read_to_end(size + 1));
    assert_eq!(back.unwrap(), data);
}

fn garbage(to: SocketAddr) {
    let key = CheckKey([9; 32]);
    let stray = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut packets: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![0, 1, 0, 0],
        vec![0x40; 1200],
        vec![0xff; 3],
        stun::binding_request(TransactionId::random()),
        stun::authenticated_request(TransactionId::random(), &key.0),
        stun::binding_success(TransactionId::random(), to),
    ];
    // A binding request whose length lies, and one cut short.
    let mut lying = stun::binding_request(TransactionId::random());
    lying[3] = 200;
    packets.push(lying);
    let cut = stun::authenticated_request(TransactionId::random(), &key.0);
    packets.push(cut[..40].to_vec());
    for packet in packets {
        let _ = stray.send_to(&packet, to);
    }
}

#[tokio::test]
async fn a_connection_over_the_shared_socket_carries_bulk_data_and_ignores_garbage() {
    let identity = Identity::generate().unwrap();
    let novice = NoviceEndpoint::bind(&identity, "127.0.0.1:0".parse().unwrap()).unwrap();
    let novice_addr = novice.local_addr().unwrap();
    let invitation = invitation(&identity, novice_addr);
    novice.answer_checks(&invitation);
    let endpoint = novice.endpoint().clone();
    let accept = tokio::spawn(async move {
        let connection = endpoint.accept().await.unwrap().await.unwrap();
        while let Ok((mut send, mut recv)) = connection.accept_bi().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(Some(n)) = recv.read(&mut buf).await {
                    send.write_all(&buf[..n]).await.unwrap();
                }
                let _ = send.finish();
            });
        }
    });
    let (helper, connection) = connect_candidates(&invitation).await.unwrap();
    echo(&connection, 1000).await;
    garbage(novice_addr);
    garbage(helper.local_addr().unwrap());
    echo(&connection, 4 << 20).await;
    assert_eq!(connection.close_reason(), None);
    connection.close(0u32.into(), b"done");
    accept.abort();
}

#[tokio::test]
async fn checks_confirm_the_path_and_report_it() {
    let identity = Identity::generate().unwrap();
    let novice = NoviceEndpoint::bind(&identity, "127.0.0.1:0".parse().unwrap()).unwrap();
    let invitation = invitation(&identity, novice.local_addr().unwrap());
    novice.answer_checks(&invitation);
    let helper = PathSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let _endpoint = helper.endpoint(None).unwrap();
    let mut events = helper.path_events();
    let peer = lifeline_core::connect::add_novice(&helper, &invitation, &[]);
    let event = tokio::time::timeout(Duration::from_secs(3), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.kind, PathKind::Direct);
    assert_eq!(event.remote, novice.local_addr().unwrap());
    assert_eq!(event.local, helper.local_addr());
    assert_eq!(helper.route(peer), Some(Route::Direct(event.remote)));
}
