//! Rendezvous: candidates pass between the helper and the novice through the real server,
//! whichever side connects first; bad requests and garbage close only that connection.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::Server;
use lifeline_core::Role;
use lifeline_core::net::relay::RelayError;
use lifeline_core::net::rendezvous::Rendezvous;
use lifeline_core::ticket::{Candidate, CandidateKind, InvitationId};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

fn candidates(port: u16) -> Vec<Candidate> {
    vec![
        Candidate {
            kind: CandidateKind::Host,
            addr: SocketAddr::from(([192, 168, 1, 7], port)),
        },
        Candidate {
            kind: CandidateKind::Reflexive,
            addr: "[2001:db8::7]:4000".parse().unwrap(),
        },
    ]
}

#[tokio::test]
async fn a_waiting_novice_gets_the_helpers_candidates_and_answers() {
    let server = Server::start("");
    let url = server.server_url();
    let id = InvitationId::random();
    let mut novice = Rendezvous::open(&url, id, Role::Novice, None)
        .await
        .unwrap();
    let mut helper = Rendezvous::open(&url, id, Role::Helper, None)
        .await
        .unwrap();
    helper.send(&candidates(5000)).await.unwrap();
    assert_eq!(
        timeout(WAIT, novice.recv()).await.unwrap().unwrap(),
        candidates(5000)
    );
    novice.send(&candidates(6000)).await.unwrap();
    assert_eq!(
        timeout(WAIT, helper.recv()).await.unwrap().unwrap(),
        candidates(6000)
    );
}

#[tokio::test]
async fn candidates_wait_in_the_mailbox_for_a_side_not_yet_connected() {
    let server = Server::start("");
    let url = server.server_url();
    let id = InvitationId::random();
    let mut helper = Rendezvous::open(&url, id, Role::Helper, None)
        .await
        .unwrap();
    helper.send(&candidates(5001)).await.unwrap();
    // Another invitation's novice gets nothing of it.
    let mut other = Rendezvous::open(&url, InvitationId::random(), Role::Novice, None)
        .await
        .unwrap();
    let mut novice = Rendezvous::open(&url, id, Role::Novice, None)
        .await
        .unwrap();
    assert_eq!(
        timeout(WAIT, novice.recv()).await.unwrap().unwrap(),
        candidates(5001)
    );
    assert!(
        timeout(Duration::from_millis(300), other.recv())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_rate_limit_closes_a_flooding_client_with_a_clear_reason() {
    let server = Server::start("[limits]\nrequests_per_second = 1.0\nrequest_burst = 3.0\n");
    let url = server.server_url();
    let id = InvitationId::random();
    let mut helper = Rendezvous::open(&url, id, Role::Helper, None)
        .await
        .unwrap();
    // Opening took one request of the burst of 3; the third message is one too many.
    for _ in 0..3 {
        helper.send(&candidates(1)).await.unwrap();
    }
    let error = timeout(WAIT, helper.recv()).await.unwrap().unwrap_err();
    assert!(error.to_string().contains("too many requests"), "{error}");
}

#[tokio::test]
async fn bad_paths_and_garbage_are_refused_and_the_server_carries_on() {
    use futures_util::{SinkExt, StreamExt};
    use lifeline_core::net::relay::connect_server;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::Message;

    let server = Server::start("");
    let url = server.server_url();
    // Garbage instead of a TLS handshake: the server closes that connection.
    let addr = server.url.trim_start_matches("https://");
    let addr = &addr[..addr.find('/').unwrap()];
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"\x00\x01garbage\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    timeout(WAIT, tcp.read_to_end(&mut buf)).await.unwrap().ok();
    // Unknown paths and malformed ids are refused with an HTTP status.
    for (path, status) in [
        ("/", "404"),
        ("/v1/rendezvous/nothex?role=novice", "400"),
        ("/v1/relay/00?role=helper", "400"),
        (
            "/v1/rendezvous/00000000000000000000000000000000?role=boss",
            "400",
        ),
    ] {
        let error = connect_server(&url, path, None).await.err().unwrap();
        assert!(
            matches!(&error, RelayError::Refused(text) if text.contains(status)),
            "{path}: {error}"
        );
    }
    // A binary frame on a rendezvous connection closes that connection only.
    let id = InvitationId::random();
    let mut novice = Rendezvous::open(&url, id, Role::Novice, None)
        .await
        .unwrap();
    let path = format!("/v1/rendezvous/{id}?role=helper");
    let mut raw = connect_server(&url, &path, None).await.unwrap();
    raw.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    let reason = loop {
        match timeout(WAIT, raw.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(frame)))) => break frame.reason.to_string(),
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert!(reason.contains("text"), "{reason}");
    let mut helper = Rendezvous::open(&url, id, Role::Helper, None)
        .await
        .unwrap();
    helper.send(&candidates(7)).await.unwrap();
    assert_eq!(
        timeout(WAIT, novice.recv()).await.unwrap().unwrap(),
        candidates(7)
    );
}

#[tokio::test]
async fn connections_per_address_are_bounded() {
    let server = Server::start("[limits]\nmax_connections_per_ip = 2\n");
    let url = server.server_url();
    let first = Rendezvous::open(&url, InvitationId::random(), Role::Novice, None)
        .await
        .unwrap();
    let _second = Rendezvous::open(&url, InvitationId::random(), Role::Novice, None)
        .await
        .unwrap();
    let refused = Rendezvous::open(&url, InvitationId::random(), Role::Novice, None).await;
    assert!(
        refused.is_err(),
        "a third connection from one address is closed"
    );
    drop(first);
    // The server notices the closed connection and admits a new one.
    let mut admitted = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if Rendezvous::open(&url, InvitationId::random(), Role::Novice, None)
            .await
            .is_ok()
        {
            admitted = true;
            break;
        }
    }
    assert!(admitted);
}
