//! One rendezvous connection: hands its text frames to the other side of the invitation
//! (or its mailbox) and passes on what arrives for it.

use std::net::IpAddr;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use lifeline_core::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{PING_INTERVAL, Shared, Ws, close, lock, refusal_code};
use lifeline_core::ticket::InvitationId;
use tokio::sync::mpsc;

use crate::rendezvous::{ConnId, Delivery};

pub(super) async fn serve(
    ws: Ws,
    conn: ConnId,
    from: IpAddr,
    id: InvitationId,
    role: Role,
    shared: &Shared,
) {
    let capacity = 64;
    let (inbox, mut messages) = mpsc::channel(capacity);
    let opened = {
        let mut state = lock(shared);
        let opened = state.rendezvous.open(conn, from, id, role, Instant::now());
        if let Ok(opened) = &opened {
            if let Some(old) = opened.replaced {
                state.inboxes.remove(&old);
            }
            state.inboxes.insert(conn, inbox);
        }
        opened
    };
    let (mut sink, mut stream) = ws.split();
    let opened = match opened {
        Ok(opened) => opened,
        Err(error) => {
            tracing::info!(%from, %id, %error, "refused a rendezvous connection");
            close(sink, refusal_code(&error), &error.to_string()).await;
            return;
        }
    };
    tracing::debug!(%from, %id, %role, pending = opened.pending.len(), "rendezvous open");
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.reset();
    let mut pending = opened.pending.into_iter();
    let outcome: Result<(), (CloseCode, String)> = async {
        for message in pending.by_ref() {
            send_text(&mut sink, message).await?;
        }
        loop {
            tokio::select! {
                message = messages.recv() => match message {
                    Some(message) => send_text(&mut sink, message).await?,
                    None => {
                        return Err((CloseCode::Normal, "replaced by a newer connection for this invitation".into()));
                    }
                },
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let delivery = lock(shared).rendezvous.send(
                            from, id, role, text.as_bytes().to_vec(), Instant::now());
                        match delivery {
                            Ok(Delivery::Now(to, message)) => {
                                let inbox = lock(shared).inboxes.get(&to).cloned();
                                if let Some(inbox) = inbox {
                                    if inbox.try_send(message).is_err() {
                                        return Err((CloseCode::Policy, "the other side is not collecting its messages".into()));
                                    }
                                }
                            }
                            Ok(Delivery::Stored) => {}
                            Err(error) => return Err((refusal_code(&error), error.to_string())),
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        return Err((CloseCode::Unsupported, "rendezvous messages are text (JSON)".into()));
                    }
                    Some(Ok(Message::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tracing::debug!(%from, %error, "rendezvous connection failed");
                        return Ok(());
                    }
                },
                _ = ping.tick() => {
                    sink.send(Message::Ping(Vec::new().into())).await.map_err(|e| (CloseCode::Error, e.to_string()))?;
                }
            }
        }
    }
    .await;
    {
        let mut state = lock(shared);
        state.rendezvous.close(conn, id, role);
        state.inboxes.remove(&conn);
    }
    if let Err((code, reason)) = outcome {
        tracing::info!(%from, %id, %role, %reason, "closed a rendezvous connection");
        close(sink, code, &reason).await;
    }
}

async fn send_text(
    sink: &mut (impl SinkExt<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin),
    message: Vec<u8>,
) -> Result<(), (CloseCode, String)> {
    let text = String::from_utf8(message).map_err(|_| {
        (
            CloseCode::Invalid,
            "a stored message is not UTF-8".to_owned(),
        )
    })?;
    sink.send(Message::text(text))
        .await
        .map_err(|e| (CloseCode::Error, e.to_string()))
}
