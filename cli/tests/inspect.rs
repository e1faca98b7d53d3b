//! `lifeline inspect`: reads what `invite --dry-run` writes, refuses everything else with
//! one line and exit 2.

mod common;

use std::path::Path;

use common::{dry_run_invitation, expired_invitation, lifeline};
use lifeline_core::ticket::{Invitation, MAX_INPUT_LEN};

fn inspect(dir: &Path, what: &str) -> serde_json::Value {
    let run = lifeline(dir, &["inspect", what]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty());
    assert_eq!(run.stdout.lines().count(), 1, "one JSON object on one line");
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn reads_the_file_and_the_link_of_a_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = "https://relay.example.org/";
    let (file, link) = dry_run_invitation(dir.path(), &["--name", "Rose", "--server", server]);
    let from_file = inspect(dir.path(), file.to_str().unwrap());
    let from_link = inspect(dir.path(), &link);
    assert_eq!(from_file, from_link);
    // The fields come in the documented order.
    let run = lifeline(dir.path(), &["inspect", &link]);
    let fields = [
        "id",
        "name",
        "created",
        "expires",
        "expired",
        "candidates",
        "server",
        "fingerprint",
    ];
    let positions: Vec<usize> = fields
        .iter()
        .map(|f| run.stdout.find(&format!("\"{f}\":")).unwrap())
        .collect();
    assert!(positions.is_sorted(), "{}", run.stdout);
    let object = from_file.as_object().unwrap();
    assert_eq!(object.len(), fields.len());
    assert_eq!(object["name"], "Rose");
    assert_eq!(object["expired"], false);
    assert_eq!(object["server"], server);
    assert_eq!(object["id"].as_str().unwrap().len(), 32);
    assert!(
        object["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let written = Invitation::parse_ignoring_time(&std::fs::read(&file).unwrap()).unwrap();
    let candidates = object["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), written.body().candidates.len());
    for (json, candidate) in candidates.iter().zip(&written.body().candidates) {
        assert_eq!(json["kind"], "host");
        assert_eq!(json["addr"], candidate.addr.to_string());
    }
    // Standard input works as well.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["inspect", "-"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(run.status.success());
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn refuses_bad_input_with_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (file, link) = dry_run_invitation(dir.path(), &["--name", "Rose"]);
    let xml = std::fs::read_to_string(&file).unwrap();
    let expired = expired_invitation();
    let mut oversized = xml.clone().into_bytes();
    oversized.resize(MAX_INPUT_LEN + 1, b' ');
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "tampered name",
            write(
                dir.path(),
                "t.lifeline",
                xml.replace(">Rose<", ">Bank<").as_bytes(),
            ),
            "signature does not match",
        ),
        (
            "tampered link",
            {
                let mut bytes = link.clone().into_bytes();
                let at = bytes.len() / 2;
                bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                String::from_utf8(bytes).unwrap()
            },
            "",
        ),
        (
            "expired file",
            write(dir.path(), "e.lifeline", expired.to_xml().as_bytes()),
            "expired at",
        ),
        ("expired link", expired.to_link(), "expired at"),
        (
            "truncated file",
            write(dir.path(), "c.lifeline", &xml.as_bytes()[..xml.len() - 40]),
            "not a valid",
        ),
        (
            "truncated link",
            link[..link.len() - 20].to_owned(),
            "not a valid",
        ),
        (
            "oversized",
            write(dir.path(), "big.lifeline", &oversized),
            "more than the 65536 bytes",
        ),
        (
            "binary",
            write(dir.path(), "b.lifeline", &[0, 159, 146, 150, 255, 0, 1]),
            "binary data",
        ),
        ("empty", write(dir.path(), "z.lifeline", b""), "empty"),
        ("empty link", "lifeline:".to_owned(), "not a valid"),
        (
            "missing file",
            "no-such-file.lifeline".to_owned(),
            "cannot read",
        ),
        (
            "a folder",
            dir.path().to_str().unwrap().to_owned(),
            "folder",
        ),
    ];
    for (what, arg, says) in cases {
        let run = lifeline(dir.path(), &["inspect", &arg]);
        let line = run.assert_one_line_error(what);
        assert!(line.contains(says), "{what}: {line}");
    }
}

#[test]
fn allow_expired_shows_an_expired_invitation() {
    let dir = tempfile::tempdir().unwrap();
    let expired = expired_invitation();
    let run = lifeline(
        dir.path(),
        &["inspect", "--allow-expired", &expired.to_link()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["expired"], true);
    // Even then the signature is checked.
    let tampered = expired.to_xml().replace(">Rose<", ">Bank<");
    let path = write(dir.path(), "t.lifeline", tampered.as_bytes());
    lifeline(dir.path(), &["inspect", "--allow-expired", &path])
        .assert_one_line_error("tampered expired");
}
