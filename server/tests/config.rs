//! The command line and config file: bad settings are one line on stderr and exit 2; the
//! self-signed certificate's pin is kept across restarts with a state directory; an
//! operator's own certificate and public URL are used as given.

mod common;

use std::process::Command;

use common::Server;
use lifeline_core::Role;
use lifeline_core::net::relay::{Relay, RelayToken};
use lifeline_core::ticket::{Fingerprint, InvitationId};

fn run_with_config(text: &str, extra: &[&str]) -> std::process::Output {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), text).unwrap();
    Command::new(env!("CARGO_BIN_EXE_lifeline-server"))
        .args(["--listen", "127.0.0.1:0", "--stun-listen", "127.0.0.1:0"])
        .args(extra)
        .arg("--config")
        .arg(config.path())
        .output()
        .unwrap()
}

fn assert_one_line_exit_2(output: &std::process::Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}

#[test]
fn bad_settings_are_one_line_and_exit_2() {
    assert_one_line_exit_2(&run_with_config("listen_on = 1\n", &[]), "listen_on");
    assert_one_line_exit_2(
        &run_with_config("[limits]\nmax_relay_sessions = 0\n", &[]),
        "limits.max_relay_sessions",
    );
    assert_one_line_exit_2(
        &run_with_config("[tls]\ncert = \"/nonexistent\"\n", &[]),
        "give both cert and key",
    );
    assert_one_line_exit_2(&run_with_config("listen = [\n", &[]), "bad config file");
    let bad_flag = Command::new(env!("CARGO_BIN_EXE_lifeline-server"))
        .args(["--listen", "nowhere"])
        .output()
        .unwrap();
    assert_one_line_exit_2(&bad_flag, "nowhere");
    let missing = Command::new(env!("CARGO_BIN_EXE_lifeline-server"))
        .args(["--config", "/nonexistent/lifeline.toml"])
        .output()
        .unwrap();
    assert_one_line_exit_2(&missing, "cannot read the config file");
}

fn pin(url: &str) -> &str {
    url.split_once("#pin=").unwrap().1
}

#[test]
fn the_self_signed_pin_is_kept_with_a_state_dir_and_fresh_without() {
    let state = tempfile::tempdir().unwrap();
    let first = Server::start_in("", Some(state.path())).url.clone();
    let second = Server::start_in("", Some(state.path())).url.clone();
    assert_eq!(pin(&first), pin(&second));
    let fresh = Server::start("").url.clone();
    assert_ne!(pin(&first), pin(&fresh));
}

#[tokio::test]
async fn an_own_certificate_and_public_url_are_used() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["relay.example".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    let server = Server::start(&format!(
        "public_url = \"https://relay.example:8443\"\n[tls]\ncert = {:?}\nkey = {:?}\n",
        cert.display().to_string(),
        key.display().to_string()
    ));
    // A certificate from the operator is not pinned in the printed URL.
    assert_eq!(server.url, "https://relay.example:8443/");
    // A client that pins it (the invitation may) reaches the server on its real address.
    let fingerprint = Fingerprint::of_certificate(made.cert.der());
    let listen = server.listen;
    let url = format!("https://{listen}/#pin={fingerprint}")
        .parse()
        .unwrap();
    let token = RelayToken::for_invitation(InvitationId::random());
    Relay::connect(&url, token, Role::Novice, None)
        .await
        .unwrap();
}
