//! Session logs: writing, reading back, verifying, and detecting changes.

use std::path::{Path, PathBuf};

use lifeline_core::log::{
    LogError, LogEvent, MAX_LOG_SIZE, ParsedLog, Role, SessionLog, Verification, parse_log,
    read_log, verify, verify_bytes,
};
use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const START: OffsetDateTime = datetime!(2026-11-23 09:37:00.123 UTC);
const INVITATION: &str = "inv-7f3a & <\"co\">";

/// Text that tries to break out of every XML construct and holds characters XML cannot.
fn hostile(tag: &str) -> String {
    format!(
        "{tag} </entry></sessionlog> &amp; &lt; ]]> <![CDATA[x]]> \"double\" 'single' \
         <ctl code=\"0\"/> line1\nline2\r\nline3\r\ttab \u{0}\u{1}\u{8}\u{b}\u{c}\u{1b}\u{1f}\
         \u{7f}\u{85}\u{2028}\u{fffe}\u{ffff} 😀👩‍💻 é  trailing space "
    )
}

fn every_event() -> Vec<LogEvent> {
    let h = hostile;
    vec![
        LogEvent::InvitationOpened { id: h("id") },
        LogEvent::IncomingAddress {
            addr: "[2001:db8::1]:4433".to_owned(),
        },
        LogEvent::ConnectionEstablished {
            peer_name: h("peer"),
        },
        LogEvent::WrongPassword { attempts_left: 4 },
        LogEvent::ConsentGranted,
        LogEvent::ConsentDenied,
        LogEvent::ControlRequested,
        LogEvent::ControlGranted,
        LogEvent::ControlDenied,
        LogEvent::ControlStarted,
        LogEvent::ControlEnded { reason: h("esc") },
        LogEvent::InputRefused { count: u64::MAX },
        LogEvent::Chat {
            from: "helper".to_owned(),
            text: h("hello"),
        },
        LogEvent::FileOffered {
            from: h("novice"),
            name: h("report.pdf"),
            size: 0,
        },
        LogEvent::FileAccepted { name: h("a") },
        LogEvent::FileDeclined { name: h("b") },
        LogEvent::FileReceived {
            name: h("c"),
            path: h("/home/ann/Downloads/c"),
            hash: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262".to_owned(),
        },
        LogEvent::FileSent { name: h("d") },
        LogEvent::FileFailed {
            name: h("e"),
            reason: h("disk full"),
        },
        LogEvent::Paused,
        LogEvent::Resumed,
        LogEvent::BandwidthChanged {
            preset: "56k".to_owned(),
        },
        LogEvent::Error { message: h("oops") },
        LogEvent::Chat {
            from: String::new(),
            text: String::new(),
        },
        LogEvent::ConnectionEnded { reason: h("bye") },
        LogEvent::InvitationClosed {
            reason: h("expired"),
        },
    ]
}

fn at(i: usize) -> OffsetDateTime {
    START + Duration::milliseconds(1_500 * i as i64 + 7)
}

/// Writes every event into a new log in `dir`; finishes it if `finish`.
fn write_log(dir: &Path, finish: bool) -> PathBuf {
    let mut log = SessionLog::create(dir, Role::Novice, INVITATION, START).expect("create");
    for (i, event) in every_event().into_iter().enumerate() {
        log.append(event, at(i)).expect("append");
    }
    assert_eq!(log.entries(), every_event().len() as u64);
    let path = log.path().to_path_buf();
    if finish {
        assert_eq!(log.finish().expect("finish"), path);
    }
    path
}

fn expected_entries() -> Vec<lifeline_core::log::LogEntry> {
    every_event()
        .into_iter()
        .enumerate()
        .map(|(i, event)| lifeline_core::log::LogEntry {
            seq: i as u64 + 1,
            time: at(i),
            event,
        })
        .collect()
}

fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read");
    text.split_inclusive('\n').map(str::to_owned).collect()
}

/// The index of the line holding entry `seq`.
fn line_of(lines: &[String], seq: u64) -> usize {
    let needle = format!("<entry seq=\"{seq}\" ");
    lines
        .iter()
        .position(|l| l.contains(&needle))
        .expect("entry line")
}

/// `line` with the first digit of its hash changed.
fn flip_hash(line: &str) -> String {
    let at = line.find("hash=\"").expect("hash") + "hash=\"".len();
    let digit = if &line[at..=at] == "0" { "1" } else { "0" };
    format!("{}{digit}{}", &line[..at], &line[at + 1..])
}

fn tampered_at(v: Verification) -> (u64, String) {
    match v {
        Verification::Tampered { entry, reason } => {
            assert!(!reason.contains('\n'), "one line: {reason}");
            (entry, reason)
        }
        intact => panic!("expected tampering, got {intact:?}"),
    }
}

#[test]
fn every_event_round_trips_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_log(dir.path(), true);
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("20261123093700.xml")
    );

    let parsed = read_log(&path).expect("read");
    assert_eq!(
        parsed,
        ParsedLog {
            role: Role::Novice,
            invitation_id: INVITATION.to_owned(),
            start: START,
            entries: expected_entries(),
            finished: true,
        }
    );

    let v = verify(&path).expect("verify");
    assert_eq!(
        v,
        Verification::Intact {
            entries: every_event().len() as u64,
            finished: true
        }
    );
    assert!(v.is_intact());
    assert_eq!(v.to_string(), "intact: 26 entries, closed properly");

    // One entry per line, and nothing XML 1.0 cannot hold.
    let bytes = std::fs::read(&path).expect("read");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert_eq!(text.lines().count(), 2 + every_event().len() + 2);
    assert!(
        !text
            .chars()
            .any(|c| (c < ' ' && c != '\n' && c != '\t') || c == '\u{fffe}' || c == '\u{ffff}')
    );
    assert!(text.contains("<ctl code=\"0\"/>") && text.contains("<ctl code=\"1B\"/>"));
}

#[test]
fn times_are_kept_to_the_millisecond_in_utc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = datetime!(2026-11-23 10:37:00.123_456_789 +01:00);
    let mut log = SessionLog::create(dir.path(), Role::Helper, "x", start).expect("create");
    log.append(LogEvent::Paused, start + Duration::nanoseconds(999_999))
        .expect("append");
    drop(log);
    let parsed = read_log(dir.path().join("20261123093700.xml")).expect("read");
    assert_eq!(parsed.role, Role::Helper);
    assert_eq!(parsed.start, datetime!(2026-11-23 09:37:00.123 UTC));
    assert_eq!(
        parsed.entries[0].time,
        datetime!(2026-11-23 09:37:00.124 UTC)
    );
}

#[test]
fn an_edited_entry_is_reported_at_that_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_log(dir.path(), true);
    let original = std::fs::read(&path).expect("read");

    for seq in [1u64, 13, 26] {
        let mut lines = lines(&path);
        let i = line_of(&lines, seq);
        // A byte-level edit of the entry's text: one character changed.
        let edited = lines[i].replacen("</", "X</", 1);
        assert_ne!(edited, lines[i]);
        lines[i] = edited;
        std::fs::write(&path, lines.concat()).expect("write");
        let (entry, reason) = tampered_at(verify(&path).expect("verify"));
        assert_eq!(entry, seq, "{reason}");
        assert!(
            reason.contains("was changed after it was written"),
            "{reason}"
        );
        std::fs::write(&path, &original).expect("restore");
    }

    // The message names the entry, its event and its time.
    let mut lines = lines(&path);
    let i = line_of(&lines, 13);
    lines[i] = lines[i].replace("hello", "HELLO");
    std::fs::write(&path, lines.concat()).expect("write");
    let (_, reason) = tampered_at(verify(&path).expect("verify"));
    assert_eq!(
        reason,
        "entry 13 (chat at 2026-11-23T09:37:18.130Z) was changed after it was written"
    );
}

#[test]
fn edited_numbers_times_and_hashes_are_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_log(dir.path(), true);
    let original = lines(&path);
    let i = line_of(&original, 4);
    let edits = [
        original[i].replace("<attempts_left>4<", "<attempts_left>9<"),
        original[i].replace("09:37:04.630Z", "09:37:04.631Z"),
        flip_hash(&original[i]),
        original[i].replace("event=\"wrong_password\"", "event=\"consent_granted\""),
    ];
    for edited in edits {
        assert_ne!(edited, original[i]);
        let mut lines = original.clone();
        lines[i] = edited;
        std::fs::write(&path, lines.concat()).expect("write");
        let (entry, reason) = tampered_at(verify(&path).expect("verify"));
        assert_eq!(entry, 4, "{reason}");
    }
}

#[test]
fn a_deleted_entry_is_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_log(dir.path(), true);
    let original = lines(&path);

    for (seq, expected) in [(1u64, 1u64), (5, 5), (26, 26)] {
        let mut lines = original.clone();
        lines.remove(line_of(&lines, seq));
        std::fs::write(&path, lines.concat()).expect("write");
        let (entry, reason) = tampered_at(verify(&path).expect("verify"));
        assert_eq!(entry, expected, "{reason}");
        assert!(reason.contains("removed"), "{reason}");
    }

    // Several entries in the middle.
    let mut lines = original.clone();
    let i = line_of(&lines, 5);
    lines.drain(i..i + 3);
    std::fs::write(&path, lines.concat()).expect("write");
    let (entry, reason) = tampered_at(verify(&path).expect("verify"));
    assert_eq!(entry, 5);
    assert!(
        reason.starts_with("entries 5 to 7 were removed"),
        "{reason}"
    );
}

#[test]
fn reordered_and_inserted_entries_are_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_log(dir.path(), true);
    let original = lines(&path);

    let mut lines = original.clone();
    let i = line_of(&lines, 5);
    lines.swap(i, i + 1);
    std::fs::write(&path, lines.concat()).expect("write");
    let (entry, reason) = tampered_at(verify(&path).expect("verify"));
    assert_eq!(entry, 5);
    assert!(reason.contains("reordered"), "{reason}");

    // An entry copied to a later place.
    let mut lines = original.clone();
    let copy = lines[line_of(&lines, 3)].clone();
    lines.insert(line_of(&lines, 8), copy);
    std::fs::write(&path, lines.concat()).expect("write");
    let (entry, reason) = tampered_at(verify(&path).expect("verify"));
    assert_eq!(entry, 8);
    assert!(reason.contains("inserted"), "{reason}");
}

#[test]
fn header_and_end_changes_are_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_log(dir.path(), true);
    let original = lines(&path);

    // The header: the role.
    let mut lines = original.clone();
    lines[1] = lines[1].replace("role=\"novice\"", "role=\"helper\"");
    std::fs::write(&path, lines.concat()).expect("write");
    assert_eq!(tampered_at(verify(&path).expect("verify")).0, 1);

    // The last entry removed together with a rewritten end record count.
    let mut lines = original.clone();
    lines.remove(line_of(&lines, 26));
    let end = lines.len() - 2;
    lines[end] = lines[end].replace("entries=\"26\"", "entries=\"25\"");
    std::fs::write(&path, lines.concat()).expect("write");
    assert_eq!(tampered_at(verify(&path).expect("verify")).0, 25);

    // The end record removed but the closing tag kept.
    let mut lines = original.clone();
    lines.remove(lines.len() - 2);
    std::fs::write(&path, lines.concat()).expect("write");
    let (entry, reason) = tampered_at(verify(&path).expect("verify"));
    assert_eq!(entry, 27);
    assert!(reason.contains("closing record is missing"), "{reason}");

    // An empty log's header changed.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = SessionLog::create(dir.path(), Role::Helper, "abc", START).expect("create");
    let path = log.finish().expect("finish");
    assert_eq!(
        verify(&path).expect("verify"),
        Verification::Intact {
            entries: 0,
            finished: true
        }
    );
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("abc", "abd")).expect("write");
    assert_eq!(tampered_at(verify(&path).expect("verify")).0, 0);
}

#[test]
fn a_crashed_log_reads_up_to_the_last_complete_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Dropped without finish: no end record, no closing tag.
    let path = write_log(dir.path(), false);
    let parsed = read_log(&path).expect("read");
    assert!(!parsed.finished);
    assert_eq!(parsed.entries, expected_entries());
    let v = verify(&path).expect("verify");
    assert_eq!(
        v,
        Verification::Intact {
            entries: 26,
            finished: false
        }
    );
    assert!(v.to_string().contains("not closed"));

    // Cut at every byte after the header, as a crash mid-write would: always readable,
    // always a prefix of the entries, always intact but unfinished.
    let finished = write_log(dir.path(), true);
    let bytes = std::fs::read(&finished).expect("read");
    let header_end = bytes
        .windows(2)
        .position(|w| w == b">\n")
        .and_then(|first| {
            bytes[first + 2..]
                .windows(2)
                .position(|w| w == b">\n")
                .map(|p| first + 2 + p + 2)
        })
        .expect("header");
    let entries = expected_entries();
    let mut previous = 0;
    // (The last byte is the newline after the closing tag.)
    for cut in header_end..bytes.len() - 1 {
        let partial = &bytes[..cut];
        let parsed = parse_log(partial).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert!(!parsed.finished, "cut at {cut}");
        let n = parsed.entries.len();
        assert!(n >= previous && n <= entries.len(), "cut at {cut}");
        assert_eq!(parsed.entries[..], entries[..n], "cut at {cut}");
        previous = n;
        assert_eq!(
            verify_bytes(partial).expect("verify"),
            Verification::Intact {
                entries: n as u64,
                finished: false
            },
            "cut at {cut}"
        );
    }
    assert_eq!(previous, entries.len());

    // Cut mid-entry: the partial entry is left out.
    let lines = lines(&finished);
    let i = line_of(&lines, 13);
    let mut text = lines[..i].concat();
    text.push_str(&lines[i][..lines[i].len() / 2]);
    let parsed = parse_log(text.as_bytes()).expect("parse");
    assert_eq!(parsed.entries.len(), 12);
}

#[test]
fn a_taken_file_name_gets_a_suffix_and_is_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("20261123093700.xml"), "someone else's").expect("write");
    let names: Vec<String> = (0..3)
        .map(|_| {
            let log = SessionLog::create(dir.path(), Role::Novice, "id", START).expect("create");
            let path = log.finish().expect("finish");
            path.file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "20261123093700-1.xml",
            "20261123093700-2.xml",
            "20261123093700-3.xml"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("20261123093700.xml")).expect("read"),
        "someone else's"
    );
}

#[test]
fn the_log_folder_is_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nested = dir.path().join("Documents").join("Lifeline Logs");
    let log = SessionLog::create(&nested, Role::Novice, "id", START).expect("create");
    assert_eq!(log.path().parent(), Some(nested.as_path()));
}

#[test]
fn unwritable_invitation_ids_and_times_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = SessionLog::create(dir.path(), Role::Novice, "a\u{1}b", START).expect_err("refused");
    assert!(matches!(err, LogError::InvalidInvitationId { code: 1 }));
    assert!(err.to_string().contains("U+0001"));

    let year_minus_5 = START.replace_year(-5).expect("year");
    let err =
        SessionLog::create(dir.path(), Role::Novice, "id", year_minus_5).expect_err("refused");
    assert!(
        matches!(err, LogError::TimeOutOfRange { year: -5 }),
        "{err}"
    );
    let mut log = SessionLog::create(dir.path(), Role::Novice, "id", START).expect("create");
    let err = log
        .append(LogEvent::Paused, year_minus_5)
        .expect_err("refused");
    assert!(matches!(err, LogError::TimeOutOfRange { .. }), "{err}");
    log.append(LogEvent::Resumed, START).expect("still usable");
}

#[test]
fn hostile_documents_are_refused_with_one_line_errors() {
    let cases: [&[u8]; 9] = [
        b"",
        b"garbage",
        b"<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"aaaa\">]>\n<sessionlog/>",
        b"<sessionlog xmlns=\"urn:lifeline:sessionlog\" version=\"2\" role=\"novice\" invitation=\"i\" start=\"2026-11-23T09:37:00.000Z\">",
        b"<sessionlog xmlns=\"urn:other\" version=\"1\" role=\"novice\" invitation=\"i\" start=\"2026-11-23T09:37:00.000Z\">",
        b"<sessionlog version=\"1\" role=\"boss\" invitation=\"i\" start=\"2026-11-23T09:37:00.000Z\">",
        b"<sessionlog version=\"1\" role=\"novice\" invitation=\"i\" start=\"2026-11-23T09:37:00.000Z\">\n<entry seq=\"1\" time=\"2026-11-23T09:37:00.000Z\" event=\"chat\" hash=\"00\"><text>&a;</text></entry>\n<x/>",
        b"<sessionlog version=\"1\" role=\"novice\" invitation=\"i\" start=\"2026-11-23T09:37:00.000Z\">\n<entry seq=\"1\" time=\"2026-11-23T09:37:00.000Z\" event=\"launch_missiles\" hash=\"00\"></entry>\n",
        b"<sessionlog version=\"1\" role=\"novice\" invitation=\"i\" start=\"2026-11-23T09:37:00.000Z\">\n<entry seq=\"1\" time=\"2026-11-23T09:37:00.000Z\" event=\"chat\" hash=\"00\"><from>a</from><text><ctl code=\"110000\"/></text></entry>\n",
    ];
    for case in cases {
        let err = parse_log(case).expect_err("refused");
        assert!(matches!(err, LogError::Malformed { .. }), "{err}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = vec![b' '; MAX_LOG_SIZE as usize + 1];
    assert!(matches!(parse_log(&big), Err(LogError::TooLarge { .. })));
    assert!(matches!(verify_bytes(&big), Err(LogError::TooLarge { .. })));

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.xml");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(MAX_LOG_SIZE * 4).expect("sparse file");
    let err = read_log(&path).expect_err("refused");
    assert!(matches!(err, LogError::TooLarge { .. }));
    assert!(err.to_string().contains("more than"), "{err}");
    assert!(matches!(verify(&path), Err(LogError::TooLarge { .. })));
    assert!(matches!(
        read_log(dir.path().join("missing.xml")),
        Err(LogError::Read { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_texts_round_trip(
        from in any::<String>(),
        text in any::<String>(),
        name in "\\PC*",
        size in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = SessionLog::create(dir.path(), Role::Helper, &name, START).expect("create");
        let events = vec![
            LogEvent::Chat { from: from.clone(), text: text.clone() },
            LogEvent::FileOffered { from, name: text, size },
            LogEvent::Error { message: name.clone() },
        ];
        for (i, event) in events.iter().enumerate() {
            log.append(event.clone(), at(i)).expect("append");
        }
        let path = log.finish().expect("finish");
        let parsed = read_log(&path).expect("read");
        prop_assert_eq!(parsed.invitation_id, name);
        let read: Vec<LogEvent> = parsed.entries.into_iter().map(|e| e.event).collect();
        prop_assert_eq!(read, events);
        prop_assert!(verify(&path).expect("verify").is_intact());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_log(&bytes);
        let _ = verify_bytes(&bytes);
    }

    #[test]
    fn damaged_logs_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = sample_log();
        for (index, byte) in edits {
            let i = index.index(bytes.len());
            bytes[i] = byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let _ = parse_log(&bytes);
        if let Ok(v) = verify_bytes(&bytes) {
            prop_assert!(!v.to_string().contains('\n'));
        }
    }
}

/// A finished log with every event, built once.
fn sample_log() -> Vec<u8> {
    static SAMPLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SAMPLE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::read(write_log(dir.path(), true)).expect("read")
        })
        .clone()
}
