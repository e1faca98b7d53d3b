//! `lifeline invite --dry-run`: the invitation file, link and QR code it writes.

mod common;

use common::{dry_run_invitation, lifeline};
use lifeline_core::ticket::Invitation;
use time::{Duration, OffsetDateTime};

#[test]
fn writes_a_valid_invitation_file_link_and_qr_code() {
    let dir = tempfile::tempdir().unwrap();
    let (file, link) = dry_run_invitation(dir.path(), &["--name", "Rose Miller"]);
    let now = OffsetDateTime::now_utc();
    let from_file = Invitation::parse(&std::fs::read(&file).unwrap(), now).unwrap();
    let from_link = Invitation::parse(link.as_bytes(), now).unwrap();
    assert_eq!(from_file, from_link);
    assert_eq!(from_file.body().name, "Rose Miller");
    let lifetime = from_file.body().expires - from_file.body().created;
    assert_eq!(lifetime, Duration::hours(6), "default expiry");
    // Every candidate carries one port, that of the socket the novice listens on.
    let ports: std::collections::BTreeSet<u16> = from_file
        .body()
        .candidates
        .iter()
        .map(|c| c.addr.port())
        .collect();
    assert!(ports.len() <= 1);
    let png = std::fs::read(file.with_extension("png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn prints_path_link_and_a_terminal_qr_code() {
    let dir = tempfile::tempdir().unwrap();
    let run = lifeline(dir.path(), &["invite", "--dry-run", "--name", "Rose"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Invitation:"))
        .unwrap()
        .trim();
    assert!(path.ends_with(".lifeline") && std::path::Path::new(path).is_file());
    assert!(run.stdout.contains("Link:       lifeline:"));
    let qr_lines = run.stdout.lines().filter(|l| l.starts_with('█')).count();
    assert!(qr_lines > 20, "{}", run.stdout);
    assert!(
        run.stdout
            .lines()
            .all(|l| l.chars().count() <= 80 || l.starts_with("Link"))
    );
}

#[test]
fn expiry_is_honoured_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = dry_run_invitation(dir.path(), &["--expires", "99days"]);
    let invitation =
        Invitation::parse(&std::fs::read(&file).unwrap(), OffsetDateTime::now_utc()).unwrap();
    assert_eq!(
        invitation.body().expires - invitation.body().created,
        Duration::days(99)
    );
    let (file, _) = dry_run_invitation(dir.path(), &["--expires", "2h"]);
    let invitation =
        Invitation::parse(&std::fs::read(&file).unwrap(), OffsetDateTime::now_utc()).unwrap();
    assert_eq!(
        invitation.body().expires - invitation.body().created,
        Duration::hours(2)
    );
    for (bad, says) in [
        ("100days", "at most 99 days"),
        ("99days 1s", "at most 99 days"),
        ("banana", "duration"),
        ("0s", "at least a minute"),
        ("-5h", "duration"),
        ("", "duration"),
    ] {
        let flag = format!("--expires={bad}");
        let run = lifeline(dir.path(), &["invite", "--dry-run", &flag]);
        let line = run.assert_one_line_error(bad);
        assert!(line.contains(says), "{bad}: {line}");
    }
}

#[test]
fn carries_a_server_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = "https://198.18.0.20:443/#pin=sha256:\
               00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let (_, link) = dry_run_invitation(dir.path(), &["--server", url]);
    let invitation = Invitation::parse(link.as_bytes(), OffsetDateTime::now_utc()).unwrap();
    assert_eq!(invitation.body().server.as_ref().unwrap().as_str(), url);
    assert!(link.len() <= 400, "{} bytes", link.len());
    let run = lifeline(dir.path(), &["invite", "--dry-run", "--server", "ftp://x"]);
    run.assert_one_line_error("non-https server");
}

#[test]
fn bad_names_and_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(65);
    for args in [
        vec!["invite", "--dry-run", "--name", ""],
        vec!["invite", "--dry-run", "--name", "  "],
        vec!["invite", "--dry-run", "--name", &long],
        vec!["invite", "--dry-run", "--name", "a\u{7}b"],
        vec!["invite", "--dry-run", "--nonsense"],
        vec!["frobnicate"],
        vec![],
    ] {
        lifeline(dir.path(), &args).assert_one_line_error(&format!("{args:?}"));
    }
}

#[test]
fn an_unwritable_destination_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let run = lifeline(
        dir.path(),
        &[
            "invite",
            "--dry-run",
            "--out",
            "/nonexistent/dir/x.lifeline",
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.lines().count(), 1);
    assert!(
        run.stderr
            .starts_with("error: cannot write /nonexistent/dir/x.lifeline")
    );
}

#[test]
fn help_has_examples() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["invite", "--help"],
        vec!["inspect", "--help"],
    ] {
        let run = lifeline(dir.path(), &args);
        assert_eq!(run.code, 0);
        assert!(run.stdout.contains("Examples:"), "{args:?}: {}", run.stdout);
    }
}
