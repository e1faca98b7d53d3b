//! Relay, sans-IO: pairing two peers that name the same token, and each session's
//! bandwidth cap. The relay forwards opaque datagrams (QUIC packets, end-to-end encrypted)
//! and never reads them.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use lifeline_core::Role;

use crate::rendezvous::ConnId;

/// What both peers of a relay session name to be paired: 32 bytes, written as 64
/// lowercase hex digits in the URL. Clients derive it from the invitation id
/// (`lifeline_core::net::relay::RelayToken::for_invitation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RelayToken(pub [u8; 32]);

impl fmt::Display for RelayToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0[..4] {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("…")
    }
}

/// A token that is not 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a relay token is 64 lowercase hex digits")]
pub struct BadToken;

impl FromStr for RelayToken {
    type Err = BadToken;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.as_bytes();
        if digits.len() != 64 {
            return Err(BadToken);
        }
        let nibble = |d: u8| match d {
            b'0'..=b'9' => Ok(d - b'0'),
            b'a'..=b'f' => Ok(d - b'a' + 10),
            _ => Err(BadToken),
        };
        let mut token = [0; 32];
        for (byte, pair) in token.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
        }
        Ok(Self(token))
    }
}

/// Why a peer cannot join.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    /// The server relays as many sessions as it may.
    #[error("the relay is full; try again later or use another server")]
    Full,
}

/// What joining gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// Wait for the other peer. `replaced` is an older waiting connection of the same side,
    /// which this one replaces: close it.
    Wait {
        /// The connection to close, if any.
        replaced: Option<ConnId>,
    },
    /// The other peer was waiting on this connection: relay between the two.
    Paired {
        /// The waiting peer's connection.
        with: ConnId,
    },
}

/// Peers waiting for their partner, and the count of running sessions.
pub struct Pairing {
    max_sessions: usize,
    waiting: HashMap<RelayToken, (Role, ConnId)>,
    active: usize,
}

impl Pairing {
    /// No sessions yet; at most `max_sessions` at once (a waiting peer counts as one).
    pub fn new(max_sessions: usize) -> Self {
        Self {
            max_sessions,
            waiting: HashMap::new(),
            active: 0,
        }
    }

    /// Connection `conn` of `role` names `token`.
    pub fn join(
        &mut self,
        token: RelayToken,
        role: Role,
        conn: ConnId,
    ) -> Result<Joined, PairingError> {
        match self.waiting.get(&token) {
            Some(&(waiting_role, with)) if waiting_role == role.peer() => {
                self.waiting.remove(&token);
                self.active += 1;
                Ok(Joined::Paired { with })
            }
            Some(&(_, old)) => {
                self.waiting.insert(token, (role, conn));
                Ok(Joined::Wait {
                    replaced: Some(old),
                })
            }
            None if self.waiting.len() + self.active >= self.max_sessions => {
                Err(PairingError::Full)
            }
            None => {
                self.waiting.insert(token, (role, conn));
                Ok(Joined::Wait { replaced: None })
            }
        }
    }

    /// Waiting connection `conn` gave up before its peer came.
    pub fn leave(&mut self, token: RelayToken, conn: ConnId) {
        if self.waiting.get(&token).map(|&(_, c)| c) == Some(conn) {
            self.waiting.remove(&token);
        }
    }

    /// A paired session ended.
    pub fn end(&mut self) {
        self.active = self.active.saturating_sub(1);
    }

    /// How many sessions are being relayed.
    pub fn active(&self) -> usize {
        self.active
    }

    /// How many peers wait for their partner.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

/// A token bucket of bytes: one direction of one session.
#[derive(Debug, Clone)]
pub struct ByteRate {
    rate: f64,
    burst: f64,
    tokens: f64,
    updated: Instant,
}

impl ByteRate {
    /// `bytes_per_second` sustained, with bursts of a quarter second (at least 64 KiB).
    pub fn new(bytes_per_second: u64, now: Instant) -> Self {
        let rate = bytes_per_second as f64;
        let burst = (rate / 4.0).max(65_536.0);
        Self {
            rate,
            burst,
            tokens: burst,
            updated: now,
        }
    }

    /// Whether a datagram of `len` bytes may pass at `now` (and charges it if so).
    pub fn allow(&mut self, len: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.updated = now;
        let len = len as f64;
        if self.tokens < len {
            return false;
        }
        self.tokens -= len;
        true
    }
}
