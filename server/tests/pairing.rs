//! Relay pairing and bandwidth caps, sans-IO: who is paired with whom, replacement,
//! leaving, the session bound, and the byte rate.

use std::time::{Duration, Instant};

use lifeline_core::Role;
use lifeline_server::relay::{ByteRate, Joined, Pairing, PairingError, RelayToken};

const A: RelayToken = RelayToken([1; 32]);
const B: RelayToken = RelayToken([2; 32]);

#[test]
fn peers_of_the_other_role_with_the_same_token_are_paired() {
    let mut pairing = Pairing::new(10);
    assert_eq!(
        pairing.join(A, Role::Novice, 1),
        Ok(Joined::Wait { replaced: None })
    );
    assert_eq!(
        pairing.join(B, Role::Helper, 2),
        Ok(Joined::Wait { replaced: None })
    );
    assert_eq!(
        pairing.join(A, Role::Helper, 3),
        Ok(Joined::Paired { with: 1 })
    );
    assert_eq!((pairing.active(), pairing.waiting()), (1, 1));
    pairing.end();
    assert_eq!((pairing.active(), pairing.waiting()), (0, 1));
}

#[test]
fn a_second_peer_of_the_same_role_replaces_the_first() {
    let mut pairing = Pairing::new(10);
    pairing.join(A, Role::Novice, 1).unwrap();
    assert_eq!(
        pairing.join(A, Role::Novice, 2),
        Ok(Joined::Wait { replaced: Some(1) })
    );
    // The replaced connection leaving does not remove its successor.
    pairing.leave(A, 1);
    assert_eq!(
        pairing.join(A, Role::Helper, 3),
        Ok(Joined::Paired { with: 2 })
    );
}

#[test]
fn sessions_and_waiting_peers_are_bounded() {
    let mut pairing = Pairing::new(2);
    pairing.join(A, Role::Novice, 1).unwrap();
    pairing.join(A, Role::Helper, 2).unwrap();
    pairing.join(B, Role::Novice, 3).unwrap();
    assert_eq!(
        pairing.join(RelayToken([3; 32]), Role::Novice, 4),
        Err(PairingError::Full)
    );
    // Completing a waiting pair is always possible.
    assert_eq!(
        pairing.join(B, Role::Helper, 5),
        Ok(Joined::Paired { with: 3 })
    );
    pairing.leave(B, 3);
    assert_eq!(pairing.active(), 2);
}

#[test]
fn the_byte_rate_passes_its_rate_and_drops_the_rest() {
    let start = Instant::now();
    let mut rate = ByteRate::new(125_000, start); // 1 Mbit/s; bursts of 64 KiB
    let mut passed = 0;
    for i in 0..10_000u64 {
        // 10,000 datagrams of 1200 bytes over 10 s: 9.6 Mbit/s offered.
        if rate.allow(1200, start + Duration::from_millis(i)) {
            passed += 1200;
        }
    }
    let expected = 125_000 * 10 + 65_536;
    assert!(
        (expected - 2400..=expected).contains(&passed),
        "{passed} bytes passed"
    );
}

#[test]
fn tokens_are_64_lowercase_hex_digits() {
    let text = "ab".repeat(32);
    assert_eq!(text.parse::<RelayToken>(), Ok(RelayToken([0xab; 32])));
    assert!("AB".repeat(32).parse::<RelayToken>().is_err());
    assert!("ab".repeat(31).parse::<RelayToken>().is_err());
    assert!("é".repeat(32).parse::<RelayToken>().is_err());
}
