//! STUN binding requests and responses (RFC 5389), without sockets.
//!
//! Lifeline uses STUN to learn the address and port a NAT gives its UDP socket (the
//! server-reflexive candidate) and, on the same socket as QUIC, to tell STUN packets from
//! QUIC ones ([`is_stun`], RFC 7983). Both directions are here: building a request and
//! reading the answer, and answering a request (lifeline-server, and peers answering
//! connectivity checks). Any standard STUN server (coturn, for one) answers our requests,
//! and any standard client can query our answers.
//!
//! Parsing is total: any bytes give a [`StunMessage`] or a [`StunError`], never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The fixed value in every STUN header since RFC 5389.
pub const MAGIC_COOKIE: u32 = 0x2112_a442;
const HEADER_LEN: usize = 20;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const BINDING_ERROR: u16 = 0x0111;
const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
const ATTR_SOFTWARE: u16 = 0x8022;
const ATTR_FINGERPRINT: u16 = 0x8028;
/// MESSAGE-INTEGRITY-SHA256 (RFC 8489): HMAC-SHA256 over the message before it.
const ATTR_INTEGRITY_SHA256: u16 = 0x001c;
const INTEGRITY_LEN: usize = 32;
const FINGERPRINT_XOR: u32 = 0x5354_554e;
const SOFTWARE: &[u8] = b"Lifeline";

/// Why a packet is not a usable STUN message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StunError {
    /// Shorter than a header, no magic cookie, or a length that does not match.
    #[error("not a STUN message: {0}")]
    NotStun(&'static str),
    /// An attribute runs past the end of the message or is malformed.
    #[error("malformed STUN attribute 0x{0:04x}")]
    BadAttribute(u16),
    /// The FINGERPRINT attribute does not match the message.
    #[error("the STUN fingerprint does not match; the packet was damaged")]
    BadFingerprint,
    /// A binding success response without a mapped address.
    #[error("the STUN server's answer carries no mapped address")]
    NoAddress,
    /// The server answered with an error.
    #[error("the STUN server answered with error {0}")]
    ErrorResponse(u16),
}

/// A STUN transaction id: 96 random bits that tie a response to its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransactionId(pub [u8; 12]);

impl TransactionId {
    /// A fresh random id.
    pub fn random() -> Self {
        let mut id = [0; 12];
        rand::thread_rng().fill_bytes(&mut id);
        Self(id)
    }
}

/// A STUN message Lifeline understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StunMessage {
    /// Someone asks which address we see them at.
    BindingRequest {
        /// Its transaction.
        transaction: TransactionId,
    },
    /// The answer to our request: the address the other side saw us at.
    BindingSuccess {
        /// Its transaction.
        transaction: TransactionId,
        /// Our address as seen by the other side (reflexive address).
        mapped: SocketAddr,
    },
    /// Another STUN method (TURN, ICE…), which Lifeline does not use.
    Other {
        /// The message type.
        message_type: u16,
    },
}

/// Whether `packet` looks like STUN (first two bits zero, magic cookie, consistent length),
/// as opposed to QUIC sharing the same socket.
pub fn is_stun(packet: &[u8]) -> bool {
    header(packet).is_ok()
}

/// A binding request with a FINGERPRINT.
pub fn binding_request(transaction: TransactionId) -> Vec<u8> {
    let mut message = start(BINDING_REQUEST, transaction);
    finish(&mut message);
    message
}

/// The answer to a binding request from `from`: its XOR-MAPPED-ADDRESS, our SOFTWARE
/// name and a FINGERPRINT.
pub fn binding_success(transaction: TransactionId, from: SocketAddr) -> Vec<u8> {
    let mut message = start(BINDING_SUCCESS, transaction);
    let value = xor_address(from, &transaction);
    push_attribute(&mut message, ATTR_XOR_MAPPED_ADDRESS, &value);
    push_attribute(&mut message, ATTR_SOFTWARE, SOFTWARE);
    finish(&mut message);
    message
}

/// A binding request carrying MESSAGE-INTEGRITY-SHA256 under `key` (RFC 8489) and a
/// FINGERPRINT: a connectivity check between two Lifeline peers.
pub fn authenticated_request(transaction: TransactionId, key: &[u8; 32]) -> Vec<u8> {
    let mut message = start(BINDING_REQUEST, transaction);
    push_integrity(&mut message, key);
    finish(&mut message);
    message
}

/// The answer to an authenticated request from `from`: XOR-MAPPED-ADDRESS,
/// MESSAGE-INTEGRITY-SHA256 under `key` and a FINGERPRINT.
pub fn authenticated_success(
    transaction: TransactionId,
    from: SocketAddr,
    key: &[u8; 32],
) -> Vec<u8> {
    let mut message = start(BINDING_SUCCESS, transaction);
    let value = xor_address(from, &transaction);
    push_attribute(&mut message, ATTR_XOR_MAPPED_ADDRESS, &value);
    push_integrity(&mut message, key);
    finish(&mut message);
    message
}

/// Whether `packet` carries a MESSAGE-INTEGRITY-SHA256 that `key` produced. Any bytes give
/// an answer; a packet without the attribute is not authentic.
pub fn is_authentic(packet: &[u8], key: &[u8; 32]) -> bool {
    if header(packet).is_err() {
        return false;
    }
    let mut offset = HEADER_LEN;
    while let Some(head) = packet.get(offset..offset + 4) {
        let kind = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        if kind == ATTR_INTEGRITY_SHA256 {
            let Some(stated) = packet.get(offset + 4..offset + 4 + INTEGRITY_LEN) else {
                return false;
            };
            if len != INTEGRITY_LEN {
                return false;
            }
            let mut covered = packet[..offset].to_vec();
            set_length_to(&mut covered, offset + 4 + INTEGRITY_LEN);
            return integrity(&covered, key).verify_slice(stated).is_ok();
        }
        offset += 4 + len.next_multiple_of(4);
    }
    false
}

/// Parses a STUN message. Unknown attributes are skipped; a FINGERPRINT, if present, must
/// match.
pub fn parse(packet: &[u8]) -> Result<StunMessage, StunError> {
    let (message_type, transaction) = header(packet)?;
    let mut mapped = None;
    let mut xor_mapped = None;
    let mut error_code = None;
    let mut offset = HEADER_LEN;
    while offset < packet.len() {
        let head = packet
            .get(offset..offset + 4)
            .ok_or(StunError::NotStun("truncated attribute header"))?;
        let kind = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let value = packet
            .get(offset + 4..offset + 4 + len)
            .ok_or(StunError::BadAttribute(kind))?;
        match kind {
            ATTR_MAPPED_ADDRESS => mapped = Some(read_address(value, None, kind)?),
            ATTR_XOR_MAPPED_ADDRESS => {
                xor_mapped = Some(read_address(value, Some(&transaction), kind)?);
            }
            0x0009 if len >= 4 => {
                error_code = Some(u16::from(value[2] & 0x07) * 100 + u16::from(value[3]));
            }
            ATTR_FINGERPRINT => {
                let expected = crc32fast::hash(&packet[..offset]) ^ FINGERPRINT_XOR;
                let stated = value
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| StunError::BadAttribute(kind))?;
                if stated != expected || offset + 8 != packet.len() {
                    return Err(StunError::BadFingerprint);
                }
            }
            _ => {}
        }
        offset += 4 + len.next_multiple_of(4);
    }
    Ok(match message_type {
        BINDING_REQUEST => StunMessage::BindingRequest { transaction },
        BINDING_SUCCESS => StunMessage::BindingSuccess {
            transaction,
            mapped: xor_mapped.or(mapped).ok_or(StunError::NoAddress)?,
        },
        BINDING_ERROR => return Err(StunError::ErrorResponse(error_code.unwrap_or(0))),
        other => StunMessage::Other {
            message_type: other,
        },
    })
}

fn header(packet: &[u8]) -> Result<(u16, TransactionId), StunError> {
    if packet.len() < HEADER_LEN {
        return Err(StunError::NotStun("shorter than a header"));
    }
    if packet[0] & 0xc0 != 0 {
        return Err(StunError::NotStun("first two bits are not zero"));
    }
    if u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]) != MAGIC_COOKIE {
        return Err(StunError::NotStun("no magic cookie"));
    }
    let length = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if length % 4 != 0 || HEADER_LEN + length != packet.len() {
        return Err(StunError::NotStun("length does not match the packet"));
    }
    let mut transaction = [0; 12];
    transaction.copy_from_slice(&packet[8..HEADER_LEN]);
    Ok((
        u16::from_be_bytes([packet[0], packet[1]]),
        TransactionId(transaction),
    ))
}

fn start(message_type: u16, transaction: TransactionId) -> Vec<u8> {
    let mut message = Vec::with_capacity(64);
    message.extend_from_slice(&message_type.to_be_bytes());
    message.extend_from_slice(&[0, 0]);
    message.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    message.extend_from_slice(&transaction.0);
    message
}

fn push_attribute(message: &mut Vec<u8>, kind: u16, value: &[u8]) {
    message.extend_from_slice(&kind.to_be_bytes());
    // Attribute values here are at most 20 bytes.
    message.extend_from_slice(&(value.len() as u16).to_be_bytes());
    message.extend_from_slice(value);
    message.resize(message.len().next_multiple_of(4), 0);
    set_length(message);
}

/// Appends the FINGERPRINT, whose CRC covers the header with the final length.
fn finish(message: &mut Vec<u8>) {
    let final_len = message.len() + 8 - HEADER_LEN;
    message[2..4].copy_from_slice(&(final_len as u16).to_be_bytes());
    let crc = crc32fast::hash(message) ^ FINGERPRINT_XOR;
    push_attribute(message, ATTR_FINGERPRINT, &crc.to_be_bytes());
}

/// Appends MESSAGE-INTEGRITY-SHA256, whose HMAC covers the header with a length that
/// includes the attribute itself.
fn push_integrity(message: &mut Vec<u8>, key: &[u8; 32]) {
    let end = message.len() + 4 + INTEGRITY_LEN;
    set_length_to(message, end);
    let mac = integrity(message, key).finalize().into_bytes();
    push_attribute(message, ATTR_INTEGRITY_SHA256, &mac);
}

/// An HMAC-SHA256 over `covered`.
fn integrity(covered: &[u8], key: &[u8; 32]) -> Hmac<Sha256> {
    // A key shorter than SHA-256's 64-byte block is zero-padded by HMAC itself.
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    mac.update(covered);
    mac
}

/// Writes the length field as if the message ended at byte `end`.
fn set_length_to(message: &mut [u8], end: usize) {
    let len = end.saturating_sub(HEADER_LEN) as u16;
    message[2..4].copy_from_slice(&len.to_be_bytes());
}

fn set_length(message: &mut [u8]) {
    let len = (message.len() - HEADER_LEN) as u16;
    message[2..4].copy_from_slice(&len.to_be_bytes());
}

/// The XOR key for an address: the cookie, then (for IPv6) the transaction id.
fn xor_key(transaction: &TransactionId) -> [u8; 16] {
    let mut key = [0; 16];
    key[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    key[4..].copy_from_slice(&transaction.0);
    key
}

fn xor_address(addr: SocketAddr, transaction: &TransactionId) -> Vec<u8> {
    let key = xor_key(transaction);
    let port = addr.port() ^ (MAGIC_COOKIE >> 16) as u16;
    let (family, octets): (u8, Vec<u8>) = match addr.ip() {
        IpAddr::V4(ip) => (1, ip.octets().to_vec()),
        IpAddr::V6(ip) => (2, ip.octets().to_vec()),
    };
    let mut value = vec![0, family];
    value.extend_from_slice(&port.to_be_bytes());
    value.extend(octets.iter().zip(key).map(|(b, k)| b ^ k));
    value
}

fn read_address(
    value: &[u8],
    xor: Option<&TransactionId>,
    kind: u16,
) -> Result<SocketAddr, StunError> {
    let bad = || StunError::BadAttribute(kind);
    let key = xor.map_or([0; 16], xor_key);
    let port = u16::from_be_bytes([
        *value.get(2).ok_or_else(bad)?,
        *value.get(3).ok_or_else(bad)?,
    ]) ^ if xor.is_some() {
        (MAGIC_COOKIE >> 16) as u16
    } else {
        0
    };
    let mut octets = [0u8; 16];
    let ip = match (value.get(1), value.len()) {
        (Some(1), 8) => {
            for (i, o) in octets[..4].iter_mut().enumerate() {
                *o = value[4 + i] ^ key[i];
            }
            IpAddr::V4(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]))
        }
        (Some(2), 20) => {
            for (i, o) in octets.iter_mut().enumerate() {
                *o = value[4 + i] ^ key[i];
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return Err(bad()),
    };
    Ok(SocketAddr::new(ip, port))
}
