//! Sessions between `lifeline` processes behind NATs of the lab's emulated internet,
//! through a real lifeline-server: rendezvous, hole punching, and the relay where nothing
//! direct can work.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use lifeline_lab::{Internet, NatKind, Scripted, Site};
use serde_json::json;

/// lifeline-server, built next to `lifeline` (the test command builds the workspace).
fn server_binary() -> PathBuf {
    let lifeline = PathBuf::from(env!("CARGO_BIN_EXE_lifeline"));
    let server = lifeline.with_file_name("lifeline-server");
    if !server.is_file() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "lifeline-server"])
            .status()
            .expect("cargo");
        assert!(status.success(), "cannot build lifeline-server");
    }
    server
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts lifeline-server on the public site; its first line is the URL with the pin.
    fn start(site: &Site) -> Self {
        let addr = site.host_addr;
        let mut child = site
            .host
            .command(server_binary().to_str().expect("utf-8"))
            .args(["--listen", &format!("{addr}:443")])
            .args(["--stun-listen", &format!("{addr}:3478")])
            .stdout(Stdio::piped())
            .spawn()
            .expect("lifeline-server");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("url line").expect("url line");
        // The server says where it listens once all its sockets are open; keep reading
        // its output so that it never writes into a closed pipe.
        for line in lines.by_ref() {
            if line.expect("server output").starts_with("listen=") {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        let url = first
            .trim()
            .strip_prefix("url=")
            .expect("the first line is url=…")
            .to_owned();
        Self { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a whole session between a novice behind `novice` and a helper behind `helper`,
/// checking the helper's paths: the relay at first and for good, or a direct path soon.
fn session(internet: &Internet, server: &Server, novice: NatKind, helper: NatKind, direct: bool) {
    let (n, h) = (
        internet.site(novice).unwrap(),
        internet.site(helper).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "nat test words").unwrap();
    let pw = pw.to_str().unwrap();
    let logs = dir.path().to_str().unwrap();
    let lifeline = env!("CARGO_BIN_EXE_lifeline");
    let mut invite = n.host.command(lifeline);
    invite
        .args([
            "invite",
            "--no-share",
            "--name",
            "Rose",
            "--password-file",
            pw,
        ])
        .args(["--log-dir", logs, "--server", &server.url])
        .args(["--listen", &format!("{}:0", n.host_addr)]);
    let mut novice_side = Scripted::start(invite).unwrap();
    let link = novice_side.wait("invitation").unwrap()["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut join = h.host.command(lifeline);
    join.args([
        "join",
        &link,
        "--no-window",
        "--name",
        "Sam",
        "--password-file",
        pw,
    ])
    .args(["--log-dir", logs]);
    let mut helper_side = Scripted::start(join).unwrap();
    let first = helper_side.wait("path").unwrap();
    if direct {
        let punched = helper_side
            .wait_for("path", |e| e["kind"] == "direct")
            .unwrap();
        assert_ne!(punched["remote"], first["remote"]);
    } else {
        assert_eq!(first["kind"], "relay");
    }
    novice_side.wait("connect_request").unwrap();
    novice_side.send(json!({"cmd": "approve"})).unwrap();
    helper_side.wait_state("screen_sharing").unwrap();
    helper_side
        .send(json!({"cmd": "chat", "text": "across the NATs"}))
        .unwrap();
    let chat = novice_side
        .wait_for("chat", |e| e["from"] == "helper")
        .unwrap();
    assert_eq!(chat["text"], "across the NATs");
    if !direct {
        let later = helper_side.events_for(std::time::Duration::from_secs(3));
        assert!(
            !later.iter().any(|e| e["event"] == "path"),
            "a path changed between symmetric NATs: {later:?}"
        );
    }
    helper_side.send(json!({"cmd": "disconnect"})).unwrap();
    novice_side.finish().unwrap();
    helper_side.finish().unwrap();
}

#[test]
fn symmetric_nats_on_both_sides_meet_through_the_relay() {
    let internet = Internet::new().unwrap();
    let server = Server::start(&internet.site(NatKind::Public).unwrap());
    session(
        &internet,
        &server,
        NatKind::Symmetric,
        NatKind::Symmetric,
        false,
    );
}

#[test]
fn port_restricted_nats_on_both_sides_punch_a_direct_path() {
    let internet = Internet::new().unwrap();
    let server = Server::start(&internet.site(NatKind::Public).unwrap());
    session(
        &internet,
        &server,
        NatKind::PortRestricted,
        NatKind::PortRestricted,
        true,
    );
}
