//! `lifeline log verify`: exit 0 for an intact log, 1 naming the changed entry, 2 for
//! something that is not a session log.

mod common;

use common::lifeline;
use lifeline_core::log::{LogEvent, Role, SessionLog};
use time::OffsetDateTime;

fn write_log(dir: &std::path::Path) -> std::path::PathBuf {
    let start = OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
    let mut log = SessionLog::create(dir, Role::Novice, &"ab".repeat(16), start).unwrap();
    let events = [
        LogEvent::InvitationOpened {
            id: "ab".repeat(16),
        },
        LogEvent::ConnectionEstablished {
            peer_name: "Sam".to_owned(),
        },
        LogEvent::Chat {
            from: "helper".to_owned(),
            text: "Hello Rose".to_owned(),
        },
        LogEvent::ConnectionEnded {
            reason: "the helper disconnected".to_owned(),
        },
    ];
    for (i, event) in events.into_iter().enumerate() {
        log.append(event, start + time::Duration::seconds(i as i64))
            .unwrap();
    }
    log.finish().unwrap()
}

#[test]
fn an_intact_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path());
    let run = lifeline(dir.path(), &["log", "verify", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("intact: 4 entries"), "{}", run.stdout);
}

#[test]
fn an_edited_log_fails_at_the_edited_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path());
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("Hello Rose", "Hello Ross")).unwrap();
    let run = lifeline(dir.path(), &["log", "verify", path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(run.stderr.contains("entry 3 (chat"), "{}", run.stderr);
}

#[test]
fn what_is_not_a_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_log = dir.path().join("x.xml");
    std::fs::write(&not_a_log, "<html/>").unwrap();
    for arg in [not_a_log.to_str().unwrap(), "/nonexistent.xml"] {
        lifeline(dir.path(), &["log", "verify", arg]).assert_one_line_error(arg);
    }
}
