//! lifeline-server answers STUN: read by coturn's standard client and by our own.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lifeline_core::net::stun::{StunMessage, TransactionId, binding_request, parse};

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeline-server"))
            .args(["--stun-listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().strip_prefix("stun=").unwrap().parse().unwrap();
        Self { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_standard_stun_client_learns_its_address() {
    let server = Server::start();
    let output = Command::new("turnutils_stunclient")
        .args(["-p", &server.addr.port().to_string(), "127.0.0.1"])
        .output()
        .expect("turnutils_stunclient (Debian package coturn) must be installed");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("UDP reflexive addr: 127.0.0.1:"), "{text}");
}

#[test]
fn our_client_learns_its_address_and_garbage_is_ignored() {
    let server = Server::start();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket.send_to(b"not stun at all", server.addr).unwrap();
    let transaction = TransactionId::random();
    socket
        .send_to(&binding_request(transaction), server.addr)
        .unwrap();
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
        .args(["--stun-listen", &taken.local_addr().unwrap().to_string()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: cannot listen on UDP"));
}
