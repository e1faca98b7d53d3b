//! Rendezvous mailboxes: delivery, expiry, and every bound.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lifeline_server::mailbox::{MailboxConfig, MailboxError, Mailboxes};

const HELPER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));
const NOVICE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 1));

#[test]
fn the_novice_takes_what_the_helper_posted_once() {
    let now = Instant::now();
    let mut boxes = Mailboxes::new(MailboxConfig::default());
    boxes
        .post(HELPER, [1; 16], b"candidates".to_vec(), now)
        .unwrap();
    assert_eq!(
        boxes.take(NOVICE, [2; 16], now).unwrap(),
        Vec::<Vec<u8>>::new()
    );
    assert_eq!(
        boxes.take(NOVICE, [1; 16], now).unwrap(),
        vec![b"candidates".to_vec()]
    );
    assert!(boxes.take(NOVICE, [1; 16], now).unwrap().is_empty());
}

#[test]
fn mailboxes_expire() {
    let now = Instant::now();
    let config = MailboxConfig::default();
    let ttl = config.ttl;
    let mut boxes = Mailboxes::new(config);
    boxes.post(HELPER, [1; 16], b"x".to_vec(), now).unwrap();
    boxes.expire(now + ttl - Duration::from_secs(1));
    assert_eq!(boxes.len(), 1);
    assert!(boxes.take(NOVICE, [1; 16], now + ttl).unwrap().is_empty());
    assert!(boxes.is_empty());
}

#[test]
fn memory_is_bounded() {
    let now = Instant::now();
    let config = MailboxConfig {
        max_mailboxes: 3,
        max_messages: 2,
        max_message_len: 10,
        burst: 1000.0,
        ..MailboxConfig::default()
    };
    let mut boxes = Mailboxes::new(config);
    assert_eq!(
        boxes.post(HELPER, [0; 16], vec![0; 11], now),
        Err(MailboxError::TooLarge { len: 11, max: 10 })
    );
    for id in 0..3 {
        boxes.post(HELPER, [id; 16], vec![0; 10], now).unwrap();
    }
    assert_eq!(
        boxes.post(HELPER, [9; 16], vec![0], now),
        Err(MailboxError::Full)
    );
    boxes.post(HELPER, [0; 16], vec![1], now).unwrap();
    assert_eq!(
        boxes.post(HELPER, [0; 16], vec![2], now),
        Err(MailboxError::MailboxFull)
    );
}

#[test]
fn each_address_is_rate_limited_and_refills() {
    let now = Instant::now();
    let config = MailboxConfig {
        requests_per_second: 2.0,
        burst: 4.0,
        ..MailboxConfig::default()
    };
    let mut boxes = Mailboxes::new(config);
    for _ in 0..4 {
        boxes.take(HELPER, [0; 16], now).unwrap();
    }
    assert_eq!(
        boxes.take(HELPER, [0; 16], now),
        Err(MailboxError::RateLimited)
    );
    // Another address is not affected.
    boxes.take(NOVICE, [0; 16], now).unwrap();
    // Half a second later one more request is allowed.
    let later = now + Duration::from_millis(500);
    boxes.take(HELPER, [0; 16], later).unwrap();
    assert_eq!(
        boxes.take(HELPER, [0; 16], later),
        Err(MailboxError::RateLimited)
    );
}

#[test]
fn tracked_addresses_are_bounded() {
    let now = Instant::now();
    let config = MailboxConfig {
        max_tracked_addresses: 100,
        requests_per_second: 1.0,
        burst: 1.0,
        ..MailboxConfig::default()
    };
    let mut boxes = Mailboxes::new(config);
    // Many addresses over time: the ones whose buckets have refilled are forgotten.
    for i in 0..1000u32 {
        let from = IpAddr::from(i.to_be_bytes());
        boxes
            .take(from, [0; 16], now + Duration::from_secs(u64::from(i)))
            .unwrap();
        assert!(boxes.tracked_addresses() <= 100);
    }
    // 100 addresses active at the same moment fill the table: a new one is refused
    // rather than letting memory grow.
    let burst_at = now + Duration::from_secs(5000);
    for i in 0..100u32 {
        let from = IpAddr::from((i + 10_000).to_be_bytes());
        boxes.take(from, [0; 16], burst_at).unwrap();
    }
    assert_eq!(boxes.tracked_addresses(), 100);
    assert_eq!(
        boxes.take(IpAddr::from(99_999u32.to_be_bytes()), [0; 16], burst_at),
        Err(MailboxError::RateLimited)
    );
}
