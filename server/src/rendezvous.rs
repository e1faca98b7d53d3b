//! Rendezvous, sans-IO: both sides of an invitation open a connection under its id; what
//! one side sends goes at once to the other side's connection if it is open, else into the
//! mailbox for that side, which the connection gets when it opens.
//!
//! The server never reads the messages (they are the clients' candidate lists). Memory is
//! bounded: at most `max_mailboxes` mailboxes and as many open connections, and every
//! request is charged to its address's token bucket.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use lifeline_core::Role;
use lifeline_core::ticket::InvitationId;

use crate::mailbox::{MailboxConfig, MailboxError, Mailboxes};

/// A connection, as the I/O layer numbers them.
pub type ConnId = u64;

/// A mailbox: the messages for one side of one invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MailboxKey {
    /// The invitation.
    pub id: InvitationId,
    /// The side the messages are for.
    pub to: Role,
}

/// What opening a connection gives.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    /// Messages that were waiting for this side, oldest first.
    pub pending: Vec<Vec<u8>>,
    /// An older connection of the same side of the same invitation, which this one
    /// replaces: close it.
    pub replaced: Option<ConnId>,
}

/// Where a sent message went.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Hand it to this open connection now.
    Now(ConnId, Vec<u8>),
    /// It waits in the mailbox for the other side.
    Stored,
}

/// The rendezvous state of one server.
pub struct Rendezvous {
    mailboxes: Mailboxes<MailboxKey>,
    open: HashMap<MailboxKey, ConnId>,
}

impl Rendezvous {
    /// An empty rendezvous with these limits.
    pub fn new(config: MailboxConfig) -> Self {
        Self {
            mailboxes: Mailboxes::new(config),
            open: HashMap::new(),
        }
    }

    /// Charges one request to `from` without doing anything else (used for relay requests,
    /// which share the per-address rate).
    pub fn admit(&mut self, from: IpAddr, now: Instant) -> Result<(), MailboxError> {
        self.mailboxes.admit(from, now)
    }

    /// `conn` from `from` opens `role`'s side of invitation `id`.
    pub fn open(
        &mut self,
        conn: ConnId,
        from: IpAddr,
        id: InvitationId,
        role: Role,
        now: Instant,
    ) -> Result<Opened, MailboxError> {
        let key = MailboxKey { id, to: role };
        if !self.open.contains_key(&key) && self.open.len() >= self.mailboxes.config().max_mailboxes
        {
            self.mailboxes.admit(from, now)?;
            return Err(MailboxError::Full);
        }
        let pending = self.mailboxes.take(from, key, now)?;
        let replaced = self.open.insert(key, conn);
        Ok(Opened { pending, replaced })
    }

    /// `role`'s connection to invitation `id`, from `from`, sends `message` to the other side.
    pub fn send(
        &mut self,
        from: IpAddr,
        id: InvitationId,
        role: Role,
        message: Vec<u8>,
        now: Instant,
    ) -> Result<Delivery, MailboxError> {
        let key = MailboxKey {
            id,
            to: role.peer(),
        };
        match self.open.get(&key) {
            Some(&conn) => {
                self.mailboxes.admit(from, now)?;
                let max = self.mailboxes.config().max_message_len;
                if message.len() > max {
                    return Err(MailboxError::TooLarge {
                        len: message.len(),
                        max,
                    });
                }
                Ok(Delivery::Now(conn, message))
            }
            None => {
                self.mailboxes.post(from, key, message, now)?;
                Ok(Delivery::Stored)
            }
        }
    }

    /// Connection `conn` of `role`'s side of invitation `id` closed.
    pub fn close(&mut self, conn: ConnId, id: InvitationId, role: Role) {
        let key = MailboxKey { id, to: role };
        if self.open.get(&key) == Some(&conn) {
            self.open.remove(&key);
        }
    }

    /// Drops the mailboxes whose time is up.
    pub fn expire(&mut self, now: Instant) {
        self.mailboxes.expire(now);
    }

    /// How many connections are open.
    pub fn open_connections(&self) -> usize {
        self.open.len()
    }

    /// How many mailboxes hold messages.
    pub fn mailboxes(&self) -> usize {
        self.mailboxes.len()
    }
}
