//! lifeline-server answers STUN: read by coturn's standard client and by our own.

use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

mod common;

use common::Server;
use lifeline_core::net::stun::{StunMessage, TransactionId, binding_request, parse};

#[test]
fn a_standard_stun_client_learns_its_address() {
    let server = Server::start("");
    let stun: SocketAddr = server.stun.parse().unwrap();
    let output = Command::new("turnutils_stunclient")
        .args(["-p", &stun.port().to_string(), "127.0.0.1"])
        .output()
        .expect("turnutils_stunclient (Debian package coturn) must be installed");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("UDP reflexive addr: 127.0.0.1:"), "{text}");
}

#[test]
fn our_client_learns_its_address_and_garbage_is_ignored() {
    let server = Server::start("");
    let stun: SocketAddr = server.stun.parse().unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket.send_to(b"not stun at all", stun).unwrap();
    let transaction = TransactionId::random();
    socket.send_to(&binding_request(transaction), stun).unwrap();
    let mut buf = [0u8; 1500];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    assert_eq!(
        parse(&buf[..n]),
        Ok(StunMessage::BindingSuccess {
            transaction,
            mapped: socket.local_addr().unwrap()
        })
    );
}

#[test]
fn a_port_in_use_is_a_one_line_error() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lifeline-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--stun-listen",
            &taken.local_addr().unwrap().to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: cannot listen on UDP"));
}
