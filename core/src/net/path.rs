//! Paths to one peer and hole punching, without sockets or clocks.
//!
//! A [`PathSet`] knows the peer's candidate addresses and whether a relay reaches it. It
//! sends connectivity checks (STUN binding requests authenticated with a [`CheckKey`] both
//! sides derive from the invitation) to every candidate, which opens the NATs on the way
//! (hole punching), answers the peer's checks, and picks the [`Route`] QUIC packets take:
//! the first direct path that answers, the relay while none does, and a direct one again
//! as soon as punching succeeds. Checks on the chosen path double as keepalives (every
//! [`KEEPALIVE`], under the 25-second UDP timeout of common NATs); a path that stops
//! answering is dropped. A check from an address the peer never announced (it moved to
//! another network, or its NAT gave a new port) adds that address as a candidate.
//!
//! The driver feeds it with [`PathSet::handle_stun`] and [`PathSet::handle_timeout`] and
//! sends what [`PathSet::poll_transmit`] gives; [`PathSet::poll_event`] reports each change
//! of path.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::stun::{self, StunMessage, TransactionId};
use crate::ticket::{CandidateKind, Fingerprint, InvitationId};

/// How often an unanswered candidate is checked while punching.
pub const PUNCH_INTERVAL: Duration = Duration::from_millis(200);
/// How long punching goes on at [`PUNCH_INTERVAL`] after it starts or the peer shows up
/// somewhere new; then unanswered candidates are retried every [`RETRY_INTERVAL`].
pub const PUNCH_PHASE: Duration = Duration::from_secs(10);
/// How often an unanswered candidate is retried after the punching phase (so a relayed
/// session still moves to a direct path when one opens later).
pub const RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// How often a working path is checked: the keepalive (well under the 25-second UDP
/// timeout of common NATs), which also finds a peer that moved within a few seconds.
pub const KEEPALIVE: Duration = Duration::from_secs(5);
/// How long a check waits for its answer.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// Unanswered checks in a row after which a working path counts as lost.
pub const MAX_MISSES: u32 = 3;
/// How long the peer may stay silent on the direct path while we send QUIC to it before
/// that path is checked at once (instead of waiting for the keepalive).
pub const SILENCE: Duration = Duration::from_secs(1);
/// The most addresses kept for one peer; more are ignored.
pub const MAX_REMOTES: usize = 32;

/// The key that authenticates connectivity checks: both sides derive it from the
/// invitation, so a stranger cannot redirect a session to an address of its choice.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CheckKey(pub [u8; 32]);

impl CheckKey {
    /// The key for the invitation `id` whose novice has the certificate `fingerprint`.
    pub fn derive(id: &InvitationId, fingerprint: &Fingerprint) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"lifeline connectivity check v1");
        hash.update(id.0);
        hash.update(fingerprint.0);
        Self(hash.finalize().into())
    }
}

impl fmt::Debug for CheckKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckKey(…)")
    }
}

/// What kind of path carries the packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// Straight to one of the peer's addresses (host, reflexive, or learned from a check).
    Direct,
    /// Straight to a port mapping the peer's router made for it (UPnP, NAT-PMP, PCP).
    Mapped,
    /// Through the relay server.
    Relay,
}

impl PathKind {
    /// The name used in script mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Mapped => "mapped",
            Self::Relay => "relay",
        }
    }
}

impl fmt::Display for PathKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The path QUIC packets to the peer take now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Straight to this address.
    Direct(SocketAddr),
    /// Through the relay.
    Relay,
    /// No path is known to work yet: send to every candidate (as Windows Remote
    /// Assistance raced its addresses).
    Spray(Vec<SocketAddr>),
}

/// A change of path, for the user interface and script mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathEvent {
    /// The kind of the new path.
    pub kind: PathKind,
    /// Our socket's address.
    pub local: SocketAddr,
    /// The peer's address on this path (the relay's for a relayed path).
    pub remote: SocketAddr,
    /// The round-trip time of the last check (zero when not measured, as for the relay).
    pub rtt: Duration,
}

/// One of the peer's addresses and what the checks found there.
#[derive(Debug)]
struct Remote {
    addr: SocketAddr,
    kind: PathKind,
    next_check: Instant,
    last_answer: Option<Instant>,
    rtt: Duration,
    misses: u32,
}

impl Remote {
    fn works(&self) -> bool {
        self.last_answer.is_some() && self.misses < MAX_MISSES
    }
}

/// The paths to one peer: candidates, checks, the chosen route. See the module
/// documentation.
#[derive(Debug)]
pub struct PathSet {
    key: CheckKey,
    local: SocketAddr,
    relay: Option<SocketAddr>,
    remotes: Vec<Remote>,
    /// The index in `remotes` of the direct path in use.
    best: Option<usize>,
    /// What the last event reported, so each change is reported once.
    reported: Option<(PathKind, SocketAddr)>,
    punch_until: Instant,
    /// When the peer's last QUIC packet came straight to us.
    last_received: Option<Instant>,
    pending: HashMap<TransactionId, (SocketAddr, Instant)>,
    transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<PathEvent>,
}

impl PathSet {
    /// Paths from our socket at `local`, authenticated with `key`; no candidate yet.
    pub fn new(key: CheckKey, local: SocketAddr, now: Instant) -> Self {
        Self {
            key,
            local,
            relay: None,
            remotes: Vec::new(),
            best: None,
            reported: None,
            punch_until: now + PUNCH_PHASE,
            last_received: None,
            pending: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Adds a candidate address of the peer (ignored if known) and checks it at once.
    pub fn add_candidate(&mut self, addr: SocketAddr, kind: CandidateKind, now: Instant) {
        if self.remotes.len() >= MAX_REMOTES || self.remotes.iter().any(|r| r.addr == addr) {
            return;
        }
        let kind = match kind {
            CandidateKind::Mapped => PathKind::Mapped,
            CandidateKind::Host | CandidateKind::Reflexive => PathKind::Direct,
        };
        self.remotes.push(Remote {
            addr,
            kind,
            next_check: now,
            last_answer: None,
            rtt: Duration::ZERO,
            misses: 0,
        });
        self.punch_until = self.punch_until.max(now + PUNCH_PHASE);
    }

    /// Tells whether a relay reaches the peer (`None` when it is gone); `remote` is the
    /// relay's address, for reports.
    pub fn set_relay(&mut self, remote: Option<SocketAddr>) {
        self.relay = remote;
        self.report();
    }

    /// Whether `addr` is one of the peer's known addresses.
    pub fn knows(&self, addr: SocketAddr) -> bool {
        self.remotes.iter().any(|r| r.addr == addr)
    }

    /// Where QUIC packets to the peer go now.
    pub fn route(&self) -> Route {
        if let Some(best) = self.best.and_then(|i| self.remotes.get(i)) {
            return Route::Direct(best.addr);
        }
        if self.relay.is_some() {
            return Route::Relay;
        }
        Route::Spray(self.remotes.iter().map(|r| r.addr).collect())
    }

    /// Handles a STUN packet that came from `from`. Returns false if it is not an
    /// authentic check or answer of this peer (the caller may then try another owner).
    pub fn handle_stun(&mut self, from: SocketAddr, packet: &[u8], now: Instant) -> bool {
        if !stun::is_authentic(packet, &self.key.0) {
            return false;
        }
        match stun::parse(packet) {
            Ok(StunMessage::BindingRequest { transaction }) => {
                let answer = stun::authenticated_success(transaction, from, &self.key.0);
                self.transmits.push_back((from, answer));
                if !self.knows(from) {
                    tracing::debug!(%from, "the peer checks from a new address");
                    self.add_candidate(from, CandidateKind::Reflexive, now);
                    // The peer may have moved: look again at every path now.
                    for remote in &mut self.remotes {
                        remote.next_check = now;
                    }
                }
                true
            }
            Ok(StunMessage::BindingSuccess { transaction, .. }) => {
                let Some((to, sent)) = self.pending.remove(&transaction) else {
                    return true;
                };
                // An answer must come from where the check went.
                if to != from {
                    return true;
                }
                if let Some(remote) = self.remotes.iter_mut().find(|r| r.addr == from) {
                    remote.last_answer = Some(now);
                    remote.rtt = now.saturating_duration_since(sent);
                    remote.misses = 0;
                    remote.next_check = now + KEEPALIVE;
                }
                self.choose();
                true
            }
            Ok(StunMessage::Other { .. }) | Err(_) => true,
        }
    }

    /// Notes a QUIC packet from the peer that came straight to us (not by the relay).
    pub fn quic_received(&mut self, now: Instant) {
        self.last_received = Some(now);
    }

    /// Whether the peer has sent nothing straight to us for [`SILENCE`].
    pub fn silent(&self, now: Instant) -> bool {
        self.last_received
            .is_none_or(|at| now.saturating_duration_since(at) >= SILENCE)
    }

    /// Notes a QUIC packet sent on the direct path. If the peer has been silent for
    /// [`SILENCE`], the path is checked now, so a path that broke is left within a few
    /// seconds while there is traffic. Returns whether a check became due.
    pub fn quic_sent(&mut self, now: Instant) -> bool {
        let silent = self.silent(now);
        let Some(best) = self.best.and_then(|i| self.remotes.get_mut(i)) else {
            return false;
        };
        let checking = self.pending.values().any(|(to, _)| *to == best.addr);
        if !silent || checking || best.next_check <= now {
            return false;
        }
        best.next_check = now;
        true
    }

    /// Sends the checks that are due and counts the ones that went unanswered.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut lost = false;
        self.pending.retain(|_, (to, sent)| {
            if now.saturating_duration_since(*sent) < CHECK_TIMEOUT {
                return true;
            }
            if let Some(remote) = self.remotes.iter_mut().find(|r| r.addr == *to) {
                remote.misses += 1;
                if remote.last_answer.is_some() {
                    // A working path missed a check: look again at once.
                    remote.next_check = remote.next_check.min(now);
                    lost = true;
                }
            }
            false
        });
        if lost {
            self.choose();
        }
        let punching = now < self.punch_until;
        for remote in &mut self.remotes {
            if remote.next_check > now {
                continue;
            }
            let transaction = TransactionId::random();
            self.pending.insert(transaction, (remote.addr, now));
            self.transmits.push_back((
                remote.addr,
                stun::authenticated_request(transaction, &self.key.0),
            ));
            remote.next_check = now
                + match (remote.works(), remote.misses, punching) {
                    (true, 0, _) => KEEPALIVE,
                    // Failing: look again soon, to drop it quickly if it is gone.
                    (true, _, _) => CHECK_TIMEOUT,
                    (false, _, true) => PUNCH_INTERVAL,
                    (false, _, false) => RETRY_INTERVAL,
                };
        }
    }

    /// When [`PathSet::handle_timeout`] should run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let checks = self.remotes.iter().map(|r| r.next_check);
        let answers = self.pending.values().map(|(_, sent)| *sent + CHECK_TIMEOUT);
        checks.chain(answers).min()
    }

    /// The next datagram to send: (to, bytes).
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.transmits.pop_front()
    }

    /// The next change of path.
    pub fn poll_event(&mut self) -> Option<PathEvent> {
        self.events.pop_front()
    }

    /// Keeps the path in use while it works; otherwise takes the working one with the
    /// shortest round trip, direct before mapped.
    fn choose(&mut self) {
        let current_works = self
            .best
            .and_then(|i| self.remotes.get(i))
            .is_some_and(|r| r.works() && r.misses == 0);
        if !current_works {
            let candidate = self
                .remotes
                .iter()
                .enumerate()
                .filter(|(_, r)| r.works() && r.misses == 0)
                .min_by_key(|(_, r)| (r.kind == PathKind::Mapped, r.rtt))
                .or_else(|| {
                    // A path that misses a check or two is still better than nothing.
                    self.remotes.iter().enumerate().find(|(_, r)| r.works())
                })
                .map(|(i, _)| i);
            if candidate.is_some() || self.relay.is_some() {
                self.best = candidate;
            }
        }
        self.report();
    }

    /// Queues an event if the path differs from the last one reported.
    fn report(&mut self) {
        let event = match self.best.and_then(|i| self.remotes.get(i)) {
            Some(remote) => PathEvent {
                kind: remote.kind,
                local: self.local,
                remote: remote.addr,
                rtt: remote.rtt,
            },
            None => match self.relay {
                Some(relay) => PathEvent {
                    kind: PathKind::Relay,
                    local: self.local,
                    remote: relay,
                    rtt: Duration::ZERO,
                },
                None => return,
            },
        };
        if self.reported != Some((event.kind, event.remote)) {
            self.reported = Some((event.kind, event.remote));
            tracing::info!(kind = %event.kind, remote = %event.remote, rtt = ?event.rtt, "path");
            self.events.push_back(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CheckKey {
        CheckKey([7; 32])
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Delivers every queued datagram from `a` (at `a_addr`) to `b`, and back, until quiet.
    fn exchange(
        a: &mut PathSet,
        a_addr: SocketAddr,
        b: &mut PathSet,
        b_addr: SocketAddr,
        now: Instant,
    ) {
        loop {
            let mut moved = false;
            while let Some((to, packet)) = a.poll_transmit() {
                if to == b_addr {
                    b.handle_stun(a_addr, &packet, now);
                    moved = true;
                }
            }
            while let Some((to, packet)) = b.poll_transmit() {
                if to == a_addr {
                    a.handle_stun(b_addr, &packet, now);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
    }

    #[test]
    fn checks_find_the_path_that_answers() {
        let now = Instant::now();
        let (a_addr, b_addr) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
        let mut a = PathSet::new(key(), a_addr, now);
        let mut b = PathSet::new(key(), b_addr, now);
        a.add_candidate(addr("192.0.2.9:9"), CandidateKind::Host, now);
        a.add_candidate(b_addr, CandidateKind::Reflexive, now);
        assert!(matches!(a.route(), Route::Spray(ref all) if all.len() == 2));
        a.handle_timeout(now);
        exchange(&mut a, a_addr, &mut b, b_addr, now);
        assert_eq!(a.route(), Route::Direct(b_addr));
        let event = a.poll_event().unwrap();
        assert_eq!((event.kind, event.remote), (PathKind::Direct, b_addr));
        // b learned a's address from its check, and checks it back.
        assert!(b.knows(a_addr));
        b.handle_timeout(now);
        exchange(&mut a, a_addr, &mut b, b_addr, now);
        assert_eq!(b.route(), Route::Direct(a_addr));
    }

    #[test]
    fn relay_first_then_direct_then_relay_when_direct_is_lost() {
        let now = Instant::now();
        let relay = addr("198.51.100.1:443");
        let (a_addr, b_addr) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
        let mut a = PathSet::new(key(), a_addr, now);
        let mut b = PathSet::new(key(), b_addr, now);
        a.set_relay(Some(relay));
        assert_eq!(a.route(), Route::Relay);
        assert_eq!(a.poll_event().unwrap().kind, PathKind::Relay);
        a.add_candidate(b_addr, CandidateKind::Mapped, now);
        a.handle_timeout(now);
        exchange(&mut a, a_addr, &mut b, b_addr, now);
        assert_eq!(a.route(), Route::Direct(b_addr));
        assert_eq!(a.poll_event().unwrap().kind, PathKind::Mapped);
        // b goes silent: keepalives go unanswered until the path is dropped.
        let mut t = now;
        for _ in 0..40 {
            t += Duration::from_millis(500);
            a.handle_timeout(t);
            while a.poll_transmit().is_some() {}
        }
        assert_eq!(a.route(), Route::Relay);
        assert_eq!(a.poll_event().unwrap().kind, PathKind::Relay);
    }

    #[test]
    fn a_silent_peer_gets_checked_at_once_while_we_send() {
        let now = Instant::now();
        let (a_addr, b_addr) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
        let mut a = PathSet::new(key(), a_addr, now);
        let mut b = PathSet::new(key(), b_addr, now);
        a.add_candidate(b_addr, CandidateKind::Host, now);
        a.handle_timeout(now);
        exchange(&mut a, a_addr, &mut b, b_addr, now);
        a.quic_received(now);
        let soon = now + Duration::from_millis(100);
        assert!(!a.quic_sent(soon), "the peer spoke just now");
        let later = now + SILENCE;
        assert!(a.quic_sent(later));
        assert_eq!(a.poll_timeout(), Some(later));
        a.handle_timeout(later);
        assert!(a.poll_transmit().is_some());
        assert!(!a.quic_sent(later), "one check at a time");
    }

    #[test]
    fn forged_and_garbage_packets_are_not_ours() {
        let now = Instant::now();
        let mut a = PathSet::new(key(), addr("10.0.0.1:1"), now);
        let other = CheckKey([8; 32]);
        let forged = stun::authenticated_request(TransactionId::random(), &other.0);
        assert!(!a.handle_stun(addr("10.0.0.3:3"), &forged, now));
        assert!(!a.handle_stun(addr("10.0.0.3:3"), &[0, 1, 2], now));
        let plain = stun::binding_request(TransactionId::random());
        assert!(!a.handle_stun(addr("10.0.0.3:3"), &plain, now));
        assert!(a.poll_transmit().is_none());
        assert!(!a.knows(addr("10.0.0.3:3")));
    }

    #[test]
    fn the_same_invitation_gives_the_same_key() {
        let id = InvitationId([1; 16]);
        let fp = Fingerprint([2; 32]);
        assert_eq!(CheckKey::derive(&id, &fp), CheckKey::derive(&id, &fp));
        assert_ne!(
            CheckKey::derive(&id, &fp),
            CheckKey::derive(&InvitationId([3; 16]), &fp)
        );
    }
}
