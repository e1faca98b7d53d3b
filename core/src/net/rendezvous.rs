//! The rendezvous client: the helper's candidates reach the novice (and the novice's fresh
//! ones reach the helper) through the invitation's mailbox on lifeline-server.
//!
//! Both sides open `wss://<server>/v1/rendezvous/<invitation id>?role=novice|helper` and
//! exchange text frames holding a [`CandidateMessage`] in JSON:
//! `{"candidates":[{"kind":"host","addr":"192.0.2.7:50123"}]}`. The server passes each
//! message to the other side at once if it is connected, else keeps it (a short time) until
//! it connects.

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

use super::relay::{Proxy, RelayError, ServerSocket, close_reason, connect_server};
use crate::Role;
use crate::ticket::{Candidate, InvitationId, ServerUrl};

/// One side's candidates, as sent through the rendezvous.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateMessage {
    /// The addresses, best first.
    pub candidates: Vec<WireCandidate>,
}

/// One candidate on the wire: its kind (`host`, `reflexive`, `mapped`) and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireCandidate {
    /// How the address was found.
    pub kind: String,
    /// `IP:port`.
    pub addr: std::net::SocketAddr,
}

/// An open rendezvous for one invitation.
pub struct Rendezvous {
    ws: ServerSocket,
}

impl Rendezvous {
    /// Opens `role`'s side of invitation `id` on `server`, through `proxy` if given.
    pub async fn open(
        server: &ServerUrl,
        id: InvitationId,
        role: Role,
        proxy: Option<&Proxy>,
    ) -> Result<Self, RelayError> {
        let path = format!("/v1/rendezvous/{id}?role={role}");
        Ok(Self {
            ws: connect_server(server, &path, proxy).await?,
        })
    }

    /// Sends this side's candidates to the other side.
    pub async fn send(&mut self, candidates: &[Candidate]) -> Result<(), RelayError> {
        let message = CandidateMessage {
            candidates: candidates
                .iter()
                .map(|c| WireCandidate {
                    kind: c.kind.as_str().to_owned(),
                    addr: c.addr,
                })
                .collect(),
        };
        let json =
            serde_json::to_string(&message).map_err(|e| RelayError::WebSocket(e.to_string()))?;
        self.ws
            .send(Message::text(json))
            .await
            .map_err(|e| RelayError::WebSocket(e.to_string()))
    }

    /// Waits for the other side's candidates. Entries of an unknown kind are skipped (a
    /// newer peer may know more kinds); a message that is not a candidate list is an error.
    pub async fn recv(&mut self) -> Result<Vec<Candidate>, RelayError> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let message: CandidateMessage =
                        serde_json::from_str(text.as_str()).map_err(|e| {
                            RelayError::WebSocket(format!(
                                "the other side sent a bad candidate list: {e}"
                            ))
                        })?;
                    return Ok(message
                        .candidates
                        .into_iter()
                        .filter_map(|c| {
                            Some(Candidate {
                                kind: c.kind.parse().ok()?,
                                addr: c.addr,
                            })
                        })
                        .collect());
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(RelayError::Closed(close_reason(frame.as_ref())));
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(RelayError::WebSocket(error.to_string())),
                None => return Err(RelayError::Closed("the connection ended".to_owned())),
            }
        }
    }
}
