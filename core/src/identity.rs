//! The novice's long-term identity: one Ed25519 key that signs invitations and is also the
//! key of the self-signed TLS certificate the helper pins through the invitation.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use rand::RngCore;
use thiserror::Error;

use crate::ticket::Fingerprint;

/// Why an identity could not be made.
#[derive(Debug, Error)]
pub enum IdentityError {
    /// The key could not be encoded for the certificate generator.
    #[error("could not encode the identity key: {0}")]
    Key(String),
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
