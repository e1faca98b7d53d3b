//! Network namespaces that delete themselves.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Why a lab network could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A command failed.
    #[error("`{command}` failed: {stderr} (the lab needs root, iproute2 and nftables)")]
    Command {
        /// The command line.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The lab was asked for something it cannot build.
    #[error("cannot build this lab: {0}")]
    Usage(&'static str),
    /// The wire did not come up.
    #[error("the wire did not start: {0}")]
    Wire(String),
}

/// A network namespace, deleted (with its interfaces) when dropped.
pub struct Netns {
    name: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Netns {
    /// Creates a namespace named `ll<pid>-<n><label>` with its loopback up.
    pub fn new(label: &str) -> Result<Self, LabError> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("ll{}-{n}{label}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]))?;
        let netns = Self { name };
        netns.run(&["ip", "link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// The namespace's name, for `ip netns exec` and `ip link set … netns`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// A UDP socket bound to `addr` inside the namespace. The socket stays in the
    /// namespace it was made in, so the rest of the program can use it directly.
    pub fn udp_socket(&self, addr: SocketAddr) -> std::io::Result<UdpSocket> {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let file = std::fs::File::open(&path)?;
                    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
                        .map_err(std::io::Error::from)?;
                    UdpSocket::bind(addr)
                })
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("namespace thread panicked")))
        })
    }

    /// Runs `f` on a new thread inside the namespace: every socket it opens (and every
    /// thread it starts, such as a tokio runtime's) is in the namespace too.
    pub fn thread<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<std::io::Result<T>> {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path)?;
            nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(std::io::Error::from)?;
            Ok(f())
        })
    }

    /// Loads an nftables ruleset (`nft -f -`) inside the namespace.
    pub fn nft(&self, ruleset: &str) -> Result<(), LabError> {
        use std::io::Write;
        let mut child = self
            .command("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|source| LabError::Spawn {
                program: "nft".to_owned(),
                source,
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(ruleset.as_bytes());
        }
        let output = child.wait_with_output().map_err(|source| LabError::Spawn {
            program: "nft".to_owned(),
            source,
        })?;
        if !output.status.success() {
            return Err(LabError::Command {
                command: format!("nft -f - in {}", self.name),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(())
    }

    /// Runs `args` inside the namespace and returns its stdout; fails on a non-zero exit.
    pub fn run(&self, args: &[&str]) -> Result<String, LabError> {
        let (program, rest) = args.split_first().unwrap_or((&"true", &[]));
        let output = run(self.command(program).args(rest))?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .output();
    }
}

/// Runs `command`, turning a failure into a [`LabError`].
pub(crate) fn run(command: &mut Command) -> Result<Output, LabError> {
    let line = format!("{command:?}").replace('"', "");
    let output = command.output().map_err(|source| LabError::Spawn {
        program: line.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(LabError::Command {
            command: line,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(output)
}
