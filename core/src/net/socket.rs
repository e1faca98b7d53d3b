//! One UDP socket for QUIC and STUN: a [`quinn::AsyncUdpSocket`] that keeps STUN (address
//! discovery, connectivity checks, keepalives) on the same port as QUIC and gives quinn a
//! fixed address per peer while the path underneath changes.
//!
//! Incoming datagrams whose first byte is 0–3 are STUN (RFC 9443 §3): answers to our
//! discovery requests, or checks and answers of a peer's [`PathSet`]; they never reach
//! quinn. Everything else is QUIC. A peer added with [`PathSocket::add_peer`] gets a
//! virtual address (in `240.0.0.0/4` or `fd6c:6966:656c:696e::/64`, which no real host
//! has): quinn connects to it, and the socket sends each packet on the peer's current
//! [`Route`] (direct, relayed or, while nothing is known, to every candidate) and reports
//! the peer's packets from any of its paths as coming from the virtual address. Addresses
//! of no peer pass through unchanged, so a plain QUIC client or server works as before.
//!
//! quinn's own [`quinn::udp::UdpSocketState`] does the I/O, so GSO and GRO still work.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use quinn::udp::{RecvMeta, Transmit, UdpSocketState};
use quinn::{AsyncUdpSocket, UdpPoller};
use tokio::io::Interest;
use tokio::sync::{Notify, mpsc, oneshot};

use super::NetError;
use super::path::{CheckKey, PathEvent, PathKind, PathSet, Route};
use super::relay_path::RelayPath;
use super::stun::{self, StunMessage, TransactionId};
use crate::ticket::Candidate;

/// The first STUN retransmission comes after this; each next one after twice as long.
const STUN_FIRST_RETRY: Duration = Duration::from_millis(250);

/// A UDP socket shared by QUIC and STUN. See the module documentation.
#[derive(Debug)]
pub struct PathSocket {
    io: tokio::net::UdpSocket,
    state: UdpSocketState,
    local: SocketAddr,
    shared: Mutex<Shared>,
    wake: Arc<Notify>,
    /// Whether `poll_recv` looks at the relays before the UDP socket this time.
    relay_turn: AtomicBool,
}

#[derive(Debug, Default)]
struct Shared {
    /// Our own address-discovery requests, by transaction.
    discovery: HashMap<TransactionId, oneshot::Sender<SocketAddr>>,
    peers: Vec<Peer>,
    subscribers: Vec<mpsc::UnboundedSender<PathEvent>>,
    /// Keys whose checks are answered even from peers not added yet.
    responders: Vec<CheckKey>,
    /// Answers to such checks, waiting for the driver.
    outbox: Vec<(SocketAddr, Vec<u8>)>,
    /// Sources of QUIC packets that quinn saw as they are, because no peer knew them.
    passed: VecDeque<SocketAddr>,
    /// The task in `poll_recv`, woken when a relay is plugged in.
    receiver: Option<Waker>,
}

#[derive(Debug)]
struct Peer {
    virtual_addr: SocketAddr,
    paths: PathSet,
    relay: Option<RelayPath>,
    /// Where the peer's last QUIC packet came from.
    heard: Option<SocketAddr>,
    /// The last QUIC datagrams sent while no path was known, or while the peer was silent
    /// on the direct one: most were lost (in NATs that punching had not opened yet, or on
    /// a path that broke), so they go again on the next path, and QUIC need not wait for
    /// its backed-off retransmission.
    unsent: VecDeque<Vec<u8>>,
    /// Whether direct packets from the peer are always reported as from its virtual
    /// address (see [`PathSocket::add_client_peer`]).
    map_direct: bool,
}

/// How many addresses [`Shared::passed`] keeps.
const PASSED_KEPT: usize = 256;

/// How many datagrams [`Peer::unsent`] keeps.
const UNSENT_KEPT: usize = 16;

impl Peer {
    /// Keeps copies of the datagrams of `transmit` in [`Peer::unsent`].
    fn keep_unsent(&mut self, transmit: &Transmit<'_>) {
        let size = transmit
            .segment_size
            .unwrap_or(transmit.contents.len())
            .max(1);
        for datagram in transmit.contents.chunks(size) {
            if self.unsent.len() == UNSENT_KEPT {
                self.unsent.pop_front();
            }
            self.unsent.push_back(datagram.to_vec());
        }
    }
}

impl PathSocket {
    /// Binds a socket on `addr` with 4 MiB buffers where the kernel allows. Must be
    /// called inside a tokio runtime.
    pub fn bind(addr: SocketAddr) -> Result<Arc<Self>, NetError> {
        let socket = udp_socket(addr).map_err(|source| NetError::Bind { addr, source })?;
        Self::from_std(socket)
    }

    /// Wraps a socket that is already bound (for example inside a network namespace).
    /// Must be called inside a tokio runtime.
    pub fn from_std(socket: std::net::UdpSocket) -> Result<Arc<Self>, NetError> {
        let local = socket.local_addr().map_err(NetError::Io)?;
        let bind = |source| NetError::Bind {
            addr: local,
            source,
        };
        socket.set_nonblocking(true).map_err(bind)?;
        let state = UdpSocketState::new((&socket).into()).map_err(bind)?;
        let io = tokio::net::UdpSocket::from_std(socket).map_err(bind)?;
        let wake = Arc::new(Notify::new());
        let this = Arc::new(Self {
            io,
            state,
            local,
            shared: Mutex::new(Shared::default()),
            wake: wake.clone(),
            relay_turn: AtomicBool::new(false),
        });
        tokio::spawn(drive(Arc::downgrade(&this), wake));
        Ok(this)
    }

    /// A quinn endpoint on this socket; a server too when `server` is given. STUN answers
    /// are read by the endpoint's I/O, so keep the endpoint while using the socket.
    pub fn endpoint(
        self: &Arc<Self>,
        server: Option<quinn::ServerConfig>,
    ) -> Result<quinn::Endpoint, NetError> {
        quinn::Endpoint::new_with_abstract_socket(
            quinn::EndpointConfig::default(),
            server,
            self.clone(),
            Arc::new(quinn::TokioRuntime),
        )
        .map_err(|source| NetError::Bind {
            addr: self.local,
            source,
        })
    }

    /// The socket's own address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Asks the STUN server at `server` which address it sees this socket at (the
    /// server-reflexive address), retransmitting until `timeout`. Needs an endpoint on
    /// this socket (see [`PathSocket::endpoint`]) to read the answer.
    pub async fn discover(
        &self,
        server: SocketAddr,
        timeout: Duration,
    ) -> Result<SocketAddr, NetError> {
        let transaction = TransactionId::random();
        let (tx, mut rx) = oneshot::channel();
        self.lock().discovery.insert(transaction, tx);
        let request = stun::binding_request(transaction);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut wait = STUN_FIRST_RETRY;
        let result = loop {
            if let Err(error) = self.io.send_to(&request, server).await {
                tracing::debug!(%server, %error, "cannot send a STUN request");
            }
            let until = (tokio::time::Instant::now() + wait).min(deadline);
            match tokio::time::timeout_at(until, &mut rx).await {
                Ok(Ok(mapped)) => break Ok(mapped),
                Ok(Err(_)) => break Err(NetError::NoStunAnswer { server }),
                Err(_) if until >= deadline => break Err(NetError::NoStunAnswer { server }),
                Err(_) => wait *= 2,
            }
        };
        self.lock().discovery.remove(&transaction);
        result
    }

    /// Adds a peer we connect to (we are its QUIC client) whose connectivity checks are
    /// authenticated with `key`, starts checking its `candidates`, and returns the virtual
    /// address quinn should connect to: its packets from any of its paths come from there.
    pub fn add_peer(&self, key: CheckKey, candidates: &[Candidate]) -> SocketAddr {
        self.insert_peer(key, candidates, true)
    }

    /// Adds a peer that connects to us (we are its QUIC server), as [`PathSocket::add_peer`]
    /// does, except that a real address quinn already received this peer's packets from
    /// (before the peer was added, or before a check revealed that address) stays as it
    /// is: quinn drops a change of address during a handshake. Later paths and the relay
    /// come from the returned virtual address, and a change between the two is client
    /// migration, which quinn follows.
    pub fn add_client_peer(&self, key: CheckKey, candidates: &[Candidate]) -> SocketAddr {
        self.insert_peer(key, candidates, false)
    }

    fn insert_peer(&self, key: CheckKey, candidates: &[Candidate], map_direct: bool) -> SocketAddr {
        static NEXT: AtomicU16 = AtomicU16::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let ip = match self.local {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(240, 0, (n >> 8) as u8, n as u8)),
            SocketAddr::V6(_) => {
                IpAddr::V6(Ipv6Addr::new(0xfd6c, 0x6966, 0x656c, 0x696e, 0, 0, 0, n))
            }
        };
        let virtual_addr = SocketAddr::new(ip, 1);
        let now = Instant::now();
        let mut paths = PathSet::new(key, self.local, now);
        for candidate in candidates {
            if let Some(addr) = self.usable(candidate.addr) {
                paths.add_candidate(addr, candidate.kind, now);
            }
        }
        self.lock().peers.push(Peer {
            virtual_addr,
            paths,
            relay: None,
            heard: None,
            unsent: VecDeque::new(),
            map_direct,
        });
        self.wake.notify_one();
        virtual_addr
    }

    /// Answers connectivity checks authenticated with `key` from anyone, before their
    /// sender is added as a peer: the novice does this for its invitation, so a helper
    /// that found it without the rendezvous (on a LAN, at a public or mapped address)
    /// still sees its path confirmed.
    pub fn answer_checks(&self, key: CheckKey) {
        let mut shared = self.lock();
        if !shared.responders.contains(&key) {
            shared.responders.push(key);
        }
    }

    /// Adds candidates of the peer at `peer` (its virtual address), for example the
    /// helper's when they arrive through the rendezvous.
    pub fn add_candidates(&self, peer: SocketAddr, candidates: &[Candidate]) {
        let now = Instant::now();
        let mut shared = self.lock();
        if let Some(entry) = shared.peers.iter_mut().find(|p| p.virtual_addr == peer) {
            for candidate in candidates {
                if let Some(addr) = self.usable(candidate.addr) {
                    entry.paths.add_candidate(addr, candidate.kind, now);
                }
            }
        }
        drop(shared);
        self.wake.notify_one();
    }

    /// Plugs a relay in for the peer at `peer` (its virtual address): QUIC packets go
    /// through it while no direct path works.
    pub fn set_relay(&self, peer: SocketAddr, relay: RelayPath) {
        let mut shared = self.lock();
        if let Some(entry) = shared.peers.iter_mut().find(|p| p.virtual_addr == peer) {
            entry.paths.set_relay(Some(relay.remote));
            entry.relay = Some(relay);
        }
        if let Some(waker) = shared.receiver.take() {
            waker.wake();
        }
        drop(shared);
        self.wake.notify_one();
    }

    /// Where packets to the peer at `peer` (its virtual address) go now.
    pub fn route(&self, peer: SocketAddr) -> Option<Route> {
        let shared = self.lock();
        let entry = shared.peers.iter().find(|p| p.virtual_addr == peer)?;
        Some(entry.paths.route())
    }

    /// The real address the peer at `peer` (its virtual address) is reached at now: the
    /// direct path in use, or else where its last packet came from.
    pub fn remote_addr(&self, peer: SocketAddr) -> Option<SocketAddr> {
        let shared = self.lock();
        let entry = shared.peers.iter().find(|p| p.virtual_addr == peer)?;
        match entry.paths.route() {
            Route::Direct(addr) => Some(addr),
            Route::Relay | Route::Spray(_) => entry.heard,
        }
    }

    /// Every change of path from now on, of every peer.
    pub fn path_events(&self) -> mpsc::UnboundedReceiver<PathEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().subscribers.push(tx);
        rx
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `addr` in the socket's address family, or `None` if the socket cannot reach it.
    fn usable(&self, addr: SocketAddr) -> Option<SocketAddr> {
        match (self.local, addr) {
            (SocketAddr::V4(_), SocketAddr::V4(_)) | (SocketAddr::V6(_), SocketAddr::V6(_)) => {
                Some(addr)
            }
            (SocketAddr::V6(_), SocketAddr::V4(v4)) => Some(SocketAddr::new(
                IpAddr::V6(v4.ip().to_ipv6_mapped()),
                v4.port(),
            )),
            (SocketAddr::V4(_), SocketAddr::V6(_)) => None,
        }
    }

    /// Sends `transmit` to `destination` on one of a peer's paths. The kernel picks the
    /// source address: the one quinn saw first may be gone after a change of network.
    fn send_to(&self, transmit: &Transmit<'_>, destination: SocketAddr) -> io::Result<()> {
        let transmit = Transmit {
            destination,
            src_ip: None,
            ..*transmit
        };
        self.send(&transmit)
    }

    fn send(&self, transmit: &Transmit<'_>) -> io::Result<()> {
        self.io.try_io(Interest::WRITABLE, || {
            self.state.send((&self.io).into(), transmit)
        })
    }

    /// Handles one STUN datagram from `from`.
    fn handle_stun(&self, shared: &mut Shared, from: SocketAddr, packet: &[u8]) {
        let now = Instant::now();
        for peer in &mut shared.peers {
            if peer.paths.handle_stun(from, packet, now) {
                self.wake.notify_one();
                return;
            }
        }
        match stun::parse(packet) {
            Ok(StunMessage::BindingSuccess {
                transaction,
                mapped,
            }) => {
                if let Some(waiter) = shared.discovery.remove(&transaction) {
                    let _ = waiter.send(mapped);
                }
            }
            Ok(StunMessage::BindingRequest { transaction }) => {
                let key = shared
                    .responders
                    .iter()
                    .find(|key| stun::is_authentic(packet, &key.0));
                if let Some(key) = key {
                    let answer = stun::authenticated_success(transaction, from, &key.0);
                    shared.outbox.push((from, answer));
                    self.wake.notify_one();
                }
            }
            _ => {}
        }
    }
}

impl AsyncUdpSocket for PathSocket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        Box::pin(Writable {
            socket: self,
            waiting: None,
        })
    }

    fn try_send(&self, transmit: &Transmit<'_>) -> io::Result<()> {
        let mut shared = self.lock();
        let Some(peer) = shared
            .peers
            .iter_mut()
            .find(|p| p.virtual_addr == transmit.destination)
        else {
            drop(shared);
            return match self.send(transmit) {
                // The address quinn answers from left with the network it was on.
                Err(e) if transmit.src_ip.is_some() && e.kind() != io::ErrorKind::WouldBlock => {
                    self.send_to(transmit, transmit.destination)
                }
                other => other,
            };
        };
        match (peer.paths.route(), peer.heard) {
            (Route::Direct(addr), _) => {
                let now = Instant::now();
                if peer.paths.silent(now) {
                    // The path may be broken: keep what goes on it, to resend on the next.
                    peer.keep_unsent(transmit);
                }
                if peer.paths.quic_sent(now) {
                    self.wake.notify_one();
                }
                self.send_to(transmit, addr)
            }
            (Route::Spray(_), Some(addr)) => self.send_to(transmit, addr),
            (Route::Relay, _) => {
                if let Some(relay) = &peer.relay {
                    let size = transmit
                        .segment_size
                        .unwrap_or(transmit.contents.len())
                        .max(1);
                    for datagram in transmit.contents.chunks(size) {
                        // A full relay drops the datagram, as a full network would.
                        let _ = relay.to_peer.try_send(datagram.to_vec());
                    }
                }
                Ok(())
            }
            (Route::Spray(all), None) => {
                peer.keep_unsent(transmit);
                for addr in all {
                    match self.send_to(transmit, addr) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(e),
                        _ => {}
                    }
                }
                Ok(())
            }
        }
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        // Take turns, so a busy relay cannot starve the direct path and its checks, nor
        // the other way round.
        let relay_first = self.relay_turn.fetch_xor(true, Ordering::Relaxed);
        if relay_first {
            if let Some(n) = self.poll_relays(cx, bufs, meta) {
                return Poll::Ready(Ok(n));
            }
        }
        loop {
            match self.io.poll_recv_ready(cx) {
                Poll::Pending => break,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            let Ok(count) = self.io.try_io(Interest::READABLE, || {
                self.state.recv((&self.io).into(), bufs, meta)
            }) else {
                continue;
            };
            let kept = self.demultiplex(bufs, meta, count);
            if kept > 0 {
                return Poll::Ready(Ok(kept));
            }
        }
        if !relay_first {
            if let Some(n) = self.poll_relays(cx, bufs, meta) {
                return Poll::Ready(Ok(n));
            }
        }
        Poll::Pending
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    fn may_fragment(&self) -> bool {
        self.state.may_fragment()
    }

    fn max_transmit_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    fn max_receive_segments(&self) -> usize {
        self.state.gro_segments()
    }
}

impl PathSocket {
    /// One datagram a relay delivered, as from its peer's virtual address; registers for
    /// wake-up otherwise. A relay whose client went away is unplugged.
    fn poll_relays(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Option<usize> {
        let mut shared = self.lock();
        shared.receiver = Some(cx.waker().clone());
        for peer in &mut shared.peers {
            let Some(relay) = &mut peer.relay else {
                continue;
            };
            match relay.from_peer.poll_recv(cx) {
                Poll::Pending => {}
                Poll::Ready(None) => {
                    tracing::info!(remote = %relay.remote, "the relay is gone");
                    peer.relay = None;
                    peer.paths.set_relay(None);
                    self.wake.notify_one();
                }
                Poll::Ready(Some(datagram)) => {
                    let (buf, m) = (bufs.first_mut()?, meta.first_mut()?);
                    let len = datagram.len().min(buf.len());
                    buf[..len].copy_from_slice(&datagram[..len]);
                    *m = RecvMeta {
                        addr: peer.virtual_addr,
                        len,
                        stride: len,
                        ecn: None,
                        dst_ip: None,
                    };
                    return Some(1);
                }
            }
        }
        None
    }

    /// Takes the STUN datagrams out of the `count` received buffers, maps peers' addresses
    /// to their virtual ones, and returns how many buffers are left for quinn (moved to the
    /// front).
    fn demultiplex(
        &self,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
        count: usize,
    ) -> usize {
        let mut shared = self.lock();
        let mut kept = 0;
        for i in 0..count.min(bufs.len()).min(meta.len()) {
            let m = meta[i];
            let stride = m.stride.max(1);
            let len = m.len.min(bufs[i].len());
            let buf = &mut bufs[i][..len];
            // With GRO one buffer holds several datagrams of one sender; keep the QUIC ones.
            let mut write = 0;
            let mut read = 0;
            while read < buf.len() {
                let end = (read + stride).min(buf.len());
                if buf[read] < 4 {
                    let packet = buf[read..end].to_vec();
                    self.handle_stun(&mut shared, m.addr, &packet);
                } else {
                    buf.copy_within(read..end, write);
                    write += end - read;
                }
                read = end;
            }
            if write == 0 {
                continue;
            }
            let mut m = RecvMeta { len: write, ..m };
            let Shared { peers, passed, .. } = &mut *shared;
            match peers.iter_mut().find(|p| p.paths.knows(m.addr)) {
                Some(peer) => {
                    peer.heard = Some(m.addr);
                    peer.paths.quic_received(Instant::now());
                    peer.unsent.clear();
                    // A client quinn already knows at this real address keeps it: a
                    // change during its handshake would be dropped.
                    if peer.map_direct || !passed.contains(&m.addr) {
                        m.addr = peer.virtual_addr;
                    }
                }
                None if !passed.contains(&m.addr) => {
                    if passed.len() == PASSED_KEPT {
                        passed.pop_front();
                    }
                    passed.push_back(m.addr);
                }
                None => {}
            }
            bufs.swap(i, kept);
            meta[kept] = m;
            kept += 1;
        }
        kept
    }
}

/// Socket buffers asked of the kernel (it caps them at `net.core.rmem_max`/`wmem_max`).
///
/// The default receive buffer (about 200 KiB on Linux) overflows at fast rates on a LAN or
/// loopback; every overflow drops a whole batch of QUIC packets, which the congestion
/// controller takes for congestion.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// A UDP socket bound to `addr`, with large buffers, for a QUIC endpoint.
fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if addr.is_ipv6() {
        // Only what was asked for: the helper binds one socket per address family.
        socket.set_only_v6(true)?;
    }
    for (what, result) in [
        ("receive", socket.set_recv_buffer_size(SOCKET_BUFFER)),
        ("send", socket.set_send_buffer_size(SOCKET_BUFFER)),
    ] {
        if let Err(error) = result {
            tracing::debug!(%error, "cannot enlarge the UDP {what} buffer");
        }
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Sends checks when they are due and passes on path events, until the socket is gone.
async fn drive(socket: Weak<PathSocket>, wake: Arc<Notify>) {
    loop {
        let notified = wake.notified();
        let Some(this) = socket.upgrade() else { return };
        let now = Instant::now();
        let mut sends = Vec::new();
        let mut next = None::<Instant>;
        {
            let mut shared = this.lock();
            let Shared {
                peers,
                subscribers,
                outbox,
                ..
            } = &mut *shared;
            sends.append(outbox);
            for peer in peers.iter_mut() {
                peer.paths.handle_timeout(now);
                while let Some(send) = peer.paths.poll_transmit() {
                    sends.push(send);
                }
                while let Some(event) = peer.paths.poll_event() {
                    let unsent = peer.unsent.drain(..);
                    match (&peer.relay, event.kind) {
                        (Some(relay), PathKind::Relay) => {
                            for datagram in unsent {
                                let _ = relay.to_peer.try_send(datagram);
                            }
                        }
                        (None, PathKind::Relay) => drop(unsent),
                        _ => sends.extend(unsent.map(|d| (event.remote, d))),
                    }
                    subscribers.retain(|s| s.send(event).is_ok());
                }
                next = next.into_iter().chain(peer.paths.poll_timeout()).min();
            }
        }
        for (to, packet) in sends {
            if let Err(error) = this.io.send_to(&packet, to).await {
                tracing::debug!(%to, %error, "cannot send a connectivity check");
            }
        }
        drop(this);
        let sleep = next.map_or(Duration::from_secs(60), |at| {
            at.saturating_duration_since(Instant::now())
        });
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Waits until the socket may be written to.
struct Writable {
    socket: Arc<PathSocket>,
    waiting: Option<Pin<Box<dyn std::future::Future<Output = io::Result<()>> + Send + Sync>>>,
}

impl std::fmt::Debug for Writable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writable").finish_non_exhaustive()
    }
}

impl UdpPoller for Writable {
    fn poll_writable(mut self: Pin<&mut Self>, cx: &mut Context) -> Poll<io::Result<()>> {
        let socket = self.socket.clone();
        let future = self
            .waiting
            .get_or_insert_with(|| Box::pin(async move { socket.io.writable().await }));
        let result = future.as_mut().poll(cx);
        if result.is_ready() {
            self.waiting = None;
        }
        result
    }
}
