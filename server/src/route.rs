//! What a WebSocket request asks for, from its path and query (sans-IO).
//!
//! - `GET /v1/rendezvous/<invitation id: 32 hex digits>?role=novice|helper`
//! - `GET /v1/relay/<token: 64 hex digits>?role=novice|helper`

use lifeline_core::Role;
use lifeline_core::ticket::InvitationId;

use crate::relay::RelayToken;

/// A request the server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Exchange candidates through the invitation's mailbox.
    Rendezvous {
        /// The invitation.
        id: InvitationId,
        /// Who is asking.
        role: Role,
    },
    /// Relay datagrams to the peer that names the same token.
    Relay {
        /// The pairing token.
        token: RelayToken,
        /// Who is asking.
        role: Role,
    },
}

/// Why a request names nothing the server serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The path is not one of the server's.
    #[error("no such path; use /v1/rendezvous/<invitation id> or /v1/relay/<token>")]
    NotFound,
    /// The path's id, token or role is malformed.
    #[error("bad request: {0}")]
    Bad(&'static str),
}

impl Route {
    /// Parses a request target such as `/v1/relay/ab…?role=helper`.
    pub fn parse(target: &str) -> Result<Self, RouteError> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if let Some(id) = path.strip_prefix("/v1/rendezvous/") {
            let id = id.parse().map_err(|_| {
                RouteError::Bad("the invitation id must be 32 lowercase hex digits")
            })?;
            Ok(Self::Rendezvous {
                id,
                role: role(query)?,
            })
        } else if let Some(token) = path.strip_prefix("/v1/relay/") {
            let token = token
                .parse()
                .map_err(|_| RouteError::Bad("the relay token must be 64 lowercase hex digits"))?;
            Ok(Self::Relay {
                token,
                role: role(query)?,
            })
        } else {
            Err(RouteError::NotFound)
        }
    }
}

fn role(query: &str) -> Result<Role, RouteError> {
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("role="))
        .ok_or(RouteError::Bad(
            "the query must say role=novice or role=helper",
        ))?;
    match value {
        "novice" => Ok(Role::Novice),
        "helper" => Ok(Role::Helper),
        _ => Err(RouteError::Bad("role must be novice or helper")),
    }
}
