//! Standing invitations: invitations valid for days that survive a restart of the novice's
//! side, kept in the OS keyring.
//!
//! Each invitation is one keyring entry (service [`SERVICE`], user = the invitation id) whose
//! value is a versioned record in base64: the identity's private key and certificate (the
//! invitation pins the certificate's fingerprint, so it must be exactly the same one), the
//! Argon2id-hardened password (never the password), the count of wrong passwords so far,
//! and the invitation's XML (public, but kept with the rest so that the entry is whole).
//! One more entry, user [`INDEX_USER`], lists the ids (and nothing else) so that
//! [`StandingInvitations::list`] can find them. Nothing is written to any file.
//!
//! Expired invitations are refused by [`StandingInvitations::load`] and pruned by it and by
//! [`StandingInvitations::list`].

mod backend;
mod error;
mod record;

pub use backend::{MemoryBackend, OsKeyring, SERVICE, SecretBackend};
pub use error::StoreError;

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::{AttemptLimiter, AttemptOutcome, HardenedPassword};
use crate::identity::Identity;
use crate::ticket::{Invitation, InvitationId};
use record::{DecodeError, Record};

/// The keyring user of the entry that lists the ids of the standing invitations.
pub const INDEX_USER: &str = "index";

/// Everything the novice's side needs to keep waiting for a helper after a restart.
pub struct StandingInvitation {
    /// The signed invitation the helper holds.
    pub invitation: Invitation,
    /// The key that signed it and the certificate it pins.
    pub identity: Identity,
    /// The password after Argon2id.
    pub hardened: HardenedPassword,
    /// Wrong passwords so far and the limit.
    pub limiter: AttemptLimiter,
}

impl StandingInvitation {
    /// The invitation's id, the key of its keyring entry.
    pub fn id(&self) -> InvitationId {
        self.invitation.body().id
    }
}

impl fmt::Debug for StandingInvitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandingInvitation")
            .field("invitation", &self.invitation)
            .field("fingerprint", &self.identity.fingerprint())
            .field("hardened", &self.hardened)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

/// What [`StandingInvitations::list`] shows of one invitation: nothing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationSummary {
    /// The invitation's id.
    pub id: InvitationId,
    /// The novice's display name in it.
    pub name: String,
    /// When it expires.
    pub expires: OffsetDateTime,
    /// Wrong passwords so far.
    pub failures: u32,
    /// Wrong passwords still allowed.
    pub attempts_left: u32,
}

/// The standing invitations kept in a [`SecretBackend`] (in production, [`OsKeyring`]).
#[derive(Debug)]
pub struct StandingInvitations<B> {
    backend: B,
}

impl<B: SecretBackend> StandingInvitations<B> {
    /// Standing invitations kept in `backend`.
    pub fn new(backend: B) -> Self {
        Self { backend }
    }

    /// The backend, e.g. for tests that damage an entry.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Keeps `standing` (replacing what was kept under its id), valid at `now`.
    ///
    /// Refuses an identity that did not sign the invitation, and an expired invitation (which
    /// it removes if it was kept).
    pub fn save(
        &self,
        standing: &StandingInvitation,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let id = standing.id();
        let body = standing.invitation.body();
        if standing.invitation.is_expired(now) {
            self.revoke(id)?;
            return Err(StoreError::Expired {
                id,
                expires: format_time(body.expires),
            });
        }
        if standing.identity.fingerprint() != body.fingerprint
            || standing.identity.signing_key().verifying_key() != *standing.invitation.public_key()
        {
            return Err(StoreError::IdentityMismatch(id));
        }
        let record = Record {
            secret_key: *standing.identity.secret_key_bytes(),
            certificate_der: standing.identity.certificate_der().to_vec(),
            hardened: *standing.hardened.expose(),
            max_attempts: standing.limiter.failures() + standing.limiter.attempts_left(),
            failures: standing.limiter.failures(),
            invitation_xml: standing.invitation.to_xml(),
        };
        let value = record
            .encode()
            .map_err(|reason| StoreError::Corrupt { id, reason })?;
        self.backend.set(&id.to_string(), &value)?;
        let mut index = self.read_index()?;
        if !index.contains(&id) {
            index.push(id);
            self.write_index(&index)?;
        }
        Ok(())
    }

    /// Reads back the standing invitation `id`, valid at `now`.
    ///
    /// An expired one is removed and refused with [`StoreError::Expired`]; later loads give
    /// [`StoreError::NotFound`].
    pub fn load(
        &self,
        id: InvitationId,
        now: OffsetDateTime,
    ) -> Result<StandingInvitation, StoreError> {
        let standing = self.read(id)?;
        if standing.invitation.is_expired(now) {
            self.revoke(id)?;
            return Err(StoreError::Expired {
                id,
                expires: format_time(standing.invitation.body().expires),
            });
        }
        Ok(standing)
    }

    /// The standing invitations valid at `now`, in the order they were saved; expired ones
    /// are removed. Fails on a corrupt entry (naming its id, which can be revoked).
    pub fn list(&self, now: OffsetDateTime) -> Result<Vec<InvitationSummary>, StoreError> {
        let index = self.read_index()?;
        let mut kept = Vec::with_capacity(index.len());
        let mut summaries = Vec::with_capacity(index.len());
        for id in index.iter().copied() {
            let standing = match self.read(id) {
                Ok(standing) => standing,
                Err(StoreError::NotFound(_)) => continue,
                Err(error) => return Err(error),
            };
            if standing.invitation.is_expired(now) {
                self.backend.delete(&id.to_string())?;
                continue;
            }
            let body = standing.invitation.body();
            summaries.push(InvitationSummary {
                id,
                name: body.name.clone(),
                expires: body.expires,
                failures: standing.limiter.failures(),
                attempts_left: standing.limiter.attempts_left(),
            });
            kept.push(id);
        }
        if kept != index {
            self.write_index(&kept)?;
        }
        Ok(summaries)
    }

    /// Removes the standing invitation `id` whatever its state (even corrupt); `false` if
    /// none was kept.
    pub fn revoke(&self, id: InvitationId) -> Result<bool, StoreError> {
        let removed = self.backend.delete(&id.to_string())?;
        let mut index = self.read_index()?;
        let before = index.len();
        index.retain(|kept| *kept != id);
        if index.len() != before {
            self.write_index(&index)?;
        }
        Ok(removed)
    }

    /// Counts one wrong password for the standing invitation `id` and keeps the new count.
    pub fn record_failure(
        &self,
        id: InvitationId,
        now: OffsetDateTime,
    ) -> Result<AttemptOutcome, StoreError> {
        let mut standing = self.load(id, now)?;
        let outcome = standing.limiter.record_failure();
        self.save(&standing, now)?;
        Ok(outcome)
    }

    /// Reads and checks the record of `id`, whatever the time.
    fn read(&self, id: InvitationId) -> Result<StandingInvitation, StoreError> {
        let value = self
            .backend
            .get(&id.to_string())?
            .ok_or(StoreError::NotFound(id))?;
        let corrupt = |reason: String| StoreError::Corrupt { id, reason };
        let record = Record::decode(&value).map_err(|error| match error {
            DecodeError::Corrupt(reason) => corrupt(reason),
            DecodeError::UnknownVersion(version) => StoreError::UnknownVersion { id, version },
        })?;
        let invitation = Invitation::parse_ignoring_time(record.invitation_xml.as_bytes())
            .map_err(|error| corrupt(error.to_string()))?;
        if invitation.body().id != id {
            return Err(corrupt("it holds another invitation".to_owned()));
        }
        let identity = Identity::from_parts(&record.secret_key, record.certificate_der.clone())
            .map_err(|error| corrupt(error.to_string()))?;
        if identity.fingerprint() != invitation.body().fingerprint
            || identity.signing_key().verifying_key() != *invitation.public_key()
        {
            return Err(corrupt("its key does not match the invitation".to_owned()));
        }
        Ok(StandingInvitation {
            invitation,
            identity,
            hardened: HardenedPassword::from_bytes(record.hardened),
            limiter: AttemptLimiter::restore(record.max_attempts, record.failures),
        })
    }

    fn read_index(&self) -> Result<Vec<InvitationId>, StoreError> {
        let Some(value) = self.backend.get(INDEX_USER)? else {
            return Ok(Vec::new());
        };
        value
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| {
                line.parse().map_err(|_| {
                    StoreError::CorruptIndex(format!("{line:?} is not an invitation id"))
                })
            })
            .collect()
    }

    fn write_index(&self, index: &[InvitationId]) -> Result<(), StoreError> {
        if index.is_empty() {
            self.backend.delete(INDEX_USER)?;
            return Ok(());
        }
        let text: String = index.iter().map(|id| format!("{id}\n")).collect();
        self.backend.set(INDEX_USER, &text)
    }
}

fn format_time(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_else(|_| time.to_string())
}
