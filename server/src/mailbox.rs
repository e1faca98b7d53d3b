//! Rendezvous mailboxes, sans-IO: the helper posts its candidates under the invitation's
//! id; the novice takes them. Nothing here is secret (candidates are addresses), and
//! nothing stays long.
//!
//! Bounds: a mailbox lives [`MailboxConfig::ttl`] after its last post; there are at most
//! [`MailboxConfig::max_mailboxes`], each with at most [`MailboxConfig::max_messages`]
//! messages of at most [`MailboxConfig::max_message_len`] bytes; every address may make
//! [`MailboxConfig::requests_per_second`] requests (bursts of
//! [`MailboxConfig::burst`]), tracking at most [`MailboxConfig::max_tracked_addresses`]
//! addresses. Memory is therefore bounded whatever clients do.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Limits of the mailbox store.
#[derive(Debug, Clone)]
pub struct MailboxConfig {
    /// How long a mailbox lives after its last post.
    pub ttl: Duration,
    /// The most mailboxes at once.
    pub max_mailboxes: usize,
    /// The most messages waiting in one mailbox.
    pub max_messages: usize,
    /// The longest message, in bytes.
    pub max_message_len: usize,
    /// Sustained requests per second allowed from one address.
    pub requests_per_second: f64,
    /// Requests one address may make at once.
    pub burst: f64,
    /// The most addresses whose rate is tracked.
    pub max_tracked_addresses: usize,
}

impl Default for MailboxConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(120),
            max_mailboxes: 100_000,
            max_messages: 8,
            max_message_len: 2048,
            requests_per_second: 5.0,
            burst: 20.0,
            max_tracked_addresses: 100_000,
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailboxError {
    /// The address made too many requests.
    #[error("too many requests from this address; wait a moment and try again")]
    RateLimited,
    /// The server holds as many mailboxes as it may.
    #[error("the server is full; try again later or use another server")]
    Full,
    /// The mailbox holds as many messages as it may.
    #[error("this invitation's mailbox is full; the other side is not collecting")]
    MailboxFull,
    /// The message is longer than allowed.
    #[error("the message is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

struct Mailbox {
    messages: Vec<Vec<u8>>,
    expires: Instant,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The mailboxes of one server, keyed by `K` (an invitation id, or an invitation id and the
/// side a message is for).
pub struct Mailboxes<K = [u8; 16]> {
    config: MailboxConfig,
    boxes: HashMap<K, Mailbox>,
    buckets: HashMap<IpAddr, Bucket>,
}

impl<K: Hash + Eq> Mailboxes<K> {
    /// An empty store.
    pub fn new(config: MailboxConfig) -> Self {
        Self {
            config,
            boxes: HashMap::new(),
            buckets: HashMap::new(),
        }
    }

    /// Posts `message` into mailbox `id` for `from`, at `now`.
    pub fn post(
        &mut self,
        from: IpAddr,
        id: K,
        message: Vec<u8>,
        now: Instant,
    ) -> Result<(), MailboxError> {
        self.admit(from, now)?;
        if message.len() > self.config.max_message_len {
            return Err(MailboxError::TooLarge {
                len: message.len(),
                max: self.config.max_message_len,
            });
        }
        self.expire(now);
        if !self.boxes.contains_key(&id) && self.boxes.len() >= self.config.max_mailboxes {
            return Err(MailboxError::Full);
        }
        let ttl = self.config.ttl;
        let mailbox = self.boxes.entry(id).or_insert_with(|| Mailbox {
            messages: Vec::new(),
            expires: now + ttl,
        });
        if mailbox.messages.len() >= self.config.max_messages {
            return Err(MailboxError::MailboxFull);
        }
        mailbox.messages.push(message);
        mailbox.expires = now + ttl;
        Ok(())
    }

    /// Takes every message waiting in mailbox `id` (none if there is no such mailbox).
    pub fn take(
        &mut self,
        from: IpAddr,
        id: K,
        now: Instant,
    ) -> Result<Vec<Vec<u8>>, MailboxError> {
        self.admit(from, now)?;
        self.expire(now);
        Ok(self
            .boxes
            .get_mut(&id)
            .map(|mailbox| std::mem::take(&mut mailbox.messages))
            .unwrap_or_default())
    }

    /// Drops mailboxes whose time is up.
    pub fn expire(&mut self, now: Instant) {
        self.boxes.retain(|_, mailbox| mailbox.expires > now);
    }

    /// How many mailboxes exist.
    pub fn len(&self) -> usize {
        self.boxes.len()
    }

    /// How many addresses' request rates are being tracked.
    pub fn tracked_addresses(&self) -> usize {
        self.buckets.len()
    }

    /// Whether there are no mailboxes.
    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }

    /// The store's limits.
    pub fn config(&self) -> &MailboxConfig {
        &self.config
    }

    /// Charges one request to `from`'s token bucket.
    pub fn admit(&mut self, from: IpAddr, now: Instant) -> Result<(), MailboxError> {
        let (rate, burst) = (self.config.requests_per_second, self.config.burst);
        if !self.buckets.contains_key(&from)
            && self.buckets.len() >= self.config.max_tracked_addresses
        {
            // Forget the buckets that have refilled: they carry no information.
            self.buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * rate < burst
            });
            if self.buckets.len() >= self.config.max_tracked_addresses {
                return Err(MailboxError::RateLimited);
            }
        }
        let bucket = self.buckets.entry(from).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens < 1.0 {
            return Err(MailboxError::RateLimited);
        }
        bucket.tokens -= 1.0;
        Ok(())
    }
}
