//! STUN against real peers: our requests answered by coturn's `turnserver`, our answers
//! read by coturn's `turnutils_stunclient` (Debian package coturn).

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lifeline_core::net::stun::{
    StunError, StunMessage, TransactionId, authenticated_request, authenticated_success,
    binding_request, binding_success, is_authentic, is_stun, parse,
};
use proptest::prelude::*;

/// A coturn STUN server on loopback, stopped on drop.
struct Coturn {
    child: Child,
    addr: SocketAddr,
}

impl Coturn {
    fn start() -> Self {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("turnserver")
            .args(["-n", "--no-cli", "--stun-only", "--no-tls", "--no-dtls"])
            .args(["-L", "127.0.0.1", "-p", &port.to_string()])
            .args(["--log-file", "stdout", "--simple-log"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver (Debian package coturn) must be installed: scripts/setup does it");
        Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn coturn_answers_our_binding_request() {
    let server = Coturn::start();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let transaction = TransactionId::random();
    let mut buf = [0u8; 1500];
    // The server may still be starting: retransmit as a STUN client does.
    let answer = (0..25).find_map(|_| {
        socket
            .send_to(&binding_request(transaction), server.addr)
            .unwrap();
        let (n, from) = socket.recv_from(&mut buf).ok()?;
        assert_eq!(from, server.addr);
        Some(parse(&buf[..n]).unwrap())
    });
    assert_eq!(
        answer,
        Some(StunMessage::BindingSuccess {
            transaction,
            mapped: socket.local_addr().unwrap(),
        })
    );
}

#[test]
fn a_standard_client_reads_our_answer() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let (n, from) = socket.recv_from(&mut buf).unwrap();
        let StunMessage::BindingRequest { transaction } = parse(&buf[..n]).unwrap() else {
            panic!("not a binding request");
        };
        socket
            .send_to(&binding_success(transaction, from), from)
            .unwrap();
        from
    });
    let output = Command::new("turnutils_stunclient")
        .args(["-p", &port.to_string(), "127.0.0.1"])
        .output()
        .expect("turnutils_stunclient (Debian package coturn) must be installed");
    let client = server.join().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!("UDP reflexive addr: {client}")),
        "client saw: {text}"
    );
}

#[test]
fn addresses_round_trip_for_both_families() {
    for addr in ["198.51.100.7:3478", "[2001:db8::5]:61000"] {
        let addr: SocketAddr = addr.parse().unwrap();
        let transaction = TransactionId::random();
        let message = binding_success(transaction, addr);
        assert!(is_stun(&message));
        assert_eq!(
            parse(&message),
            Ok(StunMessage::BindingSuccess {
                transaction,
                mapped: addr
            })
        );
    }
}

#[test]
fn quic_packets_are_not_taken_for_stun() {
    let request = binding_request(TransactionId::random());
    assert!(is_stun(&request));
    // QUIC long and short headers set the first bit (and the fixed bit).
    for first in [0xc0u8, 0x40] {
        let mut quic = request.clone();
        quic[0] = first;
        assert!(!is_stun(&quic));
    }
    assert!(!is_stun(&request[..19]));
}

#[test]
fn a_damaged_packet_fails_its_fingerprint() {
    let mut message = binding_success(TransactionId::random(), "192.0.2.1:1".parse().unwrap());
    message[26] ^= 0x01; // inside the XOR-MAPPED-ADDRESS value
    assert_eq!(parse(&message), Err(StunError::BadFingerprint));
}

#[test]
fn connectivity_checks_are_authentic_only_under_their_key() {
    let key = [5u8; 32];
    let transaction = TransactionId::random();
    let request = authenticated_request(transaction, &key);
    assert!(is_authentic(&request, &key));
    assert!(!is_authentic(&request, &[6u8; 32]));
    assert!(!is_authentic(&binding_request(transaction), &key));
    assert_eq!(
        parse(&request),
        Ok(StunMessage::BindingRequest { transaction })
    );
    let from: SocketAddr = "198.51.100.7:4242".parse().unwrap();
    let answer = authenticated_success(transaction, from, &key);
    assert!(is_authentic(&answer, &key));
    assert_eq!(
        parse(&answer),
        Ok(StunMessage::BindingSuccess {
            transaction,
            mapped: from
        })
    );
}

#[test]
fn a_standard_server_ignores_the_integrity_attribute_and_answers() {
    // coturn, which has no credentials for it, answers our authenticated check as a
    // binding request or refuses it with an error; it never takes it for anything else.
    let coturn = Coturn::start();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let transaction = TransactionId::random();
    let request = authenticated_request(transaction, &[5u8; 32]);
    let mut buf = [0u8; 1500];
    let mut answer = None;
    for _ in 0..20 {
        client.send_to(&request, coturn.addr).unwrap();
        if let Ok((n, _)) = client.recv_from(&mut buf) {
            answer = Some(parse(&buf[..n]));
            break;
        }
    }
    match answer.expect("coturn answered") {
        Ok(StunMessage::BindingSuccess { transaction: t, .. }) => assert_eq!(t, transaction),
        Err(StunError::ErrorResponse(_)) => {}
        other => panic!("unexpected answer {other:?}"),
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse(&bytes);
        let _ = is_stun(&bytes);
        prop_assert!(!is_authentic(&bytes, &[0u8; 32]) || bytes.len() >= 56);
    }

    /// Changing any byte the HMAC covers (all but the trailing FINGERPRINT) makes a check
    /// fail authentication or parsing.
    #[test]
    fn a_tampered_check_is_refused(index in 0usize..56, flip in 1u8..=255) {
        let key = [3u8; 32];
        let mut request = authenticated_request(TransactionId([9; 12]), &key);
        prop_assert_eq!(request.len(), 64);
        request[index] ^= flip;
        prop_assert!(!(is_authentic(&request, &key) && parse(&request).is_ok()));
    }

    /// Packets with a valid header and random attributes exercise the attribute parser.
    #[test]
    fn random_attributes_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..50).prop_map(|mut b| {
            b.resize(b.len().next_multiple_of(4), 0);
            b
        }),
        kind in any::<u16>(),
    ) {
        let mut packet = binding_request(TransactionId([1; 12]))[..20].to_vec();
        packet[0..2].copy_from_slice(&kind.to_be_bytes());
        packet[0] &= 0x3f;
        packet[2..4].copy_from_slice(&(body.len() as u16).to_be_bytes());
        packet.extend_from_slice(&body);
        let _ = parse(&packet);
    }
}
