//! The novice's long-term identity: one Ed25519 key that signs invitations and is also the
//! key of the self-signed TLS certificate the helper pins through the invitation.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use rand::RngCore;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::ticket::Fingerprint;

/// Why an identity could not be made.
#[derive(Debug, Error)]
pub enum IdentityError {
    /// The key could not be encoded for the certificate generator.
    #[error("could not encode the identity key: {0}")]
    Key(String),
    /// A stored certificate does not carry the stored key.
    #[error("the certificate does not belong to the key: make a new invitation")]
    Mismatch,
    /// The certificate generator refused.
    #[error("could not make the TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
}

/// A signing key and the self-signed certificate made with it.
pub struct Identity {
    signing_key: SigningKey,
    certificate_der: Vec<u8>,
}

impl Identity {
    /// Subject name of the certificate; the helper pins the fingerprint, never the name.
    const SUBJECT: &'static str = "lifeline.invalid";

    /// Makes a fresh key and certificate.
    pub fn generate() -> Result<Self, IdentityError> {
        let mut seed = [0; 32];
        rand::thread_rng().fill_bytes(&mut seed);
        let signing_key = SigningKey::from_bytes(&seed);
        let pkcs8 = signing_key
            .to_pkcs8_der()
            .map_err(|e| IdentityError::Key(e.to_string()))?;
        let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_bytes()),
            &rcgen::PKCS_ED25519,
        )?;
        let certificate = rcgen::CertificateParams::new(vec![Self::SUBJECT.to_owned()])?
            .self_signed(&key_pair)?;
        Ok(Self {
            signing_key,
            certificate_der: certificate.der().to_vec(),
        })
    }

    /// Rebuilds an identity from what [`secret_key_bytes`](Self::secret_key_bytes) and
    /// [`certificate_der`](Self::certificate_der) gave, keeping exactly that certificate
    /// (an invitation pins its fingerprint).
    ///
    /// Fails with [`IdentityError::Mismatch`] unless the certificate carries the key's public
    /// half.
    pub fn from_parts(
        secret_key: &[u8; 32],
        certificate_der: Vec<u8>,
    ) -> Result<Self, IdentityError> {
        let signing_key = SigningKey::from_bytes(secret_key);
        // The DER SubjectPublicKeyInfo of an Ed25519 key: algorithm id 1.3.101.112, then the
        // 32-byte key as a BIT STRING.
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(signing_key.verifying_key().as_bytes());
        if !certificate_der
            .windows(spki.len())
            .any(|w| w == spki.as_slice())
        {
            return Err(IdentityError::Mismatch);
        }
        Ok(Self {
            signing_key,
            certificate_der,
        })
    }

    /// The private key's 32 bytes, for storing in the OS keyring; wiped from memory on drop.
    pub fn secret_key_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing_key.to_bytes())
    }

    /// The key that signs invitations and the TLS handshake.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The self-signed certificate, DER-encoded.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The certificate's fingerprint, as an invitation carries it.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_certificate(&self.certificate_der)
    }
}
