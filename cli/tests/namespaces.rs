//! The whole flow between two network namespaces: the novice and the helper each on their
//! own host with a public address, routed through an emulated internet (what Windows
//! Remote Assistance could reach without any server).

use std::process::Command;

use lifeline_core::log::verify;
use lifeline_lab::{Internet, NatKind, Scripted};
use serde_json::json;

fn lifeline_in(ns: &lifeline_lab::Netns) -> Command {
    ns.command(env!("CARGO_BIN_EXE_lifeline"))
}

#[test]
fn a_whole_session_between_two_namespaces() {
    let work = tempfile::tempdir().unwrap();
    let internet = Internet::new().unwrap();
    let novice_site = internet.site(NatKind::Public).unwrap();
    let helper_site = internet.site(NatKind::Public).unwrap();
    let password = work.path().join("password");
    std::fs::write(&password, "correct horse battery staple").unwrap();

    let mut novice = lifeline_in(&novice_site.host);
    novice
        .args(["invite", "--name", "Rose"])
        .arg(format!("--listen={}:0", novice_site.host_addr))
        .arg("--password-file")
        .arg(&password)
        .arg("--log-dir")
        .arg(work.path().join("novice-logs"))
        .arg("--out")
        .arg(work.path().join("invitation.lifeline"));
    let mut novice = Scripted::start(novice).unwrap();
    let invitation = novice.wait("invitation").unwrap();
    let link = invitation["link"].as_str().unwrap().to_owned();

    let mut helper = lifeline_in(&helper_site.host);
    helper
        .args(["join", &link, "--name", "Sam"])
        .arg("--password-file")
        .arg(&password)
        .arg("--log-dir")
        .arg(work.path().join("helper-logs"));
    let mut helper = Scripted::start(helper).unwrap();

    // Consent, with the same safety code on both sides.
    let request = novice.wait("connect_request").unwrap();
    assert_eq!(request["helper"], "Sam");
    let code = helper.wait("safety_code").unwrap();
    assert_eq!(request["safety_code"], code["code"]);
    novice.send(json!({"cmd": "approve"})).unwrap();
    helper.wait_state("screen_sharing").unwrap();

    // Chat both ways.
    helper
        .send(json!({"cmd": "chat", "text": "Hello Rose"}))
        .unwrap();
    let line = novice.wait_for("chat", |e| e["from"] == "helper").unwrap();
    assert_eq!(line["text"], "Hello Rose");
    novice
        .send(json!({"cmd": "chat", "text": "Hi Sam"}))
        .unwrap();
    let line = helper.wait_for("chat", |e| e["from"] == "novice").unwrap();
    assert_eq!(line["text"], "Hi Sam");

    // A file from the helper, accepted into a folder the novice chose.
    let sent = work.path().join("instructions.txt");
    std::fs::write(&sent, "Click the blue button.\n".repeat(5000)).unwrap();
    let inbox = work.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    helper
        .send(json!({"cmd": "send_file", "path": sent}))
        .unwrap();
    let offer = novice
        .wait_for("file_offer", |e| e["from"] == "helper")
        .unwrap();
    novice
        .send(json!({"cmd": "accept_file", "id": offer["id"], "dir": inbox}))
        .unwrap();
    let done = novice.wait("file_done").unwrap();
    let path = std::path::PathBuf::from(done["path"].as_str().unwrap());
    assert_eq!(path.parent().unwrap(), inbox.canonicalize().unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&sent).unwrap());

    // Control: requested, granted, released.
    helper.send(json!({"cmd": "request_control"})).unwrap();
    novice.wait("control_request").unwrap();
    novice.send(json!({"cmd": "grant_control"})).unwrap();
    helper.wait_state("control_sharing").unwrap();
    novice.send(json!({"cmd": "release_control"})).unwrap();
    helper.wait_state("screen_sharing").unwrap();

    // Pause and resume, then the helper leaves.
    novice.send(json!({"cmd": "pause"})).unwrap();
    helper.wait_state("paused").unwrap();
    novice.send(json!({"cmd": "resume"})).unwrap();
    helper.wait_state("screen_sharing").unwrap();
    helper.send(json!({"cmd": "disconnect"})).unwrap();
    let novice_log = novice.finish().unwrap();
    let helper_log = helper.finish().unwrap();
    for log in [novice_log, helper_log] {
        let verification = verify(log["path"].as_str().unwrap()).unwrap();
        assert!(verification.is_intact(), "{verification}");
    }
}
