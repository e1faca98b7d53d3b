//! One relay connection: waits for its partner, then forwards binary frames both ways
//! within the session's byte rate.

use std::net::IpAddr;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use lifeline_core::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{PING_INTERVAL, Shared, Ws, close, lock, refusal_code};
use tokio::sync::oneshot;

use crate::relay::{ByteRate, Joined, RelayToken};
use crate::rendezvous::ConnId;

pub(super) async fn serve(
    mut ws: Ws,
    conn: ConnId,
    from: IpAddr,
    token: RelayToken,
    role: Role,
    shared: &Shared,
) {
    let (handoff, partner) = oneshot::channel();
    let joined = {
        let mut state = lock(shared);
        match state.rendezvous.admit(from, Instant::now()) {
            Err(error) => Err((refusal_code(&error), error.to_string())),
            Ok(()) => match state.pairing.join(token, role, conn) {
                Err(error) => Err((CloseCode::Again, error.to_string())),
                Ok(Joined::Wait { replaced }) => {
                    if let Some(old) = replaced {
                        state.waiting.remove(&old);
                    }
                    state.waiting.insert(conn, handoff);
                    Ok(None)
                }
                Ok(Joined::Paired { with }) => Ok(Some(state.waiting.remove(&with))),
            },
        }
    };
    match joined {
        Err((code, reason)) => {
            tracing::info!(%from, %token, %reason, "refused a relay connection");
            close(ws, code, &reason).await;
        }
        Ok(Some(waiting)) => {
            // The partner waits: hand it this connection; its task relays.
            let handed = match waiting {
                Some(waiting) => waiting.send(ws),
                None => Err(ws),
            };
            if let Err(ws) = handed {
                lock(shared).pairing.end();
                close(
                    ws,
                    CloseCode::Again,
                    "the other peer left just now; connect again",
                )
                .await;
            }
        }
        Ok(None) => {
            tracing::debug!(%from, %token, %role, "relay peer waiting");
            let mut ping = tokio::time::interval(PING_INTERVAL);
            ping.reset();
            let mut partner = partner;
            let paired = loop {
                tokio::select! {
                    peer = &mut partner => break peer.ok(),
                    incoming = ws.next() => match incoming {
                        // Datagrams before the partner came are dropped, as on a lossy path.
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
                        Some(Ok(_)) => {}
                    },
                    _ = ping.tick() => {
                        if ws.send(Message::Ping(Vec::new().into())).await.is_err() {
                            break None;
                        }
                    }
                }
            };
            match paired {
                Some(peer) => {
                    forward(ws, peer, shared.relay_rate, token).await;
                    lock(shared).pairing.end();
                }
                None => {
                    {
                        let mut state = lock(shared);
                        state.pairing.leave(token, conn);
                        state.waiting.remove(&conn);
                    }
                    // Paired at the very moment this peer left: end that session too.
                    if let Ok(peer) = partner.try_recv() {
                        lock(shared).pairing.end();
                        close(
                            peer,
                            CloseCode::Again,
                            "the other peer left just now; connect again",
                        )
                        .await;
                    }
                    // Replaced by a newer connection, or the peer went away: the partner
                    // channel is closed only when replaced.
                    close(
                        ws,
                        CloseCode::Normal,
                        "replaced by a newer connection or closed",
                    )
                    .await;
                }
            }
        }
    }
}

/// Relays binary frames between `a` and `b` until either closes; each direction is capped
/// at `rate` bytes per second.
async fn forward(a: Ws, b: Ws, rate: u64, token: RelayToken) {
    let (mut a_sink, mut a_stream) = a.split();
    let (mut b_sink, mut b_stream) = b.split();
    let paired = Message::text("paired");
    if a_sink.send(paired.clone()).await.is_err() || b_sink.send(paired).await.is_err() {
        return;
    }
    tracing::debug!(%token, "relay session started");
    let now = Instant::now();
    let (mut ab_rate, mut ba_rate) = (ByteRate::new(rate, now), ByteRate::new(rate, now));
    let (dropped, reason) = tokio::select! {
        (dropped, reason) = pump(&mut a_stream, &mut b_sink, &mut ab_rate) => (dropped, reason),
        (dropped, reason) = pump(&mut b_stream, &mut a_sink, &mut ba_rate) => (dropped, reason),
    };
    tracing::debug!(%token, dropped, reason, "relay session ended");
    let reason = "the other peer left";
    let _ = tokio::join!(
        close(a_sink, CloseCode::Normal, reason),
        close(b_sink, CloseCode::Normal, reason)
    );
}

/// Passes binary frames from `from` to `to` within `rate`; returns how many it dropped
/// and why it stopped.
async fn pump(
    from: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    to: &mut (impl SinkExt<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin),
    rate: &mut ByteRate,
) -> (u64, &'static str) {
    let mut dropped = 0;
    loop {
        match from.next().await {
            Some(Ok(Message::Binary(datagram))) => {
                if !rate.allow(datagram.len(), Instant::now()) {
                    dropped += 1;
                    continue;
                }
                if to.send(Message::Binary(datagram)).await.is_err() {
                    return (dropped, "cannot write to the other peer");
                }
            }
            Some(Ok(Message::Close(_))) | None => return (dropped, "a peer closed"),
            Some(Ok(Message::Text(_))) => {
                return (dropped, "a peer sent text; relay frames are binary");
            }
            Some(Ok(_)) => {}
            Some(Err(_)) => return (dropped, "a peer's connection failed"),
        }
    }
}
