//! The server's TLS identity: the operator's certificate, or a self-signed one whose pin
//! clients get in the server URL (`#pin=sha256:…`, the SHA-256 of the certificate's DER,
//! as `lifeline_core::ticket::Fingerprint` writes it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lifeline_core::ticket::Fingerprint;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;

/// The file names of a kept self-signed certificate inside the state directory.
const CERT_FILE: &str = "self-signed-cert.pem";
const KEY_FILE: &str = "self-signed-key.pem";

/// Why the TLS identity could not be set up. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("cannot use {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A PEM file holds nothing usable.
    #[error("{path} holds no usable {what} in PEM form")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was looked for.
        what: &'static str,
    },
    /// Making a certificate failed.
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(String),
    /// rustls refused the certificate or key.
    #[error("the certificate or key is not usable: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The server's TLS acceptor and, for a self-signed certificate, its pin.
pub struct ServerTls {
    /// Accepts TLS connections with the server's certificate.
    pub acceptor: TlsAcceptor,
    /// The pin clients must be given; `None` for a certificate from a public CA, which
    /// clients check against their roots and the host name.
    pub pin: Option<Fingerprint>,
}

impl ServerTls {
    /// The identity `config` asks for: its certificate files, or a self-signed certificate
    /// kept in its state directory (made fresh when there is none).
    pub fn load(config: &Config) -> Result<Self, TlsError> {
        let (chain, key, pin) = match (&config.tls.cert, &config.tls.key) {
            (Some(cert), Some(key)) => {
                let (chain, key) = read_pair(cert, key)?;
                (chain, key, None)
            }
            _ => {
                let (chain, key) = self_signed(config.state_dir.as_deref())?;
                let pin = chain
                    .first()
                    .map(|leaf| Fingerprint::of_certificate(leaf.as_ref()));
                (chain, key, pin)
            }
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(tls)),
            pin,
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::File {
        path: path.to_owned(),
        source,
    })
}

fn read_pair(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let chain: Vec<_> = CertificateDer::pem_slice_iter(&read(cert)?)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::Pem {
            path: cert.to_owned(),
            what: "certificate",
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|_| TlsError::Pem {
        path: key.to_owned(),
        what: "private key",
    })?;
    Ok((chain, key))
}

/// A self-signed certificate: the one kept in `state_dir` if there is one, else a new one
/// (written there when there is a state directory).
fn self_signed(
    state_dir: Option<&Path>,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    if let Some(dir) = state_dir {
        let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        if cert.exists() && key.exists() {
            return read_pair(&cert, &key);
        }
    }
    let made = rcgen::generate_simple_self_signed(vec!["lifeline-server".to_owned()])
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    if let Some(dir) = state_dir {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| TlsError::File { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let key_path = dir.join(KEY_FILE);
        write_private(&key_path, made.key_pair.serialize_pem().as_bytes())
            .map_err(io(&key_path))?;
        let cert_path = dir.join(CERT_FILE);
        std::fs::write(&cert_path, made.cert.pem()).map_err(io(&cert_path))?;
        tracing::info!(dir = %dir.display(), "made a self-signed certificate and kept it");
    }
    let key = PrivateKeyDer::try_from(made.key_pair.serialize_der())
        .map_err(|e| TlsError::Generate(e.to_owned()))?;
    Ok((vec![made.cert.der().clone()], key))
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}
