//! The relay: two real clients (core::net::relay) pass datagrams both ways through the real
//! server on loopback, directly and through a real HTTP CONNECT proxy (tinyproxy); a wrong
//! pin and a full relay are refused with clear errors.

mod common;

use std::process::{Child, Command};
use std::time::Duration;

use common::Server;
use lifeline_core::Role;
use lifeline_core::net::relay::{Proxy, Relay, RelayError, RelayToken};
use lifeline_core::ticket::{InvitationId, ServerUrl};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

async fn pair(url: &ServerUrl, proxy: Option<&Proxy>) -> (Relay, Relay) {
    let token = RelayToken::for_invitation(InvitationId::random());
    let mut novice = Relay::connect(url, token, Role::Novice, proxy)
        .await
        .unwrap();
    let mut helper = Relay::connect(url, token, Role::Helper, proxy)
        .await
        .unwrap();
    timeout(WAIT, novice.paired()).await.unwrap().unwrap();
    timeout(WAIT, helper.paired()).await.unwrap().unwrap();
    (novice, helper)
}

async fn exchange(novice: &mut Relay, helper: &mut Relay) {
    for i in 0..100u32 {
        let datagram = [i.to_be_bytes().as_slice(), &[0xab; 1196]].concat();
        novice.send(&datagram).await.unwrap();
        assert_eq!(
            timeout(WAIT, helper.recv()).await.unwrap().unwrap(),
            datagram
        );
        let answer = [b"re:".as_slice(), &datagram].concat();
        helper.send(&answer).await.unwrap();
        assert_eq!(timeout(WAIT, novice.recv()).await.unwrap().unwrap(), answer);
    }
}

#[tokio::test]
async fn two_peers_relay_datagrams_both_ways() {
    let server = Server::start("");
    assert!(server.url.contains("#pin=sha256:"), "{}", server.url);
    let (mut novice, mut helper) = pair(&server.server_url(), None).await;
    exchange(&mut novice, &mut helper).await;
    // When one peer leaves, the other is told.
    drop(helper);
    let error = timeout(WAIT, novice.recv()).await.unwrap().unwrap_err();
    assert!(matches!(error, RelayError::Closed(_)), "{error}");
}

#[tokio::test]
async fn a_wrong_pin_is_refused() {
    let server = Server::start("");
    let (base, _) = server.url.split_once('#').unwrap();
    let wrong: ServerUrl = format!("{base}#pin=sha256:{}", "0".repeat(64))
        .parse()
        .unwrap();
    let token = RelayToken::for_invitation(InvitationId::random());
    let error = Relay::connect(&wrong, token, Role::Helper, None)
        .await
        .err()
        .unwrap();
    assert!(matches!(error, RelayError::WrongPin), "{error}");
    assert!(error.to_string().contains("does not match the pin"));
}

#[tokio::test]
async fn a_full_relay_refuses_more_sessions() {
    let server = Server::start("[limits]\nmax_relay_sessions = 1\n");
    let url = server.server_url();
    let (_novice, _helper) = pair(&url, None).await;
    let token = RelayToken::for_invitation(InvitationId::random());
    let mut third = Relay::connect(&url, token, Role::Novice, None)
        .await
        .unwrap();
    let error = timeout(WAIT, third.recv()).await.unwrap().unwrap_err();
    assert!(error.to_string().contains("the relay is full"), "{error}");
}

/// A tinyproxy on loopback, killed when dropped.
struct Tinyproxy {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Tinyproxy {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &config,
            format!("Port {port}\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\nMaxClients 10\nLogLevel Info\nLogFile \"{}\"\n", dir.path().join("log").display()),
        )
        .unwrap();
        let child = Command::new("tinyproxy")
            .args(["-d", "-c"])
            .arg(&config)
            .spawn()
            .expect("tinyproxy (Debian package tinyproxy) must be installed");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn peers_relay_through_an_http_connect_proxy() {
    let server = Server::start("");
    let proxy = Tinyproxy::start();
    let proxy_url = Proxy::parse(&format!("http://127.0.0.1:{}", proxy.port)).unwrap();
    // The novice goes through the proxy; the helper connects directly.
    let url = server.server_url();
    let token = RelayToken::for_invitation(InvitationId::random());
    let mut novice = Relay::connect(&url, token, Role::Novice, Some(&proxy_url))
        .await
        .unwrap();
    let mut helper = Relay::connect(&url, token, Role::Helper, None)
        .await
        .unwrap();
    timeout(WAIT, novice.paired()).await.unwrap().unwrap();
    timeout(WAIT, helper.paired()).await.unwrap().unwrap();
    exchange(&mut novice, &mut helper).await;
    // Both through the proxy as well.
    let (mut novice, mut helper) = pair(&url, Some(&proxy_url)).await;
    exchange(&mut novice, &mut helper).await;
}
