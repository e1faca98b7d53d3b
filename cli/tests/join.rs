//! `lifeline join` refuses a bad invitation before connecting: one line, exit 2.

mod common;

use common::{dry_run_invitation, expired_invitation, lifeline};

#[test]
fn bad_invitations_are_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let (file, link) = dry_run_invitation(dir.path(), &["--name", "Rose"]);
    let tampered = dir.path().join("tampered.lifeline");
    let xml = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&tampered, xml.replace(">Rose<", ">Bank<")).unwrap();
    let expired = expired_invitation().to_link();
    let truncated = link[..link.len() - 30].to_owned();
    for (what, arg, says) in [
        (
            "tampered",
            tampered.to_str().unwrap(),
            "signature does not match",
        ),
        ("expired", expired.as_str(), "expired at"),
        ("truncated", truncated.as_str(), "not a valid"),
        ("missing", "no-such.lifeline", "cannot read"),
    ] {
        let run = lifeline(dir.path(), &["join", arg, "--password-file", "/dev/null"]);
        let line = run.assert_one_line_error(what);
        assert!(line.contains(says), "{what}: {line}");
    }
}
