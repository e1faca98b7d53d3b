//! Hardening: Argon2id turns the password and the invitation's salt into the secret that
//! enters the PAKE, and that the novice stores for a standing invitation.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{AuthError, Password};
use crate::ticket::PakeSalt;

/// Argon2id cost parameters.
///
/// Both sides must use the same parameters: invitations do not carry them, so production
/// code uses [`HardeningParams::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardeningParams(Params);

impl HardeningParams {
    /// Parameters with `memory_kib` KiB of memory, `iterations` passes and `parallelism` lanes;
    /// fails if Argon2 does not accept them (e.g. memory under 8 KiB per lane).
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, AuthError> {
        Params::new(memory_kib, iterations, parallelism, Some(HARDENED_LEN))
            .map(Self)
            .map_err(|error| AuthError::InvalidHardeningParams(error.to_string()))
    }

    /// The cheapest parameters Argon2 accepts, for fast tests only: never for real passwords.
    pub fn for_tests() -> Self {
        // Argon2's own minimums are always accepted.
        Self::new(Params::MIN_M_COST, Params::MIN_T_COST, Params::MIN_P_COST)
            .expect("Argon2's minimum parameters are valid")
    }

    /// Memory cost in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.0.m_cost()
    }

    /// Number of passes over memory.
    pub fn iterations(&self) -> u32 {
        self.0.t_cost()
    }

    /// Degree of parallelism (lanes).
    pub fn parallelism(&self) -> u32 {
        self.0.p_cost()
    }
}

impl Default for HardeningParams {
    /// The OWASP minimum for Argon2id: 19 MiB of memory, 2 passes, 1 lane.
    fn default() -> Self {
        Self(Params::DEFAULT)
    }
}

/// Length of a hardened password in bytes.
const HARDENED_LEN: usize = 32;

/// The password after Argon2id: 32 bytes, wiped from memory on drop, never shown by `Debug`.
///
/// Equality is checked in constant time.
#[derive(Clone)]
pub struct HardenedPassword(Zeroizing<[u8; HARDENED_LEN]>);

impl HardenedPassword {
    /// Wraps bytes read back from storage (as given by [`expose`](Self::expose)).
    pub fn from_bytes(bytes: [u8; HARDENED_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret bytes, for the novice to store for a standing invitation.
    pub fn expose(&self) -> &[u8; HARDENED_LEN] {
        &self.0
    }
}

impl PartialEq for HardenedPassword {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&*other.0).into()
    }
}

impl Eq for HardenedPassword {}

impl fmt::Debug for HardenedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HardenedPassword(<redacted>)")
    }
}

/// Hardens `password` with Argon2id under the invitation's `salt`.
///
/// Deterministic: the same password, salt and parameters give the same bytes on both sides.
pub fn harden(password: &Password, salt: &PakeSalt, params: &HardeningParams) -> HardenedPassword {
    let mut out = Zeroizing::new([0u8; HARDENED_LEN]);
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.0.clone());
    // Cannot fail: the parameters were validated when `params` was made, the salt (16 bytes)
    // and output (32 bytes) have fixed valid lengths, and a `Password` is at most
    // MAX_PASSWORD_LEN characters, far below Argon2's 4 GiB limit.
    argon
        .hash_password_into(password.expose().as_bytes(), &salt.0, &mut *out)
        .expect("Argon2id inputs are valid by construction");
    HardenedPassword(out)
}
