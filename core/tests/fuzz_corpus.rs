//! Replays every input of the fuzz corpora (`core/fuzz/corpus/TARGET/`) through the same
//! entry points the fuzzers call, so a crash once found stays fixed.

use std::path::Path;

/// Runs every corpus input of `target`; returns how many were accepted and refused.
fn replay(target: &str, run: fn(&[u8]) -> bool) -> (usize, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let (mut accepted, mut refused) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        match std::panic::catch_unwind(|| run(&data)) {
            Ok(true) => accepted += 1,
            Ok(false) => refused += 1,
            Err(_) => panic!("{} panics", path.display()),
        }
    }
    (accepted, refused)
}

#[test]
fn invitation_xml_corpus() {
    let (accepted, refused) = replay("invitation_xml", lifeline_core::fuzzing::invitation_xml);
    assert!(
        accepted >= 3 && refused >= 10,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn invitation_link_corpus() {
    let (accepted, refused) = replay("invitation_link", lifeline_core::fuzzing::invitation_link);
    assert!(
        accepted >= 3 && refused >= 10,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn proto_decode_corpus() {
    let (accepted, refused) = replay("proto_decode", lifeline_core::fuzzing::proto_decode);
    assert!(
        accepted >= 20 && refused >= 2,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn stun_parse_corpus() {
    let (accepted, refused) = replay("stun_parse", lifeline_core::fuzzing::stun_parse);
    assert!(
        accepted >= 2 && refused >= 2,
        "{accepted} accepted, {refused} refused"
    );
}
