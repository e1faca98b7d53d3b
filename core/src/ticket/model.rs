//! The fields of an invitation and the rules each must follow.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use rand::RngCore;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{MAX_LIFETIME, TicketError};

/// The longest display name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 64;
/// The most connection candidates an invitation may list.
pub const MAX_CANDIDATES: usize = 16;
/// The longest rendezvous server URL, in bytes.
pub const MAX_SERVER_URL_LEN: usize = 256;

/// An invitation's unique identifier: 128 random bits, written as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvitationId(pub [u8; 16]);

impl InvitationId {
    /// A fresh random identifier.
    pub fn random() -> Self {
        let mut bytes = [0; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl fmt::Display for InvitationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

impl FromStr for InvitationId {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex(s)
            .map(Self)
            .ok_or_else(|| TicketError::invalid("id", "expected 32 lowercase hex digits"))
    }
}

/// SHA-256 fingerprint of the novice's TLS certificate, written `sha256:` and 64 lowercase
/// hex digits. The helper accepts only a certificate with this fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    const PREFIX: &'static str = "sha256:";

    /// The fingerprint of a DER-encoded certificate.
    pub fn of_certificate(der: &[u8]) -> Self {
        use sha2::Digest;
        Self(sha2::Sha256::digest(der).into())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, crate::hex::encode(&self.0))
    }
}

impl FromStr for Fingerprint {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix(Self::PREFIX)
            .and_then(parse_hex)
            .map(Self)
            .ok_or_else(|| {
                TicketError::invalid(
                    "fingerprint",
                    "expected sha256: and 64 lowercase hex digits",
                )
            })
    }
}

/// The salt that hardens the password (Argon2id) before the PAKE; public by design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PakeSalt(pub [u8; 16]);

impl PakeSalt {
    /// A fresh random salt.
    pub fn random() -> Self {
        let mut bytes = [0; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(bytes)
    }
}

/// How the novice's computer can be reached at a candidate address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateKind {
    /// An address of one of the computer's own network interfaces.
    Host,
    /// The computer's address as seen from outside its NAT (learned through STUN).
    Reflexive,
    /// A port mapping made on the router (UPnP-IGD, NAT-PMP or PCP).
    Mapped,
}

impl CandidateKind {
    /// Every kind, in wire order.
    pub const ALL: [Self; 3] = [Self::Host, Self::Reflexive, Self::Mapped];

    /// The name used in XML and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Reflexive => "reflexive",
            Self::Mapped => "mapped",
        }
    }
}

impl fmt::Display for CandidateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CandidateKind {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                TicketError::invalid(
                    "candidate kind",
                    format!("{s:?} is not one of host, reflexive, mapped"),
                )
            })
    }
}

/// An address at which the novice's computer may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// How the address was found.
    pub kind: CandidateKind,
    /// The address and UDP port.
    pub addr: SocketAddr,
}

impl Candidate {
    fn validate(&self) -> Result<(), TicketError> {
        if self.addr.port() == 0 {
            return Err(TicketError::invalid("candidate address", "port 0"));
        }
        if let SocketAddr::V6(v6) = self.addr {
            if v6.scope_id() != 0 || v6.flowinfo() != 0 {
                return Err(TicketError::invalid(
                    "candidate address",
                    "an IPv6 scope or flow label cannot be carried",
                ));
            }
        }
        if self.addr.ip().is_unspecified() || self.addr.ip().is_multicast() {
            return Err(TicketError::invalid(
                "candidate address",
                format!("{} is not a unicast address", self.addr.ip()),
            ));
        }
        Ok(())
    }
}

/// The URL of the rendezvous and relay server (`https://…`), which may carry the server
/// certificate's pin as a `#pin=sha256:…` fragment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerUrl(String);

impl ServerUrl {
    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ServerUrl {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| TicketError::invalid("server", reason);
        if s.len() > MAX_SERVER_URL_LEN {
            return Err(invalid("longer than 256 bytes"));
        }
        let rest = s
            .strip_prefix("https://")
            .ok_or_else(|| invalid("must start with https://"))?;
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("must be printable ASCII without spaces"));
        }
        let host_end = rest.find(['/', '#', '?']).unwrap_or(rest.len());
        if host_end == 0 || rest[..host_end].contains('@') {
            return Err(invalid("must name a host (and no user)"));
        }
        Ok(Self(s.to_owned()))
    }
}

/// Everything an invitation says; the signature covers all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationBody {
    /// Unique identifier; also the rendezvous mailbox key.
    pub id: InvitationId,
    /// When the invitation was made (UTC, whole seconds).
    pub created: OffsetDateTime,
    /// When it stops being accepted (UTC, whole seconds).
    pub expires: OffsetDateTime,
    /// The novice's display name, shown to the helper.
    pub name: String,
    /// Addresses at which the novice's computer may be reached directly.
    pub candidates: Vec<Candidate>,
    /// The rendezvous/relay server, if the novice uses one.
    pub server: Option<ServerUrl>,
    /// Fingerprint of the novice's TLS certificate.
    pub fingerprint: Fingerprint,
    /// Salt for hardening the password before the PAKE.
    pub salt: PakeSalt,
}

impl InvitationBody {
    /// A new invitation body with a fresh id and salt, made at `now` and valid for
    /// `lifetime` (rounded down to whole seconds).
    pub fn new(
        name: String,
        candidates: Vec<Candidate>,
        server: Option<ServerUrl>,
        fingerprint: Fingerprint,
        now: OffsetDateTime,
        lifetime: time::Duration,
    ) -> Result<Self, TicketError> {
        let created = whole_seconds_utc(now);
        let body = Self {
            id: InvitationId::random(),
            created,
            expires: created + time::Duration::seconds(lifetime.whole_seconds()),
            name,
            candidates,
            server,
            fingerprint,
            salt: PakeSalt::random(),
        };
        body.validate()?;
        Ok(body)
    }

    /// Checks every rule an invitation's content must follow.
    pub fn validate(&self) -> Result<(), TicketError> {
        validate_name(&self.name)?;
        for (field, t) in [("created", self.created), ("expires", self.expires)] {
            if t.offset() != time::UtcOffset::UTC || t.nanosecond() != 0 || t.unix_timestamp() < 0 {
                return Err(TicketError::invalid(
                    field,
                    "must be a UTC time after 1970 in whole seconds",
                ));
            }
        }
        let lifetime = self.expires - self.created;
        if lifetime <= time::Duration::ZERO {
            return Err(TicketError::invalid("expires", "must be after created"));
        }
        if lifetime > MAX_LIFETIME {
            return Err(TicketError::invalid(
                "expires",
                "an invitation may be valid for at most 99 days",
            ));
        }
        if self.candidates.len() > MAX_CANDIDATES {
            return Err(TicketError::invalid(
                "candidates",
                format!("more than {MAX_CANDIDATES}"),
            ));
        }
        self.candidates.iter().try_for_each(Candidate::validate)
    }
}

fn validate_name(name: &str) -> Result<(), TicketError> {
    if name.trim().is_empty() {
        return Err(TicketError::MissingField("name"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(TicketError::invalid(
            "name",
            format!("longer than {MAX_NAME_LEN} bytes"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(TicketError::invalid("name", "contains control characters"));
    }
    if name != name.trim() {
        return Err(TicketError::invalid(
            "name",
            "starts or ends with white space",
        ));
    }
    Ok(())
}

/// Drops sub-second precision and converts to UTC.
pub(crate) fn whole_seconds_utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
}

/// RFC 3339 in UTC with a `Z`, e.g. `2026-11-23T09:37:00Z`.
pub(crate) fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses the exact form [`format_time`] writes.
pub(crate) fn parse_time(field: &'static str, s: &str) -> Result<OffsetDateTime, TicketError> {
    let invalid = || {
        TicketError::invalid(
            field,
            format!("{s:?} is not a UTC time like 2026-11-23T09:37:00Z"),
        )
    };
    let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| invalid())?;
    if format_time(t) != s {
        return Err(invalid());
    }
    Ok(t)
}

fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let digits = s.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}
