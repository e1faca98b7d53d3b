//! The canonical binary encoding of an invitation body.
//!
//! It is what the signature covers and what a link carries, so it is compact and has exactly
//! one encoding per body:
//!
//! ```text
//! version      u8 (1)
//! id           16 bytes
//! created      varint, seconds since 1970
//! lifetime     varint, seconds from created to expires
//! name         varint length, UTF-8
//! candidates   u8 count, then each: u8 tag (kind | 0x80 for IPv6), 4 or 16 address bytes,
//!              u16 port (big-endian)
//! server       u8 tag: 0 none; 1 URL (varint length, bytes);
//!              2 URL without its `#pin=sha256:` fragment, then the 32-byte pin
//! fingerprint  32 bytes
//! salt         16 bytes
//! ```
//!
//! Varints are LEB128 and must be minimal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use time::OffsetDateTime;

use super::model::{MAX_CANDIDATES, MAX_NAME_LEN, MAX_SERVER_URL_LEN};
use super::{
    Candidate, CandidateKind, FORMAT_VERSION, Fingerprint, InvitationBody, InvitationId, PakeSalt,
    ServerUrl, TicketError,
};

const IPV6_FLAG: u8 = 0x80;
const PIN_FRAGMENT: &str = "#pin=sha256:";

/// Appends the canonical encoding of `body` to `out`.
pub(super) fn encode_body(body: &InvitationBody, out: &mut Vec<u8>) {
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&body.id.0);
    put_varint(out, body.created.unix_timestamp().unsigned_abs());
    put_varint(
        out,
        (body.expires - body.created).whole_seconds().unsigned_abs(),
    );
    put_bytes(out, body.name.as_bytes());
    // validate() bounds the count by MAX_CANDIDATES, far below 256.
    out.push(u8::try_from(body.candidates.len()).unwrap_or(u8::MAX));
    for candidate in &body.candidates {
        let kind = CandidateKind::ALL
            .iter()
            .position(|k| *k == candidate.kind)
            .unwrap_or_default() as u8;
        match candidate.addr.ip() {
            IpAddr::V4(ip) => {
                out.push(kind);
                out.extend_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                out.push(kind | IPV6_FLAG);
                out.extend_from_slice(&ip.octets());
            }
        }
        out.extend_from_slice(&candidate.addr.port().to_be_bytes());
    }
    match &body.server {
        None => out.push(0),
        Some(url) => match split_pin(url.as_str()) {
            Some((base, pin)) => {
                out.push(2);
                put_bytes(out, base.as_bytes());
                out.extend_from_slice(&pin);
            }
            None => {
                out.push(1);
                put_bytes(out, url.as_str().as_bytes());
            }
        },
    }
    out.extend_from_slice(&body.fingerprint.0);
    out.extend_from_slice(&body.salt.0);
}

/// Reads a body from the front of `reader`, checking that it is in canonical form.
pub(super) fn decode_body(reader: &mut Reader<'_>) -> Result<InvitationBody, TicketError> {
    let start = reader.position();
    let version = reader.u8()?;
    if version != FORMAT_VERSION {
        return Err(TicketError::UnknownVersion(version.to_string()));
    }
    let id = InvitationId(reader.array()?);
    let created = i64::try_from(reader.varint()?)
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .ok_or_else(|| TicketError::invalid("created", "out of range"))?;
    let expires = i64::try_from(reader.varint()?)
        .ok()
        .and_then(|secs| created.checked_add(time::Duration::seconds(secs)))
        .ok_or_else(|| TicketError::invalid("expires", "out of range"))?;
    let name = reader.string(MAX_NAME_LEN, "name")?;
    let count = usize::from(reader.u8()?);
    if count > MAX_CANDIDATES {
        return Err(TicketError::invalid(
            "candidates",
            format!("more than {MAX_CANDIDATES}"),
        ));
    }
    let mut candidates = Vec::with_capacity(count);
    for _ in 0..count {
        let tag = reader.u8()?;
        let kind = *CandidateKind::ALL
            .get(usize::from(tag & !IPV6_FLAG))
            .ok_or_else(|| TicketError::invalid("candidate kind", format!("unknown tag {tag}")))?;
        let ip = if tag & IPV6_FLAG == 0 {
            IpAddr::V4(Ipv4Addr::from(reader.array::<4>()?))
        } else {
            IpAddr::V6(Ipv6Addr::from(reader.array::<16>()?))
        };
        let port = u16::from_be_bytes(reader.array()?);
        candidates.push(Candidate {
            kind,
            addr: SocketAddr::new(ip, port),
        });
    }
    let server = match reader.u8()? {
        0 => None,
        1 => Some(reader.string(MAX_SERVER_URL_LEN, "server")?.parse()?),
        2 => {
            let base = reader.string(MAX_SERVER_URL_LEN, "server")?;
            let pin: [u8; 32] = reader.array()?;
            Some(format!("{base}{PIN_FRAGMENT}{}", crate::hex::encode(&pin)).parse::<ServerUrl>()?)
        }
        tag => return Err(TicketError::invalid("server", format!("unknown tag {tag}"))),
    };
    let body = InvitationBody {
        id,
        created,
        expires,
        name,
        candidates,
        server,
        fingerprint: Fingerprint(reader.array()?),
        salt: PakeSalt(reader.array()?),
    };
    body.validate()?;
    let mut canonical = Vec::new();
    encode_body(&body, &mut canonical);
    if canonical != reader.consumed_since(start) {
        return Err(TicketError::Malformed(
            "the link is not in canonical form".to_owned(),
        ));
    }
    Ok(body)
}

/// Splits `https://host/#pin=sha256:<64 hex>` into the URL before the fragment and the pin.
fn split_pin(url: &str) -> Option<(&str, [u8; 32])> {
    let at = url.rfind(PIN_FRAGMENT)?;
    let digits = &url[at + PIN_FRAGMENT.len()..];
    let pin: Fingerprint = format!("sha256:{digits}").parse().ok()?;
    Some((&url[..at], pin.0))
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A cursor over untrusted bytes whose every read is bounds-checked.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn position(&self) -> usize {
        self.pos
    }

    fn consumed_since(&self, start: usize) -> &'a [u8] {
        &self.bytes[start..self.pos]
    }

    /// The bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], TicketError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| TicketError::Malformed("the link is truncated".to_owned()))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], TicketError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, TicketError> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, TicketError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(TicketError::Malformed(
            "a number in the link is too long".to_owned(),
        ))
    }

    fn string(&mut self, max: usize, field: &'static str) -> Result<String, TicketError> {
        let len = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
        if len > max {
            return Err(TicketError::invalid(
                field,
                format!("longer than {max} bytes"),
            ));
        }
        String::from_utf8(self.take(len)?.to_vec())
            .map_err(|_| TicketError::invalid(field, "not UTF-8"))
    }
}
