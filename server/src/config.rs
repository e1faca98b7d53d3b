//! The server's settings: a TOML file, overridden by command-line flags.
//!
//! Every key is optional; see `docs/self-hosting.md` for each one. Unknown keys are refused
//! so that a typo does not silently fall back to a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::mailbox::MailboxConfig;

/// Why the settings are not usable. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a wrong key or value.
    #[error("bad config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, on one line.
        message: String,
    },
    /// A value is out of its range.
    #[error("bad setting {key}: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

/// Everything the server is told.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where to serve rendezvous and relay (TLS over TCP).
    pub listen: SocketAddr,
    /// Where to answer STUN binding requests (UDP).
    pub stun_listen: SocketAddr,
    /// The URL clients are given (`https://host:port/`); the certificate's pin is appended
    /// when the certificate is self-signed. Needed when listening on an unspecified
    /// address behind a NAT or a load balancer.
    pub public_url: Option<String>,
    /// Where to keep the self-signed certificate across restarts.
    pub state_dir: Option<PathBuf>,
    /// The server's own certificate; without one, a self-signed one is used.
    pub tls: TlsFiles,
    /// Bounds on memory, requests and bandwidth.
    pub limits: Limits,
}

/// A certificate chain and its private key, both PEM files.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsFiles {
    /// The certificate chain (PEM), leaf first.
    pub cert: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
}

/// Bounds on what clients may make the server hold or do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// How long a mailbox lives after its last message, in seconds.
    pub mailbox_ttl_secs: u64,
    /// The most mailboxes and waiting rendezvous connections, each.
    pub max_mailboxes: usize,
    /// The most messages waiting in one mailbox.
    pub max_messages_per_mailbox: usize,
    /// The longest rendezvous message, in bytes.
    pub max_message_bytes: usize,
    /// Sustained requests (connections and rendezvous messages) per second from one IP.
    pub requests_per_second: f64,
    /// Requests one IP may make at once before the sustained rate applies.
    pub request_burst: f64,
    /// The most relay sessions (a waiting peer counts as one).
    pub max_relay_sessions: usize,
    /// Each relay session's bandwidth in each direction, in bytes per second; datagrams
    /// beyond it are dropped, as a congested router would.
    pub relay_bytes_per_second: u64,
    /// The most open TCP connections.
    pub max_connections: usize,
    /// The most open TCP connections from one IP address.
    pub max_connections_per_ip: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 443)),
            stun_listen: SocketAddr::from(([0, 0, 0, 0], 3478)),
            public_url: None,
            state_dir: None,
            tls: TlsFiles::default(),
            limits: Limits::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        let mailbox = MailboxConfig::default();
        Self {
            mailbox_ttl_secs: mailbox.ttl.as_secs(),
            max_mailboxes: mailbox.max_mailboxes,
            max_messages_per_mailbox: mailbox.max_messages,
            max_message_bytes: mailbox.max_message_len,
            requests_per_second: mailbox.requests_per_second,
            request_burst: mailbox.burst,
            max_relay_sessions: 1000,
            relay_bytes_per_second: 1_250_000,
            max_connections: 10_000,
            max_connections_per_ip: 200,
        }
    }
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.to_owned(),
            message: error.message().replace('\n', " "),
        })?;
        config.check()?;
        Ok(config)
    }

    /// Checks values that TOML types alone do not bound.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return invalid("tls", "give both cert and key, or neither");
        }
        if let Some(url) = &self.public_url {
            if !url.starts_with("https://") || url.contains('#') {
                return invalid("public_url", "must be an https:// URL without a # fragment");
            }
        }
        let limits = &self.limits;
        if limits.mailbox_ttl_secs == 0 {
            return invalid("limits.mailbox_ttl_secs", "must be at least 1");
        }
        if !(limits.requests_per_second > 0.0 && limits.requests_per_second.is_finite()) {
            return invalid("limits.requests_per_second", "must be a positive number");
        }
        if !(limits.request_burst >= 1.0 && limits.request_burst.is_finite()) {
            return invalid("limits.request_burst", "must be at least 1");
        }
        if limits.relay_bytes_per_second < 2048 {
            return invalid("limits.relay_bytes_per_second", "must be at least 2048");
        }
        for (key, value) in [
            ("limits.max_mailboxes", limits.max_mailboxes),
            (
                "limits.max_messages_per_mailbox",
                limits.max_messages_per_mailbox,
            ),
            ("limits.max_message_bytes", limits.max_message_bytes),
            ("limits.max_relay_sessions", limits.max_relay_sessions),
            ("limits.max_connections", limits.max_connections),
            (
                "limits.max_connections_per_ip",
                limits.max_connections_per_ip,
            ),
        ] {
            if value == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        Ok(())
    }

    /// The mailbox store's limits.
    pub fn mailbox(&self) -> MailboxConfig {
        let limits = &self.limits;
        MailboxConfig {
            ttl: Duration::from_secs(limits.mailbox_ttl_secs),
            max_mailboxes: limits.max_mailboxes,
            max_messages: limits.max_messages_per_mailbox,
            max_message_len: limits.max_message_bytes,
            requests_per_second: limits.requests_per_second,
            burst: limits.request_burst,
            max_tracked_addresses: MailboxConfig::default().max_tracked_addresses,
        }
    }
}
