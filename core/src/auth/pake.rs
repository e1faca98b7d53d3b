//! The password-authenticated key exchange: SPAKE2 over Ed25519, bound to the TLS channel,
//! with key confirmation and a safety code.
//!
//! The exchange, sans-IO (the driver moves the bytes over the QUIC connection):
//!
//! 1. Each side calls [`Handshake::start`] with its [`Role`], the hardened password, the
//!    invitation id and the TLS exporter value of its own connection, and sends the returned
//!    PAKE message.
//! 2. Each side passes the peer's PAKE message to [`Handshake::receive_pake`] and gets a
//!    [`Confirmer`] and its own confirmation MAC.
//! 3. The helper sends its MAC first. The novice checks it with [`Confirmer::verify`]
//!    ([`AuthError::WrongPassword`] on mismatch) and only then sends its own MAC, which the
//!    helper checks ([`AuthError::Rejected`] on mismatch).
//! 4. Both sides get [`SessionSecrets`] and show the same [`SessionSecrets::safety_code`].
//!
//! The confirmation MACs cover the role, the invitation id, both PAKE messages and the
//! exporter, so a relay that holds two TLS connections (two different exporter values)
//! cannot splice two exchanges together. The PAKE messages reveal nothing that lets anyone
//! test passwords offline: each side's message hides a fresh secret scalar.

use std::fmt;

use hkdf::Hkdf;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use spake2::{Ed25519Group, Identity, Spake2};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{AuthError, HardenedPassword};

/// Length in bytes of a PAKE message (a side byte and a compressed Ed25519 point).
pub const PAKE_MESSAGE_LEN: usize = 33;
/// Length in bytes of a confirmation MAC (HMAC-SHA256).
pub const CONFIRMATION_LEN: usize = 32;
/// Length in bytes of the TLS exporter value the exchange is bound to.
pub const EXPORTER_LEN: usize = 32;
/// The TLS exporter label the driver uses to get the exporter value (no context).
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-lifeline-pake";

/// Domain separation for everything derived in this exchange.
const DOMAIN: &[u8] = b"lifeline-pake-v1";

pub use crate::Role;

/// An exchange that has sent its PAKE message and waits for the peer's.
pub struct Handshake {
    role: Role,
    spake: Spake2<Ed25519Group>,
    own_message: Vec<u8>,
    invitation_id: [u8; 16],
    exporter: Zeroizing<[u8; EXPORTER_LEN]>,
}

impl Handshake {
    /// Starts the exchange; returns it and the PAKE message to send to the peer.
    ///
    /// `exporter` is the TLS exporter value of this side's own connection (label
    /// [`EXPORTER_LABEL`]); both sides of one TLS connection get the same value.
    pub fn start(
        role: Role,
        password: &HardenedPassword,
        invitation_id: &[u8; 16],
        exporter: &[u8; EXPORTER_LEN],
    ) -> (Self, Vec<u8>) {
        let password = spake2::Password::new(password.expose());
        let id_a = identity(Role::Helper, invitation_id);
        let id_b = identity(Role::Novice, invitation_id);
        let (spake, message) = match role {
            Role::Helper => Spake2::<Ed25519Group>::start_a(&password, &id_a, &id_b),
            Role::Novice => Spake2::<Ed25519Group>::start_b(&password, &id_a, &id_b),
        };
        let handshake = Self {
            role,
            spake,
            own_message: message.clone(),
            invitation_id: *invitation_id,
            exporter: Zeroizing::new(*exporter),
        };
        (handshake, message)
    }

    /// This side's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Takes the peer's PAKE message; returns the [`Confirmer`] that checks the peer's MAC and
    /// this side's confirmation MAC to send.
    ///
    /// Fails with [`AuthError::MalformedMessage`] if the message has the wrong length, comes
    /// from the same role, or is not a valid point. A wrong password is not detected here but
    /// by [`Confirmer::verify`].
    pub fn receive_pake(
        self,
        peer_message: &[u8],
    ) -> Result<(Confirmer, [u8; CONFIRMATION_LEN]), AuthError> {
        if peer_message.len() != PAKE_MESSAGE_LEN {
            return Err(AuthError::MalformedMessage("it has the wrong length"));
        }
        let key = Zeroizing::new(self.spake.finish(peer_message).map_err(|error| {
            AuthError::MalformedMessage(match error {
                spake2::Error::WrongLength => "it has the wrong length",
                spake2::Error::BadSide => "it comes from the wrong side",
                spake2::Error::CorruptMessage => "it is not a valid curve point",
            })
        })?);
        let (message_a, message_b) = match self.role {
            Role::Helper => (self.own_message.as_slice(), peer_message),
            Role::Novice => (peer_message, self.own_message.as_slice()),
        };
        let keys = Hkdf::<Sha256>::new(Some(&self.exporter[..]), &key);
        let transcript = Transcript {
            invitation_id: &self.invitation_id,
            message_a,
            message_b,
            exporter: &self.exporter,
        };
        let own_mac = transcript.mac(&keys, self.role);
        let expected_peer_mac = transcript.mac(&keys, self.role.peer());
        let confirmer = Confirmer {
            role: self.role,
            expected_peer_mac,
            safety_code: safety_code(&keys),
        };
        Ok((confirmer, *own_mac))
    }
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Checks the peer's confirmation MAC; the last step of the exchange.
pub struct Confirmer {
    role: Role,
    expected_peer_mac: Zeroizing<[u8; CONFIRMATION_LEN]>,
    safety_code: String,
}

impl Confirmer {
    /// Compares the peer's MAC with the expected one in constant time.
    ///
    /// On mismatch the novice gets [`AuthError::WrongPassword`] and the helper
    /// [`AuthError::Rejected`]: a different password, invitation or TLS channel on the other
    /// side. The driver counts it as a failed attempt.
    pub fn verify(self, peer_mac: &[u8; CONFIRMATION_LEN]) -> Result<SessionSecrets, AuthError> {
        if bool::from(self.expected_peer_mac.ct_eq(peer_mac)) {
            Ok(SessionSecrets {
                safety_code: self.safety_code,
            })
        } else {
            Err(match self.role {
                Role::Novice => AuthError::WrongPassword,
                Role::Helper => AuthError::Rejected,
            })
        }
    }
}

impl fmt::Debug for Confirmer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Confirmer")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// What a successful exchange yields: proof that both sides hold the password on the same
/// TLS channel, and the safety code the two people compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSecrets {
    safety_code: String,
}

impl SessionSecrets {
    /// Six decimal digits in two groups, e.g. `"042 917"`; the same on both sides.
    pub fn safety_code(&self) -> String {
        self.safety_code.clone()
    }
}

/// The SPAKE2 identity of `role` for one invitation.
fn identity(role: Role, invitation_id: &[u8; 16]) -> Identity {
    let mut bytes = Vec::with_capacity(DOMAIN.len() + 8 + invitation_id.len());
    bytes.extend_from_slice(DOMAIN);
    bytes.push(b' ');
    bytes.extend_from_slice(role.as_str().as_bytes());
    bytes.push(b' ');
    bytes.extend_from_slice(invitation_id);
    Identity::new(&bytes)
}

/// Everything the confirmation MACs cover besides the role. All fields have fixed lengths.
struct Transcript<'a> {
    invitation_id: &'a [u8; 16],
    message_a: &'a [u8],
    message_b: &'a [u8],
    exporter: &'a [u8; EXPORTER_LEN],
}

impl Transcript<'_> {
    /// The confirmation MAC that `role` sends.
    fn mac(&self, keys: &Hkdf<Sha256>, role: Role) -> Zeroizing<[u8; CONFIRMATION_LEN]> {
        // A key of one SHA-256 block (64 bytes), so HMAC takes it without a fallible resize.
        let mut key = Zeroizing::new([0u8; 64]);
        expand(keys, &[b"confirm ", role.as_str().as_bytes()], &mut key[..]);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*key).into());
        mac.update(DOMAIN);
        mac.update(b" confirm ");
        mac.update(role.as_str().as_bytes());
        mac.update(self.invitation_id);
        mac.update(self.message_a);
        mac.update(self.message_b);
        mac.update(self.exporter);
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}

/// The six-digit safety code derived from the PAKE key and the exporter.
fn safety_code(keys: &Hkdf<Sha256>) -> String {
    let mut bytes = [0u8; 8];
    expand(keys, &[b"safety code"], &mut bytes);
    // 2^64 is so much larger than 10^6 that the modulo bias is negligible (< 10^-13).
    let code = u64::from_be_bytes(bytes) % 1_000_000;
    format!("{:03} {:03}", code / 1000, code % 1000)
}

/// HKDF-Expand with info `DOMAIN || " " || parts...` into `out` (at most 64 bytes here).
fn expand(keys: &Hkdf<Sha256>, parts: &[&[u8]], out: &mut [u8]) {
    let mut info: Vec<&[u8]> = vec![DOMAIN, b" "];
    info.extend_from_slice(parts);
    // HKDF-SHA256 expands to at most 255 * 32 bytes; every caller asks for 64 or fewer, a
    // constant that no input changes, so this never fails.
    keys.expand_multi_info(&info, out)
        .expect("HKDF output length is a small constant");
}
