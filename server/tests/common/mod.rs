//! Starting the real lifeline-server binary on loopback for a test.

#![allow(dead_code)] // Each test file uses part of this.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    /// The URL it printed (with its pin).
    pub url: String,
    /// The STUN address it printed.
    pub stun: String,
    /// The TLS address it printed.
    pub listen: std::net::SocketAddr,
    _config: tempfile::NamedTempFile,
}

impl Server {
    /// Starts the server on loopback with `extra` TOML (limits etc.) added to its config.
    pub fn start(extra: &str) -> Self {
        Self::start_in(extra, None)
    }

    /// Like [`start`], keeping its state in `state_dir`.
    pub fn start_in(extra: &str, state_dir: Option<&Path>) -> Self {
        let mut text = String::new();
        if let Some(dir) = state_dir {
            text.push_str(&format!("state_dir = {:?}\n", dir.display().to_string()));
        }
        text.push_str(extra);
        let config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(config.path(), text).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeline-server"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--stun-listen",
                "127.0.0.1:0",
                "--config",
            ])
            .arg(config.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = lines.next().unwrap().unwrap();
        let stun = lines.next().unwrap().unwrap();
        let listen = lines.next().unwrap().unwrap();
        Self {
            child,
            url: url
                .strip_prefix("url=")
                .expect("first line is url=")
                .to_owned(),
            stun: stun
                .strip_prefix("stun=")
                .expect("second line is stun=")
                .to_owned(),
            listen: listen
                .strip_prefix("listen=")
                .expect("third line is listen=")
                .parse()
                .unwrap(),
            _config: config,
        }
    }

    /// The server's URL as core parses it.
    pub fn server_url(&self) -> lifeline_core::ticket::ServerUrl {
        self.url.parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
